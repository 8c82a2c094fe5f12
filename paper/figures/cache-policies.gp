# paper/figures/cache-policies.gp — KV-cache policies on trained models: test accuracy
# against the bytes the compressed cache keeps per context token (all layers; log scale,
# one range for every panel), one panel per mechanism, one curve per policy through its
# settings (eviction ratios, bit widths), the full cache as a dashed reference line and a
# point at its own size, and in grey the architectures' frontier from recall-vs-cache
# (generated/cache-policies-frontier.csv, empty when that experiment ran another cell).
# Reads generated/cache-policies.csv (means over seeds); attnlab report writes both.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = generated."/cache-policies.csv"
if (int(system("tail -n +2 '".f."' | wc -l")) == 0) { exit error "cache-policies.gp: no rows in ".f }

has(v, p) = int(system(sprintf("awk -F, 'NR > 1 && $1 == \"%s\" && $2 == \"%s\"' '%s' | wc -l", v, p, f))) > 0
present = ""
do for [s in SERIES] { if (int(system(sprintf("awk -F, 'NR > 1 && $1 == \"%s\"' '%s' | wc -l", s, f))) > 0) { present = present." ".s } }
n = words(present)

# The architectures (recall-vs-cache on the same cell, written by attnlab report when the
# cells match): their Pareto frontier, drawn in every panel.
g = generated."/cache-policies-frontier.csv"
frontier = exists_file(g) && int(system("tail -n +2 '".g."' | wc -l")) > 0
stats f using "bytes" nooutput   # one x range for every panel, so mechanisms compare
xlo = STATS_min; xhi = STATS_max
if (frontier) { stats g using "bytes" nooutput; xlo = (STATS_min < xlo ? STATS_min : xlo); xhi = (STATS_max > xhi ? STATS_max : xhi) }
xlo = xlo / 1.3; xhi = xhi * 1.3

set multiplot layout 1,n margins 0.09,0.71,0.14,0.9 spacing 0.07,0
set yrange [-0.03:1.03]
set format y "%.1f"
set logscale x 2
set xrange [xlo:xhi]
set xlabel "Bytes per context token"
set key at screen 0.99,0.5 right center vertical
do for [i=1:n] {
    v = word(present, i)
    stats f using (strcol("variant") eq v && strcol("policy") eq "full" ? column("accuracy") : NaN) nooutput
    full = STATS_mean
    set title slabel(v)
    set ylabel (i == 1 ? "Test accuracy (fraction)" : "")
    if (i == n) { set key } else { unset key }
    # The CSV holds each (mechanism, policy) as one run of rows sorted by bytes.
    plot full with lines lt pid("full") title plabel("full"), \
         (frontier ? g : "/dev/null") using (column("frontier") == 1 ? column("bytes") : NaN):"accuracy" smooth unique with steps \
             lc rgb "#8c8c8c" lw 2.5 title (frontier ? "architectures' frontier" : ""), \
         (frontier ? g : "/dev/null") using (column("frontier") == 1 ? column("bytes") : NaN):"accuracy" with points lc rgb "#8c8c8c" pt 7 ps psz notitle, \
         f using (strcol("variant") eq v && strcol("policy") eq "full" ? column("bytes") : NaN):"accuracy" with points lt pid("full") pt 7 notitle, \
         for [p in POLICIES] f using (strcol("variant") eq v && strcol("policy") eq p && p ne "full" ? column("bytes") : NaN):"accuracy" \
             with linespoints lt pid(p) title (p ne "full" && has(v, p) ? plabel(p) : "")
}
unset multiplot
