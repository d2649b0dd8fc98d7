#!/usr/bin/env python3
"""soak_summary.py — the soak's table and summary line, from its CSV.

Usage: soak_summary.py CSV

CSV is what bench/http/soak_bench.sh writes, one row per minute (columns
minute, elapsed_s, rss_mib, fds, threads, lmdb_used_mib, lmdb_highwater_mib,
audit_mib, decrypt_rps, decrypt_p50_ms, decrypt_p99_ms, admin_rps,
admin_p99_ms, errors, rotations, load1, and, when sampled through the
minute, rss_min_mib, rss_max_mib, fds_max). Prints a table of every minute,
then one line:

  soak_minutes=N rss_slope_mib_per_hour=X fds_start=N fds_end=N p99_first_ms=X p99_last_ms=X errors=N

rss_slope_mib_per_hour is the least-squares slope of RSS (MiB, sampled at
each minute's end) against time over the minutes after the first (the first
holds warm-up: caches filling, the first connections), times 60; "nan" with
fewer than two such minutes. fds and p99 (the decrypts') are the first and
last minutes'; errors is the sum over every minute. With the columns
sampled through the minute, a second line:

  rss_floor_slope_mib_per_hour=X rss_max_mib=X fds_max=N

the same slope of each minute's lowest RSS (the floor the server returns
to, which a leak raises; the end-of-minute sample falls between two
minutes' traffic, sometimes while connections still close), and the
highest RSS and descriptor count seen under traffic. Exits 1 on an empty or malformed CSV.
"""
import csv
import sys

COLUMNS = [("minute", "minute", "{:>6}"), ("rss_mib", "rss_mib", "{:>8}"), ("fds", "fds", "{:>5}"),
           ("threads", "thr", "{:>4}"), ("lmdb_used_mib", "lmdb_mib", "{:>8}"),
           ("audit_mib", "audit_mib", "{:>9}"), ("decrypt_rps", "dec_rps", "{:>8}"),
           ("decrypt_p50_ms", "dec_p50", "{:>8}"), ("decrypt_p99_ms", "dec_p99", "{:>8}"),
           ("admin_rps", "adm_rps", "{:>8}"), ("admin_p99_ms", "adm_p99", "{:>8}"),
           ("errors", "errors", "{:>6}"), ("rotations", "rot", "{:>3}"), ("load1", "load1", "{:>5}"),
           ("rss_min_mib", "rss_min", "{:>7}"), ("rss_max_mib", "rss_max", "{:>7}"),
           ("fds_max", "fds_max", "{:>7}")]


def slope(xs, ys):
    """Least-squares slope of ys against xs; None with fewer than two points
    or no spread in xs."""
    n = len(xs)
    if n < 2:
        return None
    mean_x = sum(xs) / n
    mean_y = sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sxx


def slope_per_hour(rows, column):
    """The least-squares slope of `column` over the minutes after the
    first, per hour, formatted; "nan" if there is none."""
    after_first = rows[1:]
    per_minute = slope([float(r["minute"]) for r in after_first],
                       [float(r[column]) for r in after_first])
    return "nan" if per_minute is None else f"{per_minute * 60:.2f}"


def floor_line(rows):
    """The second line, or None when the CSV has no samples through the
    minute."""
    if any(not r.get("rss_min_mib") for r in rows):
        return None
    return (f"rss_floor_slope_mib_per_hour={slope_per_hour(rows, 'rss_min_mib')} "
            f"rss_max_mib={max(float(r['rss_max_mib']) for r in rows):.1f} "
            f"fds_max={max(int(r['fds_max']) for r in rows)}")


def summary_line(rows):
    rss_slope = slope_per_hour(rows, "rss_mib")
    errors = sum(int(r["errors"]) for r in rows)
    return (f"soak_minutes={len(rows)} rss_slope_mib_per_hour={rss_slope} "
            f"fds_start={int(rows[0]['fds'])} fds_end={int(rows[-1]['fds'])} "
            f"p99_first_ms={float(rows[0]['decrypt_p99_ms']):.2f} "
            f"p99_last_ms={float(rows[-1]['decrypt_p99_ms']):.2f} errors={errors}")


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1], newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            raise ValueError("no minutes in the CSV")
        line = summary_line(rows)
        second = floor_line(rows)
    except (OSError, KeyError, ValueError) as e:
        print(f"soak_summary: {sys.argv[1]}: {e}", file=sys.stderr)
        return 1
    print(" ".join(fmt.format(title) for _, title, fmt in COLUMNS))
    for r in rows:
        print(" ".join(fmt.format(r.get(key, "")) for key, _, fmt in COLUMNS))
    print(line)
    if second:
        print(second)
    return 0


if __name__ == "__main__":
    sys.exit(main())
