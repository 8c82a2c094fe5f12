# paper/figures/curves.gp — training curves: held-out accuracy against step, one MQAR cell.
# Reads results/mqar-recall.csv, metric `eval_accuracy`, columns step, seq_len, kv_pairs, seed.
# The cell: -e "cell_seq=128; cell_pairs=8; cell_seed=0" if given, else the longest seq_len
# that has eval_accuracy rows, its largest kv_pairs, and its smallest seed.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = results."/mqar-recall.csv"

stats f using (is("eval_accuracy") ? 1 : 0) nooutput
if (STATS_sum == 0) { exit error "curves.gp: no eval_accuracy rows in ".f }
if (!exists("cell_seq")) {
    stats f using (is("eval_accuracy") ? column("seq_len") : NaN) nooutput
    cell_seq = STATS_max
}
if (!exists("cell_pairs")) {
    stats f using (is("eval_accuracy") && column("seq_len") == cell_seq ? column("kv_pairs") : NaN) nooutput
    cell_pairs = STATS_max
}
if (!exists("cell_seed")) {
    stats f using (is("eval_accuracy") && column("seq_len") == cell_seq && column("kv_pairs") == cell_pairs ? column("seed") : NaN) nooutput
    cell_seed = STATS_min
}
print sprintf("curves.gp: cell seq_len %d, kv_pairs %d, seed %d", cell_seq, cell_pairs, cell_seed)

agg_file = f
agg_list = SERIES
agg_x(s) = column("step")
agg_y(s) = strcol("variant") eq s && is("eval_accuracy") && column("seq_len") == cell_seq && \
           column("kv_pairs") == cell_pairs && column("seed") == cell_seed ? column("value") : NaN
load figdir."/seedstats.gp"
present = agg_present
if (words(present) == 0) { exit error sprintf("curves.gp: no eval_accuracy rows for seq_len %d, kv_pairs %d, seed %d", cell_seq, cell_pairs, cell_seed) }

stats $AGG using 2 nooutput      # before any range: stats honours them
stepmax = STATS_max
set yrange [-0.03:1.03]
set format y "%.1f"
set xrange [0:stepmax*1.04]
set xlabel sprintf("Training step (MQAR, T=%d, N=%d, seed %d)", cell_seq, cell_pairs, cell_seed)
set ylabel "Held-out accuracy (fraction)"
set key outside right center vertical
plot for [s in present] $AGG using ($1 == sid(s) ? $2 : NaN):3 with linespoints lt sid(s) title slabel(s)
