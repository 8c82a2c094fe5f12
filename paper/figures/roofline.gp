# paper/figures/roofline.gp — decode roofline: achieved GFLOP/s against arithmetic intensity.
# Reads results/decode-scaling.csv; per decode point (variant, mla_path, context, seed):
#   x = flops_per_token / cache_bytes_read   (FLOP/byte)
#   y = achieved_gflops                       (GFLOP/s)
# The three metrics are rows of one run, adjacent in the merged CSV (attnlab merge sorts
# the rows by every column before `value`, metric last); they are joined while reading
# (key: variant, mla_path, context, seed).
# Ceilings from BENCH/machine.csv (results/bench/, `attnlab-bench machine`; tidy `benchmark`, `metric`, `value`):
#   sgemm_peak_gflops               peak compute, GFLOP/s; the maximum over thread counts is used
#   triad rows with best_gbps       memory bandwidth, GB/s (STREAM triad); the maximum over thread counts
# Without that file the points are plotted alone and a warning is printed.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = results."/decode-scaling.csv"
if (!exists("bench")) bench = results."/bench"   # make passes bench='results/bench' (the CSV may be elsewhere)
mfile = bench."/machine.csv"

# ---- join the three metrics of each run ---------------------------------------------
rk = ""; rF = NaN; rB = NaN; rG = NaN; rDone = 0
runkey(d) = strcol("variant")."|".strcol("mla_path")."|".strcol("context")."|".strcol("seed")
joined(d) = (kk = runkey(0), (kk ne rk ? (rk = kk, rF = NaN, rB = NaN, rG = NaN, rDone = 0) : 0), \
             (is("flops_per_token") ? rF = column("value") : 0), \
             (is("cache_bytes_read") ? rB = column("value") : 0), \
             (is("achieved_gflops") ? rG = column("value") : 0), \
             (rDone == 0 && rF == rF && rB == rB && rG == rG) ? (rDone = 1, 1) : 0)
set print $R
print "ok,sid,ai,gflops,context"
unset print
set table $R append separator comma
# one line per CSV row; ok = 1 on the row that completes a run
plot f using (joined(0)):(sid(series(0))):(rF/rB):(rG):(column("context")) with table
unset table
stats $R using ($1 == 1 && ok($3) && ok($4) ? 1 : 0) nooutput
if (STATS_sum == 0) { exit error "roofline.gp: no joined decode points in ".f }
stats $R using ($1 == 1 ? $3 : NaN) nooutput
aimin = STATS_min; aimax = STATS_max
stats $R using ($1 == 1 ? $4 : NaN) nooutput
gmin = STATS_min; gmax = STATS_max
present = ""
do for [s in SERIES] { stats $R using ($1 == 1 && $2 == sid(s) ? 1 : 0) nooutput; if (STATS_sum > 0) { present = present." ".s } }

# ---- ceilings --------------------------------------------------------------------------
peak = NaN; bw = NaN
if (exists_file(mfile)) {
    stats mfile using (is("sgemm_peak_gflops") && ok(column("value")) ? 1 : 0) nooutput
    if (STATS_sum > 0) { stats mfile using (is("sgemm_peak_gflops") ? column("value") : NaN) nooutput; peak = STATS_max }
    stats mfile using ((is("best_gbps") && strcol("benchmark") eq "triad") && ok(column("value")) ? 1 : 0) nooutput
    if (STATS_sum > 0) { stats mfile using ((is("best_gbps") && strcol("benchmark") eq "triad") ? column("value") : NaN) nooutput; bw = STATS_max }
    if (peak != peak || bw != bw) { print "roofline.gp: warning: ".mfile." lacks sgemm_peak_gflops or triad best_gbps rows" }
} else {
    print "roofline.gp: warning: ".mfile." is missing; plotting the points without ceilings"
}
have_peak = (peak == peak); have_bw = (bw == bw)

# x range: the points, widened to show the ridge point peak/bw where known
xlo = aimin/4.0; xhi = aimax*4.0
if (have_peak && have_bw) { ridge = peak/bw; xlo = (ridge/4 < xlo ? ridge/4 : xlo); xhi = (ridge*4 > xhi ? ridge*4 : xhi) }
ylo = gmin/4.0; yhi = gmax*4.0
if (have_peak) { yhi = (peak*3 > yhi ? peak*3 : yhi) }
set xrange [xlo:xhi]
set yrange [ylo:yhi]
set logscale xy 10
set format x "%g"
set format y "%g"
set xlabel "Arithmetic intensity (FLOP per byte of KV cache read)"
set ylabel "Achieved (GFLOP/s)"
set key outside right center vertical
set samples 400
roof(x) = have_peak && have_bw ? (x*bw < peak ? x*bw : peak) : have_peak ? peak : have_bw ? x*bw : NaN
if (have_peak) { set label 1 sprintf("sgemm peak %.0f GFLOP/s", peak) at graph 0.98, first peak*1.4 right font fsmall tc rgb "#555555" }
if (have_bw)   { set label 2 sprintf("triad %.1f GB/s", bw) at first xlo*2, first xlo*2*bw/3.5 left font fsmall tc rgb "#555555" }
plot roof(x) with lines lc rgb "#888888" lw 1.5 dt 1 title ((have_peak || have_bw) ? "machine ceilings" : ""), \
     for [s in present] $R using ($1 == 1 && $2 == sid(s) ? $3 : NaN):4 with points lt sid(s) title slabel(s)
