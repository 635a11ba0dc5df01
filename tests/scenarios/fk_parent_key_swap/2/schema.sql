-- The unique constraint on the referenced column becomes a unique index of another name.

CREATE TABLE authors (
  id integer PRIMARY KEY,
  code varchar(10) NOT NULL,
  name varchar(80) NOT NULL
);

CREATE UNIQUE INDEX authors_code_idx ON authors (code);

CREATE TABLE books (
  id integer PRIMARY KEY,
  author_id integer REFERENCES authors (id),
  author_code varchar(10) REFERENCES authors (code),
  title varchar(120) NOT NULL
);
