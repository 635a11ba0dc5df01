-- MySQL's own column types and clauses, as mysqldump and the sakila script write them.
CREATE TABLE film (
  film_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT,
  title VARCHAR(128) NOT NULL,
  code VARCHAR(10) BINARY DEFAULT NULL,
  rating ENUM('G','PG','PG-13','R','NC-17') DEFAULT 'G',
  special_features SET('Trailers','Commentaries','Deleted Scenes','Behind the Scenes') DEFAULT NULL,
  release_year YEAR DEFAULT NULL,
  rental_duration TINYINT UNSIGNED NOT NULL DEFAULT 3,
  stock MEDIUMINT NOT NULL DEFAULT 0,
  score TINYINT,
  views INT UNSIGNED NOT NULL DEFAULT 0,
  description TEXT COMMENT 'what it is about',
  last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY  (film_id),
  KEY idx_title (title),
  FULLTEXT KEY idx_description (description)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='Films on the shelves';

CREATE TABLE film_note (
  note_id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  film_id SMALLINT UNSIGNED NOT NULL,
  body VARCHAR(200) NOT NULL,
  PRIMARY KEY (note_id),
  KEY idx_fk_film_id (film_id),
  CONSTRAINT fk_note_film FOREIGN KEY (film_id) REFERENCES film (film_id) ON DELETE RESTRICT ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
