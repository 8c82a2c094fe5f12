# paper/figures/mqar.gp — MQAR test accuracy per cell (T, N, width C), per mechanism.
# Reads generated/mqar-points.csv (the report generator's reported runs: per point the
# learning rate chosen on the validation set, one row per seed), column accuracy.
# Marker: mean over seeds; bar: min to max over seeds. A cell whose MHA baseline did not
# reach 99 % (baseline_converged = 0) is labelled "not converged".
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = generated."/mqar-points.csv"

cellkey(d) = column("seq_len")*1000000 + column("kv_pairs")*1000 + column("d_model")
set xrange [-1e300:1e300]; set yrange [-1e300:1e300]; set format x "%.15g"
set table $CELLS
plot f using (cellkey(0)):(1) smooth frequency
unset table
set table $GATE
plot f using (cellkey(0)):(column("baseline_converged")) smooth unique
unset table
set autoscale xy; set format x "% h"
cells = ""
do for [j=1:|$CELLS|] { if (words($CELLS[j]) >= 3 && strstrt($CELLS[j], "#") == 0 && real(word($CELLS[j],2)) > 0) { cells = cells.sprintf(" %d", int(real(word($CELLS[j],1)))) } }
ncells = words(cells)
if (ncells == 0) { exit error "mqar.gp: no rows in ".f }
cellidx(k) = wordidx(cells, sprintf("%d", k))
do for [j=1:|$GATE|] { if (words($GATE[j]) >= 2 && strstrt($GATE[j], "#") == 0) { eval sprintf("gate_%d = %d", int(real(word($GATE[j],1))), int(real(word($GATE[j],2)))) } }

agg_file = f
agg_list = SERIES
agg_x(s) = cellidx(cellkey(0))
agg_y(s) = strcol("variant") eq s ? column("accuracy") : NaN
load figdir."/seedstats.gp"
np = words(agg_present)

set xtics () 
do for [j=1:ncells] {
    k = int(word(cells, j))
    conv = value(sprintf("gate_%d", k))
    set xtics add (sprintf("T=%d N=%d C=%d%s", k/1000000, (k/1000)%1000, k%1000, conv ? "" : "\n(not conv.)") j)
}
set xrange [0.5:ncells+0.5]
set yrange [-0.03:1.03]
set grid noxtics nomxtics
set xlabel "MQAR cell: sequence length T, key-value pairs N, width C" offset 0,-1
set bmargin 5
set ylabel "Test accuracy (fraction)"
set format y "%.1f"
set key outside right center vertical
plot for [s in agg_present] $AGG using ($1 == sid(s) ? $2 + dodge(agg_present, s, 0.5) : NaN):3:4:5 \
         with yerrorbars lt sid(s) title slabel(s)
