-- wrk script: (e) POST /checkout/ of LINES distinct random products, one unit
-- each, as signed-in users (JSON body).
--   wrk ... -s tests/load/checkout.lua URL -- tokens=FILE products=FILE [lines=3] [pay=balance]
-- With lines=1 it is also how bench.sh makes the placed orders (f) pays.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local tokens, products, lines, pay, n = {}, {}, 3, "balance", 0

function init(args)
   local a = bench.args(args)
   bench.seed()
   tokens = bench.my_tokens(assert(a.tokens, "tokens=FILE is required"))
   products = bench.numbers(assert(a.products, "products=FILE is required"))
   lines = math.min(tonumber(a.lines or "3"), #products)
   pay = a.pay or "balance"
end

function request()
   n = n % #tokens + 1
   local picked, items = {}, {}
   while #items < lines do
      local p = products[math.random(#products)]
      if not picked[p] then
         picked[p] = true
         items[#items + 1] = '{"product":' .. p .. ',"quantity":1}'
      end
   end
   local body = '{"items":[' .. table.concat(items, ",") .. '],"pay_method":"' .. pay .. '"}'
   return bench.format("POST", "/checkout/", tokens[n].token, body, "application/json")
end
