-- decrypt.lua — wrk script: each request reads one random secret through
-- the Dapr path, GET /v1.0/secrets/<namespace>/<name>, as a plain HTTP/1.1
-- client would (no Connection header). Secret i is "sv-<i>" in namespace
-- bench-<i mod 3> (bench/http/http_bench.sh creates them). nginx answers the
-- same paths with its static body.
local count = tonumber(os.getenv("BENCH_SECRETS") or "10000")
local namespaces = { "bench-0", "bench-1", "bench-2" }

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(os.time() + (seed or 0))
end

function request()
  local i = math.random(0, count - 1)
  return wrk.format("GET", "/v1.0/secrets/" .. namespaces[(i % 3) + 1] .. "/sv-" .. i)
end
