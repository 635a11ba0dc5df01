-- Same name, wider definition: it cannot be built before the old one is dropped.

CREATE TABLE authors (
  id integer PRIMARY KEY,
  name varchar(80) NOT NULL
);

CREATE TABLE books (
  id integer PRIMARY KEY,
  author_id integer NOT NULL REFERENCES authors (id),
  title varchar(120) NOT NULL
);

CREATE INDEX books_author_title_idx ON books (author_id, title, id);
