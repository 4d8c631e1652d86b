#!/usr/bin/python3
"""Throughput of 2 ranks x 1 thread against 1 rank x 2 threads against 1 rank x 1 thread, on a
compute-bound sweep (bench/jobs/compute.yaml), as ratios measured in this one session.

usage: /usr/bin/python3 bench/parallel.py [BUILD_DIR] [REPEATS]"""
import os
import sys

from common import blas_kernel, lrzoo_binary, median_times

build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "build")
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
lrzoo = lrzoo_binary(build)
layouts = [(1, 1), (1, 2), (2, 1)]
med, all_times = median_times(lrzoo, "compute.yaml", layouts, repeats)
base = med[(1, 1)]
products = ("OpenBLAS with OPENBLAS_CORETYPE=" + blas_kernel()
            if os.environ.get("LRZOO_MF_PRODUCTS") == "blas" else "lrzoo's own kernels")
print(f"compute-bound sweep bench/jobs/compute.yaml (mf n=32 d=4, batches of up to 8 runs, their"
      f" products through {products}), {repeats} runs each, median wall time:")
print(f"{'layout':>18} {'seconds':>8} {'speed-up':>9} {'efficiency':>11}   all runs")
for (r, t) in layouts:
    s = med[(r, t)]
    workers = r * t
    print(f"{r} rank x {t} thread{'s' if t > 1 else ' '} {s:8.2f} {base / s:9.2f} "
          f"{base / s / workers:11.2f}   " + " ".join(f"{x:.2f}" for x in all_times[(r, t)]))
eff = base / med[(2, 1)] / 2
print(f"parallel efficiency on 2 ranks: {eff:.2f} (target >= 0.9)")
sys.exit(0)
