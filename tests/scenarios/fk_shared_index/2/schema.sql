-- The foreign key whose index both use goes.

CREATE TABLE countries (
  code varchar(2) PRIMARY KEY
);

CREATE TABLE regions (
  country varchar(2) NOT NULL,
  code varchar(10) NOT NULL,
  PRIMARY KEY (country, code)
);

CREATE TABLE offices (
  id integer PRIMARY KEY,
  country varchar(2) NOT NULL,
  region varchar(10) NOT NULL,
  CONSTRAINT offices_country_fkey FOREIGN KEY (country) REFERENCES countries (code)
);
