-- list.lua — wrk script: each request lists the first 100 SecureValues of
-- one of the benchmark's namespaces (bench-<i mod 3>, which populate.py
-- fills), GET .../securevalues?limit=100, as the admin.
local namespaces = { "bench-0", "bench-1", "bench-2" }
local n = 0

function request()
  n = n + 1
  return wrk.format("GET", "/apis/secret.grafana.app/v1beta1/namespaces/" ..
      namespaces[(n % 3) + 1] .. "/securevalues?limit=100")
end
