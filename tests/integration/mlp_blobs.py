#!/usr/bin/env python3
"""jobs/mlp_blobs.yaml, the network v sin(w x) on weighted data with one far input, at both
ends of its sweep, checked against numpy on 2 ranks.

- /data holds the job file's points and weights; the C loss at a run's end is the numpy loss,
  and GD's first steps are numpy's.
- At h = 0.002 the run converges (numpy gradient below tol_grad at its final point) and v's
  histogram sits in one bin.
- At h = 0.6 the run is chaotic (lambda well above the threshold 0.01), bounded, and v's
  histogram has two separated clumps, one on each side of 0.
- Random starts at h = 0.6 agree: their v histograms are close in total variation.
- The same points from an HDF5 data file (data: {path}) give bitwise the same runs, --resume
  refuses the file once the data file changed, a bad data file is refused by validate with
  a message naming the file and the dataset, and a file's points count in the memory limit."""
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np

from lrzoo_test import LRZOO, SRC, run_lrzoo

JOB = os.path.join(SRC, "jobs", "mlp_blobs.yaml")
CONVERGED, CHAOTIC = 1, 3
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def loss_and_grad(theta, x, y, q, mu):
    """F = (1/2) sum q (v sin(w x) - y)^2 + (mu/2)(w^2 + v^2) and its gradient."""
    w, v = theta
    s = np.sin(w * x)
    r = v * s - y
    g = np.array([np.sum(q * r * v * np.cos(w * x) * x) + mu * w, np.sum(q * r * s) + mu * v])
    return 0.5 * np.sum(q * r * r) + 0.5 * mu * (w * w + v * v), g


def job_with(text, lr, init, run, analyze):
    """The job file's problem with other sweep, init, run and analyze lines."""
    text = re.sub(r"^lr:.*$", "lr: " + lr, text, flags=re.M)
    text = re.sub(r"^init:.*$", "init: " + init, text, flags=re.M)
    text = re.sub(r"^run:.*$", "run: " + run, text, flags=re.M)
    return text.split("\nanalyze:")[0] + "\nanalyze: " + analyze + "\n"


def run_variant(tmp, name, text, *lines):
    """Writes the job with other lr, init, run and analyze lines, runs it on 2 ranks, and
    returns its output file."""
    job, out = os.path.join(tmp, name + ".yaml"), os.path.join(tmp, name + ".h5")
    open(job, "w").write(job_with(text, *lines))
    run_lrzoo(2, "run", job, "-o", out)
    return out


def v_histogram(f, k):
    edges = f["runs/hist_edges"][()]
    return f["runs/hist"][k, 1], 0.5 * (edges[:-1] + edges[1:])


def two_clumps(counts, centers):
    """Mass on each side of 0, and the valley |v| < 0.3 against the highest bin."""
    total = counts.sum()
    return (counts[centers < 0].sum() / total, counts[centers > 0].sum() / total,
            counts[np.abs(centers) < 0.3].max() / counts.max())


def with_data_file(text, path):
    """The job with its listed points replaced by data: {path: ...}."""
    head, rest = text.split("  data:\n", 1)
    rest = rest.split("\ninit:", 1)[1]
    return head + f"  data: {{path: {path}}}\ninit:" + rest


def write_data_file(path, **datasets):
    with h5py.File(path, "w") as f:
        for name, values in datasets.items():
            f[name] = values


