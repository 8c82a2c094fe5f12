# paper/figures/seedstats.gp — mean, min, max and std over seeds, per series and x.
#
# Inputs (set before `load`):
#   agg_file       the CSV to read
#   agg_list       space-separated series names to try, e.g. SERIES from style.gp
#   agg_x(s)       x of the current row for series s (any number)
#   agg_y(s)       y of the current row if it belongs to series s, else NaN
# Output:
#   $AGG           comma-separated, a header line then one line per (series, x):
#                  sid,x,mean,min,max,std,n
#   agg_present    the series of agg_list that have at least one row, in order
# Load it before any `set logscale` or range: it plots to tables.
unset logscale
set autoscale xy
set format x "%.15g"; set format y "%.15g"             # tables print with the axis formats
set print $AGG
print "sid,x,mean,min,max,std,n"
agg_present = ""
do for [agg_s in agg_list] {
    stats agg_file using (agg_v = agg_y(agg_s), agg_v == agg_v && agg_x(agg_s) == agg_x(agg_s) ? 1 : 0) nooutput
    if (STATS_sum > 0) {
        agg_present = agg_present." ".agg_s
        # stats honours set ranges: autoscale before every stats.
        # Distinct x values in increasing order: each pass takes the smallest x above the last.
        agg_last = -1e300
        do for [agg_guard=1:100000] {
            set autoscale xy
            stats agg_file using (ok(agg_y(agg_s)) && agg_x(agg_s) > agg_last ? 1 : 0) nooutput
            if (STATS_sum == 0) { break }
            stats agg_file using (ok(agg_y(agg_s)) && agg_x(agg_s) > agg_last ? agg_x(agg_s) : NaN) nooutput
            agg_X = STATS_min
            stats agg_file using (abs(agg_x(agg_s) - agg_X) <= 1e-5*abs(agg_X) ? agg_y(agg_s) : NaN) nooutput
            print sprintf("%d,%.10g,%.10g,%.10g,%.10g,%.10g,%d", sid(agg_s), agg_X, \
                          STATS_mean, STATS_min, STATS_max, STATS_stddev, STATS_records)
            agg_last = agg_X
        }
    }
}
unset print
set autoscale xy; set format x "% h"; set format y "% h"
