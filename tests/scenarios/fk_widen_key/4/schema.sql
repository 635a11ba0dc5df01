-- Both ends of the self-reference widen; only the referenced varchar does (MySQL allows
-- lengths to differ); a new table references books.id, which is still an integer when
-- the table is created.

CREATE TABLE authors (
  id bigint PRIMARY KEY,
  name varchar(80) NOT NULL,
  code varchar(20) UNIQUE
);

CREATE TABLE books (
  id bigint PRIMARY KEY,
  author_id bigint NOT NULL REFERENCES authors (id),
  title varchar(120) NOT NULL,
  author_code varchar(10) REFERENCES authors (code) ON DELETE SET NULL,
  sequel_of bigint REFERENCES books (id)
);

CREATE TABLE reviews (
  id integer PRIMARY KEY,
  book_id bigint NOT NULL REFERENCES books (id),
  stars smallint NOT NULL
);
