# paper/figures/cache-policies.gp — KV-cache policies on trained models: test accuracy
# against the bytes the compressed cache keeps per context token (all layers; log scale,
# one range per task), a row of panels per task and a panel per mechanism, one curve per
# policy through its settings (eviction ratios, bit widths), the full cache as a dashed
# reference line and a point at its own size, and in grey on MQAR the architectures'
# frontier from recall-vs-cache (generated/cache-policies-frontier.csv, empty when that
# experiment ran another cell).
# Reads generated/cache-policies.csv (means over seeds); attnlab report writes both.
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = generated."/cache-policies.csv"
if (int(system("tail -n +2 '".f."' | wc -l")) == 0) { exit error "cache-policies.gp: no rows in ".f }

has(t, v, p) = int(system(sprintf("awk -F, 'NR > 1 && $11 == \"%s\" && $1 == \"%s\" && $2 == \"%s\"' '%s' | wc -l", t, v, p, f))) > 0
present = ""
do for [s in SERIES] { if (int(system(sprintf("awk -F, 'NR > 1 && $1 == \"%s\"' '%s' | wc -l", s, f))) > 0) { present = present." ".s } }
n = words(present)
# One row of panels per task (column 11), in the CSV's order (MQAR first).
tasks = system("tail -n +2 '".f."' | cut -d, -f11 | awk '!seen[$0]++' | tr '\\n' ' '")
m = words(tasks)
tlabel(t) = t eq "mqar" ? "MQAR" : t eq "multikey-needle" ? "Multi-key needle" : t
if (m > 1) {
    if (fmt eq "pdf") { set terminal pdfcairo size 5in,5.4in font "DejaVu Sans,8" linewidth 1.2 noenhanced }
    else { set terminal pngcairo size 1000,1100 font "DejaVu Sans,15" linewidth 2 noenhanced }
    set output out.".".fmt
}

# The architectures (recall-vs-cache on MQAR's cell, written by attnlab report when the
# cells match): their Pareto frontier, drawn in the MQAR panels.
g = generated."/cache-policies-frontier.csv"
frontier = exists_file(g) && int(system("tail -n +2 '".g."' | wc -l")) > 0

# One x range per task row, so that mechanisms compare (computed before any axis range is
# set: stats honours the ranges).
array xlo[m]
array xhi[m]
do for [k=1:m] {
    t = word(tasks, k)
    stats f using (strcol("task") eq t ? column("bytes") : NaN) nooutput
    xlo[k] = STATS_min; xhi[k] = STATS_max
    if (frontier && t eq "mqar") {
        stats g using "bytes" nooutput
        xlo[k] = (STATS_min < xlo[k] ? STATS_min : xlo[k]); xhi[k] = (STATS_max > xhi[k] ? STATS_max : xhi[k])
    }
}

set multiplot layout m,n margins 0.09,0.71,0.08,0.94 spacing 0.07,0.1
set yrange [-0.03:1.03]
set format y "%.1f"
set logscale x 2
set xtics 1, 4            # every other power of two: the panels are narrow
set xlabel "Bytes per context token"
set key at screen 0.99,0.5 right center vertical
do for [k=1:m] {
    t = word(tasks, k)
    drawFrontier = frontier && t eq "mqar"
    set xrange [xlo[k] / 1.3:xhi[k] * 1.3]
    do for [i=1:n] {
        v = word(present, i)
        stats f using (strcol("task") eq t && strcol("variant") eq v && strcol("policy") eq "full" ? column("accuracy") : NaN) nooutput
        full = STATS_mean
        set title (k == 1 ? slabel(v) : "")
        set ylabel (i == 1 ? tlabel(t)."\ntest accuracy" : "")
        # The key once, from the first panel: the first mechanism runs every policy (MLA
        # has no KIVI), and the key sits at a fixed place on the page.
        if (i == 1 && k == 1) { set key } else { unset key }
        # The CSV holds each (task, mechanism, policy) as one run of rows sorted by bytes.
        plot full with lines lt pid("full") title plabel("full"), \
             (drawFrontier ? g : "/dev/null") using (column("frontier") == 1 ? column("bytes") : NaN):"accuracy" smooth unique with steps \
                 lc rgb "#8c8c8c" lw 2.5 title (frontier ? "architectures' frontier" : ""), \
             (drawFrontier ? g : "/dev/null") using (column("frontier") == 1 ? column("bytes") : NaN):"accuracy" with points lc rgb "#8c8c8c" pt 7 ps psz notitle, \
             f using (strcol("task") eq t && strcol("variant") eq v && strcol("policy") eq "full" ? column("bytes") : NaN):"accuracy" with points lt pid("full") pt 7 notitle, \
             for [p in POLICIES] f using (strcol("task") eq t && strcol("variant") eq v && strcol("policy") eq p && p ne "full" ? column("bytes") : NaN):"accuracy" \
                 with linespoints lt pid(p) title (p ne "full" && has(t, v, p) ? plabel(p) : "")
    }
}
unset multiplot
