-- Views over tables, a view over views, a view with a column list, one with a check option.
CREATE TABLE customers (
  id serial PRIMARY KEY,
  first_name varchar(40) NOT NULL,
  last_name varchar(40) NOT NULL,
  city text
);

CREATE TABLE orders (
  id serial PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers (id),
  status varchar(20) NOT NULL DEFAULT 'new',
  amount numeric(10,2) NOT NULL DEFAULT 0
);

CREATE VIEW customer_names AS
  SELECT c.id, c.first_name || ' ' || c.last_name AS full_name, c.city
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
