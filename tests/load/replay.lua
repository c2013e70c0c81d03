-- wrk script: (g) POST /order/ repeated with an Idempotency-Key already used:
-- every answer should be the stored one, 201 with `Idempotent-Replayed: true`.
--   bench_prep.py replaykeys USERS_FILE PRODUCTS_FILE TAG KEYS   (places the orders)
--   wrk ... -s tests/load/replay.lua URL -- tokens=KEYS threads=N
-- KEYS has "USER_ID TOKEN KEY PRODUCT" lines (without PRODUCT, product=ID
-- gives it); each request repeats its user's order (the same form body,
-- byte for byte, as bench_prep.py sent). Any other
-- answer (another status, or a 201 that is not a replay: the key was not
-- used) is counted: done() adds replayed=N other=N to the BENCH line.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local reqs, n = {}, 0
replayed, other = 0, 0

function init(args)
   local a = bench.args(args)
   local path = assert(a.tokens, "tokens=FILE (USER_ID TOKEN KEY lines) is required")
   local keys, products = {}, {}
   for _, line in ipairs(bench.lines(path)) do
      local uid, key, product = line:match("^(%d+)%s+%S+%s+(%S+)%s*(%d*)")
      assert(key, "no key on line: " .. line)
      keys[tonumber(uid)] = key
      products[tonumber(uid)] = tonumber(product) or tonumber(a.product)
   end
   for i, t in ipairs(bench.my_tokens(path)) do
      local product = assert(products[t.uid], "no product for user " .. t.uid .. " (product=ID)")
      reqs[i] = bench.format("POST", "/order/", t.token, "product=" .. product .. "&quantity=1",
                             nil, { ["Idempotency-Key"] = keys[t.uid] })
   end
end

function request()
   n = n % #reqs + 1
   return reqs[n]
end

function response(status, headers, body)
   if status == 201 and (headers["Idempotent-Replayed"] or headers["idempotent-replayed"]) == "true" then
      replayed = replayed + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   bench.done(summary, latency, function(threads)
      local r, o = 0, 0
      for _, t in ipairs(threads) do
         r = r + (t:get("replayed") or 0)
         o = o + (t:get("other") or 0)
      end
      return string.format("replayed=%d other=%d", r, o)
   end)
end
