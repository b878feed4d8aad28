-- workload.sql - an in-memory SQL workload for tests/programs/sqlite3.sh.
--
-- Deterministic: no random(), no dates from the clock; pseudo-random values
-- come from multiplicative hashing of row numbers. Every query has an ORDER
-- BY that fixes the order of its rows. sqlite3 allocates its page cache,
-- parse trees, sorter buffers and strings through malloc, so the workload
-- exercises every size from a few bytes to megabytes.

.headers on
.mode list

PRAGMA cache_size = -65536;   -- 64 MiB page cache, in memory anyway

CREATE TABLE customers (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	region TEXT NOT NULL
);

CREATE TABLE products (
	id INTEGER PRIMARY KEY,
	title TEXT NOT NULL,
	price_cents INTEGER NOT NULL
);

CREATE TABLE orders (
	id INTEGER PRIMARY KEY,
	customer_id INTEGER NOT NULL REFERENCES customers(id),
	product_id INTEGER NOT NULL REFERENCES products(id),
	quantity INTEGER NOT NULL,
	note TEXT
);

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO customers
SELECT i,
       'customer-' || printf('%05d', i) || '-' || substr('abcdefghijklmnopqrstuvwxyz', 1 + (i * 7) % 26, 1 + (i % 9)),
       CASE (i * 2654435761) % 5 WHEN 0 THEN 'north' WHEN 1 THEN 'south'
            WHEN 2 THEN 'east' WHEN 3 THEN 'west' ELSE 'centre' END
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT INTO products
SELECT i, 'product ' || hex(i * 40503), 100 + (i * 48271) % 99900 FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250000)
INSERT INTO orders
SELECT i,
       1 + (i * 2654435761) % 20000,
       1 + (i * 40503) % 1000,
       1 + (i * 48271) % 17,
       CASE WHEN i % 7 = 0 THEN replace(printf('%.*c', 10 + i % 200, 'x'), 'x', 'note ') ELSE NULL END
FROM n;

CREATE INDEX orders_by_customer ON orders(customer_id);
CREATE INDEX orders_by_product ON orders(product_id, quantity);
CREATE INDEX customers_by_region ON customers(region, name);

SELECT 'rows', (SELECT count(*) FROM customers), (SELECT count(*) FROM products),
       (SELECT count(*) FROM orders), (SELECT sum(length(note)) FROM orders);

-- Revenue per region: a three-way join with GROUP BY.
SELECT c.region, count(*) AS orders, sum(o.quantity) AS items,
       sum(o.quantity * p.price_cents) AS revenue_cents
FROM orders o JOIN customers c ON c.id = o.customer_id
              JOIN products p ON p.id = o.product_id
GROUP BY c.region
ORDER BY c.region;

-- Top customers, with a window function ranking inside each region.
SELECT region, name, spent, rank_in_region FROM (
	SELECT c.region, c.name, sum(o.quantity * p.price_cents) AS spent,
	       rank() OVER (PARTITION BY c.region
	                    ORDER BY sum(o.quantity * p.price_cents) DESC, c.id) AS rank_in_region
	FROM orders o JOIN customers c ON c.id = o.customer_id
	              JOIN products p ON p.id = o.product_id
	GROUP BY c.id
)
WHERE rank_in_region <= 3
ORDER BY region, rank_in_region;

-- A big sort with string keys (the sorter spills through malloc'd buffers).
SELECT count(*), min(k), max(k), sum(length(k)) FROM (
	SELECT name || '/' || printf('%08d', o.id) AS k
	FROM orders o JOIN customers c ON c.id = o.customer_id
	ORDER BY k DESC
);

-- String aggregation and a running total.
SELECT product_id, group_concat(quantity, ',') AS quantities
FROM (SELECT product_id, quantity FROM orders WHERE product_id <= 5 AND id <= 3000
      ORDER BY product_id, id)
GROUP BY product_id
ORDER BY product_id;

SELECT id, quantity, sum(quantity) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
FROM orders WHERE id % 25000 = 0 ORDER BY id;

-- Updates and deletes that rewrite pages and free them, then VACUUM.
UPDATE orders SET note = upper(coalesce(note, '')) || printf('%d', id) WHERE id % 3 = 0;
DELETE FROM orders WHERE quantity > 12;
VACUUM;
SELECT 'after', count(*), sum(quantity), sum(length(note)) FROM orders;

-- JSON: build a document per region and measure it.
SELECT region, length(doc), json_array_length(json_extract(doc, '$.names'))
FROM (SELECT region,
             json_object('region', region,
                         'names', json_group_array(name)) AS doc
      FROM (SELECT region, name FROM customers ORDER BY region, name)
      GROUP BY region)
ORDER BY region;

-- Primes below 30000 by a recursive sieve-like CTE.
WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < 30000)
SELECT count(*), max(i) FROM n
WHERE NOT EXISTS (SELECT 1 FROM n AS d WHERE d.i * d.i <= n.i AND n.i % d.i = 0 AND d.i < 200);

PRAGMA integrity_check;
