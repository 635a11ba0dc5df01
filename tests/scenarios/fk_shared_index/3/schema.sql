-- It comes back, and the shared column widens everywhere.

CREATE TABLE countries (
  code varchar(3) PRIMARY KEY
);

CREATE TABLE regions (
  country varchar(3) NOT NULL,
  code varchar(10) NOT NULL,
  PRIMARY KEY (country, code)
);

CREATE TABLE offices (
  id integer PRIMARY KEY,
  country varchar(3) NOT NULL,
  region varchar(10) NOT NULL,
  CONSTRAINT offices_region_fkey FOREIGN KEY (country, region) REFERENCES regions (country, code),
  CONSTRAINT offices_country_fkey FOREIGN KEY (country) REFERENCES countries (code)
);
