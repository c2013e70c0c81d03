-- 003: the critical section of placing an order, in one round trip.
--
-- orderd_place_order runs inside the caller's transaction (orderd opens it,
-- and commits or rolls back): it inserts the order, then for each line, in
-- ascending product id (design.md rule 4), locks the product row with
-- SELECT ... FOR UPDATE, checks the stock it sees, takes it with
-- stock = stock - n, adds to product and goods sales and inserts the line,
-- then sets the order's totals. The locks are held while the procedure runs
-- and until orderd's COMMIT arrives: one round trip instead of six.
--
-- p_lines: a JSON array of [product, quantity] pairs, merged and sorted by
-- product id. A short or missing product stops it with SQLSTATE 45000 and
-- MESSAGE_TEXT 'orderd:out-of-stock:<product>:<available>' or
-- 'orderd:not-found:<product>'; orderd rolls back and answers 409 or 404.
-- Result: one row per line: order id, product, quantity, price, goods id.

DELIMITER //
CREATE PROCEDURE orderd_place_order(IN p_user BIGINT UNSIGNED, IN p_pay VARCHAR(8),
    IN p_freight BIGINT, IN p_created BIGINT, IN p_lines LONGTEXT)
MODIFIES SQL DATA
BEGIN
  DECLARE v_done INT DEFAULT 0;
  DECLARE v_product, v_qty, v_price, v_stock, v_order BIGINT;
  DECLARE v_goods BIGINT UNSIGNED;
  DECLARE v_count, v_amount BIGINT DEFAULT 0;
  DECLARE v_msg VARCHAR(128);
  DECLARE cur CURSOR FOR
    SELECT j.product, j.quantity FROM JSON_TABLE(p_lines, '$[*]'
      COLUMNS (product BIGINT PATH '$[0]', quantity BIGINT PATH '$[1]')) j;
  -- goods rows after every product row, in ascending id (rule 4)
  DECLARE gcur CURSOR FOR
    SELECT p.goods_id, SUM(l.quantity) FROM order_lines l JOIN products p ON p.id = l.product_id
      WHERE l.order_id = v_order AND p.goods_id IS NOT NULL
      GROUP BY p.goods_id ORDER BY p.goods_id;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_done = 1;

  INSERT INTO orders (user_id, status, pay_method, total_count, freight, total_amount, created_at)
    VALUES (p_user, 'placed', p_pay, 0, p_freight, p_freight, FROM_UNIXTIME(p_created));
  SET v_order = LAST_INSERT_ID();
  OPEN cur;
  line_loop: LOOP
    FETCH cur INTO v_product, v_qty;
    IF v_done THEN
      LEAVE line_loop;
    END IF;
    SET v_price = NULL;
    SELECT price, stock, goods_id INTO v_price, v_stock, v_goods
      FROM products WHERE id = v_product FOR UPDATE;
    IF v_price IS NULL THEN
      SET v_msg = CONCAT('orderd:not-found:', v_product);
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_msg;
    END IF;
    IF v_stock < v_qty THEN
      SET v_msg = CONCAT('orderd:out-of-stock:', v_product, ':', v_stock);
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_msg;
    END IF;
    UPDATE products SET stock = stock - v_qty, sales = sales + v_qty, version = version + 1
      WHERE id = v_product;
    INSERT INTO order_lines (order_id, product_id, quantity, price)
      VALUES (v_order, v_product, v_qty, v_price);
    SET v_count = v_count + v_qty, v_amount = v_amount + v_qty * v_price;
  END LOOP;
  CLOSE cur;
  SET v_done = 0;
  OPEN gcur;
  goods_loop: LOOP
    FETCH gcur INTO v_goods, v_qty;
    IF v_done THEN
      LEAVE goods_loop;
    END IF;
    UPDATE goods SET sales = sales + v_qty WHERE id = v_goods;
  END LOOP;
  CLOSE gcur;
  UPDATE orders SET total_count = v_count, total_amount = v_amount + p_freight WHERE id = v_order;
  SELECT v_order, l.product_id, l.quantity, l.price, p.goods_id
    FROM order_lines l JOIN products p ON p.id = l.product_id
    WHERE l.order_id = v_order ORDER BY l.product_id;
END//
DELIMITER ;
