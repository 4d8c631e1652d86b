#!/usr/bin/python3
"""The peer a user would write with Numba for bench/jobs/peers_mf_plain.yaml: the same GD as
mf_numpy.py (64 runs of 1/2 |A - X Y^T|^2, n = 512, d = 4, 1000 steps, the same checks), as one
prange loop over the runs; each run computes A Y and A^T X with np.dot (a BLAS call per run and
step, OpenBLAS single-threaded inside the prange threads) and the d x d Gram matrices itself.

Prints "steps=S seconds=T" (T: the prange loop alone). Run it once with NUMBA_CACHE_DIR set
beforehand, so that the timed runs load the compiled loop from the cache.

usage: mf_numba.py [N D RUNS STEPS]"""
import math
import sys
import time

import numba
import numpy as np

H, TOL, BOUND, INIT_SCALE = 0.05, 1e-10, 1e12, 0.05


@numba.njit(parallel=True, cache=True)
def sweep(A, norm_a2, X0, Y0, steps, taken):
    runs = X0.shape[0]
    At = np.ascontiguousarray(A.T)
    for r in numba.prange(runs):
        X, Y = X0[r].copy(), Y0[r].copy()
        k = 0
        while k < steps:
            AY, AtX = np.dot(A, Y), np.dot(At, X)
            XtX, YtY = np.dot(X.T, X), np.dot(Y.T, Y)
            gX = np.dot(X, YtY) - AY
            gY = np.dot(Y, XtX) - AtX
            loss = 0.5 * norm_a2 - np.sum(X * AY) + 0.5 * np.sum(XtX * YtY)
            gnorm = math.sqrt(np.sum(gX * gX) + np.sum(gY * gY))
            xmax = max(np.abs(X).max(), np.abs(Y).max())
            if not (xmax <= BOUND and loss <= BOUND and math.isfinite(loss) and gnorm >= TOL):
                break
            X -= H * gX
            Y -= H * gY
            k += 1
        taken[r] = k


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n, d, runs, steps = (int(a) for a in args) if args else (512, 4, 64, 1000)
    rng = np.random.default_rng(1)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    X0 = rng.standard_normal((runs, n, d)) * INIT_SCALE
    Y0 = rng.standard_normal((runs, n, d)) * INIT_SCALE
    taken = np.zeros(runs, np.int64)
    t0 = time.perf_counter()
    sweep(A, float(np.sum(A * A)), X0, Y0, steps, taken)
    took = time.perf_counter() - t0
    print(f"steps={int(taken.sum())} seconds={took:.6f}")


if __name__ == "__main__":
    main()
