# soak_plot.gp — the soak's plot (bench/http/soak_bench.sh), from its CSV:
#   gnuplot -e "csv='FILE.csv'; png='FILE.png'" bench/http/soak_plot.gp
# Three panels over the soak's minutes, so a person sees at a glance whether
# anything grows: the server's RSS (MiB) and open descriptors; the
# decrypts' p50 and p99 and the management traffic's p99 (ms); LMDB pages
# in use and the audit directory (MiB).
set datafile separator ","
set terminal pngcairo size 1100,1200 font ",10"
set output png
set key top left
set grid
set offsets 0, 0, graph 0.25, 0
set xlabel "minute"
set multiplot layout 3,1 title "Strongroom soak"

set title "memory and file descriptors"
set ylabel "RSS (MiB)"
set y2label "open fds"
set yrange [0:*]
set y2range [0:*]
set ytics nomirror
set y2tics
plot csv using 1:3 skip 1 with linespoints title "RSS at the minute's end (MiB)", \
     csv using 1:17 skip 1 with lines dashtype 2 title "lowest RSS in the minute", \
     csv using 1:18 skip 1 with lines dashtype 3 title "highest RSS in the minute", \
     csv using 1:4 skip 1 axes x1y2 with linespoints title "open fds (right)"

set title "latency per minute"
set ylabel "decrypt (ms)"
set y2label "management p99 (ms)"
plot csv using 1:10 skip 1 with linespoints title "decrypt p50", \
     csv using 1:11 skip 1 with linespoints title "decrypt p99", \
     csv using 1:13 skip 1 axes x1y2 with linespoints title "management p99 (right)"

set title "storage"
set ylabel "MiB"
unset y2label
unset y2tics
set ytics mirror
plot csv using 1:6 skip 1 with linespoints title "LMDB in use (MiB)", \
     csv using 1:8 skip 1 with linespoints title "audit log (MiB)"

unset multiplot
