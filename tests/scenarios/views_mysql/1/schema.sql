-- Views as mysqldump writes them: options before VIEW, charset introducers, CONCAT, IF, IFNULL, GROUP_CONCAT.
CREATE TABLE `actor` (
  `actor_id` SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `first_name` VARCHAR(45) NOT NULL,
  `last_name` VARCHAR(45) NOT NULL,
  `active` BOOLEAN NOT NULL DEFAULT TRUE,
  `nickname` VARCHAR(45) DEFAULT NULL,
  PRIMARY KEY (`actor_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `film` (
  `film_id` SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `title` VARCHAR(128) NOT NULL,
  PRIMARY KEY (`film_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `film_actor` (
  `actor_id` SMALLINT UNSIGNED NOT NULL,
  `film_id` SMALLINT UNSIGNED NOT NULL,
  PRIMARY KEY (`actor_id`, `film_id`),
  CONSTRAINT `fk_film_actor_actor` FOREIGN KEY (`actor_id`) REFERENCES `actor` (`actor_id`),
  CONSTRAINT `fk_film_actor_film` FOREIGN KEY (`film_id`) REFERENCES `film` (`film_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY INVOKER VIEW `actor_list` AS
SELECT a.actor_id AS ID, CONCAT(a.first_name, _utf8mb4' ', a.last_name) AS name,
       IF(a.active, _utf8mb4'active', _utf8mb4'') AS notes, IFNULL(a.nickname, a.first_name) AS called
FROM actor AS a;

CREATE DEFINER=CURRENT_USER SQL SECURITY INVOKER VIEW film_actors AS
SELECT f.film_id, f.title, GROUP_CONCAT(CONCAT(a.first_name, ' ', a.last_name) SEPARATOR ', ') AS actors,
       COUNT(*) AS n
FROM film f
  JOIN film_actor fa ON fa.film_id = f.film_id
  JOIN actor a ON a.actor_id = fa.actor_id
GROUP BY f.film_id, f.title;

CREATE VIEW named_actors AS
SELECT actor_id, first_name, last_name FROM actor WHERE last_name <> '' WITH CASCADED CHECK OPTION;
