-- books_author_idx is replaced by books_author_title_idx: the foreign key must keep an index.

CREATE TABLE authors (
  id integer PRIMARY KEY,
  name varchar(80) NOT NULL
);

CREATE TABLE books (
  id integer PRIMARY KEY,
  author_id integer NOT NULL REFERENCES authors (id),
  title varchar(120) NOT NULL
);

CREATE INDEX books_author_title_idx ON books (author_id, title);
