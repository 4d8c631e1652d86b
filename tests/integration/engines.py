#!/usr/bin/python3
"""Which engine takes a run (/runs/engine, the end-of-run summary, lrzoo info), and that the
fast engines give bitwise the results of the per-run engine (run.engine: per_run), whole jobs
with their default analytics included:
  - the scalar factorization, a 2-D multiscale toy, a 5-D quadratic, a width-3 network and
    the blobs network (sin, no biases, weighted points, decay, with its invariant measure) go
    to the lanes engine; dense matrix factorization to the batched engine; a low-rank target
    to the per-run engine;
  - with run.engine: per_run every run is the per-run engine's, and every dataset but
    /runs/engine equals the automatic choice's bit for bit."""
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np

from lrzoo_test import datasets, differences, lrzoo_command

LRZOO = os.environ["LRZOO"]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


COMMON = "seed: 4\ntiles: {runs: 50}\n"
JOBS = {
    "scalar": ("lanes", """problem: {kind: mf, n: 1, d: 1, target: {kind: scalar, mu: 1.0}}
init: {kind: grid, lo: [0.2, 0.2], hi: [1.8, 1.8], points: [12, 10]}
lr: {values: [0.5, 1.25, 1.5]}
run: {max_iter: 3000}
analyze: {sharpness: {every: 700}, modified_equation: {orders: [0, 1, 2], steps: 20, substeps: 4}}
"""),
    "multiscale": ("lanes", """problem: {kind: multiscale, f0: double_well, dim: 2, eps: 0.01}
init: {kind: gaussian, scale: 1.0, replicas: 40}
lr: {values: [0.01, 0.2]}
run: {max_iter: 2500, record_x: 2}
"""),
    "quadratic": ("lanes", """problem: {kind: quadratic, eigenvalues: [1.0, 0.5, 2.0, 0.1, 1.5]}
init: {kind: gaussian, scale: 1.0, replicas: 30}
lr: {values: [0.5, 0.99, 1.01]}
run: {max_iter: 2000, tol_grad: 1.0e-300}
"""),
    "mlp": ("lanes", """problem: {kind: mlp, width: 3, data: {points: 20, range: [-1.5, 1.5], eps: 0.05}}
init: {kind: gaussian, scale: 0.5, replicas: 20}
lr: {values: [0.3, 1.0]}
run: {max_iter: 1500}
"""),
    "mlp_blobs": ("lanes", """problem: {kind: mlp, width: 1, activation: sin, biases: false, weight_decay: 0.01,
  data: {x: [-1.0, -0.5, 0.0, 0.5, 1.0, 200.0], y: [-1.2, -0.8, 0.0, 0.8, 1.2, 0.3],
         weight: [0.2, 0.2, 0.2, 0.2, 0.19, 0.01]}}
init: {kind: gaussian, scale: 1.0, replicas: 10}
lr: {values: [0.05, 0.6]}
run: {max_iter: 3000, record_x: 2}
analyze: {invariant_measure: {samples: 3000, burn_in: 500, coords: [0, 1], bins: 40, range: [-6, 6]}}
"""),
    "dense": ("batched", """problem: {kind: mf, n: 24, d: 2, target: {kind: gaussian}}
init: {kind: gaussian, scale: 0.3, replicas: 6, imbalance: [1, 4]}
lr: {values: {linspace: [0.2, 1.8, 5]}, relative_to: two_over_L}
run: {max_iter: 1500}
analyze: {sharpness: {every: 500}}
"""),
    "lowrank": ("per_run", """problem: {kind: mf, n: 30, d: 2, target: {kind: lowrank, singular_values: [3, 1, 0.5]}}
init: {kind: gaussian, scale: 0.3, replicas: 4}
lr: {values: [0.5, 1.2], relative_to: two_over_L}
run: {max_iter: 800}
"""),
}

with tempfile.TemporaryDirectory() as tmp:
    for name, (engine, body) in JOBS.items():
        outs = {}
        for choice in ("auto", "per_run"):
            job = f"{tmp}/{name}_{choice}.yaml"
            with open(job, "w") as f:
                f.write(f"name: engines_{name}\n{COMMON}{body}")
                if choice == "per_run":
                    f.write("# the reference engine for every run\n")
            text = open(job).read()
            if choice == "per_run":
                text = re.sub(r"^run: \{", "run: {engine: per_run, ", text, flags=re.M)
                with open(job, "w") as f:
                    f.write(text)
            out = f"{tmp}/{name}_{choice}.h5"
            r = subprocess.run(lrzoo_command(2, "run", job, "-o", out, "--threads", "2"),
                               capture_output=True, text=True)
            check(r.returncode == 0, f"{name} ({choice}): lrzoo run exits 0 ({r.stderr[-300:] if r.returncode else ''})")
            if r.returncode:
                continue
            want = engine if choice == "auto" else "per_run"
            with h5py.File(out, "r") as f:
                codes = f["runs/engine"][()]
                labels = [l.decode() if isinstance(l, bytes) else l
                          for l in f["runs/engine"].attrs["labels_by_code"]]
                nruns = codes.size
            check(labels.index(want) >= 1 and np.all(codes == labels.index(want)),
                  f"{name} ({choice}): every run taken by the {want} engine")
            summary = [l for l in r.stderr.splitlines() if ": engines: " in l]
            check(summary == [f"lrzoo: engines_{name}: engines: {want} {nruns}"],
                  f"{name} ({choice}): the summary says so ({summary})")
            info = subprocess.run([LRZOO, "info", out], capture_output=True, text=True).stdout
            check(f" {want} {nruns}" in info, f"{name} ({choice}): lrzoo info counts them")
            outs[choice] = datasets(out)
        if len(outs) == 2:
            diff = [d for d in differences(outs["auto"], outs["per_run"]) if d != "runs/engine"]
            check(not diff, f"{name}: the {engine} engine equals the per-run engine bitwise"
                  + (f" (differs: {diff})" if diff else ""))

print("PASS" if not failures else f"FAIL: {len(failures)} checks")
sys.exit(1 if failures else 0)
