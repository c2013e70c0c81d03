-- wrk script: the HTTP ceiling, GET /__ceiling (nginx answers 200 itself).
--   wrk -t2 -c64 -d10s --latency -s tests/load/ceiling.lua http://HOST:PORT/__ceiling
-- No request() function: wrk sends one static request, as fast as it can.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