def check_data_files(text, tmp):
    listed = job_with(text, "{values: [0.05, 0.6]}", "{kind: point, x: [0.5, 0.5]}",
                      "{max_iter: 3000, tol_grad: 1.0e-8}", "{lyapunov: {iters: 500, "
                      "transient: 500}}")
    eps, p = 0.005, 1 / 256
    x = np.concatenate([np.linspace(-1, 1, 64), [1 / eps]])
    y = 1.2 * np.sin(1.5 * x)
    q = np.concatenate([np.full(64, (1 - p) / 64), [p]])
    write_data_file(os.path.join(tmp, "points.h5"), x=x, y=y, weight=q)
    outs = []
    for name, job in (("listed", listed), ("file", with_data_file(listed, "points.h5"))):
        path = os.path.join(tmp, name + ".yaml")
        open(path, "w").write(job)
        outs.append(os.path.join(tmp, name + ".h5"))
        run_lrzoo(2, "run", path, "-o", outs[-1])
    with h5py.File(outs[0], "r") as a, h5py.File(outs[1], "r") as b:
        for group in ("runs", "data"):
            for k in a[group]:
                if isinstance(a[group][k], h5py.Dataset):
                    check(np.array_equal(a[group][k][()], b[group][k][()], equal_nan=True),
                          f"data file: /{group}/{k} differs from the listed points' run")
    # a data file changed under a file being resumed is refused
    with h5py.File(os.path.join(tmp, "points.h5"), "a") as f:
        f["y"][3] += 1e-9
    r = subprocess.run([LRZOO, "run", os.path.join(tmp, "file.yaml"), "-o", outs[1], "--resume"],
                       capture_output=True, text=True)
    check(r.returncode == 2 and "/data/y differs from the data this job reads now" in r.stderr,
          f"resume after the data file changed: exit {r.returncode}, {r.stderr!r}")
    # the parser's memory check cannot see a file's points: the check after reading it does
    many = np.linspace(-1, 1, 2_000_000)
    write_data_file(os.path.join(tmp, "many.h5"), x=many, y=np.sin(many))
    job = os.path.join(tmp, "many.yaml")
    open(job, "w").write(with_data_file(listed, "many.h5"))
    r = subprocess.run([LRZOO, "validate", job, "--memory-limit", "80M"], capture_output=True,
                       text=True)
    check(r.returncode == 2 and "data: the points of" in r.stderr and "above the limit" in r.stderr,
          f"2e6 points under --memory-limit 80M: exit {r.returncode}, {r.stderr!r}")
    r = subprocess.run([LRZOO, "validate", job, "--memory-limit", "200M"], capture_output=True,
                       text=True)
    check(r.returncode == 0, f"2e6 points under --memory-limit 200M: exit {r.returncode}, "
          f"{r.stderr!r}")
    bad = {
        "no_y.h5": ({"x": x}, "no dataset 'y'"),
        "matrix.h5": ({"x": np.ones((3, 2)), "y": np.ones(3)}, "dataset 'x' is 3 x 2"),
        "short_y.h5": ({"x": x, "y": y[:10]}, "dataset 'y' has 10 entries, but x has 65"),
        "nan.h5": ({"x": x, "y": np.where(x > 0.5, np.nan, y)}, "dataset 'y' holds nan at entry"),
        "negative.h5": ({"x": x, "y": y, "weight": -q}, "weights must be >= 0"),
    }
    for name, (datasets, want) in bad.items():
        write_data_file(os.path.join(tmp, name), **datasets)
        job = os.path.join(tmp, "bad.yaml")
        open(job, "w").write(with_data_file(listed, name))
        r = subprocess.run([LRZOO, "validate", job], capture_output=True, text=True)
        check(r.returncode == 2 and name in r.stderr and want in r.stderr and
              re.search(r"bad\.yaml:\d+:\d+: data: ", r.stderr),
              f"data file {name}: exit {r.returncode}, expected 2 and '{want}'; got {r.stderr!r}")


