#!/usr/bin/python3
"""Every dataset of /runs (with /tiles and /axes) is bitwise identical for 1, 2 and 3 ranks x 1
and 2 threads, for an mf, a multiscale (chaotic) and a quadratic job, and for the lanes engine
with every analysis it carries (the scalar factorization) and with networks."""
import os
import sys
import tempfile

import h5py
import numpy as np

from lrzoo_test import datasets, differences, job_path, run_lrzoo

LAYOUTS = [(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2)]
# Up to 6 threads on this 2-core machine: threads that spin at barriers would make the
# oversubscribed layouts crawl. Waiting policy does not change any result.
os.environ["OMP_WAIT_POLICY"] = "passive"
failures = []
with tempfile.TemporaryDirectory() as tmp:
    for job in ["mf.yaml", "multiscale.yaml", "quadratic.yaml", "lanes_scalar.yaml", "lanes_mlp.yaml"]:
        ref = None
        for ranks, threads in LAYOUTS:
            out = f"{tmp}/{job}.{ranks}x{threads}.h5"
            run_lrzoo(ranks, "run", job_path(job), "-o", out, "--threads", str(threads))
            data = datasets(out)
            if ref is None:
                ref = data
                with h5py.File(out, "r") as f:
                    st = f["runs/status"][()]
                    assert (st > 0).all(), f"{job}: not every run ran"
                    print(f"{job}: {st.size} runs, status counts {np.bincount(st, minlength=6)[1:]}")
                continue
            diff = differences(ref, data)
            print(f"{job}: {ranks} ranks x {threads} threads: "
                  f"{'identical' if not diff else 'DIFFERS in ' + ', '.join(diff)}")
            if diff:
                failures.append((job, ranks, threads, diff))
print("PASS" if not failures else f"FAIL: {len(failures)} layouts differ")
sys.exit(1 if failures else 0)
