-- orderd demo data: a small shop to click around in.
-- ./stack up loads it once, into a database it has just created (after the
-- migrations).  Prices are integer cents.  Products start with
-- stock = initial_stock and no sales, so `orderd audit` is clean.
-- INSERT IGNORE with fixed ids: loading it twice changes nothing.

START TRANSACTION;

INSERT IGNORE INTO goods (id, name) VALUES
  (1, 'Coffee'),
  (2, 'Tea'),
  (3, 'Mugs');

INSERT IGNORE INTO products (id, goods_id, name, price, stock, initial_stock) VALUES
  (1, 1, 'Espresso beans, 250 g',            1290,  40,  40),
  (2, 1, 'Espresso beans, 1 kg',             4490,  12,  12),
  (3, 1, 'Filter coffee, 500 g',              990,  60,  60),
  (4, 2, 'Sencha, 100 g',                     850,  25,  25),
  (5, 2, 'Earl Grey, 100 g',                  690,  30,  30),
  (6, 2, 'Rooibos, 100 g',                    590,   3,   3),
  (7, 3, 'Stoneware mug, blue',              1500,  10,  10),
  (8, 3, 'Stoneware mug, white',             1500,   1,   1),
  (9, NULL, 'Gift card (limited edition)',   2500,   0,   0),
  (10, NULL, 'Limited drop: 100 signed cups', 3900, 100, 100);

COMMIT;
