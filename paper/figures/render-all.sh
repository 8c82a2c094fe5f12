#!/usr/bin/env bash
# paper/figures/render-all.sh RESULTS GENDIR OUTDIR — render every figure as PDF and PNG.
#
# Runs each paper/figures/*.gp (but style.gp and seedstats.gp, which figures load) twice:
#   gnuplot -e "results='RESULTS'; generated='GENDIR'; out='OUTDIR/NAME'; fmt='pdf'" NAME.gp
# and with fmt='png'. Exits non-zero if gnuplot fails on any figure or an output is missing
# or empty. Lines containing "warning:" (a missing file, a series without data) are listed
# at the end; set STRICT=1 to make them fail the run too.
set -u
if [ $# -ne 3 ]; then
    echo "usage: $0 RESULTS GENDIR OUTDIR" >&2
    exit 2
fi
results=$1; generated=$2; outdir=$3
here=$(cd "$(dirname "$0")" && pwd)
command -v gnuplot >/dev/null || { echo "render-all.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 2; }
[ -d "$results" ] || { echo "render-all.sh: no results directory '$results'" >&2; exit 2; }
mkdir -p "$outdir"

failed=0
warnings=""
for script in "$here"/*.gp; do
    name=$(basename "$script" .gp)
    case "$name" in style|seedstats) continue ;; esac
    for fmt in pdf png; do
        log=$(gnuplot -e "results='$results'; generated='$generated'; out='$outdir/$name'; fmt='$fmt'" "$script" 2>&1)
        rc=$?
        if [ $rc -ne 0 ]; then
            echo "FAIL $name.$fmt (gnuplot exit $rc)" >&2
            printf '%s\n' "$log" | sed 's/^/    /' >&2
            failed=1
        elif [ ! -s "$outdir/$name.$fmt" ]; then
            echo "FAIL $name.$fmt: no output written" >&2
            failed=1
        else
            echo "ok   $outdir/$name.$fmt"
        fi
        w=$(printf '%s\n' "$log" | grep -i "warning:" | grep -v "^$" || true)
        [ -n "$w" ] && [ "$fmt" = pdf ] && warnings="$warnings$(printf '%s\n' "$w" | sed "s/^/    $name: /")"$'\n'
    done
done
if [ -n "$warnings" ]; then
    echo "warnings:" >&2
    printf '%s' "$warnings" >&2
    [ "${STRICT:-0}" = 1 ] && failed=1
fi
exit $failed
