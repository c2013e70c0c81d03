-- db_ceiling.lua: the database ceiling of POST /order/, for sysbench 1.0.
--
-- Each event is the transaction orderd's order path runs for one unit of one
-- product (fcgi/domain/inventory.c take_forupdate + fcgi/domain/orders.c create_txn), in
-- its plain form, one statement per round trip, straight to MariaDB:
--
--   START TRANSACTION
--   SELECT price, stock, goods_id, version FROM products WHERE id = ? FOR UPDATE
--   UPDATE products SET stock = stock - 1, sales = sales + 1, version = version + 1 WHERE id = ?
--   INSERT INTO orders (user_id, status, pay_method, total_count, freight, total_amount,
--                       created_at) VALUES (?, 'placed', 'cod', 1, ?, price + freight, ...)
--   INSERT INTO order_lines (order_id, product_id, quantity, price)
--          VALUES (LAST_INSERT_ID(), ?, 1, price)
--   COMMIT
--
-- (The bench products have no goods, so there is no goods UPDATE; a product
-- with goods would add `UPDATE goods SET sales = sales + 1 WHERE id = ?`,
-- which this script issues too when the locked row names goods.)
-- The rows are real: stock, sales, the order and its line move together, so
-- `orderd audit` stays clean. A row without stock ends the run with an error.
--
--   sysbench --db-driver=mysql --mysql-socket=SOCK --mysql-user=U --mysql-password=PW
--            --mysql-db=DB --threads=N --time=10 --mysql-ignore-errors=1213,1205
--            tests/load/db_ceiling.lua --products=FILE|--product=ID --users=ID,ID,... run
--
-- Session settings as orderd's (fcgi/store/db.c db_connect): READ COMMITTED,
-- innodb_lock_wait_timeout 3, UTC, strict mode.

sysbench.cmdline.options = {
   products = { "file of product ids, one a line: each event picks one at random", "" },
   product = { "one product id (the hot row); wins over --products", 0 },
   users = { "comma-separated user ids; thread k orders as user k mod their count", "" },
   freight = { "freight in cents, as orderd serve --freight", 1000 },
}

local ids, user, con

local function read_ids(path)
   local t = {}
   local f = assert(io.open(path, "r"), "cannot open --products file " .. path)
   for line in f:lines() do
      local n = tonumber(line:match("%d+"))
      if n then t[#t + 1] = n end
   end
   f:close()
   assert(#t > 0, "no product ids in " .. path)
   return t
end

function thread_init(thread_id)
   if tonumber(sysbench.opt.product) ~= 0 then
      ids = { tonumber(sysbench.opt.product) }
   else
      assert(sysbench.opt.products ~= "", "--products=FILE or --product=ID is required")
      ids = read_ids(sysbench.opt.products)
   end
   local users = {}
   for u in tostring(sysbench.opt.users):gmatch("%d+") do users[#users + 1] = u end
   user = #users > 0 and users[thread_id % #users + 1] or "NULL"
   con = sysbench.sql.driver():connect()
   con:query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
   con:query("SET SESSION time_zone = '+00:00', innodb_lock_wait_timeout = 3," ..
      " sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_ZERO_DATE'")
end

function thread_done()
   con:disconnect()
end

-- An ignored error (deadlock, lock wait timeout) restarts the event: end the
-- transaction first, so nothing half-done is ever committed by the next BEGIN.
function sysbench.hooks.before_restart_event(err)
   con:query("ROLLBACK")
end

function event()
   local id = ids[#ids == 1 and 1 or sysbench.rand.uniform(1, #ids)]
   local freight = tonumber(sysbench.opt.freight)
   con:query("START TRANSACTION")
   local rs = con:query("SELECT price, stock, goods_id, version FROM products WHERE id = " ..
      id .. " FOR UPDATE")
   local row = rs and rs:fetch_row()
   if row == nil then
      con:query("ROLLBACK")
      error("no product " .. id)
   end
   local price, stock, goods = tonumber(row[1]), tonumber(row[2]), row[3]
   if stock < 1 then
      con:query("ROLLBACK")
      error("product " .. id .. " is out of stock: give the bench products more")
   end
   con:query("UPDATE products SET stock = stock - 1, sales = sales + 1," ..
      " version = version + 1 WHERE id = " .. id)
   if goods ~= nil and goods ~= "" then
      con:query("UPDATE goods SET sales = sales + 1 WHERE id = " .. goods)
   end
   con:query("INSERT INTO orders (user_id, status, pay_method, total_count, freight," ..
      " total_amount, created_at) VALUES (" .. user .. ", 'placed', 'cod', 1, " .. freight ..
      ", " .. (price + freight) .. ", FROM_UNIXTIME(" .. os.time() .. "))")
   con:query("INSERT INTO order_lines (order_id, product_id, quantity, price)" ..
      " VALUES (LAST_INSERT_ID(), " .. id .. ", 1, " .. price .. ")")
   con:query("COMMIT")
end
