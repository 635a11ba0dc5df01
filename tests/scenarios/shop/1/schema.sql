CREATE TABLE customers (
  id bigserial PRIMARY KEY,
  email varchar(255) NOT NULL UNIQUE,
  name text NOT NULL,
  legacy_code char(8),
  birthday date,
  created_at timestamptz NOT NULL DEFAULT now(),
  settings json,
  token uuid
);

CREATE TABLE products (
  id serial PRIMARY KEY,
  sku varchar(40) NOT NULL,
  name varchar(100) NOT NULL,
  price numeric(10,2) NOT NULL DEFAULT 0,
  weight real,
  rating double precision,
  stock smallint NOT NULL DEFAULT 0,
  attributes jsonb,
  picture bytea,
  CONSTRAINT products_sku_key UNIQUE (sku)
);

CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  status varchar(20) NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'paid', 'shipped')),
  note varchar(200),
  placed_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  pickup_time time
);

CREATE TABLE order_lines (
  order_id bigint NOT NULL,
  line_no integer NOT NULL,
  product_id integer NOT NULL,
  quantity integer NOT NULL DEFAULT 1,
  unit_price numeric(10,2) NOT NULL,
  gift boolean NOT NULL DEFAULT false,
  PRIMARY KEY (order_id, line_no),
  CONSTRAINT order_lines_quantity_positive CHECK (quantity > 0),
  FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
  CONSTRAINT order_lines_product_fk FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE RESTRICT ON UPDATE CASCADE
);

CREATE INDEX ON orders (customer_id, placed_at DESC);
CREATE UNIQUE INDEX products_name_sku_idx ON products (name, sku);
CREATE INDEX order_lines_product_idx ON order_lines (product_id);
