#!/usr/bin/env python3
"""abmed.py OUT.csv BASE [OTHER...]: summary of ab.sh rows: per (list, mode, shape) each label's median ms,
BASE's median / OTHER's (> 1: OTHER faster) and OTHER's range; geomean speedups per label and mode."""
import csv, sys, statistics, math, collections
rows = list(csv.DictReader(open(sys.argv[1])))
base = sys.argv[2]; others = sys.argv[3:]
ms = collections.defaultdict(list)
for r in rows: ms[(r['list'], r['mode'], r['shape'], r['label'])].append(float(r['ms']))
keys = sorted({(r['list'], r['mode'], r['shape']) for r in rows})
print("list,mode,shape," + base + "_ms," + ",".join(o + "_ms," + o + "_speedup,spread" for o in others))
logs = collections.defaultdict(list)
for k in keys:
    b = ms.get(k + (base,))
    if not b: continue
    bm = statistics.median(b); line = [*k, f"{bm:.4f}"]
    for o in others:
        v = ms.get(k + (o,))
        if not v: line += ["", "", ""]; continue
        om = statistics.median(v); s = bm / om; logs[(o, k[1])].append(math.log(s))
        line += [f"{om:.4f}", f"{s:.3f}", f"{min(v):.4f}-{max(v):.4f}"]
    print(",".join(line))
for (o, m), l in sorted(logs.items()): print(f"# geomean speedup {o} vs {base} {m}: {math.exp(sum(l)/len(l)):.3f} over {len(l)}")
