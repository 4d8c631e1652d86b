#!/usr/bin/python3
"""The peer a user would write with Numba for bench/jobs/peers_toy*.yaml: GD on
(1 - x y)^2 / 2 from a 1000 x 1000 grid of starts in [0.3, 1.6]^2 at h = 1.25, 4000 steps,
one prange loop over the runs. Each run checks what lrzoo checks at every step (|x|, |y| and f
below diverge_above, f finite, |grad f| >= tol_grad), and with --analytics it also does what
lrzoo's default analytics do: the last 2 max_period = 128 iterates in a ring, the tangent map
v <- (I - h H(x_k)) v over the last transient + iters = 2000 steps (exponent averaged over the
last 1000, rescaled by the norm), and the minimal period p <= 64 over a whole cycle at the end.

Prints "steps=S seconds=T" (T: the prange loop alone). Run it once with NUMBA_CACHE_DIR set
beforehand, so that the timed runs load the compiled loop from the cache as a user's second
run would.

usage: toy_numba.py [--analytics] [--points N]"""
import math
import sys
import time

import numba
import numpy as np

H, MAX_ITER, TOL, BOUND = 1.25, 4000, 1e-10, 1e12
MAX_PERIOD, RING_TOL, TRANSIENT, ITERS, THRESHOLD = 64, 1e-9, 1000, 1000, 0.01


@numba.njit(cache=True, inline="always")
def minimal_period(ring, head, count, max_period, tol):
    cap = ring.shape[0]
    xk, yk = ring[(head - 1) % cap, 0], ring[(head - 1) % cap, 1]
    scale = max(1.0, math.sqrt(xk * xk + yk * yk))
    for p in range(1, max_period + 1):
        if 2 * p > count:
            break
        worst = 0.0
        for j in range(p):
            a, b = (head - 1 - j) % cap, (head - 1 - j - p) % cap
            dx, dy = ring[a, 0] - ring[b, 0], ring[a, 1] - ring[b, 1]
            worst = max(worst, math.sqrt(dx * dx + dy * dy))
        if worst / scale <= tol:
            return p
    return 0


@numba.njit(parallel=True, cache=True)
def sweep(x0, y0, analytics, status, steps, lyap):
    ring_from = MAX_ITER - 2 * MAX_PERIOD + 1
    tangent_from = MAX_ITER - TRANSIENT - ITERS
    for r in numba.prange(x0.size):
        x, y = x0[r], y0[r]
        ring = np.empty((2 * MAX_PERIOD, 2))
        head, count = 0, 0
        vx, vy, log_growth, log_start = 0.6, 0.8, 0.0, 0.0
        st, k = 5, 0
        while True:
            if not (abs(x) <= BOUND and abs(y) <= BOUND):
                st = 4
                break
            res = x * y - 1.0
            f = 0.5 * res * res
            gx, gy = res * y, res * x
            gn = math.sqrt(gx * gx + gy * gy)
            if not (f <= BOUND) or not math.isfinite(gn):
                st = 4
                break
            if gn < TOL:
                st = 1
                break
            if k == MAX_ITER:
                break
            if analytics:
                if k >= ring_from:
                    ring[head, 0], ring[head, 1] = x, y
                    head = (head + 1) % ring.shape[0]
                    count = min(count + 1, ring.shape[0])
                if k >= tangent_from:
                    # H = [[y^2, 2xy - 1], [2xy - 1, x^2]]
                    c = 2.0 * x * y - 1.0
                    wx = vx - H * (y * y * vx + c * vy)
                    wy = vy - H * (c * vx + x * x * vy)
                    nrm = math.sqrt(wx * wx + wy * wy)
                    if k - tangent_from == TRANSIENT:
                        log_growth = 0.0
                        log_start = k
                    log_growth += math.log(nrm)
                    vx, vy = wx / nrm, wy / nrm
            x, y = x - H * gx, y - H * gy
            k += 1
        steps[r] = k
        if analytics:
            lyap[r] = log_growth / max(1.0, k - log_start)
            if st == 5:
                p = minimal_period(ring, head, count, MAX_PERIOD, RING_TOL)
                if p >= 2:
                    st = 2
                elif lyap[r] > THRESHOLD:
                    st = 3
        status[r] = st


def main():
    analytics = "--analytics" in sys.argv
    points = int(sys.argv[sys.argv.index("--points") + 1]) if "--points" in sys.argv else 1000
    g = np.linspace(0.3, 1.6, points)
    x0, y0 = (a.ravel().copy() for a in np.meshgrid(g, g, indexing="ij"))
    status = np.zeros(x0.size, np.int8)
    steps = np.zeros(x0.size, np.int64)
    lyap = np.zeros(x0.size)
    t0 = time.perf_counter()
    sweep(x0, y0, analytics, status, steps, lyap)
    took = time.perf_counter() - t0
    counts = np.bincount(status, minlength=6)
    print(f"steps={int(steps.sum())} seconds={took:.6f} status={','.join(map(str, counts))}")


if __name__ == "__main__":
    main()
