# paper/figures/passkey.gp — passkey retrieval accuracy against distance, per mechanism.
# Reads results/passkey-distance.csv, metric `accuracy_at_distance`, column `distance`
# (tokens between the passkey and the question). Marker: mean over seeds; bar: min to max.
# A dotted vertical line marks how far each sliding-window mechanism reaches through its L layers, L·(w − 1)
# (columns `window` and `layers`), when set.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = results."/passkey-distance.csv"

agg_file = f
agg_list = SERIES
agg_x(s) = column("distance")
agg_y(s) = strcol("variant") eq s && is("accuracy_at_distance") ? column("value") : NaN
load figdir."/seedstats.gp"
present = agg_present
if (words(present) == 0) { exit error "passkey.gp: no accuracy_at_distance rows in ".f }
stats $AGG using 2 nooutput
dmax = STATS_max

# (before the ranges are set: stats skips points outside them)
# Each sliding-window mechanism's reach L·(w − 1), from its rows' window and layers columns.
nw = 0
do for [wid in WINDOWED] {
    if (wordidx(present, wid) > 0) {
        stats f using (strcol("variant") eq wid && ok(column("window")) ? 1 : 0) nooutput
        if (STATS_sum > 0) {
            stats f using (strcol("variant") eq wid ? column("window") : NaN) nooutput; win = STATS_max
            stats f using (strcol("variant") eq wid ? column("layers") : NaN) nooutput; nlayers = STATS_max
            reach = nlayers * (win - 1)
            nw = nw + 1
            set arrow nw from first reach, graph 0 to first reach, graph 1 nohead lt sid(wid) dt 3 lw 1
            set label nw sprintf("%s reach L(w-1) = %d (w = %d, L = %d)", slabel(wid), reach, win, nlayers) at first reach, graph 1 center offset 0,0.7*nw font fsmall tc lt sid(wid)
        }
    }
}
if (nw > 0) { set tmargin 1 + 1.2*nw }
set yrange [-0.03:1.03]
set format y "%.1f"
set xrange [0:dmax*1.03]
set xlabel "Distance from passkey to question (tokens)"
set ylabel "Passkey accuracy (fraction)"
set key outside right center vertical
ddodge = dmax/150.0
plot for [s in present] $AGG using ($1 == sid(s) ? $2 + ddodge*(wordidx(present, s) - words(present)/2.0) : NaN):3:4:5 with yerrorbars lt sid(s) notitle, \
     for [s in present] $AGG using ($1 == sid(s) ? $2 + ddodge*(wordidx(present, s) - words(present)/2.0) : NaN):3 with linespoints lt sid(s) title slabel(s)
