-- wrk script: (f) POST /order/<id>/pay/, each order once, by its owner.
--   wrk ... -s tests/load/pay.lua URL -- tokens=FILE orders=FILE
-- orders=FILE: "USER_ID ORDER_ID" lines of placed balance orders
-- (bench_prep.py placed). Each thread pays the orders of its own users,
-- cycling through the users; when every one of its users has run out it
-- stops, and the `exhausted` count it reports tells bench.sh the run was
-- cut short (its requests/s would then be too low).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local tokens, queues, heads, n = {}, {}, {}, 0
left = 0
exhausted = 0

function init(args)
   local a = bench.args(args)
   tokens = bench.my_tokens(assert(a.tokens, "tokens=FILE is required"))
   local slot = {}
   for i, t in ipairs(tokens) do
      slot[t.uid] = i
      queues[i], heads[i] = {}, 1
   end
   for _, line in ipairs(bench.lines(assert(a.orders, "orders=FILE is required"))) do
      local uid, oid = line:match("^(%d+)%s+(%d+)")
      local i = slot[tonumber(uid)]
      if i then
         local q = queues[i]
         q[#q + 1] = bench.format("POST", "/order/" .. oid .. "/pay/", tokens[i].token)
         left = left + 1
      end
   end
end

function request()
   for _ = 1, #tokens do
      n = n % #tokens + 1
      local q, h = queues[n], heads[n]
      if h <= #q then
         heads[n] = h + 1
         left = left - 1
         return q[h]
      end
   end
   -- Nothing left to pay: stop this thread (its connections go idle).
   exhausted = 1
   wrk.thread:stop()
   return wrk.format("GET", "/__ceiling")
end

function done(summary, latency, requests)
   bench.done(summary, latency, function(threads)
      local ex, rest = 0, 0
      for _, t in ipairs(threads) do
         ex = ex + (t:get("exhausted") or 0)
         rest = rest + (t:get("left") or 0)
      end
      return string.format("exhausted=%d left=%d", ex, rest)
   end)
end
