-- The referenced key and the column referencing it both become bigint.

CREATE TABLE authors (
  id bigint PRIMARY KEY,
  name varchar(80) NOT NULL
);

CREATE TABLE books (
  id integer PRIMARY KEY,
  author_id bigint NOT NULL REFERENCES authors (id),
  title varchar(120) NOT NULL
);
