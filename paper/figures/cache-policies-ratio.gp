# paper/figures/cache-policies-ratio.gp — KV-cache policies as kvpress draws them: test
# accuracy against the compression ratio, the fraction of the context's cache bytes that
# a policy removes (for eviction, the ratio of entries; for quantisation, what the codes
# and scales save), a row of panels per task and a panel per mechanism, one curve per
# policy, the full cache as a dashed line. Reads generated/cache-policies.csv (means over seeds, attnlab report).
figdir = system("dirname '".ARG0."'")
load figdir."/style.gp"
f = generated."/cache-policies.csv"
if (int(system("tail -n +2 '".f."' | wc -l")) == 0) { exit error "cache-policies-ratio.gp: no rows in ".f }

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

set multiplot layout m,n margins 0.09,0.71,0.08,0.94 spacing 0.07,0.1
set yrange [-0.03:1.03]
set xrange [-0.03:1]
set format y "%.1f"
set xtics 0.25
set xlabel "Compression ratio (bytes removed)"
set key at screen 0.99,0.5 right center vertical
do for [k=1:m] {
    t = word(tasks, k)
    do for [i=1:n] {
        v = word(present, i)
        stats f using (strcol("task") eq t && strcol("variant") eq v && strcol("policy") eq "full" ? column("accuracy") : NaN) nooutput
        full = STATS_mean
        set title (k == 1 ? slabel(v) : "")
        set ylabel (i == 1 ? tlabel(t)."\ntest accuracy" : "")
        # The key once, from the first panel: the first mechanism runs every policy (MLA
        # has no KIVI), and the key sits at a fixed place on the page.
        if (i == 1 && k == 1) { set key } else { unset key }
        # Each (task, mechanism, policy) is one run of rows in the CSV, so its points join into a line.
        plot full with lines lt pid("full") title plabel("full"), \
             for [p in POLICIES] f using (strcol("task") eq t && strcol("variant") eq v && strcol("policy") eq p && p ne "full" ? column("bytes_removed") : NaN):"accuracy" \
                 with linespoints lt pid(p) title (p ne "full" && has(t, v, p) ? plabel(p) : "")
    }
}
unset multiplot
