-- 003: the locked part of placing one order line, in one round trip.
--
-- orderd (--lock forupdate) prices an order and inserts its order row
-- first, then calls this once per line, in ascending product id (docs/design.md
-- rule 4), inside its own transaction, and commits or rolls back itself.
-- It locks the product row with SELECT ... FOR UPDATE, checks price and
-- stock there, takes the stock with stock = stock - n and inserts the line:
-- the statements orderd would send one by one, without the round trips
-- between them, so the row stays locked only until orderd's COMMIT arrives.
--
-- A product that is missing, priced differently from p_price, or short
-- stops it with SQLSTATE 45000 and MESSAGE_TEXT 'orderd:not-found:<id>',
-- 'orderd:repriced:<id>' or 'orderd:out-of-stock:<id>:<available>'; orderd
-- rolls back and answers 404, retries, or answers 409.

DELIMITER //
CREATE PROCEDURE orderd_take_line(IN p_order BIGINT UNSIGNED, IN p_product BIGINT UNSIGNED,
    IN p_quantity BIGINT, IN p_price BIGINT)
MODIFIES SQL DATA
BEGIN
  DECLARE v_price, v_stock BIGINT DEFAULT NULL;
  DECLARE v_msg VARCHAR(96);

  SELECT price, stock INTO v_price, v_stock FROM products WHERE id = p_product FOR UPDATE;
  IF v_price IS NULL THEN
    SET v_msg = CONCAT('orderd:not-found:', p_product);
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_msg;
  ELSEIF v_price <> p_price THEN
    SET v_msg = CONCAT('orderd:repriced:', p_product);
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_msg;
  ELSEIF v_stock < p_quantity THEN
    SET v_msg = CONCAT('orderd:out-of-stock:', p_product, ':', v_stock);
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_msg;
  END IF;
  UPDATE products SET stock = stock - p_quantity, sales = sales + p_quantity,
    version = version + 1 WHERE id = p_product;
  INSERT INTO order_lines (order_id, product_id, quantity, price)
    VALUES (p_order, p_product, p_quantity, p_price);
END//
DELIMITER ;
