#!/usr/bin/python3
"""Samples per second of lrzoo's invariant-measure sampler against a NumPy loop doing the same
thing (x <- x - h (x + cos(x/eps)) over 1024 chains, counted with np.histogram), and against the
bare C loop (bare_loop.c: the same loop with none of lrzoo's bookkeeping) as a ceiling. Target:
>= 50x NumPy on 2 cores.

This machine's speed drifts by tens of percent from minute to minute, so the three are measured
in interleaved rounds and every ratio is taken within a round; the median over rounds is
reported. lrzoo's rate counts only its sampling: a run of the same job with 10^3 samples per
chain (start-up, the main runs, the file) is timed in the same round and subtracted.

usage: /usr/bin/python3 bench/sampling.py [BUILD_DIR] [ROUNDS]"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from common import HERE, lrzoo_binary, timed_run

build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build")
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
lrzoo = lrzoo_binary(build)
chains, h, eps, bins = 1024, 0.1, 1e-3, 200
samples = chains * 1_000_000


def numpy_rate(steps=3000, burn_in=200):
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 0.5, chains)
    edges = np.linspace(-1.0, 1.0, bins + 1)
    counts = np.zeros(bins, dtype=np.int64)
    for _ in range(burn_in):
        x = x - h * (x + np.cos(x / eps))
    t0 = time.perf_counter()
    for _ in range(steps):
        x = x - h * (x + np.cos(x / eps))
        counts += np.histogram(x, bins=edges)[0]
    return chains * steps / (time.perf_counter() - t0)


def build_bare_loop():
    exe = os.path.join(tempfile.mkdtemp(), "bare_loop")
    subprocess.run(["cc", "-O3", "-march=native", "-ffast-math", "-fopenmp",
                    os.path.join(HERE, "bare_loop.c"), "-o", exe, "-lm", "-lmvec"], check=True)
    return exe


def bare_loop_rate(exe):
    """Both cores: two processes of half the chains each."""
    procs = [subprocess.Popen([exe, str(chains // 2), "300000"], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    return sum(float(p.communicate()[0].split()[0]) for p in procs)


def lrzoo_sampling_rate(ranks, threads, startup_job):
    full, _ = timed_run(lrzoo, "sampling.yaml", ranks, threads)
    fixed, _ = timed_run(lrzoo, startup_job, ranks, threads)
    return samples / full, samples / max(full - fixed, 1e-9)


with open(os.path.join(HERE, "jobs", "sampling.yaml")) as f:
    job = f.read().replace("samples: 1000000,", "samples: 1000,").replace("bench_sampling", "bench_sampling_startup")
startup_job = os.path.join(HERE, "jobs", "sampling_startup.yaml")
with open(startup_job, "w") as f:
    f.write(job)
try:
    exe = build_bare_loop()
    rows = []
    for r in range(rounds):
        npr = numpy_rate()
        wall, net = lrzoo_sampling_rate(2, 1, startup_job)
        bare = bare_loop_rate(exe)
        rows.append((npr, wall, net, bare))
        print(f"round {r + 1}: NumPy {npr:.3g}/s; lrzoo 2 ranks {net:.3g}/s sampling "
              f"({wall:.3g}/s wall) = {net / npr:.0f}x NumPy; bare C loop {bare:.3g}/s = "
              f"{bare / npr:.0f}x NumPy; lrzoo/bare {net / bare:.0%}")
finally:
    os.remove(startup_job)
med = lambda f: statistics.median(f(row) for row in rows)
print(f"median over {rounds} rounds (1024 chains, 2 cores): lrzoo {med(lambda r: r[2] / r[0]):.0f}x "
      f"NumPy (wall time of the whole run: {med(lambda r: r[1] / r[0]):.0f}x), bare C loop "
      f"{med(lambda r: r[3] / r[0]):.0f}x NumPy, lrzoo at {med(lambda r: r[2] / r[3]):.0%} of the "
      f"bare loop. Target >= 50x.")
