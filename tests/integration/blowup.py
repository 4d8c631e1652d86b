#!/usr/bin/env python3
"""Sweeps built to blow up (tests/data/jobs_blowup) must end every run cleanly.

- No inf anywhere in the file, and NaN only where the file means "no value" (docs/output-format.md,
  docs/cluster.md#failure-behaviour): past a trace's recorded length; for a run that left the bounded region before its
  first step; for analyses a diverged run does not have (Lyapunov exponent, invariant measure);
  for a modified-equation drift whose flow blew up; for fields that do not apply to the problem.
- Overflow is caught at the step it happens: f = x^2/2 with h = 3 stops at the first k where
  x_k^2 overflows, which numpy finds by the same float64 arithmetic.
- Underflow is harmless: from 1e-320 the iterates reach exactly 0 and the run ends in bounds.
Runs on 2 ranks."""
import os
import sys
import tempfile

import h5py
import numpy as np

from lrzoo_test import SRC, run_lrzoo

JOBS = os.path.join(SRC, "tests", "data", "jobs_blowup")
DIVERGED = 4
# Fields with a value for every run but one that is out of bounds before its first step.
VALUED = {"loss", "grad_norm", "h", "sharpness_init", "sharpness_final", "sharpness_h", "norm_x",
          "norm_y", "balance", "scalar_gap", "f0_loss"}
# Analyses a diverged run does not have.
NOT_FOR_DIVERGED = {"lyapunov", "lyapunov_transverse", "recurrence", "f0_mean", "gibbs_kl",
                    "gibbs_tv", "gibbs_w1", "gibbs2d_kl", "gibbs2d_tv", "halves_tv",
                    "outside_fraction", "sample_variance", "temperature_fit", "residence_mean"}
# A modified flow may blow up in finite time whatever GD does; the others apply to some problems.
MAY_HAVE_NONE = {"drift_order0", "drift_order1", "drift_order2", "variance_linear", "temperature"}

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def scan(path):
    with h5py.File(path, "r") as f:
        st, it = f["runs/status"][()], f["runs/iterations"][()]
        at_start = (st == DIVERGED) & (it == 0)
        check((st > 0).all(), f"{path}: every run has a status")

        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset) or obj.dtype.kind != "f":
                return
            a = obj[()]
            check(not np.isinf(a).any(), f"{path}: /{name} holds inf")
            if not name.startswith("runs/") or a.shape[:1] != st.shape:
                return
            field = name.split("/")[-1]
            nan = np.isnan(a.reshape(len(st), -1))
            if name.startswith("runs/trace/") and not field.endswith("_step"):
                length = f["runs/sharpness_len" if field == "sharpness" else "runs/trace_len"][()]
                cols = np.arange(a.shape[1])[None, :]
                recorded = cols < length[:, None]
                within = nan.reshape(a.shape[0], a.shape[1], -1).any(axis=2)
                check(not (within & recorded).any(), f"{path}: /{name} has NaN within its recorded length")
                check((within | recorded).all(), f"{path}: /{name} has values past its recorded length")
                return
            if a.ndim > 1 or field in MAY_HAVE_NONE:
                return
            row = nan[:, 0]
            if field in VALUED:
                bad = row & ~at_start
                check(not bad.any(), f"{path}: /{name} is NaN for runs {np.flatnonzero(bad)[:5]} "
                      f"that had an in-bounds iterate")
            elif field in NOT_FOR_DIVERGED:
                bad = row & (st != DIVERGED)
                check(not bad.any(), f"{path}: /{name} is NaN for runs {np.flatnonzero(bad)[:5]} "
                      f"that did not diverge")
            else:
                check(not row.any(), f"{path}: /{name} is NaN for runs {np.flatnonzero(row)[:5]}")
        f.visititems(visit)
        return st, it, f["runs/loss"][()]


def first_overflow_step(x0, h):
    x = np.float64(x0)
    with np.errstate(over="ignore"):
        for k in range(100000):
            if not np.isfinite(x * x):
                return k
            x = x - np.float64(h) * x
    return None


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(os.listdir(JOBS)):
            out = os.path.join(tmp, name.replace(".yaml", ".h5"))
            run_lrzoo(2, "run", os.path.join(JOBS, name), "-o", out)
            st, it, loss = scan(out)
            print(f"{name}: statuses {np.bincount(st).tolist()}, scanned")
            if name == "scalar_overflow.yaml":
                with h5py.File(out, "r") as f:
                    h = f["runs/lr"][()]
                starts = [1.0, 3.0e-300, 1.0e150, 1.0e-320]
                for r in range(len(st)):
                    x, lr = starts[r // 2], h[r]
                    if lr == 3.0:
                        k = first_overflow_step(x, lr)
                        check(st[r] == DIVERGED and it[r] == k,
                              f"run {r} (x0 {x:g}, h 3): diverged at step {it[r]}, overflow at {k}")
                        check(np.isfinite(loss[r]) and loss[r] > 1e300,
                              f"run {r}: the loss of the last in-bounds iterate is {loss[r]}")
                    else:
                        check(st[r] != DIVERGED and loss[r] == 0.0,
                              f"run {r} (x0 {x:g}, h 0.5): underflow should end at loss 0, "
                              f"got status {st[r]} loss {loss[r]}")
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print("PASS: blown-up sweeps end cleanly")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
