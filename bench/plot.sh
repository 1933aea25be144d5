#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Draw the benchmark plots from the JSON documents bench/run.sh wrote.
#
#   bash bench/plot.sh bench/results/<date>
#
# Writes into that directory:
#   snat-exhaustion.svg (and .png)  ports in use and refusals against offered flows,
#                        one line per frontend IPs x destinations
#                        (from snat-exhaustion.json)
#   forward.svg (and .png)          Mpps and cycles/packet against the number of
#                        established sessions (from forward-*.json)
# Needs gnuplot (Debian: gnuplot-nox) and python3.
set -euo pipefail

DIR=${1:?usage: plot.sh RESULTS_DIR}
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-plot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Data files for gnuplot, and the plot commands that name them.
python3 - "$DIR" "$tmp" <<'EOF'
import glob, json, os, sys

d, tmp = sys.argv[1], sys.argv[2]

def load(path):
    with open(path) as f:
        return json.load(f)

def describe(doc):
    m, b = doc["machine"], doc["build"]
    return "%s, %d cores; %s %s%s, -march=%s; %s" % (
        m["cpu"], m["cores_online"], b["compiler"], b["buildtype"],
        " LTO" if b["lto"] else "", b["march"], doc["memory"])

with open(os.path.join(tmp, "plots.gp"), "w") as gp:
    ex = os.path.join(d, "snat-exhaustion.json")
    if os.path.exists(ex):
        doc = load(ex)
        series = {}
        for r in doc["results"]:
            if r.get("scenario") == "snat-exhaustion":
                series.setdefault((r["frontend_ips"], r["destinations"]), []).append(r)
        used, refused = [], []
        for i, ((ips, dsts), rows) in enumerate(sorted(series.items())):
            f = os.path.join(tmp, "ex%d.dat" % i)
            with open(f, "w") as out:
                out.write("0 0 0\n")
                for r in rows:
                    out.write("%d %d %d\n" % (r["offered"], r["ports_in_use"], r["refused"]))
            t = "%d IP%s x %d dst" % (ips, "" if ips == 1 else "s", dsts)
            used.append("'%s' u 1:2 w lp lt %d pt 7 ps 0.5 t '%s'" % (f, i + 1, t))
            refused.append("'%s' u 1:($3 > 0 ? $3 : 1/0) w lp lt %d pt 7 ps 0.5 t '%s'"
                           % (f, i + 1, t))
        per = rows[0]["ports_per_ip_per_destination"]
        gp.write("""
@TERM@ size 1200,520
set output '%s/snat-exhaustion.@EXT@'
set multiplot layout 1,2 title "SNAT exhaustion through the worker (%d ports per frontend IP per destination)\\n{/*0.8 %s}"
set logscale xy
set grid
set key top left
set xlabel 'offered flows (concurrent, new)'
set ylabel 'SNAT ports in use'
set title 'ports in use: flat once every port is taken'
plot %s
set ylabel 'refused flows (drop.snat-exhausted)'
set title 'refusals: none before 100 %%, every new flow after'
plot %s
unset multiplot
""" % (d, per, describe(doc).replace("'", ""), ", ".join(used), ", ".join(refused)))

    pts = []
    for path in glob.glob(os.path.join(d, "forward-*.json")):
        doc = load(path)
        fig = {r["figure"]: r for r in doc["results"] if "figure" in r}
        s = int(path.rsplit("-", 1)[1].split(".")[0])
        c, m, fl = fig["forward.cycles_per_packet"], fig["forward.mpps"], fig["floor.cycles_per_packet"]
        pts.append((s, c["median"], c["min"], c["max"], m["median"], m["min"], m["max"],
                    fl["median"]))
    if pts:
        pts.sort()
        f = os.path.join(tmp, "fwd.dat")
        with open(f, "w") as out:
            for p in pts:
                out.write(" ".join(str(x) for x in p) + "\n")
        gp.write("""
@TERM@ size 900,520
set output '%s/forward.@EXT@'
unset multiplot
set title "Established flows with SNAT, 64-byte UDP, one worker (median, min-max)\\n{/*0.8 %s}"
set logscale x
unset logscale y
set grid
set key bottom right
set xlabel 'established sessions'
set ylabel 'Mpps (one core, worker time only)'
set y2label 'cycles per packet'
set yrange [0:*]
set y2range [0:*]
set ytics nomirror
set y2tics
plot '%s' u 1:5:6:7 w yerrorlines lt 1 pt 7 t 'Mpps', \\
     '%s' u 1:2:3:4 axes x1y2 w yerrorlines lt 2 pt 5 t 'cycles/packet', \\
     '%s' u 1:8 axes x1y2 w lp lt 3 dt 2 pt 1 t 'floor (rx -> tx), cycles/packet'
""" % (d, describe(doc).replace("'", ""), f, f, f))
EOF
[[ -s "$tmp/plots.gp" ]] || { echo "plot.sh: no snat-exhaustion.json or forward-*.json in $DIR" >&2; exit 1; }
# SVG for the README, PNG for viewers without SVG.
sed -e "s/@TERM@/set terminal svg dynamic font 'sans,11' background '#ffffff'/" -e 's/@EXT@/svg/' \
	"$tmp/plots.gp" | gnuplot
sed -e "s/@TERM@/set terminal pngcairo font 'sans,10' background '#ffffff'/" -e 's/@EXT@/png/' \
	"$tmp/plots.gp" | gnuplot
ls "$DIR"/*.svg "$DIR"/*.png
