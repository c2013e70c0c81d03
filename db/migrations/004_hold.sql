-- 004: orders paid from the balance have a payment window (orderd serve
-- --hold SECONDS). A placed balance order not paid within it becomes
-- 'expired' and its stock comes back, like a cancel; aborted_at is the time
-- it ended either way.
--
-- orders_due: the pool's reaper finds the placed balance orders whose time is
-- up (status, pay_method, created_at) without scanning the table.
-- orders_open: a balance checkout counts the caller's unpaid balance orders
-- (--max-open) through (user_id, status, pay_method).

ALTER TABLE orders
  MODIFY status ENUM('placed','paid','shipped','aborted','expired') NOT NULL DEFAULT 'placed',
  ADD KEY orders_due (status, pay_method, created_at),
  ADD KEY orders_open (user_id, status, pay_method);
