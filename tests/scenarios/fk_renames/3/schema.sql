-- The referenced table is renamed while its key widens again.

CREATE TABLE writers (
  author_no numeric(20,0) PRIMARY KEY,
  name varchar(80) NOT NULL
);

CREATE TABLE books (
  id integer PRIMARY KEY,
  writer_id numeric(20,0) NOT NULL REFERENCES writers (author_no),
  title varchar(120) NOT NULL
);

CREATE INDEX books_author_idx ON books (writer_id);
