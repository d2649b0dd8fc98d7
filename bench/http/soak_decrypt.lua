-- soak_decrypt.lua — wrk script: the soak's decrypts, as the service
-- bench-svc: decrypt.lua's random Dapr reads (BENCH_SECRETS secrets in
-- bench-0..2), paced and summarised by soak_pace.lua. SOAK_LUA_DIR names
-- this folder.
local dir = os.getenv("SOAK_LUA_DIR") or "."
dofile(dir .. "/decrypt.lua")
-- soak_pace.lua's setup() keeps the threads and calls decrypt.lua's.
script_setup = setup
dofile(dir .. "/soak_pace.lua")
