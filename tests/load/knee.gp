# knee.gp: requests/s of POST /order/ against connections, (b) spread over
# 1,000 products and (c) one hot product, for each lock strategy, beside the
# database ceiling (sysbench, the same transaction straight to MariaDB).
#
#   gnuplot -e "datadir='OUT'; spreadat=64; hotat=64; dbspread=3400; dbhot=1900; \
#               locks='forupdate optimistic queue'; machine='...'" tests/load/knee.gp
# (spreadat, hotat: the sysbench threads of the highest ceilings)
#
# Reads OUT/knee.dat ("conns b_L1 c_L1 b_L2 c_L2 ...", NaN for a missing
# point) and OUT/dbcurve.dat ("threads spread hot"); writes OUT/knee.png.

if (!exists("datadir")) datadir = "."
if (!exists("spreadat")) spreadat = 64
if (!exists("hotat")) hotat = 64
if (!exists("dbspread")) dbspread = NaN
if (!exists("dbhot")) dbhot = NaN
if (!exists("locks")) locks = "forupdate optimistic"
if (!exists("machine")) machine = ""

knee = datadir . "/knee.dat"
curve = datadir . "/dbcurve.dat"

set terminal pngcairo size 1200,720 enhanced font "DejaVu Sans,11"
set output datadir . "/knee.png"

set title "orderd: POST /order/ requests/s against connections\n{/*0.8 " . machine . "}"
set xlabel "wrk connections (sysbench threads for the DB curves)"
set ylabel "requests/s (transactions/s)"
set logscale x 2
set xrange [0.8:320]
set xtics (1, 2, 4, 8, 16, 32, 64, 128, 256)
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set grid xtics ytics lc rgb "#dddddd"
set key outside right top box opaque
set datafile missing "NaN"

# Horizontal lines: the DB ceilings (the highest of sysbench at 4, 16, 64 threads).
set style line 1 lc rgb "#1f77b4" lw 2 pt 7 ps 1.2
set style line 2 lc rgb "#d62728" lw 2 pt 5 ps 1.2
set style line 3 lc rgb "#1f77b4" lw 2 pt 6 ps 1.2 dt 4
set style line 4 lc rgb "#d62728" lw 2 pt 4 ps 1.2 dt 4
set style line 5 lc rgb "#1f77b4" lw 1.5 dt 2
set style line 6 lc rgb "#d62728" lw 1.5 dt 2
set style line 7 lc rgb "#7f7f7f" lw 1 pt 1 ps 0.9 dt 3
set style line 8 lc rgb "#ff7f0e" lw 1 pt 2 ps 0.9 dt 3
set style line 9 lc rgb "#17becf" lw 2.5 pt 9 ps 1.3
set style line 10 lc rgb "#9467bd" lw 2.5 pt 11 ps 1.3

nl = words(locks)
plot \
  for [i=1:nl] knee using 1:(column(2*i)) with linespoints ls (i == 1 ? 1 : i == 2 ? 3 : 9) \
      title sprintf("(b) spread, --lock %s", word(locks, i)), \
  for [i=1:nl] knee using 1:(column(2*i+1)) with linespoints ls (i == 1 ? 2 : i == 2 ? 4 : 10) \
      title sprintf("(c) hot, --lock %s", word(locks, i)), \
  dbspread with lines ls 5 title sprintf("DB ceiling spread, %d threads: %.0f/s", spreadat, dbspread), \
  dbhot with lines ls 6 title sprintf("DB ceiling hot, %d threads: %.0f/s", hotat, dbhot), \
  curve using 1:2 with linespoints ls 7 title "DB (sysbench) spread by threads", \
  curve using 1:3 with linespoints ls 8 title "DB (sysbench) hot by threads"
