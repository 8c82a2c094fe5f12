# paper/figures/copying.gp — copying and selective copying: accuracy against sequence length.
# Reads generated/copying-points.csv and generated/selective-copying-points.csv (the
# report generator's reported runs: test accuracy at the learning rate chosen on the
# validation set), column seq_len, over seeds. Two panels, one shared key below them.
# Marker: mean over seeds; bar: min to max.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"

agg_list = SERIES
agg_x(s) = column("seq_len")
agg_y(s) = strcol("variant") eq s ? column("accuracy") : NaN
agg_file = generated."/copying-points.csv"
load figdir."/seedstats.gp"
set print $A1
print $AGG
unset print
pres1 = agg_present
agg_file = generated."/selective-copying-points.csv"
load figdir."/seedstats.gp"
pres2 = agg_present
if (words(pres1) == 0 || words(pres2) == 0) { exit error "copying.gp: no rows in copying-points.csv or selective-copying-points.csv" }
present = ""
do for [s in SERIES] { if (wordidx(pres1, s) > 0 || wordidx(pres2, s) > 0) { present = present." ".s } }

stats $A1 using 2 nooutput
x1lo = STATS_min; x1hi = STATS_max
stats $AGG using 2 nooutput
x2lo = STATS_min; x2hi = STATS_max

set logscale x 2
set format x "%g"
# x tics at the sequence lengths measured: the second field of each $AGG-style line
aggx(l) = (agg_t = l[strstrt(l, ",") + 1:], real(agg_t[1:strstrt(agg_t, ",") - 1]))
set yrange [-0.03:1.03]
set format y "%.1f"
set xlabel "Sequence length (tokens)"

set multiplot
# panels side by side, the bottom strip for the shared key
set lmargin at screen 0.09; set rmargin at screen 0.49
set tmargin at screen 0.93; set bmargin at screen 0.25
unset key
set ylabel "Test accuracy (fraction)"
set label 10 "Copying" at graph 0.02, graph 1.05 left
set xrange [x1lo/1.25 : x1hi*1.25]
set xtics ()
do for [j=2:|$A1|] { if (strstrt($A1[j], ",") > 0) { set xtics add (sprintf("%g", aggx($A1[j])) aggx($A1[j])) } }
plot for [s in pres1] $A1 using ($1 == sid(s) ? $2 : NaN):3:4:5 with yerrorbars lt sid(s) notitle, \
     for [s in pres1] $A1 using ($1 == sid(s) ? $2 : NaN):3 with linespoints lt sid(s) notitle
set lmargin at screen 0.58; set rmargin at screen 0.98
set ylabel ""
set label 10 "Selective copying" at graph 0.02, graph 1.05 left
set xrange [x2lo/1.25 : x2hi*1.25]
set xtics ()
do for [j=2:|$AGG|] { if (strstrt($AGG[j], ",") > 0) { set xtics add (sprintf("%g", aggx($AGG[j])) aggx($AGG[j])) } }
plot for [s in pres2] $AGG using ($1 == sid(s) ? $2 : NaN):3:4:5 with yerrorbars lt sid(s) notitle, \
     for [s in pres2] $AGG using ($1 == sid(s) ? $2 : NaN):3 with linespoints lt sid(s) notitle
# the shared key: an empty plot over the bottom strip
unset label 10
set key at screen 0.5, screen 0.06 center center horizontal maxrows 1 noreverse Right samplen 2
set lmargin at screen 0.0; set rmargin at screen 1.0; set tmargin at screen 0.10; set bmargin at screen 0.01
unset border; unset tics; unset grid; unset xlabel; unset ylabel; unset logscale
set xrange [0:1]; set yrange [0:1]; set offsets 0,0,0,0
plot for [s in present] NaN with linespoints lt sid(s) title slabel(s)
unset multiplot
