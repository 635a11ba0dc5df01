-- Columns dropped that were NOT NULL without a default: down.sql adds them again over the
-- rows that exist, each given MySQL's implicit value of its type (0, '', FALSE), on every engine,
-- or the value `--default` gives (defaults.txt: isbn).
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
  summary text NOT NULL,
  added_at timestamp NOT NULL,
  pages integer NOT NULL DEFAULT 0
);
CREATE INDEX books_title_idx ON books (title);

CREATE TABLE shelves (
  id bigserial PRIMARY KEY,
  label text NOT NULL
);
