#!/usr/bin/python3
"""Strong scaling of one dense mf run over a team of ranks (tiles.ranks_per_run = K): one run,
n = 4096, d = 4, Gaussian target, on the two cores of this machine in three layouts:

  (a) K = 1: one rank, --threads 1 (one core)
  (b) K = 1: one rank, --threads 2 (the same two cores, OpenMP over the row chunks, no team)
  (c) K = 2: two ranks, --threads 1, tiles: {ranks_per_run: 2} (the two cores as a team)

and two variants of the job: plain GD (orbit and Lyapunov off: a step is the gradient's two
products A S and A^T X) and the default analytics (the orbit ring, and both tangents of the
Lyapunov window on every step: two Hessian-vector products more a step).

Whole process: the wall time of scripts/mpirun around `lrzoo run`. Per step: the same job with
max_iter 50 is timed in the same round and subtracted, which removes start-up, target generation,
the start and end sharpness and the file; the difference over the step count is seconds per GD
step. Every layout and length runs once a round, the layouts in a rotating order; medians over
rounds are reported, and each ratio is taken within a round (median over rounds). The result
files of (a), (b) and (c) must be bit for bit equal (every dataset under /runs and /axes, dtype,
shape and raw bytes): the script fails otherwise, and if a team run did not run as a team, or a
run stopped before max_iter. The 1-minute load average is printed per round: other sessions
share this machine.

usage: /usr/bin/python3 bench/team.py [BUILD_DIR] [ROUNDS]"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

from common import HERE, TOP, blas_kernel, lrzoo_binary

build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build")
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
lrzoo = lrzoo_binary(build)
N, D = 4096, 4
# (name, short and long max_iter, analyze section). The sharpness at a run's end (Lanczos, tens
# of Hessian-vector products: seconds here) is in both lengths; its cost depends on where the
# run ends, which varies least once the run is past its first steps, hence short runs of 50.
VARIANTS = [("plain GD", 50, 1000, "analyze: {orbit: {max_period: 0}, lyapunov: {iters: 0}}\n"),
            ("default analytics", 50, 300, "")]
# (label, ranks, threads, ranks_per_run)
LAYOUTS = [("(a) 1 rank x 1 thread", 1, 1, 1),
           ("(b) 1 rank x 2 threads", 1, 2, 1),
           ("(c) team of 2 ranks x 1 thread", 2, 1, 2)]

JOB = """name: bench_team
seed: 7
problem: {{kind: mf, n: {n}, d: {d}, target: {{kind: gaussian}}}}
init: {{kind: gaussian, scale: 0.02, replicas: 1}}
lr: {{values: [0.05]}}
run: {{max_iter: {steps}, tol_grad: 0, record_every: {steps}}}
tiles: {{runs: 1, ranks_per_run: {k}}}
{analyze}"""


def write_job(tmp, variant, steps, k):
    path = os.path.join(tmp, f"v{variant}_s{steps}_k{k}.yaml")
    with open(path, "w") as f:
        f.write(JOB.format(n=N, d=D, steps=steps, k=k, analyze=VARIANTS[variant][3]))
    return path


def timed_run(job, out, ranks, threads, k):
    """Wall seconds of one whole `lrzoo run` through scripts/mpirun."""
    cmd = [os.path.join(TOP, "scripts", "mpirun"), str(ranks), lrzoo, "run", job, "-o", out,
           "--threads", str(threads), "--overwrite"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(cmd)}\n{r.stderr}")
    if k > 1 and not re.search(rf"teams of {k} ranks: 1 tiles computed together", r.stderr):
        raise SystemExit(f"FAILED: {job} did not run as a team of {k}:\n{r.stderr}")
    if "engines: batched 1" not in r.stderr:
        raise SystemExit(f"FAILED: {job} did not take the batched engine:\n{r.stderr}")
    return wall


def datasets(path):
    """Every dataset under /runs and /axes: name -> (dtype, shape, raw bytes as uint8)."""
    found = {}
    with h5py.File(path, "r") as f:
        for group in ("runs", "axes"):
            def visit(name, obj, group=group):
                if isinstance(obj, h5py.Dataset):
                    a = np.ascontiguousarray(obj[()])
                    found[f"/{group}/{name}"] = (a.dtype.str, a.shape,
                                                 np.frombuffer(a.tobytes(), dtype=np.uint8))
            f[group].visititems(visit)
    return found


def check_equal(files, steps):
    """Fails loudly unless every file holds the first one's datasets bit for bit."""
    ref_label, ref_path = files[0]
    ref = datasets(ref_path)
    if not ref:
        raise SystemExit(f"FAILED: no datasets under /runs and /axes in {ref_path}")
    iters = ref.get("/runs/iterations")
    if iters is None or not np.all(np.frombuffer(iters[2].tobytes(), dtype=iters[0]) == steps):
        raise SystemExit(f"FAILED: {ref_path}: the run did not do all {steps} steps "
                         f"(/runs/iterations, /runs/reason): lower lr or init scale")
    for label, path in files[1:]:
        other = datasets(path)
        bad = sorted(set(ref) ^ set(other))
        bad += [k for k in sorted(set(ref) & set(other))
                if ref[k][:2] != other[k][:2] or not np.array_equal(ref[k][2], other[k][2])]
        if bad:
            raise SystemExit(f"FAILED: {label} differs from {ref_label} (max_iter {steps}) in "
                             f"{', '.join(bad)}: a team must give every bit a rank alone gives")
    return len(ref)


