-- customers.last_name renamed to surname, orders.status widened, orders.amount given more digits,
-- a column added to orders (all_orders selects *): every view reading them is dropped before and
-- created again after. cities reads customers too. recent_orders is new.
CREATE TABLE customers (
  id serial PRIMARY KEY,
  first_name varchar(40) NOT NULL,
  surname varchar(40) NOT NULL,
  city text
);

CREATE TABLE orders (
  id serial PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers (id),
  status varchar(40) NOT NULL DEFAULT 'new',
  amount numeric(12,2) NOT NULL DEFAULT 0,
  placed_at timestamp
);

CREATE VIEW customer_names AS
  SELECT c.id, c.first_name || ' ' || c.surname AS full_name, c.city
  FROM public.customers AS c;

CREATE VIEW order_totals AS
  SELECT o.customer_id, count(*) AS orders, sum(o.amount) AS total, string_agg(o.status, ', ') AS statuses
  FROM orders o
  GROUP BY o.customer_id;

CREATE VIEW big_spenders AS
  SELECT n.full_name, t.total
  FROM order_totals t JOIN customer_names n ON n.id = t.customer_id
  WHERE t.total > 100;

CREATE VIEW all_orders AS SELECT * FROM orders;

CREATE VIEW order_count (customer_id, n) AS
  SELECT customer_id, count(*) FROM orders GROUP BY customer_id;

CREATE OR REPLACE VIEW paid_orders AS
  SELECT id, customer_id, amount FROM orders WHERE status = 'paid'
  WITH CHECK OPTION;

CREATE VIEW cities AS SELECT DISTINCT city FROM customers WHERE city IS NOT NULL;

CREATE VIEW recent_orders AS
  SELECT o.id, n.full_name, o.placed_at
  FROM orders AS o JOIN customer_names AS n ON n.id = o.customer_id
  WHERE o.placed_at IS NOT NULL;
