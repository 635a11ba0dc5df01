-- PostgreSQL objects a pg_dump carries: an enum type, a domain, a sequence behind a
-- serial column, arrays, tsvector, a generated column, comments, index methods.
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');

CREATE DOMAIN year AS integer
    CONSTRAINT year_check CHECK (((VALUE >= 1901) AND (VALUE <= 2155)));

CREATE SEQUENCE person_id_seq INCREMENT BY 1 NO MAXVALUE NO MINVALUE CACHE 1;

CREATE TABLE person (
    id integer DEFAULT nextval('person_id_seq'::regclass) NOT NULL,
    name character varying(40) NOT NULL,
    current_mood mood DEFAULT 'ok'::mood,
    born year,
    tags text[],
    scores integer[],
    search tsvector,
    name_length integer GENERATED ALWAYS AS (length(name)) STORED
);

ALTER TABLE ONLY person ADD CONSTRAINT person_pkey PRIMARY KEY (id);

COMMENT ON TABLE person IS 'People we know';
COMMENT ON COLUMN person.name IS 'Full name, as they write it';

CREATE INDEX person_search_idx ON person USING gin (search);
CREATE INDEX person_name_idx ON person USING btree (name) INCLUDE (born);
CREATE INDEX person_mood_idx ON person USING hash (current_mood);
