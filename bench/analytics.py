#!/usr/bin/python3
"""Cost of the analytics (orbit classification, Lyapunov exponents over the default window,
sharpness trace every 1000 steps) against plain GD on the same sweep, measured in one session:
the scalar problem (1 - xy)^2/2 and a 2-D multiscale problem. Target: at most 3x.

usage: /usr/bin/python3 bench/analytics.py [BUILD_DIR] [REPEATS]"""
import os
import sys

from common import lrzoo_binary, timed_run
import statistics

build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "build")
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
lrzoo = lrzoo_binary(build)
print("1 rank x 1 thread; median of interleaved repeats (no BLAS in these problems)")
worst = 0.0
for name in ("scalar", "multiscale2d"):
    times = {"plain": [], "analytics": []}
    for _ in range(repeats):
        for side in times:
            times[side].append(timed_run(lrzoo, f"{name}_{side}.yaml", 1, 1)[0])
    plain, full = statistics.median(times["plain"]), statistics.median(times["analytics"])
    worst = max(worst, full / plain)
    print(f"{name:13s} plain {plain:6.2f} s   with analytics {full:6.2f} s   ratio {full / plain:.2f}")
print(f"largest ratio {worst:.2f} (target <= 3)")
