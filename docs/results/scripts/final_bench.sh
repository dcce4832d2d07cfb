#!/usr/bin/env bash
# One full harness pass of this checkout's jar, as README's "Final harness run" reports it: dense,
# grouped once and best of 3, backward, the unseen dense and grouped lists, NCHW/NHWC, the demo twice.
# Build first (mvn -q -DskipTests package); about 5 minutes on the quiet 2-core machine. Logs in
# /tmp/final-*.log, results in target/peer-bench/results/ (tables.py turns two passes into README tables).
set -u
cd "$(dirname "$0")/../../.."
export BENCH_WORK=$PWD/target/peer-bench
S=${BENCH_DIR:-$PWD/../shared/bench}; R=docs/results
IMPLS="conv4j dnnl roofline" ROUNDS=1 $S/run_all.sh > /tmp/final-dense.log 2>&1
SHAPES_CSV=$S/shapes_grouped.csv IMPLS="conv4j dnnl" ROUNDS=1 $S/run_all.sh > /tmp/final-grouped.log 2>&1
SHAPES_CSV=$S/shapes_grouped.csv IMPLS="conv4j dnnl" ROUNDS=3 $S/run_all.sh > /tmp/final-grouped3.log 2>&1
MODE=backward IMPLS="conv4j dnnl" ROUNDS=1 $S/run_all.sh > /tmp/final-bwd.log 2>&1
SHAPES_CSV=$PWD/$R/extra_dense_shapes.csv IMPLS="conv4j dnnl roofline" ROUNDS=1 $S/run_all.sh > /tmp/final-xdense.log 2>&1
SHAPES_CSV=$PWD/$R/extra_grouped_shapes.csv IMPLS="conv4j dnnl" ROUNDS=1 $S/run_all.sh > /tmp/final-xgrouped.log 2>&1
java -jar target/conv4j-0.1.0.jar bench-layout $S/shapes.csv --threads 1 > /tmp/final-layout.log 2>&1
java -jar target/conv4j-0.1.0.jar > /tmp/final-demo1.log 2>&1
java -jar target/conv4j-0.1.0.jar > /tmp/final-demo2.log 2>&1
echo "final bench done $(date +%T)"
