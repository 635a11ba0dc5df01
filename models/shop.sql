-- The demo shop: customers place orders of products.

CREATE TABLE customers (
  id bigserial PRIMARY KEY,
  email varchar(255) NOT NULL UNIQUE,
  full_name varchar(200) NOT NULL,
  phone varchar(30),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
  id bigserial PRIMARY KEY,
  sku varchar(40) NOT NULL UNIQUE,
  title varchar(200) NOT NULL,
  price numeric(10,2) NOT NULL CHECK (price >= 0),
  in_stock boolean NOT NULL DEFAULT true
);

CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
  status varchar(20) NOT NULL DEFAULT 'new'
    CONSTRAINT orders_status_check CHECK (status IN ('new', 'paid', 'shipped', 'cancelled')),
  placed_at timestamptz NOT NULL DEFAULT now(),
  shipped_at timestamptz
);

CREATE TABLE order_lines (
  order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  line_no integer NOT NULL,
  product_id bigint NOT NULL REFERENCES products (id),
  quantity integer NOT NULL DEFAULT 1 CHECK (quantity > 0),
  unit_price numeric(10,2) NOT NULL,
  PRIMARY KEY (order_id, line_no)
);

CREATE INDEX orders_customer_placed_idx ON orders (customer_id, placed_at DESC);
CREATE INDEX order_lines_product_idx ON order_lines (product_id);
CREATE INDEX orders_status_idx ON orders (status);
