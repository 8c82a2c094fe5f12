# paper/figures/kv-models.gp — KV cache per token for real published models (bf16, all layers).
# Reads results/kv-cache-models.csv, metric `bytes_per_token`; the `variant` column is the
# model's name. One bar per model, in the file's order; log y; the value printed on each bar.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = results."/kv-cache-models.csv"

set print $M
print "model,bytes"
unset print
set table $M append separator comma
plot f using (strcol("variant")):(column("value")) with table if (is("bytes_per_token"))
unset table
stats $M using 2 nooutput
nm = STATS_records
if (nm == 0) { exit error "kv-models.gp: no bytes_per_token rows in ".f }

set logscale y 2
set yrange [2**floor(log(STATS_min)/log(2) - 0.5) : 2**ceil(log(STATS_max)/log(2) + 1.2)]
set ytics 4
set format y ""
do for [e=0:40:2] { set ytics add (hbytes(2**e) 2**e) }   # 1 B, 4 B, ... labelled in binary units
set xrange [-0.6:nm-0.4]
set xtics rotate by 30 right scale 0
set grid noxtics nomxtics nomytics
set boxwidth 0.7
unset key
set ylabel "KV cache per token (bf16, all layers)"
set xlabel "Model"
plot $M using 0:2:xtic(1) with boxes lt OTHER fs solid 0.85 notitle, \
     $M using 0:($2*1.25):(hbytes($2)) with labels center offset 0,0.3 font fsmall notitle
