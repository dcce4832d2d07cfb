#!/usr/bin/env bash
# Alternated A/B of conv4j builds, the lead's check before the final harness runs:
#   docs/results/scripts/ab.sh ROUNDS OUT.csv label=/path/to/worktree ...   (then abmed.py OUT.csv BASE OTHER...)
# Each round runs every build (the order rotates per round) on the four shape lists forward at 2 threads
# and on shapes.csv backward at 1 thread, one process per list; rows: label,round,list,mode,threads,shape,ms,gflops.
# NO_BWD=1 skips the backward runs. OPTS_<label> adds JVM options to that label's processes (two labels may share one worktree).
# About 95 s per build and round on the quiet 2-core machine. Needs a quiet machine: 2-thread figures
# under load are noise.
set -u
root=$(cd "$(dirname "$0")/../../.." && pwd)
rounds=$1; out=$2; shift 2
S=${BENCH_DIR:-$root/../shared/bench}; R=$root/docs/results
lists="$S/shapes.csv $S/shapes_grouped.csv $R/extra_dense_shapes.csv $R/extra_grouped_shapes.csv"
echo "label,round,list,mode,threads,shape,ms,gflops" > "$out"
jars=("$@")
for r in $(seq 1 "$rounds"); do
  n=${#jars[@]}
  for k in $(seq 0 $((n-1))); do
    j=${jars[$(( (k + r) % n ))]}; label=${j%%=*}; dir=${j#*=}; ov="OPTS_$label"; opts=${!ov:-}
    for l in $lists; do
      java $opts -jar "$dir/target/conv4j-0.1.0.jar" bench "$l" --threads 2 2>>/tmp/ab-$label.err | grep '^conv4j,' \
        | awk -F, -v L="$label" -v R="$r" -v B="$(basename $l .csv)" '{print L","R","B",fwd,"$2","$3","$4","$5}' >> "$out"
    done
    [ -n "${NO_BWD:-}" ] || java $opts -jar "$dir/target/conv4j-0.1.0.jar" bench "$S/shapes.csv" --threads 1 --backward 2>>/tmp/ab-$label.err | grep '^conv4j' \
      | awk -F, -v L="$label" -v R="$r" '{print L","R",shapes,bwd,"$2","$3","$4","$5}' >> "$out"
  done
  echo "round $r done $(date +%T)" >&2
done
