-- Two foreign keys on the same leading column and no declared index: InnoDB builds one
-- index, named after one of them, and both use it.

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
  CONSTRAINT offices_region_fkey FOREIGN KEY (country, region) REFERENCES regions (country, code),
  CONSTRAINT offices_country_fkey FOREIGN KEY (country) REFERENCES countries (code)
);
