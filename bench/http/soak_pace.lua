-- soak_pace.lua — what the soak's wrk scripts share (bench/http/soak_bench.sh
-- loads it with dofile from soak_decrypt.lua and soak_admin.lua):
--   delay()  paces each connection: SOAK_DELAY_MS (a fraction allowed:
--            wrk waits whole milliseconds, so each wait is rounded down or
--            up at random with the odds that keep the mean) between a
--            response and the next request; none when 0 or unset;
--   done()   prints one line for soak_bench.sh:
--            SOAK requests=N duration_us=N p50_us=N p99_us=N max_us=N
--                 errors_status=N errors_socket=N
--            (errors_status: answers above 399; errors_socket: connect,
--            read and write errors and timeouts), then, when the script
--            counts answers above 399 by status in a global table
--            `failures` (soak_admin.lua), SOAK_STATUSES 404=N 503=N ...
local pace_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "0")

if pace_ms > 0 then
  local whole = math.floor(pace_ms)
  local fraction = pace_ms - whole
  function delay()
    if math.random() < fraction then return whole + 1 end
    return whole
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  if script_setup then script_setup(thread) end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "SOAK requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d errors_status=%d errors_socket=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.status, e.connect + e.read + e.write + e.timeout))
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("failures") or {}) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local line = ""
  for status, n in pairs(counts) do line = line .. " " .. status .. "=" .. n end
  if line ~= "" then io.write("SOAK_STATUSES" .. line .. "\n") end
end
