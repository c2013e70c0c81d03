-- wrk script: the flash sale. Signed-in users order one unit of one product
-- (stocked with, say, 10,000 units) until it is sold out.
--   wrk -t2 -c256 -d120s -s tests/load/flash.lua URL/order/ -- tokens=FILE product=ID threads=2
-- A thread stops (wrk.thread:stop()) at the first 409 that says the product
-- is out of stock with "available": 0; -d is the time cap. wrk itself sleeps
-- for all of -d: bench.sh sends it SIGINT once the product is sold out, and
-- wrk then reports as usual.
--
-- Every answer is timed on CLOCK_MONOTONIC (LuaJIT ffi: one clock for all
-- threads). done() adds to the BENCH line:
--   sold=N          201s seen (answers lost when a thread stopped mid-flight
--                   are not seen: the database has the true count)
--   sellout_ms=X    from the first request sent to the last 201 answered
--   first_sold_ms=X from the first request sent to the first 201 answered
--   r409_after=N    409 out-of-stock answers after the last 201 (by time)
--   r409_before=N   409 out-of-stock answers that reached wrk before the last
--                   201 did: the answers of the last sales and the first
--                   refusals cross on their way back (several workers, nginx,
--                   wrk's threads); the database, not this, shows whether a
--                   unit was refused while there was one
--   overlap_ms=X    how long before the last 201 the first such 409 arrived
--                   (0 when none did)
--   r409_other=N    other 409s (not "available": 0)
--   other=N         any other status (503, 500, ...)
--   stopped=N       threads that saw the sale end and stopped
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local ffi = require("ffi")
pcall(ffi.cdef, [[
typedef struct { long tv_sec; long tv_nsec; } flash_timespec;
int clock_gettime(int clk, flash_timespec *tp);
]])
local ts = ffi.new("flash_timespec")
local function now_ms()
   ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
   return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local reqs, n = {}, 0
-- Globals: read by done() through thread:get().
t_first, t_first201, t_last201, t_first409 = 0, 0, 0, 0
sold, r409_other, other, stopped = 0, 0, 0, 0
t409 = {}

function init(args)
   local a = bench.args(args)
   local product = assert(tonumber(a.product), "product=ID is required")
   for i, t in ipairs(bench.my_tokens(assert(a.tokens, "tokens=FILE is required"))) do
      reqs[i] = bench.format("POST", "/order/", t.token, "product=" .. product .. "&quantity=1")
   end
end

function request()
   if t_first == 0 then t_first = now_ms() end
   n = n % #reqs + 1
   return reqs[n]
end

function response(status, headers, body)
   local t = now_ms()
   if status == 201 then
      sold = sold + 1
      if t_first201 == 0 then t_first201 = t end
      if t > t_last201 then t_last201 = t end
   elseif status == 409 then
      if body and body:match('"available"%s*:%s*0[^%d]') then
         t409[#t409 + 1] = t
         if t_first409 == 0 then t_first409 = t end
         if stopped == 0 then
            stopped = 1
            wrk.thread:stop()
         end
      else
         r409_other = r409_other + 1
      end
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   bench.done(summary, latency, function(threads)
      local first, first201, last201 = math.huge, math.huge, 0
      local s, ro, o, st = 0, 0, 0, 0
      local times = {}
      for _, th in ipairs(threads) do
         local f = th:get("t_first") or 0
         if f > 0 and f < first then first = f end
         local f2 = th:get("t_first201") or 0
         if f2 > 0 and f2 < first201 then first201 = f2 end
         local l = th:get("t_last201") or 0
         if l > last201 then last201 = l end
         s = s + (th:get("sold") or 0)
         ro = ro + (th:get("r409_other") or 0)
         o = o + (th:get("other") or 0)
         st = st + (th:get("stopped") or 0)
         for _, x in ipairs(th:get("t409") or {}) do times[#times + 1] = x end
      end
      local after, before, first409 = 0, 0, math.huge
      for _, x in ipairs(times) do
         if x > last201 then after = after + 1 else before = before + 1 end
         if x < first409 then first409 = x end
      end
      local overlap = (first409 < last201) and (last201 - first409) or 0
      if first == math.huge then first = 0 end
      return string.format("sold=%d sellout_ms=%.1f first_sold_ms=%.1f r409_after=%d r409_before=%d " ..
         "r409_other=%d other=%d stopped=%d overlap_ms=%.1f",
         s, (s > 0 and first > 0) and (last201 - first) or -1,
         (first201 < math.huge and first > 0) and (first201 - first) or -1,
         after, before, ro, o, st, overlap)
   end)
end
