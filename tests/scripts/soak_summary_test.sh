#!/usr/bin/env bash
# The soak's summary (bench/http/soak_summary.py, issue 20) from a CSV whose
# figures are known: RSS jumps in the first minute (warm-up), then grows
# 0.5 MiB a minute, so the slope over the minutes after the first is
# exactly 30 MiB/h (with the first it would be far more); fds and p99 are
# the first and last minutes'; errors the sum. Fewer than two minutes after
# the first give no slope ("nan"); an empty CSV fails. With the columns
# sampled through each minute, a second line: the slope of each minute's
# lowest RSS (here 6 MiB/h, while the end-of-minute samples catch spikes),
# the highest RSS and the most descriptors.
#   soak_summary_test.sh SOURCE_DIR
set -euo pipefail
SUMMARY="$1/bench/http/soak_summary.py"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
HEADER="minute,elapsed_s,rss_mib,fds,threads,lmdb_used_mib,lmdb_highwater_mib,audit_mib,decrypt_rps,decrypt_p50_ms,decrypt_p99_ms,admin_rps,admin_p99_ms,errors,rotations,load1"
cat >"$SCRATCH/soak.csv" <<CSV
$HEADER
1,60,50.0,40,20,1.0,1.2,10.0,5000.0,0.50,2.00,100.0,5.00,1,0,1.5
2,121,101.0,41,20,1.0,1.2,20.0,5000.0,0.50,2.10,100.0,5.00,0,0,1.5
3,182,101.5,41,20,1.0,1.2,30.0,5000.0,0.50,2.20,100.0,5.00,2,0,1.5
4,243,102.0,41,20,1.0,1.2,40.0,5000.0,0.50,2.30,100.0,5.00,0,1,1.5
5,304,102.5,42,20,1.0,1.2,50.0,5000.0,0.50,2.45,100.0,5.00,0,0,1.5
CSV
out="$(python3 "$SUMMARY" "$SCRATCH/soak.csv")"
want="soak_minutes=5 rss_slope_mib_per_hour=30.00 fds_start=40 fds_end=42 p99_first_ms=2.00 p99_last_ms=2.45 errors=3"
[ "$(tail -n 1 <<<"$out")" = "$want" ] || { echo "FAIL: got '$(tail -n 1 <<<"$out")', want '$want'"; exit 1; }
[ "$(wc -l <<<"$out")" -eq 7 ] || { echo "FAIL: expected a header, 5 rows and the line:"; echo "$out"; exit 1; }

head -n 3 "$SCRATCH/soak.csv" >"$SCRATCH/short.csv"
out="$(python3 "$SUMMARY" "$SCRATCH/short.csv")"
case "$(tail -n 1 <<<"$out")" in
  "soak_minutes=2 rss_slope_mib_per_hour=nan "*) ;;
  *) echo "FAIL: two minutes gave '$(tail -n 1 <<<"$out")'"; exit 1 ;;
esac

cat >"$SCRATCH/sampled.csv" <<CSV
$HEADER,rss_min_mib,rss_max_mib,fds_max
1,60,50.0,40,20,1.0,1.2,10.0,5000.0,0.50,2.00,100.0,5.00,0,0,1.5,40.0,55.0,44
2,121,101.0,41,20,1.0,1.2,20.0,5000.0,0.50,2.10,100.0,5.00,0,0,1.5,100.0,101.0,41
3,182,170.0,60,20,1.0,1.2,30.0,5000.0,0.50,2.20,100.0,5.00,0,0,1.5,100.1,170.0,60
4,243,100.2,41,20,1.0,1.2,40.0,5000.0,0.50,2.30,100.0,5.00,0,0,1.5,100.2,130.5,52
5,304,100.3,42,20,1.0,1.2,50.0,5000.0,0.50,2.45,100.0,5.00,0,0,1.5,100.3,100.9,42
CSV
out="$(python3 "$SUMMARY" "$SCRATCH/sampled.csv")"
want="rss_floor_slope_mib_per_hour=6.00 rss_max_mib=170.0 fds_max=60"
[ "$(tail -n 1 <<<"$out")" = "$want" ] || { echo "FAIL: got '$(tail -n 1 <<<"$out")', want '$want'"; exit 1; }
case "$(tail -n 2 <<<"$out" | head -n 1)" in
  "soak_minutes=5 rss_slope_mib_per_hour="*" fds_start=40 fds_end=42 "*) ;;
  *) echo "FAIL: the summary line: $(tail -n 2 <<<"$out" | head -n 1)"; exit 1 ;;
esac

echo "$HEADER" >"$SCRATCH/empty.csv"
if python3 "$SUMMARY" "$SCRATCH/empty.csv" >/dev/null 2>&1; then
  echo "FAIL: an empty CSV was summarised"; exit 1
fi
echo "PASS: $want"
