#!/usr/bin/env bash
# The soak (issue 20): does Strongroom stay flat under hours of traffic?
#   scripts/soak.sh [MINUTES]      (default 30)
# From nothing (its own token, PKI and data directory in a temporary
# directory, a free loopback port), after installing what it needs
# (scripts/setup.sh: gnuplot; wrk) and building the Release binary in
# build-bench/: a server with 1,000 secure values, its capacity measured
# briefly, then MINUTES of mixed traffic at about half of it (decrypts,
# creates, deletes, lists, audit queries, and key rotations every 5
# minutes). Every minute it samples the server's RSS, open descriptors,
# LMDB pages in use, the audit log's size, the minute's decrypt p50/p99 and
# errors, and prints a table row. Writes build-bench/soak/soak-<time>.csv and
# .png (gnuplot: RSS and fds, p50/p99, storage over time) and ends with
#   soak_minutes=N rss_slope_mib_per_hour=X fds_start=N fds_end=N p99_first_ms=X p99_last_ms=X errors=N
# The server is stopped on any exit. Details and knobs (SOAK_SECRETS,
# SOAK_CAPACITY_SECONDS, SOAK_ROTATE_MINUTES, SOAK_MIN_FREE_GB, SOAK_OUT):
# bench/http/soak_bench.sh. Load on the machine shows in the figures: run
# it on a quiet one, or read the load1 column.
set -euo pipefail
exec "$(cd "$(dirname "$0")" && pwd)/bench.sh" soak "$@"
