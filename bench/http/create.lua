-- create.lua — wrk script: each request creates a SecureValue with a new
-- name ("<prefix>-<n>", prefix from BENCH_PREFIX) in namespace
-- bench-create, decryptable by bench-svc. Run with one wrk thread (-t1) so
-- the counter is shared by every connection.
local prefix = os.getenv("BENCH_PREFIX") or "c"
local counter = 0
local path = "/apis/secret.grafana.app/v1beta1/namespaces/bench-create/securevalues"
local headers = { ["Content-Type"] = "application/json" }

function request()
  counter = counter + 1
  local body = '{"metadata":{"name":"' .. prefix .. "-" .. counter ..
      '"},"spec":{"description":"bench","value":"bench-value-' .. counter ..
      '","decrypters":["bench-svc"]}}'
  return wrk.format("POST", path, headers, body)
end
