# paper/figures/style.gp — the one style every AttnLab figure loads.
#
# Promise: each series (mechanism, or MLA decode path) has one colour, point type and
# dash pattern, the same in every figure; text is noenhanced (underscores print as
# they are); the terminal is chosen by variables given on the command line:
#
#   gnuplot -e "results='DIR'; generated='GENDIR'; out='PATH_WITHOUT_EXTENSION'; fmt='pdf'" \
#           paper/figures/NAME.gp
#
#   fmt='pdf'  pdfcairo 5in x 3.2in (the report)      -> out.pdf
#   fmt='png'  pngcairo 1000 x 650 px (the README)    -> out.png
#
# A figure script loads this file first (`load figdir."/style.gp"`, figdir being the
# script's own directory), then reads results/<experiment>.csv through `results`.
# Rows of the tidy CSV are picked with expressions on named columns, e.g.
#   using (column("context")):(strcol("metric") eq "median_seconds" ? column("value") : NaN)
# An empty field reads as NaN (column) or "" (strcol).

if (!exists("results"))   results   = "results"
if (!exists("generated")) generated = "paper/generated"
if (!exists("fmt"))       fmt       = "png"
if (!exists("out"))       exit error "style.gp: set out='PATH_WITHOUT_EXTENSION' with -e"

# exists_file(p): 1 if p is a readable file.
exists_file(p) = int(system(sprintf("[ -r '%s' ] && echo 1 || echo 0", p)))

set datafile separator comma
set datafile columnheaders

# ---- terminal ---------------------------------------------------------------------
if (fmt eq "pdf") {
    set terminal pdfcairo size 5in,3.2in font "DejaVu Sans,8" linewidth 1.2 noenhanced
    set output out.".pdf"
    psz = 0.55          # point size
    fsmall = ",6.5"     # font for value labels
} else {
    if (fmt eq "png") {
        set terminal pngcairo size 1000,650 font "DejaVu Sans,15" linewidth 2 noenhanced
        set output out.".png"
        psz = 1.1
        fsmall = ",12"
    } else {
        exit error sprintf("style.gp: fmt='%s' is not one of: pdf png", fmt)
    }
}
set termoption noenhanced
set encoding utf8
set micro                 # SI prefix for 1e-6 prints as µ

# ---- frame, grid, key ---------------------------------------------------------------
unset title
set border 3 lw 0.8
set tics nomirror out scale 0.6
set grid xtics ytics mxtics mytics lt 1 lc rgb "#e4e4e4" lw 0.6, lt 1 lc rgb "#f2f2f2" lw 0.4
set grid back
set key noenhanced noautotitle reverse Left
set key box lc rgb "#bbbbbb" opaque samplen 2.5 spacing 1.1
set style fill solid 0.85 border lc rgb "#333333"
set bars small

# ---- series: one colour, point type and dash per series, everywhere --------------------
# generated/series.gp, written by attnlab report from the mechanism registry, defines
# SERIES (the series ids in registry order, a mechanism's inference paths after it),
# sid(s) (its linetype), slabel(s) (its display name), WINDOWED (ids of sliding-window
# mechanisms), OTHER (the linetype of anything that is not a mechanism) and one linetype
# per series. No figure script names a mechanism: a new one appears everywhere.
series_file = generated."/series.gp"
if (!exists_file(series_file)) { exit error "style.gp: ".series_file." is missing: run attnlab report (make report) first" }
load series_file

# ---- row selection helpers ------------------------------------------------------------
# Lines must be drawn from an aggregated datablock (seedstats.gp's $AGG), not from the CSV
# itself: the rows filtered out read as NaN and break a line into single points.
# is(m): the current row's metric is m.  val: its value.
is(m)      = strcol("metric") eq m
# The series of a row: the variant, or variant-mla_path where a mla_path column is set
# (decode-scaling, prefill-scaling). Files without the column give "".
series(d)  = strcol("variant") . (strcol("mla_path") eq "" ? "" : "-".strcol("mla_path"))

# Axis number formats: SI prefixes without enhanced text (1k, 10M, 100m).
fmt_si     = "%.0s%c"
# Power-of-two axes (tokens, elements): a tick at every power of two, labelled in binary
# multiples (1k = 1024, 1M = 2^20) so that 32768 reads 32k, not 33k. Usage, after
# `set logscale x 2`:   eval pow2tics("x")
pow2fmt(e) = e >= 20 ? sprintf("%dM", 2**(e-20)) : e >= 10 ? sprintf("%dk", 2**(e-10)) : sprintf("%d", 2**e)
pow2tics(ax) = sprintf("set %stics (); set format %s '%%g'; set m%stics 1; do for [pe=0:30] { set %stics add (pow2fmt(pe) 2**pe) }", ax, ax, ax, ax)
# ok(x): x is a number (not NaN). A `stats` over no valid points stops with a warning and
# leaves STATS_* undefined, so count first: stats F using (cond && ok(v) ? 1 : 0) -> STATS_sum.
ok(x) = x == x

# wordidx(L, w): 1-based position of word w in the space-separated list L, 0 if absent.
wordidx(L, w) = (wi_p = strstrt(" ".L." ", " ".w." "), wi_p == 0 ? 0 : words((" ".L." ")[1:wi_p + strlen(w)]))
# dodge(L, s, width): sideways offset of series s among the series in L, so that the
# markers and error bars of different series at one x do not sit on each other.
dodge(L, s, width) = words(L) > 1 ? width*((wordidx(L, s) - 1.0)/(words(L) - 1.0) - 0.5) : 0

# Human-readable byte counts for labels (binary units, as caches are sized).
hbytes(x) = x >= 2**30 ? sprintf("%.3g GiB", x/2.0**30) : x >= 2**20 ? sprintf("%.3g MiB", x/2.0**20) : \
            x >= 2**10 ? sprintf("%.3g KiB", x/2.0**10) : sprintf("%.0f B", x)
