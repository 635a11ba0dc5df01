-- And back into a unique constraint, under the index's name.

CREATE TABLE authors (
  id integer PRIMARY KEY,
  code varchar(10) NOT NULL CONSTRAINT authors_code_idx UNIQUE,
  name varchar(80) NOT NULL
);

CREATE TABLE books (
  id integer PRIMARY KEY,
  author_id integer REFERENCES authors (id),
  author_code varchar(10) REFERENCES authors (code),
  title varchar(120) NOT NULL
);
