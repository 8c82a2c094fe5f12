# paper/figures/needle.gp — multi-key needle (RULER niah_multikey): left, test accuracy
# against the number of needles K; right, accuracy against the distance from the asked
# needle to the question at the largest K. Reads generated/needle-points.csv and
# generated/needle-distance.csv (the reported runs: the learning rate chosen on the
# validation set). Marker: mean over seeds; bar: min to max.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
fp = generated."/needle-points.csv"
fd = generated."/needle-distance.csv"
if (int(system("tail -n +2 '".fp."' | wc -l")) == 0) { exit error "needle.gp: no rows in ".fp }

agg_file = fp
agg_list = SERIES
agg_x(s) = column("needles")
agg_y(s) = strcol("variant") eq s ? column("accuracy") : NaN
load figdir."/seedstats.gp"
set print $BYK                   # keep the per-K table: the next load overwrites $AGG
do for [i=1:|$AGG|] { print $AGG[i] }
unset print
presentK = agg_present
stats $AGG using 2 nooutput
kmax = STATS_max

agg_file = fd
agg_x(s) = column("distance")
agg_y(s) = strcol("variant") eq s && column("needles") == kmax ? column("accuracy") : NaN
load figdir."/seedstats.gp"
presentD = agg_present
stats $AGG using 2 nooutput       # before any range: stats honours them
dmax = STATS_max

set multiplot layout 1,2
set yrange [-0.03:1.03]
set format y "%.1f"
set logscale x 2
set xrange [*:*]
set xlabel "Needles K"
set ylabel "Test accuracy (fraction)"
unset key
plot for [s in presentK] $BYK using ($1 == sid(s) ? $2 : NaN):3:4:5 with yerrorbars lt sid(s) notitle, \
     for [s in presentK] $BYK using ($1 == sid(s) ? $2 : NaN):3 with linespoints lt sid(s) title slabel(s)
unset logscale x
eval sprintf("set xtics %d", dmax > 64 ? 32 : 16)   # a narrow panel: few, round distance labels
set xlabel sprintf("Distance of the asked needle (K = %d)", kmax)
set ylabel "Accuracy (fraction)"
set key outside right center vertical
plot for [s in presentD] $AGG using ($1 == sid(s) ? $2 : NaN):3 with linespoints lt sid(s) title slabel(s)
unset multiplot
