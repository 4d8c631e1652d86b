#!/usr/bin/python3
"""The peer a user would write with NumPy for bench/jobs/peers_mf*.yaml: GD on
1/2 |A - X Y^T|^2 for 64 runs sharing one gaussian A (n = 512, d = 4), 1000 steps, in GEMM form:
grad_X = X (Y^T Y) - A Y and grad_Y = Y (X^T X) - A^T X, with A times every run's Y (and A^T
times every run's X) as one GEMM, the d x d Gram matrices as batched matmuls. Every step checks
what lrzoo checks: max |x| and f (from the same expanded form) below diverge_above, f finite, and
|grad f| >= tol_grad; a run that fails stops being updated.

With --analytics it also carries a tangent vector (U, V) through v <- (I - h H) v, its
Hessian-vector product in the same GEMM form (A V and A^T U as columns of the two GEMMs next to
Y and X), rescaled every step, over the last 1000 steps, and keeps the last 128 iterates in a
ring for the period check at the end: one tangent, where lrzoo carries two (the full exponent
and the one transverse to the symmetry of the factorization).

Prints "steps=S seconds=T" (T: the loop alone, without creating A and the starts).

usage: mf_numpy.py [--analytics] [N D RUNS STEPS]"""
import sys
import time

import numpy as np

H, TOL, BOUND, INIT_SCALE = 0.05, 1e-10, 1e12, 0.05


def main():
    analytics = "--analytics" in sys.argv
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n, d, runs, steps = (int(a) for a in args) if args else (512, 4, 64, 1000)
    rng = np.random.default_rng(1)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    norm_a2 = float(np.sum(A * A))
    X = rng.standard_normal((n, runs, d)) * INIT_SCALE
    Y = rng.standard_normal((n, runs, d)) * INIT_SCALE
    k = 2 if analytics else 1
    U = rng.standard_normal((n, runs, d))
    V = rng.standard_normal((n, runs, d))
    live = np.ones(runs, bool)
    log_growth = np.zeros(runs)
    ring = np.empty((128, 2, n, runs, d)) if analytics else None
    taken = 0
    t0 = time.perf_counter()
    for step in range(steps):
        right = np.concatenate([Y, V], axis=1) if analytics else Y      # n x (k runs) x d
        left = np.concatenate([X, U], axis=1) if analytics else X
        AR = (A @ right.reshape(n, -1)).reshape(n, k * runs, d)
        AtL = (A.T @ left.reshape(n, -1)).reshape(n, k * runs, d)
        AY, AtX = AR[:, :runs], AtL[:, :runs]
        Xr, Yr = X.transpose(1, 0, 2), Y.transpose(1, 0, 2)             # runs x n x d
        XtX, YtY = Xr.transpose(0, 2, 1) @ Xr, Yr.transpose(0, 2, 1) @ Yr
        gX = (Xr @ YtY).transpose(1, 0, 2) - AY
        gY = (Yr @ XtX).transpose(1, 0, 2) - AtX
        loss = 0.5 * norm_a2 - np.einsum("nrd,nrd->r", X, AY) + 0.5 * np.einsum("rde,rde->r", XtX, YtY)
        gnorm = np.sqrt(np.einsum("nrd,nrd->r", gX, gX) + np.einsum("nrd,nrd->r", gY, gY))
        xmax = np.maximum(np.abs(X).max(axis=(0, 2)), np.abs(Y).max(axis=(0, 2)))
        live &= (xmax <= BOUND) & np.isfinite(loss) & (loss <= BOUND) & (gnorm >= TOL)
        if not live.any():
            break
        taken += int(live.sum())
        step_h = (H * live)[None, :, None]
        if analytics and step >= steps - 1000:
            # H (U, V) = (U Y^T Y + X (V^T Y + Y^T V)... written out for f = |A - X Y^T|^2 / 2:
            # dgX = U (Y^T Y) + X (V^T Y) + R V,  dgY = V (X^T X) + Y (U^T X) + R^T U,
            # R V = X (Y^T V) - A V, R^T U = Y (X^T U) - A^T U.
            Ur, Vr = U.transpose(1, 0, 2), V.transpose(1, 0, 2)
            AV, AtU = AR[:, runs:], AtL[:, runs:]
            dgX = (Ur @ YtY + Xr @ (Vr.transpose(0, 2, 1) @ Yr + Yr.transpose(0, 2, 1) @ Vr)).transpose(1, 0, 2) - AV
            dgY = (Vr @ XtX + Yr @ (Ur.transpose(0, 2, 1) @ Xr + Xr.transpose(0, 2, 1) @ Ur)).transpose(1, 0, 2) - AtU
            U, V = U - step_h * dgX, V - step_h * dgY
            nrm = np.sqrt(np.einsum("nrd,nrd->r", U, U) + np.einsum("nrd,nrd->r", V, V))
            log_growth += np.log(nrm) * live
            U, V = U / nrm[None, :, None], V / nrm[None, :, None]
        if analytics and step >= steps - 128:
            ring[step % 128, 0], ring[step % 128, 1] = X, Y
        X, Y = X - step_h * gX, Y - step_h * gY
    periodic = np.zeros(runs, bool)
    if analytics:
        last = (steps - 1) % 128
        for p in range(1, 65):
            back = ring[(last - p) % 128] - ring[last]
            periodic |= np.sqrt(np.einsum("snrd,snrd->r", back, back)) <= 1e-9
    took = time.perf_counter() - t0
    print(f"steps={taken} seconds={took:.6f} live={int(live.sum())} periodic={int(periodic.sum())}")


if __name__ == "__main__":
    main()
