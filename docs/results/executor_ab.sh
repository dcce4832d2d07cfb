#!/bin/bash
# Alternated A/B of two conv4j jars for the executor (how a call reaches the second thread):
#   1. `bench LIST --threads T` on every list (whole list per process), T in $THREADS;
#   2. each single layer of $SINGLE alone in its own process, at 2 and at 1 thread.
# The jars alternate process by process (the order flips every round), $PROCS processes per jar and case;
# the summary gives per-shape medians of GFLOP/s, new/old, and every process's value, plus the load average
# seen at each process's start. Run it in the foreground on a quiet machine (uptime load < ~2.5); it is bounded
# (about 20 min with the defaults on the 2-core machine) and leaves nothing running.
#
# usage: docs/results/executor_ab.sh target/old.jar target/new.jar [OUT_DIR]
#   Both jars must sit in target/ next to the OpenBLAS jars (e.g. cp target/conv4j-0.1.0.jar target/old.jar
#   before building the change), or the native library is not found.
# environment: PROCS (4), THREADS ("2 1"), LISTS (the four lists below), SINGLE (the four layers below),
#   SINGLE_PROCS ($PROCS)
set -euo pipefail
old=${1:?old jar}; new=${2:?new jar}
out=${3:-target/executor_ab_$(date +%Y%m%d_%H%M%S)}
PROCS=${PROCS:-4}
THREADS=${THREADS:-"2 1"}
LISTS=${LISTS:-"/work/shared/bench/shapes.csv /work/shared/bench/shapes_grouped.csv /work/lead/extra_dense.csv /work/lead/extra_grouped.csv"}
SINGLE=${SINGLE:-"/work/lead/extra_grouped.csv:dw1x7_28x64 /work/lead/extra_grouped.csv:b3_dw3x3_17x37 /work/shared/bench/shapes.csv:tiny_3x3_8x8x4 /work/shared/bench/shapes_grouped.csv:mbv2_dw3x3_14x576"}
SINGLE_PROCS=${SINGLE_PROCS:-$PROCS}
mkdir -p "$out"
rows=$out/rows.csv   # jar,case,process,shape,gflops,load
log=$out/log.txt
echo "jar,case,process,shape,gflops,load" >"$rows"
echo "A/B $(date -Is): old=$old new=$new PROCS=$PROCS THREADS='$THREADS'" | tee "$log"
git rev-parse --short HEAD >>"$log" 2>/dev/null || true

one() { # jar label case process args...
    local jar=$1 label=$2 case=$3 p=$4; shift 4
    local load; load=$(cut -d' ' -f1 /proc/loadavg)
    local tmp=$out/run.tmp
    java -jar "$jar" bench "$@" >"$tmp" 2>>"$log" || { echo "FAILED: $label $case $p" | tee -a "$log"; return; }
    grep -E '^conv4j,' "$tmp" | awk -F, -v j="$label" -v c="$case" -v p="$p" -v l="$load" '{print j","c","p","$3","$5","l}' >>"$rows"
    rm -f "$tmp"
}

for ((p = 1; p <= PROCS; p++)); do
    if ((p % 2)); then order="old new"; else order="new old"; fi
    for t in $THREADS; do
        for list in $LISTS; do
            for label in $order; do
                jar=$old; [[ $label == new ]] && jar=$new
                one "$jar" "$label" "list${t}T" "$p" "$list" --threads "$t"
            done
        done
    done
    echo "round $p/$PROCS of the lists done $(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
done
for ((p = 1; p <= SINGLE_PROCS; p++)); do
    if ((p % 2)); then order="old new"; else order="new old"; fi
    for item in $SINGLE; do
        list=${item%%:*}; shape=${item#*:}
        for t in 2 1; do
            for label in $order; do
                jar=$old; [[ $label == new ]] && jar=$new
                one "$jar" "$label" "alone${t}T" "$p" "$list" --threads "$t" --shapes "$shape"
            done
        done
    done
    echo "round $p/$SINGLE_PROCS of the single layers done $(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
done

python3 - "$rows" <<'EOF' | tee "$out/summary.txt"
import csv, statistics, sys
from collections import defaultdict
v = defaultdict(list); loads = []
for r in csv.DictReader(open(sys.argv[1])):
    v[(r['case'], r['shape'], r['jar'])].append(float(r['gflops'])); loads.append(float(r['load']))
print(f"load average at process starts: min {min(loads):.2f} median {statistics.median(loads):.2f} max {max(loads):.2f}")
print("case      shape                          old med  new med  new/old   old [per process]  new [per process]")
for case, shape in sorted({(c, s) for c, s, _ in v}):
    o, n = v.get((case, shape, 'old'), []), v.get((case, shape, 'new'), [])
    if not o or not n: continue
    mo, mn = statistics.median(o), statistics.median(n)
    flag = ' <<' if mn < 0.9 * mo else (' >>' if mn > 1.1 * mo else '')
    print(f"{case:9s} {shape:30s} {mo:8.1f} {mn:8.1f}  x{mn / mo:5.2f}   {[round(x) for x in o]} {[round(x) for x in n]}{flag}")
# 2 threads against 1 thread, each layer alone in its process
print("\nalone in a process, 2T/1T of the medians:")
for shape in sorted({s for c, s, _ in v if c == 'alone2T'}):
    for j in ('old', 'new'):
        a, b = v.get(('alone2T', shape, j)), v.get(('alone1T', shape, j))
        if a and b: print(f"  {shape:30s} {j}: 2T {statistics.median(a):7.1f} 1T {statistics.median(b):7.1f}  2T/1T {statistics.median(a) / statistics.median(b):.2f}")
EOF
echo "rows: $rows, log (bench stderr incl. the executor's per-layer activity): $log"
