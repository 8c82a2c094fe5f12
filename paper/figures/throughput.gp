# paper/figures/throughput.gp — training and decode throughput per mechanism (bars, log y).
# Reads results/throughput.csv, metric `tokens_per_second`, column `phase` (train, decode);
# the mean over seeds when there are several. Bars take the mechanism's colour; train
# solid, decode hatched.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = results."/throughput.csv"

# one bar per (variant, phase): the mean over its rows (seeds)
agg_file = f
agg_list = SERIES
agg_x(s) = strcol("phase") eq "train" ? 1 : strcol("phase") eq "decode" ? 2 : NaN
agg_y(s) = strcol("variant") eq s && is("tokens_per_second") ? column("value") : NaN
load figdir."/seedstats.gp"
present = agg_present
if (words(present) == 0) { exit error "throughput.gp: no tokens_per_second rows in ".f }
n = words(present)
stats $AGG using 3 nooutput
ylo = STATS_min; yhi = STATS_max

set logscale y 10
set yrange [10**floor(log10(ylo)) : 10**ceil(log10(yhi) + 0.3)]
set format y fmt_si
set xrange [0.4:n+0.6]
set xtics () scale 0
do for [i=1:n] { set xtics add (slabel(word(present, i)) i) }
set grid noxtics nomxtics
set boxwidth 0.36
set ylabel "Throughput (tokens/s)"
set xlabel "Mechanism"
set key inside left top horizontal noreverse Right samplen 1.5
pos(s, ph) = wordidx(present, s) + (ph == 1 ? -0.19 : 0.19)
plot for [s in present] $AGG using ($1 == sid(s) && $2 == 1 ? pos(s, 1) : NaN):3 with boxes lt sid(s) fs solid 0.85 notitle, \
     for [s in present] $AGG using ($1 == sid(s) && $2 == 2 ? pos(s, 2) : NaN):3 with boxes lt sid(s) fs pattern 4 notitle, \
     NaN with boxes lc rgb "#777777" fs solid 0.85 title "train", \
     NaN with boxes lc rgb "#777777" fs pattern 4 title "decode"
