-- wrk script: POST /order/ (one unit of a product) as signed-in users.
--   (b) spread:   wrk ... -s tests/load/order.lua URL -- tokens=FILE products=FILE
--   (c) hot row:  wrk ... -s tests/load/order.lua URL -- tokens=FILE product=ID
--   (d) sold out: the same with the id of a product whose stock is 0
-- The older form, as one user over a range of ids, still works:
--   wrk -s tests/load/order.lua URL -- TOKEN FIRST_ID COUNT
-- (COUNT 1 = one hot row).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local tokens, products, cache, n = {}, {}, {}, 0

function init(args)
   local a = bench.args(args)
   bench.seed()
   if args[1] and not args[1]:find("=") then
      tokens = { { token = args[1] } }
      local first, count = tonumber(args[2] or "1"), tonumber(args[3] or "1")
      for i = 1, count do products[i] = first + i - 1 end
   else
      tokens = bench.my_tokens(assert(a.tokens, "tokens=FILE is required"))
      if a.product then
         products = { tonumber(a.product) }
      else
         products = bench.numbers(assert(a.products, "products=FILE or product=ID is required"))
      end
   end
   for i = 1, #tokens do cache[i] = {} end
end

function request()
   n = n % #tokens + 1
   local p = products[#products == 1 and 1 or math.random(#products)]
   local r = cache[n][p]
   if not r then
      r = bench.format("POST", "/order/", tokens[n].token, "product=" .. p .. "&quantity=1")
      cache[n][p] = r
   end
   return r
end
