#!/usr/bin/python3
"""The pooled invariant measure (/pooled) is the exact sum of its replicas' counts, whatever the
split of the replicas over tiles, ranks and threads, and after an interruption and --resume;
every dataset of the file is bitwise identical across those layouts."""
import os
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

from calibrate import calibrated_job
from lrzoo_test import datasets, differences, job_path, lrzoo_command, run_lrzoo

# The interruption must come mid-run on any machine: the samples per chain are calibrated so
# that the job's sampling lasts about JOB_SECONDS on 2 ranks here (calibrate.py).
JOB_SECONDS = 2.0
os.environ["OMP_WAIT_POLICY"] = "passive"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def check_pooled_sums(path, what):
    with h5py.File(path, "r") as f:
        check(int(f["pooled/done"][()].ravel()[0]) == 1, f"{what}: /pooled/done is 1")
        first, count, stride = (f[f"pooled/{k}"][()] for k in ("first_run", "run_count", "run_stride"))
        for name in ("hist", "hist_half1", "hist2d", "hist_obs"):
            runs, pooled = f[f"runs/{name}"][()], f[f"pooled/{name}"][()]
            check(runs.dtype == np.uint64 and pooled.dtype == np.uint64, f"{what}: {name} holds uint64 counts")
            exact = all(np.array_equal(pooled[p], runs[first[p]:first[p] + count[p] * stride[p]:stride[p]].sum(axis=0))
                        for p in range(len(first)))
            check(exact, f"{what}: /pooled/{name} is exactly the sum of its replicas' /runs/{name}")
        s_runs, s_pooled = f["runs/samples"][()], f["pooled/samples"][()]
        check(all(s_pooled[p] == s_runs[first[p]::stride[p]][:count[p]].sum() for p in range(len(first))),
              f"{what}: pooled samples are the sum of the replicas'")
        check(int(f["runs/hist"][()].sum()) > 0, f"{what}: something was counted")


with tempfile.TemporaryDirectory() as tmp:
    JOB = f"{tmp}/pooling.yaml"
    samples, _ = calibrated_job(job_path("pooling.yaml"), JOB_SECONDS, JOB, key="samples")
    print(f"calibrated: {samples} samples a chain for {JOB_SECONDS:g} s of work on 2 ranks")
    ref_path = f"{tmp}/ref.h5"
    run_lrzoo(1, "run", JOB, "-o", ref_path, "--threads", "1")
    check_pooled_sums(ref_path, "1 rank")
    ref = datasets(ref_path, groups=("runs", "tiles", "axes", "pooled"))
    for ranks, threads in [(2, 1), (3, 1), (1, 2), (2, 2)]:
        out = f"{tmp}/{ranks}x{threads}.h5"
        run_lrzoo(ranks, "run", JOB, "-o", out, "--threads", str(threads))
        diff = differences(ref, datasets(out, groups=("runs", "tiles", "axes", "pooled")))
        check(not diff, f"{ranks} ranks x {threads} threads: identical to 1 rank" + (f" ({diff})" if diff else ""))

    # interrupted (SIGUSR1 to mpiexec, forwarded to the ranks) and resumed on another layout
    out = f"{tmp}/resumed.h5"
    p = subprocess.Popen(lrzoo_command(2, "run", JOB, "-o", out, "--threads", "1"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while p.poll() is None:
        try:
            with h5py.File(out, "r") as f:
                if int(f["tiles/done"][()].sum()) > 0:
                    break
        except (OSError, KeyError):
            pass
        time.sleep(0.05)
    p.send_signal(signal.SIGUSR1)
    p.communicate(timeout=120)
    with h5py.File(out, "r") as f:
        done, total = int(f["tiles/done"][()].sum()), f["tiles/done"].shape[0]
        pooled_done = int(f["pooled/done"][()].ravel()[0])
    check(p.returncode == 3, f"stopped run exits 3 (got {p.returncode})")
    check(done < total and pooled_done == 0, f"stopped run: {done}/{total} tiles, nothing pooled yet")
    r = run_lrzoo(3, "run", JOB, "--resume", "-o", out, "--threads", "1", check=False)
    check(r.returncode == 0, f"resume exits 0 (got {r.returncode})")
    check_pooled_sums(out, "resumed")
    diff = differences(ref, datasets(out, groups=("runs", "tiles", "axes", "pooled")))
    check(not diff, "resumed file identical to the uninterrupted one" + (f" ({diff})" if diff else ""))

print("PASS" if not failures else f"FAIL: {len(failures)} checks")
sys.exit(1 if failures else 0)
