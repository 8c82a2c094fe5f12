# paper/figures/decode.gp — time per generated token against the context already cached.
# Reads results/decode-scaling.csv, metric `median_seconds` (per token), column `context`;
# series = variant, or mla-naive / mla-absorbed from the `mla_path` column. Log-log, so
# that a flat cost (linear attention, a full sliding window) and a linear one both show.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = results."/decode-scaling.csv"

agg_file = f
agg_list = SERIES
agg_x(s) = column("context")
agg_y(s) = series(0) eq s && is("median_seconds") ? column("value") : NaN
load figdir."/seedstats.gp"
present = agg_present
if (words(present) == 0) { exit error "decode.gp: no median_seconds rows in ".f }

stats $AGG using 2 nooutput
set xrange [STATS_min/1.12 : STATS_max*1.12]
set logscale x 2
set logscale y 10
eval pow2tics("x")
set format y fmt_si."s"
set xlabel "Context length (tokens in the KV cache)"
set ylabel "Time per token (median)"
set key outside right center vertical
plot for [s in present] $AGG using ($1 == sid(s) ? $2 : NaN):3 with linespoints lt sid(s) title slabel(s)
