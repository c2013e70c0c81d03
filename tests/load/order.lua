-- wrk script: POST /order/ for a product drawn from a range, as one user.
--   wrk -s tests/load/order.lua URL -- TOKEN FIRST_ID COUNT
-- FIRST_ID..FIRST_ID+COUNT-1 are the products (COUNT 1 = one hot row).
local token, first, count

function init(args)
   token = args[1]
   first = tonumber(args[2] or "1")
   count = tonumber(args[3] or "1")
   math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0))
end

function request()
   local id = first + math.random(0, count - 1)
   return wrk.format("POST", "/order/", {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Accept"] = "application/json",
   }, "product=" .. id .. "&quantity=1")
end

function done(summary, latency, requests)
   io.write(string.format("p50_ms=%.2f p99_ms=%.2f\n",
      latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
