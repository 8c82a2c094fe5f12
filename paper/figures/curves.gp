# paper/figures/curves.gp — training curves: validation accuracy against step, one MQAR cell.
# Reads generated/mqar-curves.csv (the reported runs only: per point the learning rate
# chosen on the validation set), columns variant, seq_len, kv_pairs, d_model, seed, step,
# eval_accuracy. The cell: -e "cell_seq=128; cell_pairs=8; cell_width=128; cell_seed=0" if
# given, else the longest seq_len, its largest kv_pairs, the largest width, the smallest seed.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = generated."/mqar-curves.csv"

if (int(system("tail -n +2 '".f."' | wc -l")) == 0) { exit error "curves.gp: no rows in ".f }
if (!exists("cell_seq")) {
    stats f using (column("seq_len")) nooutput
    cell_seq = STATS_max
}
if (!exists("cell_pairs")) {
    stats f using (column("seq_len") == cell_seq ? column("kv_pairs") : NaN) nooutput
    cell_pairs = STATS_max
}
if (!exists("cell_width")) {
    stats f using (column("seq_len") == cell_seq && column("kv_pairs") == cell_pairs ? column("d_model") : NaN) nooutput
    cell_width = STATS_max
}
if (!exists("cell_seed")) {
    stats f using (column("seq_len") == cell_seq && column("kv_pairs") == cell_pairs && column("d_model") == cell_width ? column("seed") : NaN) nooutput
    cell_seed = STATS_min
}
print sprintf("curves.gp: cell seq_len %d, kv_pairs %d, width %d, seed %d", cell_seq, cell_pairs, cell_width, cell_seed)

agg_file = f
agg_list = SERIES
agg_x(s) = column("step")
agg_y(s) = strcol("variant") eq s && column("seq_len") == cell_seq && column("kv_pairs") == cell_pairs && \
           column("d_model") == cell_width && column("seed") == cell_seed ? column("eval_accuracy") : NaN
load figdir."/seedstats.gp"
present = agg_present
if (words(present) == 0) { exit error sprintf("curves.gp: no rows for seq_len %d, kv_pairs %d, width %d, seed %d", cell_seq, cell_pairs, cell_width, cell_seed) }

stats $AGG using 2 nooutput      # before any range: stats honours them
stepmax = STATS_max
set yrange [-0.03:1.03]
set format y "%.1f"
set xrange [0:stepmax*1.04]
set xlabel sprintf("Training step (MQAR, T=%d, N=%d, width %d, seed %d)", cell_seq, cell_pairs, cell_width, cell_seed)
set ylabel "Validation accuracy (fraction)"
set key outside right center vertical
plot for [s in present] $AGG using ($1 == sid(s) ? $2 : NaN):3 with linespoints lt sid(s) title slabel(s)
