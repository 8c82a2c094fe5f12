# paper/figures/prefill.gp — prefill wall time against prompt length, per series (log-log).
# Reads results/prefill-scaling.csv, metric `median_seconds` (median over repeats), column
# `tokens`; series = variant, or mla-naive / mla-absorbed from the `mla_path` column.
# The fitted log-log slopes shown in the legend come from the report generator:
#   GENDIR/prefill-slopes.csv   header `series,slope`, one row per series, series named
#                               as in GENDIR/series.gp (SERIES)
# Without that file the legend has no slopes and a warning is printed.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = results."/prefill-scaling.csv"
g = generated."/prefill-slopes.csv"

agg_file = f
agg_list = SERIES
agg_x(s) = column("tokens")
agg_y(s) = series(0) eq s && is("median_seconds") ? column("value") : NaN
load figdir."/seedstats.gp"
present = agg_present
if (words(present) == 0) { exit error "prefill.gp: no median_seconds rows in ".f }

have_slopes = exists_file(g)
if (!have_slopes) { print "prefill.gp: warning: ".g." is missing; legend without slopes" }
slopes = ""
do for [s in present] {
    sl = NaN
    if (have_slopes) {
        stats g using (strcol("series") eq s && ok(column("slope")) ? 1 : 0) nooutput
        if (STATS_sum > 0) {
            stats g using (strcol("series") eq s ? column("slope") : NaN) nooutput
            sl = STATS_mean
        } else {
            print "prefill.gp: warning: no slope for ".s." in ".g
        }
    }
    slopes = slopes.sprintf(" %g", sl)
}
title_of(s) = (sl = real(word(slopes, wordidx(present, s))), sl == sl ? sprintf("%s (slope %.2f)", slabel(s), sl) : slabel(s))

stats $AGG using 2 nooutput
set xrange [STATS_min/1.12 : STATS_max*1.12]
set logscale x 2
set logscale y 10
eval pow2tics("x")
set format y fmt_si."s"
set xlabel "Prompt length (tokens)"
set ylabel "Prefill time (median)"
set key outside right center vertical
plot for [s in present] $AGG using ($1 == sid(s) ? $2 : NaN):3 with linespoints lt sid(s) title title_of(s)
