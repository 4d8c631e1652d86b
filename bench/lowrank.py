#!/usr/bin/python3
"""Large-n matrix factorization with a low-rank target A = U diag(s) V^T (issue 6): seconds per
GD step, and the peak memory of a whole run against lrzoo's own estimate, for n = 10^5, 10^6 and
10^7 at d = 8, rank 8, on one rank (single-process MPI, like `lrzoo run` without mpirun).

Seconds per step: bench_mf_step (built with lrzoo) times f and its gradient followed by the
update x <- x - h grad f, the objective alone, over a few steps. A whole `lrzoo run` also
computes the sharpness at the start and at the end (Lanczos, tens of Hessian-vector products)
and the accurate loss when it records it, which is why its wall time is not used for this.
Memory: the peak resident size of a `lrzoo run` of the same problem with max_iter 2, which
holds everything a run holds, against the estimate `lrzoo validate` prints. BLAS: OpenBLAS, one
thread per call inside lrzoo; the kernel (OPENBLAS_CORETYPE) is printed.

usage: /usr/bin/python3 bench/lowrank.py [BUILD_DIR] [N ...]"""
import os
import re
import subprocess
import sys
import tempfile
import time

from common import HERE, blas_kernel, lrzoo_binary

build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build")
sizes = [int(float(a)) for a in sys.argv[2:]] or [100_000, 1_000_000, 10_000_000]
lrzoo = lrzoo_binary(build)

JOB = """name: bench_lowrank_{n}
seed: 4
problem:
  kind: mf
  n: {n}
  d: 8
  target: {{kind: lowrank, rank: 8, singular_values: [8, 7, 6, 5, 4, 3, 2, 1]}}
init: {{kind: gaussian, scale: {scale}, replicas: 1}}
lr: {{values: [0.5], relative_to: two_over_L}}
run: {{max_iter: 2, record_every: 1, tol_grad: 0}}
analyze: {{orbit: {{max_period: 0}}, lyapunov: {{iters: 0}}}}
"""


def timed_peak(job, out):
    """Wall seconds and peak RSS (MiB) of `lrzoo run`, in a fresh process."""
    code = ("import resource, subprocess, sys, time\n"
            "t = time.perf_counter()\n"
            "subprocess.run(sys.argv[1:], check=True, capture_output=True)\n"
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    res = subprocess.run([sys.executable, "-c", code, lrzoo, "run", job, "-o", out,
                          "--overwrite", "--threads", "1"], capture_output=True, text=True,
                         check=True)
    wall, kib = res.stdout.split()
    return float(wall), int(kib) / 1024.0


def estimate_mib(job):
    out = subprocess.run([lrzoo, "validate", job, "--threads", "1"], capture_output=True,
                         text=True, check=True).stdout
    return float(re.search(r"^memory: +about ([0-9.]+) MiB per rank", out, re.M).group(1))


def seconds_per_step(n, steps):
    exe = os.path.join(os.path.abspath(build), "bench", "bench_mf_step")
    out = subprocess.run([exe, "lowrank", str(n), "8", "8", str(steps)], capture_output=True,
                         text=True, check=True).stdout
    return float(out.split()[0])


print(f"OpenBLAS kernel: {blas_kernel()}")
print("| n | s per step | GD steps/s | whole run (max_iter 2) s | peak MiB | estimate MiB | estimate / peak |")
print("|---|---|---|---|---|---|---|")
with tempfile.TemporaryDirectory() as tmp:
    for n in sizes:
        per_step = seconds_per_step(n, max(3, 2_000_000 // n))
        path = os.path.join(tmp, f"n{n}.yaml")
        with open(path, "w") as f:
            f.write(JOB.format(n=n, scale=f"{1 / n ** 0.5:.6g}"))
        est = estimate_mib(path)
        wall, peak = timed_peak(path, os.path.join(tmp, "out.h5"))
        print(f"| {n:.0e} | {per_step:.4g} | {1 / per_step:.3g} | {wall:.0f} | {peak:.0f} | "
              f"{est:.0f} | {est / peak:.2f} |", flush=True)