def main():
    text = open(JOB).read()
    mu = 0.01
    with tempfile.TemporaryDirectory() as tmp:
        out = run_variant(
            tmp, "ends", text, "{values: [0.002, 0.6]}", "{kind: point, x: [0.5, 0.5]}",
            "{max_iter: 100000, tol_grad: 1.0e-8, record_every: 1, record_x: 2}",
            "{lyapunov: {iters: 20000, transient: 20000}, invariant_measure: {samples: 200000, "
            "burn_in: 20000, coords: [0, 1], bins: 180, range: [-9.0, 9.0]}}")
        with h5py.File(out, "r") as f:
            x, y, q = (f["data"][k][()] for k in ("x", "y", "weight"))
            check(len(x) == 65 and x[-1] == 200.0 and np.array_equal(x[:64], np.linspace(-1, 1, 64)),
                  f"/data/x is not linspace(-1, 1, 64) and 200: {x[:3]} ... {x[-2:]}")
            check(np.allclose(y, 1.2 * np.sin(1.5 * x), rtol=0, atol=1e-15),
                  "/data/y is not the teacher 1.2 sin(1.5 x)")
            check(np.allclose(q[:64], (1 - 1 / 256) / 64, rtol=1e-15) and q[-1] == 1 / 256,
                  f"/data/weight is not (1 - p) / 64 and p = 1/256: {q[:2]} ... {q[-1]}")
            runs = {k: f["runs"][k][()] for k in ("h", "status", "lyapunov", "loss", "grad_norm",
                                                   "trace_len", "outside_fraction")}
            traj = f["runs/trace/x"][()]
            # GD's first steps, from (0.5, 0.5), are numpy's (chaos at h = 0.6 grows a rounding
            # by about e^4 a step, so only a few steps are comparable)
            for k, h in enumerate(runs["h"]):
                theta = np.array([0.5, 0.5])
                for step in range(1, 4):
                    theta = theta - h * loss_and_grad(theta, x, y, q, mu)[1]
                    check(np.allclose(traj[k, step], theta, rtol=1e-9, atol=0),
                          f"h = {h}: step {step} is {traj[k, step]}, numpy's {theta}")
            small, large = 0, 1
            # the small step converges, at a point numpy finds stationary
            check(runs["status"][small] == CONVERGED, f"h = 0.002: status {runs['status'][small]}")
            end = traj[small, runs["trace_len"][small] - 1]
            f_np, g_np = loss_and_grad(end, x, y, q, mu)
            check(np.linalg.norm(g_np) < 1e-8, f"h = 0.002: numpy gradient {g_np} at {end}")
            check(abs(runs["loss"][small] - f_np) <= 1e-12 * f_np,
                  f"h = 0.002: loss {runs['loss'][small]!r}, numpy {f_np!r}")
            counts, centers = v_histogram(f, small)
            check(np.count_nonzero(counts) == 1, f"h = 0.002: v in {np.count_nonzero(counts)} bins")
            # the large step is chaotic and bounded, with two clumps in v
            check(runs["status"][large] == CHAOTIC and runs["lyapunov"][large] > 0.5,
                  f"h = 0.6: status {runs['status'][large]}, lambda {runs['lyapunov'][large]}")
            check(np.all(np.asarray(runs["outside_fraction"][large]) == 0),
                  f"h = 0.6: samples outside [-9, 9]: {runs['outside_fraction'][large]}")
            # the loss and the gradient at the chaotic run's last iterate are numpy's
            end = traj[large, runs["trace_len"][large] - 1]
            f_np, g_np = loss_and_grad(end, x, y, q, mu)
            check(abs(runs["loss"][large] - f_np) <= 1e-12 * f_np and
                  abs(runs["grad_norm"][large] - np.linalg.norm(g_np)) <= 1e-9 * np.linalg.norm(g_np),
                  f"h = 0.6: loss {runs['loss'][large]!r} and |g| {runs['grad_norm'][large]!r} at "
                  f"{end}, numpy {f_np!r} and {np.linalg.norm(g_np)!r}")
            neg, pos, valley = two_clumps(*v_histogram(f, large))
            check(neg > 0.3 and pos > 0.3 and valley < 0.1,
                  f"h = 0.6: v < 0 holds {neg:.2f}, v > 0 {pos:.2f}, valley/peak {valley:.3f}")

        out = run_variant(
            tmp, "starts", text, "{values: [0.6]}", "{kind: gaussian, scale: 1.0, replicas: 3}",
            "{max_iter: 20000, tol_grad: 1.0e-8}",
            "{lyapunov: {iters: 0}, invariant_measure: {samples: 200000, burn_in: 20000, "
            "coords: [0, 1], bins: 180, range: [-9.0, 9.0]}}")
        with h5py.File(out, "r") as f:
            hists = [v_histogram(f, k)[0] / f["runs/hist"][k, 1].sum() for k in range(3)]
            for a in range(3):
                for b in range(a):
                    tv = 0.5 * np.abs(hists[a] - hists[b]).sum()
                    check(tv < 0.1, f"random starts {a} and {b}: v histograms {tv:.3f} apart")
        check_data_files(text, tmp)
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        return 1
    print("mlp_blobs: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
