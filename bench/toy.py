#!/usr/bin/python3
"""GD steps per second for small problems swept over a grid of starts (issue 6): lrzoo's lanes
engine against the NumPy loop a user would write, in the same run.

  scalar        (1 - x y)^2 / 2 over a 1000 x 1000 grid (bench/jobs/toy.yaml), also against the
                bare C loop (bare_toy.c: the same arithmetic with no check and nothing recorded)
                as a ceiling. Target: >= 80x NumPy on this machine's 2 cores.
  multiscale2d  the 2-D double well plus eps sin(x_i / eps) over a 500 x 500 grid
                (bench/jobs/toy2d.yaml): cos in every step, from libmvec in lrzoo, np.cos in
                NumPy.

The parts are measured in interleaved rounds and every ratio is taken within a round (this
machine drifts by tens of percent); the median over rounds is reported. lrzoo runs the job on
2 ranks x 1 thread; its steps are the sum of /runs/iterations. Its "net" rate subtracts a run of
the same job with 40 steps per run (start-up, each run's start and end analyses, the file),
timed in the same round. The bare loop runs twice, with multiply-adds contracted into FMA
(gcc's default) and without (-ffp-contract=off; lrzoo writes its few fma() calls explicitly).

usage: /usr/bin/python3 bench/toy.py [BUILD_DIR] [ROUNDS] [scalar|multiscale2d]"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

from common import HERE, TOP, lrzoo_binary

build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build")
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
problem = sys.argv[3] if len(sys.argv) > 3 else "scalar"
lrzoo = lrzoo_binary(build)


def numpy_scalar_rate(steps=100, h=1.25):
    """What a user writes: the grid as two arrays, one vectorized update per step, and a
    divergence mask kept up to date."""
    g = np.linspace(0.3, 1.6, 1000)
    x, y = (a.ravel().copy() for a in np.meshgrid(g, g, indexing="ij"))
    alive = np.ones(x.size, dtype=bool)
    t0 = time.perf_counter()
    for _ in range(steps):
        r = x * y - 1.0
        x, y = x - h * r * y, y - h * r * x
        alive &= (np.abs(x) <= 1e6) & (np.abs(y) <= 1e6)
    return x.size * steps / (time.perf_counter() - t0)


def numpy_multiscale2d_rate(steps=20, h=0.05, eps=1e-3, a=1e-3):
    """The same for toy2d.yaml's objective."""
    g = np.linspace(-1.5, 1.5, 500)
    x, y = (a_.ravel().copy() for a_ in np.meshgrid(g, g, indexing="ij"))
    alive = np.ones(x.size, dtype=bool)
    t0 = time.perf_counter()
    for _ in range(steps):
        gx = x * (x * x - 1.0) + (a / eps) * np.cos(x / eps)
        gy = y * (y * y - 1.0) + (a / eps) * np.cos(y / eps)
        x, y = x - h * gx, y - h * gy
        alive &= (np.abs(x) <= 1e6) & (np.abs(y) <= 1e6)
    return x.size * steps / (time.perf_counter() - t0)


PROBLEMS = {"scalar": ("toy.yaml", numpy_scalar_rate, True),
            "multiscale2d": ("toy2d.yaml", numpy_multiscale2d_rate, False)}
if problem not in PROBLEMS:
    raise SystemExit(f"unknown problem {problem!r}: one of {', '.join(PROBLEMS)}")
JOB_NAME, numpy_rate, WITH_BARE = PROBLEMS[problem]
JOB = os.path.join(HERE, "jobs", JOB_NAME)


def build_bare(flags):
    exe = os.path.join(tempfile.mkdtemp(), "bare_toy")
    subprocess.run(["cc", "-O3", "-march=native", *flags, os.path.join(HERE, "bare_toy.c"),
                    "-o", exe], check=True)
    return exe


def bare_rate(exe):
    """Both cores: two processes of half the starts each."""
    procs = [subprocess.Popen([exe, "65536", "20000"], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    return sum(float(p.communicate()[0].split()[0]) for p in procs)


def lrzoo_run(job_text, tmp, name):
    path = os.path.join(tmp, name + ".yaml")
    with open(path, "w") as f:
        f.write(job_text)
    out = os.path.join(tmp, name + ".h5")
    cmd = [os.path.join(TOP, "scripts", "mpirun"), "2", lrzoo, "run", path, "-o", out,
           "--threads", "1", "--overwrite"]
    t0 = time.perf_counter()
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    with h5py.File(out, "r") as f:
        steps = int(f["runs/iterations"][()].sum())
        status = np.bincount(f["runs/status"][()], minlength=6)
    return wall, steps, status


with open(JOB) as f:
    full_job = f.read()
short_job = re.sub(r"(max_iter|record_every): \d+", r"\1: 40", full_job)
assert short_job != full_job
if WITH_BARE:
    fma, nofma = build_bare([]), build_bare(["-ffp-contract=off"])
rows = []
with tempfile.TemporaryDirectory() as tmp:
    for r in range(rounds):
        npr = numpy_rate()
        wall, steps, status = lrzoo_run(full_job, tmp, "full")
        wall_short, steps_short, _ = lrzoo_run(short_job, tmp, "short")
        net = (steps - steps_short) / max(wall - wall_short, 1e-9)
        b_fma, b_nofma = (bare_rate(fma), bare_rate(nofma)) if WITH_BARE else (np.nan, np.nan)
        rows.append((npr, steps / wall, net, b_fma, b_nofma))
        line = (f"round {r + 1}: NumPy {npr:.3g} steps/s; lrzoo {net:.3g} net ({steps / wall:.3g} "
                f"wall, {steps:.3g} steps, status counts {status.tolist()}) = {net / npr:.0f}x "
                f"NumPy")
        if WITH_BARE:
            line += (f"; bare loop {b_nofma:.3g} without FMA, {b_fma:.3g} with; lrzoo at "
                     f"{net / b_nofma:.0%} / {net / b_fma:.0%} of them")
        print(line)
med = lambda f: statistics.median(f(row) for row in rows)
line = (f"{problem}, median over {rounds} rounds (2 cores): lrzoo {med(lambda r: r[2]):.3g} "
        f"steps/s = {med(lambda r: r[2] / r[0]):.0f}x NumPy (whole run: "
        f"{med(lambda r: r[1] / r[0]):.0f}x); per core {med(lambda r: r[2]) / 2:.3g}")
if WITH_BARE:
    line += (f"; bare loop {med(lambda r: r[4]):.3g} without FMA "
             f"({med(lambda r: r[4] / r[0]):.0f}x NumPy), {med(lambda r: r[3]):.3g} with "
             f"({med(lambda r: r[3] / r[0]):.0f}x), per core {med(lambda r: r[3]) / 2:.3g}; "
             f"lrzoo at {med(lambda r: r[2] / r[4]):.0%} of the bare loop without FMA, "
             f"{med(lambda r: r[2] / r[3]):.0%} with. Target >= 80x NumPy.")
print(line)
