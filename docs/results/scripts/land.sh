#!/usr/bin/env bash
# Landing queue for helper branches. Usage: docs/results/scripts/land.sh NAME (run from anywhere; worktrees at /work/wt-NAME, main checked out at /work/main)
# Precondition: the branch NAME passed a FULL `mvn -o verify` (on its current base) in /work/wt-NAME.
# Under one lock: rebase onto main; if the rebase is clean, rebuild (Java + C with -Werror) and run
# ctest; then fast-forward main. Semantic interactions between branches are caught by the lead's final
# quiet-machine verify and CI, so a clean rebase needs no second full verify.
set -euo pipefail
name="$1"; wt="/work/wt-$name"
exec 9>/tmp/conv4j-land.lock
echo "land.sh: waiting for the landing lock..."; flock 9
cd "$wt"
if ! git rebase main; then git rebase --abort; echo "land.sh: REBASE CONFLICT - resolve it (git rebase main), run the full verify again, then re-run land.sh" >&2; exit 2; fi
mvn -o -q -DskipTests package -Dinvoker.skip 2>&1 | tail -20
ctest --test-dir target/cmake -j2 > /tmp/land-$name.ctest 2>&1; grep -E "tests passed|Failed" /tmp/land-$name.ctest
grep -q "100% tests passed" /tmp/land-$name.ctest || { echo "land.sh: ctest failed after the rebase - fix, re-verify, retry" >&2; exit 3; }
cd /work/main && git merge --ff-only "$name"
echo "land.sh: LANDED $(git -C /work/main log -1 --format='%h %s' | cut -c1-100)"
