# paper/figures/recall-vs-cache.gp — MQAR test accuracy against the state each configuration
# keeps at the cell's length (fp32 bytes, all layers; log axis): the recall-per-byte frontier.
# Reads generated/rvc-points.csv (one row per configuration at its chosen learning rate:
# state_bytes, mean/min/max accuracy over seeds, and whether it is on the Pareto frontier).
# Marker: mean over seeds; bar: min to max; a line joins one mechanism's knob values; the
# dashed black steps join the frontier (no configuration keeps fewer bytes and recalls better).
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = generated."/rvc-points.csv"
if (int(system("tail -n +2 '".f."' | wc -l")) == 0) { exit error "recall-vs-cache.gp: no rows in ".f }

present = ""
do for [s in SERIES] {
    stats f using (strcol("variant") eq s ? 1 : 0) nooutput
    if (STATS_sum > 0) { present = present." ".s }
}
set logscale x 2
set yrange [-0.03:1.03]
set format y "%.1f"
set offsets graph 0.04, graph 0.04, 0, 0
set xlabel "State at the task's length (bytes, fp32, all layers)"
set ylabel "MQAR test accuracy (fraction)"
set key outside right center vertical
plot for [s in present] f using (strcol("variant") eq s ? column("state_bytes") : NaN):"mean":"min":"max" with yerrorbars lt sid(s) notitle, \
     for [s in present] f using (strcol("variant") eq s ? column("state_bytes") : NaN):"mean" with linespoints lt sid(s) title slabel(s), \
     f using (column("frontier") == 1 ? column("state_bytes") : NaN):"mean" smooth unique with steps lc rgb "black" dt 2 title "frontier"
