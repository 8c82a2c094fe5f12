# paper/figures/perf.gp — implementation performance: each operation's achieved rate as a
# percentage of the machine ceiling that binds it (sgemm peak for prefill, STREAM triad for
# MHA/GQA/MQA decode, the roofline bound for absorbed MLA decode), AttnLab's bars beside
# PyTorch's where `make bench-peers` timed the same shape (NaN: not timed, no bar).
# Reads GENDIR/perf.csv, written by `attnlab report` from results/*.csv and
# results/bench/{machine,peers}.csv: operation, fraction_of_ceiling, achieved, ceiling, unit,
# pytorch_fraction.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = generated."/perf.csv"
stats f using 2 nooutput
n = STATS_records
if (n == 0) { print "perf.gp: warning: ".f." has no rows (no results/bench/machine.csv?)"; set label 1 "no machine ceilings measured" at graph 0.5, 0.5 center; plot [0:1][0:1] NaN notitle; exit }
set xrange [-0.6:n-0.4]
top = 100 * STATS_max
set yrange [0:(top > 95 ? 1.15 * top : 110)]
set rmargin 14
set ylabel "Achieved / machine ceiling (%)"
set xtics rotate by -20 left scale 0
set grid noxtics nomxtics
set boxwidth 0.36
set key outside right top Left reverse samplen 1.5
set arrow 1 from graph 0, first 100 to graph 1, first 100 nohead dt 2 lc rgb "#555555" front
plot f using ($0 - 0.19):(100 * column("fraction_of_ceiling")):xticlabels(strcol("operation")) with boxes lt OTHER title "AttnLab", \
     f using ($0 - 0.19):(100 * column("fraction_of_ceiling")):(sprintf("%.0f", 100 * column("fraction_of_ceiling"))) with labels offset 0,0.7 font fsmall notitle, \
     f using ($0 + 0.19):(100 * column("pytorch_fraction")) with boxes lc rgb "#555555" title "PyTorch", \
     f using ($0 + 0.19):(100 * column("pytorch_fraction")):(sprintf("%.0f", 100 * column("pytorch_fraction"))) with labels offset 0,0.7 font fsmall notitle
