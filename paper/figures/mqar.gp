# paper/figures/mqar.gp — MQAR accuracy per (sequence length, pairs) cell, per mechanism.
# Reads results/mqar-recall.csv, metric `accuracy` (final held-out accuracy of a run),
# columns seq_len, kv_pairs, seed. Marker: mean over seeds; bar: min to max over seeds.
# Cells are placed in order of seq_len then kv_pairs; series are dodged sideways.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = results."/mqar-recall.csv"

cellkey(d) = column("seq_len")*100000 + column("kv_pairs")
set xrange [-1e300:1e300]; set yrange [-1e300:1e300]; set format x "%.15g"
set table $CELLS
plot f using (cellkey(0)):(is("accuracy") ? 1 : 0) smooth frequency
unset table
set autoscale xy; set format x "% h"
cells = ""
do for [j=1:|$CELLS|] { if (words($CELLS[j]) >= 3 && strstrt($CELLS[j], "#") == 0 && real(word($CELLS[j],2)) > 0) { cells = cells.sprintf(" %d", int(real(word($CELLS[j],1)))) } }
ncells = words(cells)
if (ncells == 0) { exit error "mqar.gp: no accuracy rows in ".f }
cellidx(k) = wordidx(cells, sprintf("%d", k))

agg_file = f
agg_list = SERIES
agg_x(s) = cellidx(cellkey(0))
agg_y(s) = strcol("variant") eq s && is("accuracy") ? column("value") : NaN
load figdir."/seedstats.gp"
if (exists("debug")) { print $AGG }
np = words(agg_present)

set xtics () 
do for [j=1:ncells] {
    k = int(word(cells, j))
    set xtics add (sprintf("T=%d, N=%d", k/100000, k%100000) j)
}
set xrange [0.5:ncells+0.5]
set yrange [-0.03:1.03]
set grid noxtics nomxtics
set xlabel "MQAR cell: sequence length T, key-value pairs N"
set ylabel "Accuracy (fraction)"
set format y "%.1f"
set key outside right center vertical
plot for [s in agg_present] $AGG using ($1 == sid(s) ? $2 + dodge(agg_present, s, 0.4) : NaN):3:4:5 \
         with yerrorbars lt sid(s) title slabel(s), \
     for [s in agg_present] $AGG using ($1 == sid(s) ? $2 + dodge(agg_present, s, 0.4) : NaN):3 \
         smooth unique with lines lt sid(s) notitle
