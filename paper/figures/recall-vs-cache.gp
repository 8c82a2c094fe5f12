# paper/figures/recall-vs-cache.gp — MQAR accuracy against KV cache per token: the frontier.
# Reads results/recall-vs-cache.csv. Per run (each mechanism's knob value and seed):
#   x = kv_elements_at_seq_len / seq_len   (cache elements per token, all layers)
#   y = accuracy                           (final held-out accuracy)
# The two metrics are rows of one run, adjacent in the merged CSV (attnlab merge sorts
# the rows by every column before `value`, metric last); they are joined while reading
# (key: variant, every configuration column a knob can change, and seed).
# Marker: mean over seeds; bar: min to max; a line joins one mechanism's knob values.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = results."/recall-vs-cache.csv"

rk = ""; rE = NaN; rA = NaN; rDone = 0
runkey(d) = strcol("variant")."|".strcol("seq_len")."|".strcol("kv_pairs")."|".strcol("d_model")."|". \
            strcol("heads")."|".strcol("kv_heads")."|".strcol("head_dim")."|".strcol("window")."|". \
            strcol("latent")."|".strcol("rope_dim")."|".strcol("feature_dim")."|".strcol("seed")
joined(d) = (kk = runkey(0), (kk ne rk ? (rk = kk, rE = NaN, rA = NaN, rDone = 0) : 0), \
             (is("kv_elements_at_seq_len") ? rE = column("value")/column("seq_len") : 0), \
             (is("accuracy") ? rA = column("value") : 0), \
             (rDone == 0 && rE == rE && rA == rA) ? (rDone = 1, 1) : 0)
set print $J
print "ok,sid,x,y"
unset print
set table $J append separator comma
plot f using (joined(0)):(sid(strcol("variant"))):(rE):(rA) with table
unset table

agg_file = "$J"
agg_list = SERIES
agg_x(s) = column("x")
agg_y(s) = column("ok") == 1 && column("sid") == sid(s) ? column("y") : NaN
load figdir."/seedstats.gp"
present = agg_present
if (words(present) == 0) { exit error "recall-vs-cache.gp: no (accuracy, kv_elements_at_seq_len) pairs in ".f }

set logscale x 2
eval pow2tics("x")
set yrange [-0.03:1.03]
set format y "%.1f"
set offsets graph 0.04, graph 0.04, 0, 0
set xlabel "KV cache per token (elements, all layers)"
set ylabel "MQAR accuracy (fraction)"
set key outside right center vertical
plot for [s in present] $AGG using ($1 == sid(s) ? $2 : NaN):3:4:5 with yerrorbars lt sid(s) notitle, \
     for [s in present] $AGG using ($1 == sid(s) ? $2 : NaN):3 with linespoints lt sid(s) title slabel(s)
