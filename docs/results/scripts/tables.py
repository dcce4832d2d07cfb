#!/usr/bin/env python3
"""README tables from two harness passes (final_bench.sh): each cell is a result's best GFLOP/s over its rounds.
tables.py dense RUN1 RUN2 | grouped RUN1 RUN2 | bwd FWD1 BWD1 FWD2 BWD2, stamps of files in $RES
(default target/peer-bench/results). dense adds the sgemm roofline column; run 2 gives the last column."""
import csv, sys, math, collections, os
RES = os.environ.get('RES', 'target/peer-bench/results')
def load(stamp):
    g = collections.defaultdict(float)
    for r in csv.DictReader(open(f"{RES}/{stamp}.csv")):
        try: v = float(r['gflops'])
        except ValueError: continue
        k = (r['impl'], int(r['threads']), r['shape']); g[k] = max(g[k], v)
    return g
def shapes(stamp):
    out = []
    for r in csv.DictReader(open(f"{RES}/{stamp}.csv")):
        if r['shape'] not in out: out.append(r['shape'])
    return out
def gm(l): return math.exp(sum(map(math.log, l)) / len(l)) if l else float('nan')
def f(x): return f"{x:.0f}" if x >= 10 else f"{x:.1f}"
mode = sys.argv[1]
if mode in ('dense', 'grouped'):
    a, b = load(sys.argv[2]), load(sys.argv[3]); roof = mode == 'dense'
    hdr = "| layer | conv4j GFLOP/s | oneDNN GFLOP/s | conv4j / oneDNN |" + (" conv4j / sgemm roofline |" if roof else "") + " conv4j 2T / 1T | run 2: conv4j / oneDNN |"
    print(hdr); print("|---" * (hdr.count('|') - 1) + "|")
    R = collections.defaultdict(list)
    for s in shapes(sys.argv[2]):
        c = [a[('conv4j', t, s)] for t in (1, 2)]; d = [a[('dnnl_java', t, s)] for t in (1, 2)]
        r = [c[i] / d[i] for i in (0, 1)]; R['r1'].append(r[0]); R['r2'].append(r[1])
        line = f"| {s} | {f(c[0])} / {f(c[1])} | {f(d[0])} / {f(d[1])} | {r[0]:.2f} / {r[1]:.2f} |"
        if roof:
            q = [c[i] / a[('sgemm_roofline', i + 1, s)] for i in (0, 1)]; R['q1'].append(q[0]); R['q2'].append(q[1])
            line += f" {q[0]:.2f} / {q[1]:.2f} |"
        x = [b[('conv4j', t, s)] / b[('dnnl_java', t, s)] for t in (1, 2)]; R['x1'].append(x[0]); R['x2'].append(x[1])
        line += f" {c[1]/c[0]:.2f} | {x[0]:.2f} / {x[1]:.2f} |"
        print(line)
    line = f"| **geomean** | | | **{gm(R['r1']):.2f} / {gm(R['r2']):.2f}** |"
    if roof: line += f" **{gm(R['q1']):.2f} / {gm(R['q2']):.2f}** |"
    print(line + f" | **{gm(R['x1']):.2f} / {gm(R['x2']):.2f}** |")
elif mode == 'bwd':
    f1, b1, f2, b2 = map(load, sys.argv[2:6])
    print("| layer | forward GFLOP/s | backward GFLOP/s | backward / forward | run 2: backward / forward | oneDNN backward GFLOP/s | conv4j / oneDNN backward |")
    print("|---|---|---|---|---|---|---|")
    G = collections.defaultdict(list)
    for s in shapes(sys.argv[3]):
        fw = [f1[('conv4j', t, s)] for t in (1, 2)]; bw = [b1[('conv4j_bwd', t, s)] for t in (1, 2)]
        dn = [b1[('dnnl_java_bwd', t, s)] for t in (1, 2)]
        r2 = [b2[('conv4j_bwd', t, s)] / f2[('conv4j', t, s)] for t in (1, 2)]
        q = [bw[i] / dn[i] for i in (0, 1)]; G['1'].append(q[0]); G['2'].append(q[1])
        print(f"| {s} | {f(fw[0])} / {f(fw[1])} | {f(bw[0])} / {f(bw[1])} | {bw[0]/fw[0]:.2f} / {bw[1]/fw[1]:.2f} | {r2[0]:.2f} / {r2[1]:.2f} | {f(dn[0])} / {f(dn[1])} | {q[0]:.2f} / {q[1]:.2f} |")
    print(f"| **geomean** | | | | | | **{gm(G['1']):.2f} / {gm(G['2']):.2f}** |")
