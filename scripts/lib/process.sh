# scripts/lib/process.sh — sourced (not run) by scripts/run.sh,
# scripts/cluster.sh and bench/http/soak_bench.sh.

# alive PID: the process exists and has not exited. A zombie (exited, not
# yet reaped: its parent is an init that does not reap promptly, as in a
# container started without --init) still answers kill -0, so the state in
# /proc decides (SPEC section 10).
alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"  # the fields after the command name, which may hold spaces
  [ "${stat%% *}" != Z ] && [ "${stat%% *}" != X ]
}
