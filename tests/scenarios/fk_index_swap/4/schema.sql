-- The same index under another name: a rename.

CREATE TABLE authors (
  id integer PRIMARY KEY,
  name varchar(80) NOT NULL
);

CREATE TABLE books (
  id integer PRIMARY KEY,
  author_id integer NOT NULL REFERENCES authors (id),
  title varchar(120) NOT NULL
);

CREATE INDEX books_by_author_idx ON books (author_id, title, id);
