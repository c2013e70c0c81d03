-- wrk script: (a) GET /product/<id>/ for a random product, anonymously.
--   wrk -t2 -c64 -d10s --latency -s tests/load/product.lua URL -- products=FILE
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local reqs

function init(args)
   local a = bench.args(args)
   bench.seed()
   reqs = {}
   for i, id in ipairs(bench.numbers(assert(a.products, "products=FILE is required"))) do
      reqs[i] = bench.format("GET", "/product/" .. id .. "/")
   end
end

function request()
   return reqs[math.random(#reqs)]
end
