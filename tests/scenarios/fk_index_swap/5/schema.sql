-- No index of its own for the foreign key: MySQL builds one when the key is added.

CREATE TABLE authors (
  id integer PRIMARY KEY,
  name varchar(80) NOT NULL
);

CREATE TABLE books (
  id integer PRIMARY KEY,
  author_id integer NOT NULL REFERENCES authors (id),
  title varchar(120) NOT NULL
);
