# paper/figures/cache-policies-ratio.gp — KV-cache policies as kvpress draws them: test
# accuracy against the compression ratio, the fraction of the context's cache bytes that
# a policy removes (for eviction, the ratio of entries; for quantisation, what the codes
# and scales save), one panel per mechanism, one curve per policy, the full cache as a
# dashed line. Reads generated/cache-policies.csv (means over seeds, attnlab report).
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = generated."/cache-policies.csv"
if (int(system("tail -n +2 '".f."' | wc -l")) == 0) { exit error "cache-policies-ratio.gp: no rows in ".f }

has(v, p) = int(system(sprintf("awk -F, 'NR > 1 && $1 == \"%s\" && $2 == \"%s\"' '%s' | wc -l", v, p, f))) > 0
present = ""
do for [s in SERIES] { if (int(system(sprintf("awk -F, 'NR > 1 && $1 == \"%s\"' '%s' | wc -l", s, f))) > 0) { present = present." ".s } }
n = words(present)

set multiplot layout 1,n margins 0.09,0.71,0.14,0.9 spacing 0.07,0
set yrange [-0.03:1.03]
set xrange [-0.03:1]
set format y "%.1f"
set xtics 0.25
set xlabel "Compression ratio (bytes removed)"
set key at screen 0.99,0.5 right center vertical
do for [i=1:n] {
    v = word(present, i)
    stats f using (strcol("variant") eq v && strcol("policy") eq "full" ? column("accuracy") : NaN) nooutput
    full = STATS_mean
    set title slabel(v)
    set ylabel (i == 1 ? "Test accuracy (fraction)" : "")
    if (i == n) { set key } else { unset key }
    # Each (mechanism, policy) is one run of rows in the CSV, so its points join into a line.
    plot full with lines lt pid("full") title plabel("full"), \
         for [p in POLICIES] f using (strcol("variant") eq v && strcol("policy") eq p && p ne "full" ? column("bytes_removed") : NaN):"accuracy" \
             with linespoints lt pid(p) title (p ne "full" && has(v, p) ? plabel(p) : "")
}
unset multiplot
