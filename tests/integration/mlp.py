#!/usr/bin/env python3
"""jobs/mlp_sine.yaml, the one-hidden-unit tanh network, checked against numpy on 2 ranks.

- /data/x and /data/y are the grid and g0(x) + a sin(x / eps) the job file asks for.
- The C loss agrees with a numpy evaluation of the network at the recorded weights.
- The sweep's regimes are those the job file states: converged below the flip at h = 2/L, with L
  the sharpness at the minimum (numpy finite differences agree with the file's), period 2 from
  there to h = 1.94, diverged from h = 1.96, and no run chaotic.
- A converged run's weight histograms sit in one bin each, and its final point is stationary
  (numpy gradient).
- A period-2 orbit is one: a numpy GD step maps each stored point onto the other.
- Every bounded run has a negative Lyapunov exponent."""
import os
import sys
import tempfile

import h5py
import numpy as np

from lrzoo_test import SRC, run_lrzoo

JOB = os.path.join(SRC, "jobs", "mlp_sine.yaml")
CONVERGED, PERIODIC, CHAOTIC, DIVERGED = 1, 2, 3, 4
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def loss_and_grad(theta, x, y):
    """The network of width 1: theta = [W1, b1, w2, b2]."""
    w1, b1, w2, b2 = theta
    s = np.tanh(w1 * x + b1)
    r = w2 * s + b2 - y
    ds = (1 - s * s) * w2 * r
    g = np.array([np.mean(ds * x), np.mean(ds), np.mean(r * s), np.mean(r)])
    return 0.5 * np.mean(r * r), g


def hessian(theta, x, y, step=1e-5):
    """Central differences of the numpy gradient."""
    H = np.empty((4, 4))
    for j in range(4):
        e = np.zeros(4)
        e[j] = step
        H[:, j] = (loss_and_grad(theta + e, x, y)[1] - loss_and_grad(theta - e, x, y)[1]) / (2 * step)
    return 0.5 * (H + H.T)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "mlp.h5")
        run_lrzoo(2, "run", JOB, "-o", out)
        with h5py.File(out, "r") as f:
            x, y = f["data/x"][()], f["data/y"][()]
            runs = {k: f["runs"][k][()] for k in ("h", "status", "period", "lyapunov", "loss",
                                                   "trace_len", "hist", "orbit",
                                                   "sharpness_final")}
            tx, tl = f["runs/trace/x"][()], f["runs/trace/loss"][()]

    grid = np.linspace(-1.5, 1.5, 200)
    check(len(x) == 200 and np.abs(x - grid).max() < 1e-15, "data/x is the 200-point grid")
    check(np.abs(y - (np.sin(x) + 0.1 * np.sin(x / 0.05))).max() < 1e-15,
          "data/y = sin x + 0.1 sin(x / 0.05)")

    h, st = runs["h"], runs["status"]
    for i in range(len(h)):
        k = runs["trace_len"][i] - 1
        if st[i] != DIVERGED and k >= 0:
            loss, _ = loss_and_grad(tx[i, k], x, y)
            check(abs(loss - tl[i, k]) <= 1e-12 * max(loss, 1e-300),
                  f"h={h[i]:.2f}: C loss {tl[i, k]!r} against numpy {loss!r}")
    first = int(np.flatnonzero(st == CONVERGED)[0])
    minimum = tx[first, runs["trace_len"][first] - 1]
    sharpness = np.linalg.eigvalsh(hessian(minimum, x, y)).max()
    check(abs(sharpness - runs["sharpness_final"][first]) < 1e-6 * sharpness,
          f"sharpness at the minimum: file {runs['sharpness_final'][first]!r}, numpy {sharpness!r}")
    flip = 2 / sharpness
    check(1.2 < flip < 1.3, f"the flip h = 2/L = {flip:.4f} lies inside the sweep")
    check(((st == CONVERGED) == (h < flip)).all(), f"converged exactly for h < 2/L = {flip:.4f}")
    band = (h > flip) & (h <= 1.94 + 1e-9)
    check(((st == PERIODIC) & (runs["period"] == 2) == band).all(),
          f"period 2 exactly for {flip:.4f} < h <= 1.94")
    check(((st == DIVERGED) == (h >= 1.96 - 1e-9)).all(), "diverged exactly from h = 1.96")
    check(not (st == CHAOTIC).any(), "no chaotic run")
    bounded = st != DIVERGED
    check((runs["lyapunov"][bounded] < 0).all(), "bounded runs have a negative Lyapunov exponent")

    for i in np.flatnonzero(st == CONVERGED):
        occupied = (runs["hist"][i] > 0).sum(axis=1)
        check((occupied == 1).all(), f"h={h[i]:.2f}: converged weights fill {occupied} bins")
        _, g = loss_and_grad(tx[i, runs["trace_len"][i] - 1], x, y)
        check(np.abs(g).max() < 1e-8, f"h={h[i]:.2f}: gradient {np.abs(g).max():.3g} at the end")
    for i in np.flatnonzero(st == PERIODIC):
        p0, p1 = runs["orbit"][i, 0], runs["orbit"][i, 1]
        _, g0 = loss_and_grad(p0, x, y)
        _, g1 = loss_and_grad(p1, x, y)
        err = max(np.abs(p0 - h[i] * g0 - p1).max(), np.abs(p1 - h[i] * g1 - p0).max())
        check(err < 1e-8, f"h={h[i]:.2f}: the stored orbit is off a period-2 cycle by {err:.3g}")
        check(np.abs(p0 - p1).max() > 1e-3, f"h={h[i]:.2f}: the two orbit points coincide")

    for msg in failures:
        print("FAIL:", msg)
    print(f"mlp: {len(h)} runs checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
