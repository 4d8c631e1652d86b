#!/usr/bin/python3
"""A failure on any rank ends the whole job promptly with one clear message naming the rank and
the tile. The failures are real:
  - a target dataset whose raw data lives in an external file that is gone. Its shape checks out,
    but its values are read and checked before the run starts, so the job is refused up front
    (exit 2, at the target's place in the job file, nothing written) on any number of ranks;
  - a worker alone out of memory (Open MPI's MPMD launch runs rank 1 under ulimit -v 320 MB:
    enough to start MPI, not for the 288 MB target, and a limit the memory estimate does not
    see), while the master computes the same tiles without trouble: the error must travel to
    the master."""
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

from lrzoo_test import lrzoo_command

JOB = """name: worker_error
problem:
  kind: mf
  n: 8
  d: [1, 2, 3, 4]
  target: {kind: file, path: target.h5, dataset: A}
init: {kind: gaussian, scale: 0.3, replicas: 20}
lr: {values: [0.1, 0.2]}
run: {max_iter: 20000}
tiles: {runs: 4}
"""
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


with tempfile.TemporaryDirectory() as tmp:
    os.chdir(tmp)  # HDF5 resolves external file names against the working directory
    with h5py.File(f"{tmp}/target.h5", "w") as f:
        d = f.create_dataset("A", shape=(8, 8), dtype="f8", external=[("raw.bin", 0, 8 * 8 * 8)])
        d[...] = np.eye(8)
    os.remove(f"{tmp}/raw.bin")
    with open(f"{tmp}/job.yaml", "w") as f:
        f.write(JOB)
    for ranks in [1, 2, 3]:
        out = f"{tmp}/out{ranks}.h5"
        t0 = time.time()
        r = subprocess.run(lrzoo_command(ranks, "run", "job.yaml", "-o", out, "--threads", "1"),
                           cwd=tmp, capture_output=True, text=True, timeout=120)
        took = time.time() - t0
        ours = [l for l in r.stderr.splitlines() if l.startswith("job.yaml:")]
        print(f"{ranks} ranks: exit {r.returncode} after {took:.1f} s; {ours}")
        check(r.returncode == 2, f"{ranks} ranks: refused with exit 2")
        check(took < 20, f"{ranks} ranks: ends within seconds ({took:.1f} s)")
        check(len(ours) == 1, f"{ranks} ranks: the message is shown once")
        check(bool(ours) and ours[0].startswith("job.yaml:6:11: target: ") and
              "external raw data file" in ours[0],
              f"{ranks} ranks: the message names the target's place and the cause")
        check(not os.path.exists(out), f"{ranks} ranks: nothing written")
OOM_JOB = """name: worker_oom
problem: {kind: mf, n: 6000, d: 1, target: {kind: gaussian}}
init: {kind: gaussian, scale: 0.1, replicas: 6}
lr: {values: [0.01]}
run: {max_iter: 2}
tiles: {runs: 1}
"""
with tempfile.TemporaryDirectory() as tmp:
    with open(f"{tmp}/oom.yaml", "w") as f:
        f.write(OOM_JOB)
    lrzoo = os.environ["LRZOO"]
    cmd = lrzoo_command(1, "run", "oom.yaml", "-o", "oom.h5", "--threads", "1") + [
        ":", "-n", "1", "sh", "-c",
        f"ulimit -v 320000; exec {lrzoo} run oom.yaml -o oom.h5 --threads 1"]
    t0 = time.time()
    r = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=120)
    took = time.time() - t0
    ours = [l for l in r.stderr.splitlines() if l.startswith("lrzoo: rank")]
    print(f"worker out of memory: exit {r.returncode} after {took:.1f} s; {ours}")
    check(r.returncode != 0, "worker out of memory: non-zero exit")
    check(took < 30, f"worker out of memory: ends within seconds ({took:.1f} s)")
    check(len(ours) == 1 and ours[0].startswith("lrzoo: rank 1: tile ") and "out of memory" in ours[0],
          "worker out of memory: one message, naming rank 1, the tile and the cause")

print("PASS" if not failures else f"FAIL: {len(failures)} checks")
sys.exit(1 if failures else 0)