print(f"one run, mf n={N} d={D} gaussian target, lrzoo's own products; OpenBLAS kernel: "
      f"{blas_kernel()}; {os.cpu_count()} cores; {rounds} rounds")
# wall[v][layout][steps] and per_step[v][layout]: one entry a round
wall = [{l[0]: {s: [] for s in (v[1], v[2])} for l in LAYOUTS} for v in VARIANTS]
per_step = [{l[0]: [] for l in LAYOUTS} for _ in VARIANTS]
compared = 0
with tempfile.TemporaryDirectory() as tmp:
    for r in range(rounds):
        print(f"round {r + 1}: load average {os.getloadavg()[0]:.2f}", flush=True)
        order = LAYOUTS[r % len(LAYOUTS):] + LAYOUTS[:r % len(LAYOUTS)]
        for v, (vname, short, steps, _) in enumerate(VARIANTS):
            outs = {s: [] for s in (short, steps)}
            for label, ranks, threads, k in order:
                for s in (short, steps):
                    out = os.path.join(tmp, f"r{r}_v{v}_s{s}_{ranks}x{threads}.h5")
                    wall[v][label][s].append(timed_run(write_job(tmp, v, s, k), out, ranks,
                                                       threads, k))
                    outs[s].append((label, out))
                w = wall[v][label]
                per_step[v][label].append((w[steps][-1] - w[short][-1]) / (steps - short))
                print(f"  {vname:17} {label:31} {w[steps][-1]:6.2f} s whole "
                      f"({w[short][-1]:5.2f} s at max_iter {short}), "
                      f"{per_step[v][label][-1] * 1e3:7.2f} ms a step", flush=True)
            for s, files in outs.items():
                compared += check_equal(sorted(files), s)
                for _, path in files:
                    os.remove(path)
print(f"bitwise: (a), (b), (c) equal in every round, both variants and lengths "
      f"({compared} dataset comparisons)")

med = statistics.median
A, B, C = (l[0] for l in LAYOUTS)
for v, (vname, short, steps, _) in enumerate(VARIANTS):
    flops = 4 * N * N * D  # the gradient's two products, one run (w = d)
    print(f"\n{vname}: max_iter {steps} against {short}; median of {rounds} rounds")
    print("| layout | whole process s | s per step | GD steps/s | products GFLOP/s | all rounds, s per step |")
    print("|---|---|---|---|---|---|")
    for label, *_ in LAYOUTS:
        ps = med(per_step[v][label])
        rate = f"{flops / ps / 1e9:.1f}" if v == 0 else "-"
        print(f"| {label} | {med(wall[v][label][steps]):.2f} | {ps:.4f} | {1 / ps:.1f} | {rate} | "
              + ", ".join(f"{x:.4f}" for x in per_step[v][label]) + " |")
    ratio = lambda x, y, what: med(p / q for p, q in zip(what[x], what[y]))
    for what, series in (("per step", per_step[v]),
                         ("whole process", {l: wall[v][l][steps] for l in (A, B, C)})):
        s_ac = ratio(A, C, series)
        print(f"{what}: speed-up t(a)/t(c) = {s_ac:.2f}, efficiency t(a)/(2 t(c)) = {s_ac / 2:.2f}, "
              f"t(b)/t(c) = {ratio(B, C, series):.2f}, t(a)/t(b) = {ratio(A, B, series):.2f}")
if VARIANTS[1][3] == "":
    print(f"\nanalytics step / plain step, layout (a): "
          f"{med(per_step[1][A]) / med(per_step[0][A]):.2f}")
sys.exit(0)
