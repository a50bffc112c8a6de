# Latency by percentile (HdrHistogram style: the x axis is 1/(1-p), so
# 90 %, 99 %, 99.9 % ... are evenly spaced) for the bare baseline, the
# design's floor and the gateway, at maximum load and at half of the
# gateway's maximum.
#   gnuplot -e "data='DIR'; out='latency.png'" bench/plot/latency.gp
# DIR holds max-{baseline,floor,gateway}.dat and half-{baseline,floor,gateway}.dat
# written by bench/report.py plot-data: "x latency_ms p".
if (!exists("data")) data = "."
if (!exists("out")) out = "latency.png"
set terminal pngcairo size 1000,600 enhanced font "DejaVu Sans,11"
set output out
set title "idgate Verify latency by percentile (bench/run.sh)"
set logscale x
set logscale y
set xrange [1:100000]
set xtics ("0%%" 1, "50%%" 2, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, "99.999%%" 100000)
set xlabel "percentile"
set ylabel "latency (ms)"
set grid xtics ytics mytics
set key bottom right
plot data."/max-baseline.dat" using 1:2 with lines lw 2 lc rgb "#1f77b4" title "baseline, max load", \
     data."/max-floor.dat" using 1:2 with lines lw 2 lc rgb "#2ca02c" title "design floor, max load", \
     data."/max-gateway.dat" using 1:2 with lines lw 2 lc rgb "#d62728" title "gateway, max load", \
     data."/half-baseline.dat" using 1:2 with lines lw 2 dt 2 lc rgb "#1f77b4" title "baseline, half of the gateway's max (paced)", \
     data."/half-floor.dat" using 1:2 with lines lw 2 dt 2 lc rgb "#2ca02c" title "design floor, same rate (paced)", \
     data."/half-gateway.dat" using 1:2 with lines lw 2 dt 2 lc rgb "#d62728" title "gateway, half of its max (paced)"
