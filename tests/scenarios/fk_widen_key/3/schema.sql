-- A varchar key referenced from another table, and a self-reference.

CREATE TABLE authors (
  id bigint PRIMARY KEY,
  name varchar(80) NOT NULL,
  code varchar(10) UNIQUE
);

CREATE TABLE books (
  id integer PRIMARY KEY,
  author_id bigint NOT NULL REFERENCES authors (id),
  title varchar(120) NOT NULL,
  author_code varchar(10) REFERENCES authors (code) ON DELETE SET NULL,
  sequel_of integer REFERENCES books (id)
);
