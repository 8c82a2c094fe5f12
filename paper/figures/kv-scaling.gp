# paper/figures/kv-scaling.gp — KV cache bytes against context length, per mechanism.
# Reads results/kv-cache-scaling.csv: metric `analytic_bytes` (lines) and `measured_bytes`
# (markers, from the cache objects, where the machine could hold them), column `context`.
# Log-log; a measured marker on its line means the cache object agrees with the formula.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = results."/kv-cache-scaling.csv"

agg_file = f
agg_list = SERIES
agg_x(s) = column("context")
agg_y(s) = strcol("variant") eq s && is("analytic_bytes") ? column("value") : NaN
load figdir."/seedstats.gp"
present = agg_present
if (words(present) == 0) { exit error "kv-scaling.gp: no analytic_bytes rows in ".f }

stats $AGG using 2 nooutput
xlo = STATS_min/1.12; xhi = STATS_max*1.12
stats $AGG using 3 nooutput
ylo = STATS_min/3.0; yhi = STATS_max*3.0
set xrange [xlo:xhi]
set yrange [ylo:yhi]
set logscale x 2
set logscale y 2
eval pow2tics("x")
set ytics 4
set format y ""
do for [e=0:60:2] { set ytics add (hbytes(2**e) 2**e) }
set mytics default
set xlabel "Context length (tokens)"
set ylabel "KV cache size (float32)"
set key outside right center vertical
meas(s) = strcol("variant") eq s && is("measured_bytes") ? column("value") : NaN
plot for [s in present] $AGG using ($1 == sid(s) ? $2 : NaN):3 with lines lt sid(s) title slabel(s), \
     for [s in present] f using (column("context")):(meas(s)) with points lt sid(s) notitle, \
     NaN with lines lc rgb "#555555" lw 1.5 title "analytic", \
     NaN with points pt 7 ps psz lc rgb "#555555" title "measured"
