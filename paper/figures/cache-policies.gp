# paper/figures/cache-policies.gp — KV-cache policies on trained models: test accuracy
# against the bytes the compressed cache keeps per context token (all layers; log scale),
# one panel per mechanism, one curve per policy through its settings (eviction ratios,
# bit widths), the full cache as a dashed reference line. Reads generated/cache-policies.csv
# (means over seeds, written by attnlab report).
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = generated."/cache-policies.csv"
if (int(system("tail -n +2 '".f."' | wc -l")) == 0) { exit error "cache-policies.gp: no rows in ".f }

has(v, p) = int(system(sprintf("awk -F, 'NR > 1 && $1 == \"%s\" && $2 == \"%s\"' '%s' | wc -l", v, p, f))) > 0
present = ""
do for [s in SERIES] { if (int(system(sprintf("awk -F, 'NR > 1 && $1 == \"%s\"' '%s' | wc -l", s, f))) > 0) { present = present." ".s } }
n = words(present)

set multiplot layout 1,n
set yrange [-0.03:1.03]
set format y "%.1f"
set logscale x 2
set xlabel "Cache bytes per context token (all layers)"
do for [i=1:n] {
    v = word(present, i)
    stats f using (strcol("variant") eq v && strcol("policy") eq "full" ? column("accuracy") : NaN) nooutput
    full = STATS_mean
    set title slabel(v)
    set ylabel (i == 1 ? "Test accuracy (fraction)" : "")
    if (i == n) { set key outside right center vertical } else { unset key }
    plot full with lines lt pid("full") title plabel("full"), \
         for [p in POLICIES] f using (strcol("variant") eq v && strcol("policy") eq p && p ne "full" ? column("bytes") : NaN):"accuracy" \
             smooth unique with linespoints lt pid(p) title (p ne "full" && has(v, p) ? plabel(p) : "")
}
unset multiplot
