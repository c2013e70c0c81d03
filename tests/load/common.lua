-- common.lua: shared by the wrk scripts of tests/load (loaded with dofile by
-- each of them, in every Lua state wrk makes: the setup/done one and one
-- per thread).
--
-- Script arguments come after `--` as key=value pairs:
--   tokens=FILE    "USER_ID TOKEN" lines (bench_prep.py users); thread t of T
--                  takes lines t+1, t+1+T, ... and cycles through them
--   products=FILE  product ids, one a line
--   product=ID     one product (a hot row, or the sold-out one)
--   threads=N      wrk's -t (wrk starts each thread right after its setup(),
--                  so a thread cannot learn the count from setup)
-- wrk has no per-connection hook, so a token cannot be bound to one
-- connection: each thread cycles through its own tokens request by request,
-- which with as many tokens as connections keeps about one request of each
-- user in flight.
--
-- done() prints one machine-readable line that bench.sh reads:
--   BENCH requests=N duration_us=N rps=X p50_ms=X p90_ms=X p99_ms=X max_ms=X
--         connect=N read=N write=N status=N timeout=N [extra...]

bench = {}

local threads = {}

function bench.args(args)
   local a = {}
   for _, s in ipairs(args or {}) do
      local k, v = s:match("^([%w_]+)=(.*)$")
      if k then a[k] = v end
   end
   bench.nthreads = tonumber(a.threads or "")
   return a
end

function bench.lines(path)
   local t = {}
   local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
   for line in f:lines() do
      if line:match("%S") then t[#t + 1] = line end
   end
   f:close()
   return t
end

function bench.numbers(path)
   local t = {}
   for _, line in ipairs(bench.lines(path)) do t[#t + 1] = tonumber(line:match("%d+")) end
   return t
end

-- Thread ids: setup() numbers the threads (0, 1, ...).
function bench.setup(thread)
   threads[#threads + 1] = thread
   thread:set("bench_tid", #threads - 1)
end

function bench.tid() return bench_tid or 0, bench.nthreads or 1 end

-- This thread's share of the tokens file: a list of {uid=, token=}.
function bench.my_tokens(path)
   local tid, n = bench.tid()
   assert(bench.nthreads, "threads=N (wrk's -t) is required with tokens=FILE")
   local all, mine = bench.lines(path), {}
   for i, line in ipairs(all) do
      if (i - 1) % n == tid then
         local uid, token = line:match("^(%d+)%s+(%S+)")
         mine[#mine + 1] = { uid = tonumber(uid), token = token }
      end
   end
   if #mine == 0 then -- more threads than tokens: share them
      local line = all[tid % #all + 1]
      local uid, token = line:match("^(%d+)%s+(%S+)")
      mine[1] = { uid = tonumber(uid), token = token }
   end
   return mine
end

function bench.seed()
   local tid = bench.tid()
   math.randomseed(os.time() * 1000 + tid * 7919 + (tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0) % 100000)
   for _ = 1, 10 do math.random() end
end

-- A request with a bearer token; body nil for none; extra: more headers.
function bench.format(method, path, token, body, ctype, extra)
   local h = { ["Accept"] = "application/json" }
   for k, v in pairs(extra or {}) do h[k] = v end
   if token then h["Authorization"] = "Bearer " .. token end
   if body then h["Content-Type"] = ctype or "application/x-www-form-urlencoded" end
   return wrk.format(method, path, h, body)
end

-- extra: optional function(threads) returning a string appended to the line.
function bench.done(summary, latency, extra)
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "BENCH requests=%d duration_us=%d rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
      "connect=%d read=%d write=%d status=%d timeout=%d%s\n",
      summary.requests, summary.duration, summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000,
      e.connect, e.read, e.write, e.status, e.timeout,
      extra and (" " .. extra(threads)) or ""))
end

function setup(thread) bench.setup(thread) end
function done(summary, latency, requests) bench.done(summary, latency) end
