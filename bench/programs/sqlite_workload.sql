-- sqlite_workload.sql - an in-memory SQLite workload for bench/run.
--
-- Run as: sqlite3 -cmd '.parameter set @n 200000' :memory: < sqlite_workload.sql
-- (@n = rows; the runner sets it, smaller in quick mode).  SQLite's page
-- cache, B-tree nodes, sorter and expression values all come from malloc, so
-- inserts, index builds, sorts, GROUP BY, updates that grow rows and deletes
-- exercise the allocator across sizes.  The last SELECT prints a checksum;
-- no random() or randomblob(), so every allocator's run prints the same one.
PRAGMA cache_size = -65536;      -- 64 MiB page cache: memory, not I/O
-- (No "PRAGMA temp_store": changing it drops temp tables, and with them the
-- CLI's parameter table that holds @n.)

CREATE TABLE item (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    category INTEGER NOT NULL,
    price REAL NOT NULL,
    body BLOB
);

-- Rows of mixed width: short names, bodies from 0 to ~1 KiB.
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < @n)
INSERT INTO item (id, name, category, price, body)
SELECT i,
       'item-' || i || '-' || substr('abcdefghijklmnopqrstuvwxyz', 1, 1 + (i * 7) % 26),
       (i * 2654435761) % 500,
       ((i * 40503) % 100000) / 100.0,
       zeroblob((i * 7919) % 1024)
FROM seq;

CREATE INDEX item_category ON item (category, price);
CREATE INDEX item_name ON item (name);

CREATE TABLE summary AS
SELECT category, count(*) AS n, avg(price) AS mean, max(length(body)) AS widest
FROM item GROUP BY category;

-- Grow a third of the rows (record rewrites, page splits).
UPDATE item SET name = name || '-' || ((id * 31) % 9973), body = body || zeroblob(64)
WHERE id % 3 = 0;

-- A big sort and a self-join on the index.
CREATE TABLE ranked AS
SELECT id, name, price FROM item ORDER BY price DESC, name LIMIT @n / 4;
CREATE TABLE pairs AS
SELECT a.id AS a, b.id AS b FROM item a JOIN item b
    ON b.id = a.id + 500
WHERE a.id % 7 = 0;

-- Delete half, then fill again: freed pages and cells get reused.
DELETE FROM item WHERE id % 2 = 0;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < @n / 2)
INSERT INTO item (name, category, price, body)
SELECT 'refill-' || i, i % 500, i / 10.0, zeroblob(i % 700) FROM seq;

SELECT count(*), sum(category), (SELECT count(*) FROM ranked), (SELECT count(*) FROM pairs),
       (SELECT sum(n) FROM summary)
FROM item;
