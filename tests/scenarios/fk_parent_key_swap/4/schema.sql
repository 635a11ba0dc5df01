-- The primary key moves from id to code; id keeps a unique constraint for its foreign key.

CREATE TABLE authors (
  id integer NOT NULL CONSTRAINT authors_id_key UNIQUE,
  code varchar(10) PRIMARY KEY,
  name varchar(80) NOT NULL
);

CREATE TABLE books (
  id integer PRIMARY KEY,
  author_id integer REFERENCES authors (id),
  author_code varchar(10) REFERENCES authors (code),
  title varchar(120) NOT NULL
);
