-- Both ends of the foreign key are renamed and widened in one bundle; the foreign key's
-- conventional name follows its column.

CREATE TABLE authors (
  author_no bigint PRIMARY KEY,
  name varchar(80) NOT NULL
);

CREATE TABLE books (
  id integer PRIMARY KEY,
  writer_id bigint NOT NULL REFERENCES authors (author_no),
  title varchar(120) NOT NULL
);

CREATE INDEX books_author_idx ON books (writer_id);
