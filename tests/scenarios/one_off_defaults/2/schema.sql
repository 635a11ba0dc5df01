-- Columns that become NOT NULL without a default on tables with rows: each gets a one-off
-- default (defaults.txt), on a renamed table too; the new table and the column with a
-- default of its own are not asked about.
CREATE TABLE writers (
  id bigserial PRIMARY KEY,
  name varchar(100) NOT NULL,
  country char(2) NOT NULL
);

CREATE TABLE books (
  id bigserial PRIMARY KEY,
  author_id bigint NOT NULL REFERENCES writers (id),
  title varchar(200) NOT NULL,
  note text NOT NULL,
  isbn varchar(20) NOT NULL,
  summary text NOT NULL,
  stock integer NOT NULL CHECK (stock >= 0),
  in_print boolean NOT NULL,
  price numeric(10,2) NOT NULL,
  added_at timestamp NOT NULL,
  pages integer NOT NULL DEFAULT 0
);
CREATE INDEX books_title_idx ON books (title);

CREATE TABLE shelves (
  id bigserial PRIMARY KEY,
  label text NOT NULL
);
