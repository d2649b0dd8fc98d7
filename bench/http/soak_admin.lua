-- soak_admin.lua — wrk script: the soak's management traffic, with the
-- admin's client certificate (a server admin). A cycle of ten requests:
-- four creates of a new SecureValue "<SOAK_PREFIX>-<n>" in namespace soak,
-- four deletes of the oldest value whose create was answered 201 once 64
-- such values exist (so the namespace stays small; until then a list
-- instead; a name wrk never sent, such as the one its check of the script
-- builds, is never deleted), a list of the first 100
-- SecureValues of bench-<n mod 3> (populate.py's), and an auditor's query
-- of the first 20 audit records since SOAK_SINCE (RFC 3339). Paced and
-- summarised by soak_pace.lua, which also prints how many answers of each
-- status above 399 came (SOAK_STATUSES). Run with one wrk thread (-t1) so
-- the counters are shared by every connection. SOAK_LUA_DIR names this
-- folder.
local dir = os.getenv("SOAK_LUA_DIR") or "."
local prefix = os.getenv("SOAK_PREFIX") or "m0"
local since = os.getenv("SOAK_SINCE") or "1970-01-01T00:00:00Z"
local lag = 64
local created, step, lists = 0, 0, 0
-- confirmed[first..last]: names whose create was answered 201, oldest
-- first.
local confirmed, first, last = {}, 1, 0
local values = "/apis/secret.grafana.app/v1beta1/namespaces/soak/securevalues"
local json = { ["Content-Type"] = "application/json" }
local cycle = { "create", "delete", "create", "delete", "list",
                "create", "delete", "create", "delete", "audit" }

local function list()
  lists = lists + 1
  return wrk.format("GET", "/apis/secret.grafana.app/v1beta1/namespaces/bench-" ..
      (lists % 3) .. "/securevalues?limit=100")
end

function request()
  step = step + 1
  local kind = cycle[(step - 1) % #cycle + 1]
  if kind == "create" then
    created = created + 1
    local body = '{"metadata":{"name":"' .. prefix .. "-" .. created ..
        '"},"spec":{"description":"soak","value":"soak-value-' .. created ..
        '","decrypters":["bench-svc"]}}'
    return wrk.format("POST", values, json, body)
  elseif kind == "delete" then
    if last - first + 1 <= lag then return list() end
    local name = confirmed[first]
    confirmed[first] = nil
    first = first + 1
    return wrk.format("DELETE", values .. "/" .. name)
  elseif kind == "list" then
    return list()
  end
  return wrk.format("GET", "/api/audit/events?limit=20&since=" .. since)
end

-- failures counts answers above 399 by status ("404" -> n), read by
-- soak_pace.lua's done() through the thread.
failures = {}

function response(status, headers, body)
  if status == 201 then
    -- Only creates answer 201; the object's first "name" is metadata.name.
    local name = body:match('"name":"([%w%-]+)"')
    if name and name:sub(1, #prefix + 1) == prefix .. "-" then
      last = last + 1
      confirmed[last] = name
    end
  elseif status > 399 then
    local key = tostring(status)
    failures[key] = (failures[key] or 0) + 1
  end
end

dofile(dir .. "/soak_pace.lua")
