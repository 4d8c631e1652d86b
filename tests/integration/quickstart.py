#!/usr/bin/python3
"""Runs jobs/quickstart.yaml on 2 MPI ranks and checks the file with h5py: the datasets of the
layout of docs/output-format.md, one entry per run, every tile done, every run classified, no NaN results,
and the physics the job's comment promises (balance improves for 2/L < h < 4/L)."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

lrzoo, src = os.environ["LRZOO"], os.environ["LZ_SOURCE_DIR"]
job = os.path.join(src, "jobs", "quickstart.yaml")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


v = subprocess.run([lrzoo, "validate", job], capture_output=True, text=True, check=True).stdout
nruns = int(next(l for l in v.splitlines() if l.startswith("runs:")).split()[1])

with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "quickstart.h5")
    subprocess.run([os.path.join(src, "scripts", "mpirun"), "2", lrzoo, "run", job, "-o", out,
                    "--threads", "1"], check=True)
    with h5py.File(out, "r") as f:
        for a in ["lrzoo_version", "git_commit", "job_yaml", "job_sha256", "seed", "mpi_ranks",
                  "omp_threads", "hdf5_version", "created_utc"]:
            check(a in f.attrs, f"root attribute {a}")
        check(f.attrs["job_yaml"] == open(job).read() or
              f.attrs["job_yaml"] == open(job).read().encode(), "job_yaml is the job text")
        for d in ["lr", "n", "d", "imbalance", "replica", "status", "iterations", "loss",
                  "grad_norm", "sharpness_init", "norm_x", "norm_y", "balance", "h"]:
            check(f"runs/{d}" in f and f[f"runs/{d}"].shape == (nruns,), f"/runs/{d} has {nruns} entries")
            if f"runs/{d}" in f:
                check("description" in f[f"runs/{d}"].attrs, f"/runs/{d} has a description")
        check(f["runs/trace/loss"].shape[0] == nruns, "trace has a row per run")
        check(bool(np.all(f["tiles/done"][()] == 1)), "every tile done")
        st = f["runs/status"][()]
        check(bool(np.all(st > 0)), "every run has a status")
        for d in ["loss", "grad_norm", "norm_x", "norm_y", "balance", "h", "sharpness_init"]:
            check(not np.isnan(f[f"runs/{d}"][()]).any(), f"no NaN in /runs/{d}")
        # Balancing: from unbalanced starts, converged runs with 2/L < h < 4/L end
        # far more balanced than those with h < 2/L. Compared within each n, where both exist.
        lr, bal, c, n = (f[f"runs/{k}"][()] for k in ("lr", "balance", "imbalance", "n"))
        compared = 0
        for nn in np.unique(n):
            base = (st == 1) & (c == 16) & (n == nn)
            small, large = base & (lr < 0.9), base & (lr >= 1.5) & (lr < 2.0)
            if small.sum() < 5 or large.sum() < 5:
                continue
            compared += 1
            ratio = np.median(bal[large]) / np.median(bal[small])
            print(f"n={nn}: median balance h<2/L {np.median(bal[small]):.3g}, "
                  f"2/L<h<4/L {np.median(bal[large]):.3g}, ratio {ratio:.2f}")
            check(ratio < 0.5, f"n={nn}: large h ends at least twice as balanced")
        check(compared >= 2, "balance compared for at least two sizes")
    subprocess.run(["h5dump", "-H", out], check=True, stdout=subprocess.DEVNULL)
print("PASS" if not failures else f"{len(failures)} failures")
sys.exit(1 if failures else 0)
