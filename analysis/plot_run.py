#!/usr/bin/python3
"""Draws the standard figures of an lrzoo output file.

usage: /usr/bin/python3 analysis/plot_run.py OUT.h5 FIGURE_DIR

Figures (PNG), each drawn when the file has what it needs:
  status_vs_lr.png   fraction of runs in each status against the lr axis
  balance_vs_lr.png  mf: final ||X^T X - Y^T Y||_F against lr, one line per imbalance and n
  loss_traces.png    loss against GD step for a few runs spread over the lr axis
  basin_map.png      grid inits: the status of each start on the grid
  bifurcation.png    the points of periodic orbits (first coordinate) against lr
  lyapunov_vs_lr.png largest Lyapunov exponent (and the transverse one for mf) against lr
  sharpness.png      sharpness traces against GD step, with 2/h (edge of stability)
  drift_vs_h.png     drift from gradient flow and the modified equations against h
  invariant_measure.png  histograms of the sampled iterates against the Gibbs density (pooled
                     over replicas when the file has /pooled)
  escapes.png        double well: transitions and residence time against h
"""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lrzoo_file import STATUS_COLORS, STATUS_NAMES, Run  # noqa: E402


def lr_label(run):
    return "lr (h as a multiple of 2/L at the start)" if run.lr_is_relative else "step size h"


def plot_status_vs_lr(run, out):
    lr = run.runs["lr"]
    values = np.unique(lr)
    frac = np.array([[np.mean(run.status[lr == v] == s) for v in values]
                     for s in range(len(STATUS_NAMES))])
    fig, ax = plt.subplots(figsize=(7, 4))
    bottom = np.zeros(len(values))
    width = np.min(np.diff(values)) if len(values) > 1 else 1.0
    for s, name in enumerate(STATUS_NAMES):
        if frac[s].any():
            ax.bar(values, frac[s], width=width, bottom=bottom, color=STATUS_COLORS[s],
                   label=name, align="center")
            bottom += frac[s]
    ax.set_xlabel(lr_label(run))
    ax.set_ylabel("fraction of runs")
    ax.set_title(f"{run.name}: what GD did")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "status_vs_lr.png"), dpi=120)
    plt.close(fig)


def plot_balance_vs_lr(run, out):
    if "balance" not in run.runs:
        return False
    lr, bal, st = run.runs["lr"], run.runs["balance"], run.status
    groups = {}
    n = run.runs.get("n", np.zeros_like(lr))
    imb = run.runs.get("imbalance", np.ones_like(lr))
    for key in sorted(set(zip(n.tolist(), imb.tolist()))):
        groups[key] = (n == key[0]) & (imb == key[1])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (nn, c), sel in groups.items():
        values = np.unique(lr[sel])
        med = []
        for v in values:
            ok = sel & (lr == v) & (st == 1)
            med.append(np.median(bal[ok]) if ok.any() else np.nan)
        ax.semilogy(values, med, marker="o", ms=3, label=f"n={nn:g}, imbalance={c:g}")
    if run.lr_is_relative:
        ax.axvline(1.0, color="k", lw=0.8, ls=":")
    ax.set_xlabel(lr_label(run))
    ax.set_ylabel("median ||XᵀX − YᵀY||_F of converged runs")
    ax.set_title(f"{run.name}: balance of the minimizer GD finds")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "balance_vs_lr.png"), dpi=120)
    plt.close(fig)
    return True


def plot_loss_traces(run, out, how_many=6):
    """A few runs spread over the lr axis, preferring those with the longest traces."""
    if "loss" not in run.trace:
        return False
    loss, lens, lr = run.trace["loss"], run.runs["trace_len"], run.runs["lr"]
    steps = run.trace_steps_of.get("loss", np.arange(loss.shape[1]))
    picks = []
    for v in np.unique(lr)[np.linspace(0, len(np.unique(lr)) - 1, how_many).astype(int)]:
        cand = np.flatnonzero((lr == v) & (run.status > 0) & (lens > 1))
        if cand.size:
            picks.append(cand[np.argmax(lens[cand])])
    if not picks:
        return False
    # Loss above the best final loss of the same problem instance: shows convergence even where
    # the minimum is not zero (a rank-d approximation of a full-rank target).
    problem = run.axis_names("problem")
    key = np.stack([run.runs[a] for a in problem], axis=1) if problem else np.zeros((lr.size, 1))
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in picks:
        same = np.all(key == key[r], axis=1) & (run.status == 1)
        floor = run.runs["loss"][same].min() if same.any() else 0.0
        k = int(lens[r])
        ax.semilogy(steps[:k], np.maximum(loss[r, :k] - floor, 1e-16), lw=1,
                    label=f"run {r}: lr={lr[r]:.3g}, {STATUS_NAMES[run.status[r]]}")
    ax.set_xlabel("GD step")
    ax.set_ylabel("loss − best final loss of the instance")
    ax.set_title(f"{run.name}: loss traces")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "loss_traces.png"), dpi=120)
    plt.close(fig)
    return True


def plot_basin_map(run, out):
    if "grid0" not in run.runs or "grid1" not in run.runs:
        return False
    g0, g1 = run.axes["grid0"], run.axes["grid1"]
    for v in np.unique(run.runs["lr"]):
        sel = run.runs["lr"] == v
        img = np.zeros((len(g1), len(g0)), dtype=int)
        i0 = np.searchsorted(g0, run.runs["grid0"][sel])
        i1 = np.searchsorted(g1, run.runs["grid1"][sel])
        img[i1, i0] = run.status[sel]
        fig, ax = plt.subplots(figsize=(5.5, 5))
        cmap = matplotlib.colors.ListedColormap(STATUS_COLORS)
        ax.imshow(img, origin="lower", extent=[g0[0], g0[-1], g1[0], g1[-1]], cmap=cmap,
                  vmin=-0.5, vmax=len(STATUS_NAMES) - 0.5, interpolation="nearest")
        handles = [matplotlib.patches.Patch(color=STATUS_COLORS[s], label=STATUS_NAMES[s])
                   for s in np.unique(img)]
        ax.legend(handles=handles, fontsize=7, loc="upper right")
        ax.set_xlabel("x0")
        ax.set_ylabel("y0")
        ax.set_title(f"{run.name}: status of each start, lr = {v:g}")
        fig.tight_layout()
        fig.savefig(os.path.join(out, f"basin_map_lr{v:g}.png"), dpi=120)
        plt.close(fig)
    return True


def plot_bifurcation(run, out):
    orbit = run.runs.get("orbit")
    if orbit is None or "period" not in run.runs:
        return False
    if orbit.ndim == 2:  # a 1-D problem stores R x period
        orbit = orbit[:, :, None]
    lr, st = run.runs["lr"], run.status
    fig, ax = plt.subplots(figsize=(7, 4.5))
    periodic = np.flatnonzero(st == 2)
    for r in periodic:
        p = int(run.runs["period"][r])
        ax.plot(np.full(p, lr[r]), orbit[r, :p, 0], ",k", alpha=0.6)
    chaotic = st == 3
    if chaotic.any():
        ax.plot(lr[chaotic], np.full(chaotic.sum(), np.nanmin(orbit[:, :, 0]) if periodic.size else 0),
                "|", color=STATUS_COLORS[3], label="chaotic (no orbit points)")
        ax.legend(fontsize=7)
    ax.set_xlabel(lr_label(run))
    ax.set_ylabel("x of the orbit points")
    ax.set_title(f"{run.name}: periodic orbits (periods {sorted(set(run.runs['period'][periodic]))[:8]})")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "bifurcation.png"), dpi=120)
    plt.close(fig)
    return True


def plot_lyapunov(run, out):
    if "lyapunov" not in run.runs:
        return False
    lr, lam = run.runs["lr"], run.runs["lyapunov"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for s in (1, 2, 3, 5):
        sel = (run.status == s) & np.isfinite(lam)
        if sel.any():
            ax.plot(lr[sel], lam[sel], ".", ms=3, color=STATUS_COLORS[s], label=STATUS_NAMES[s])
    if "lyapunov_transverse" in run.runs:
        t = run.runs["lyapunov_transverse"]
        sel = np.isfinite(t) & (run.status > 0) & (run.status != 4)
        ax.plot(lr[sel], t[sel], "x", ms=3, color="k", alpha=0.5, label="transverse (mf)")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xlabel(lr_label(run))
    ax.set_ylabel("Lyapunov exponent per step")
    ax.set_title(f"{run.name}: largest Lyapunov exponent")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "lyapunov_vs_lr.png"), dpi=120)
    plt.close(fig)
    return True


def plot_sharpness(run, out, how_many=6, first_steps=600):
    """Sharpness traces of bounded runs against 2/h; a run on a 2-cycle alternates, so its
    2-step mean is drawn too. Only the first steps, where the sharpness moves, are shown."""
    if "sharpness" not in run.trace:
        return False
    sh, lens, h = run.trace["sharpness"], run.runs["sharpness_len"], run.runs["h"]
    steps = run.trace_steps_of.get("sharpness")
    ran = np.flatnonzero((run.status > 0) & (run.status != 4) & (lens > 2))
    if ran.size == 0:
        return False
    picks = []
    for v in np.unique(h[ran]):
        picks.append(ran[h[ran] == v][0])
    picks = picks[:how_many]
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in picks:
        k = int(min(lens[r], np.searchsorted(steps, first_steps) + 1))
        line, = ax.plot(steps[:k], sh[r, :k], lw=0.5, alpha=0.5)
        mean2 = 0.5 * (sh[r, 1:k] + sh[r, :k - 1])
        ax.plot(steps[1:k], mean2, lw=1.5, color=line.get_color(),
                label=f"h={h[r]:.3g} ({STATUS_NAMES[run.status[r]]})")
        ax.axhline(2 / h[r], color=line.get_color(), ls=":", lw=1)
    ax.set_xlabel("GD step")
    ax.set_ylabel("sharpness; thick: 2-step mean; dotted: 2/h")
    ax.set_title(f"{run.name}: sharpness against 2/h")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "sharpness.png"), dpi=120)
    plt.close(fig)
    return True


def plot_drift(run, out):
    orders = [k for k in range(3) if f"drift_order{k}" in run.runs]
    if not orders:
        return False
    h = run.runs["h"]
    order = np.argsort(h)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for k in orders:
        d = run.runs[f"drift_order{k}"]
        ok = np.isfinite(d[order]) & (d[order] > 0)
        ax.loglog(h[order][ok], d[order][ok], "o-", ms=3, label=f"order {k}")
    ax.set_xlabel("step size h")
    ax.set_ylabel("max_k |x(kh) - x_k|")
    ax.set_title(f"{run.name}: GD against gradient flow (0) and modified equations (1, 2)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "drift_vs_h.png"), dpi=120)
    plt.close(fig)
    return True


def plot_invariant_measure(run, out, how_many=4):
    if "hist" not in run.runs or "hist_edges" not in run.runs:
        return False
    edges = run.runs["hist_edges"]
    width = np.diff(edges)
    centers = 0.5 * (edges[1:] + edges[:-1])
    pooled = run.pooled if run.pooled else None
    src = pooled if pooled else run.runs
    hist, gibbs = src["hist"], src.get("gibbs")
    n = hist.shape[0]
    picks = np.unique(np.linspace(0, n - 1, min(how_many, n)).astype(int))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i in picks:
        counts = hist[i, 0].astype(float)
        if counts.sum() == 0:
            continue
        label = f"{'point' if pooled else 'run'} {i}"
        if "lr" in src:
            label += f": h={src['lr'][i]:.3g}"
        if "gibbs_tv" in src and np.isfinite(src["gibbs_tv"][i]):
            label += f", TV {src['gibbs_tv'][i]:.3f} (halves {src['halves_tv'][i]:.3f})"
        line, = ax.step(centers, counts / counts.sum() / width, where="mid", lw=1, label=label)
        if gibbs is not None and np.isfinite(gibbs[i, 0]).all():
            ax.plot(centers, gibbs[i, 0] / width, ":", color=line.get_color(), lw=1.5)
    ax.set_xlabel("x (first histogrammed coordinate)")
    ax.set_ylabel("density (dotted: Gibbs exp(-f0/T)/Z)")
    ax.set_title(f"{run.name}: invariant measure of GD" + (" (pooled over replicas)" if pooled else ""))
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "invariant_measure.png"), dpi=120)
    plt.close(fig)
    return True


def plot_escapes(run, out):
    if "transitions" not in run.runs or "wells" not in run.runs:
        return False
    h, tr, res = run.runs["h"], run.runs["transitions"], run.runs["residence_mean"]
    ok = run.runs["samples"] > 0
    if not (ok & np.isfinite(res)).any():
        return False
    order = np.argsort(h[ok])
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.8))
    ax[0].semilogx(h[ok][order], tr[ok][order], "o-", ms=3)
    ax[0].set_xlabel("step size h")
    ax[0].set_ylabel("well transitions")
    w = run.runs["wells"][ok][order]
    ax[1].semilogx(h[ok][order], w[:, 0], "o-", ms=3, label="left well (x < 0)")
    ax[1].semilogx(h[ok][order], w[:, 1], "s-", ms=3, label="right well (x > 0)")
    ax[1].set_xlabel("step size h")
    ax[1].set_ylabel("occupation")
    ax[1].legend(fontsize=7)
    fig.suptitle(f"{run.name}: escapes from the starting well")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "escapes.png"), dpi=120)
    plt.close(fig)
    return True


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    run = Run(argv[1])
    out = argv[2]
    os.makedirs(out, exist_ok=True)
    plot_status_vs_lr(run, out)
    plot_balance_vs_lr(run, out)
    plot_loss_traces(run, out)
    plot_basin_map(run, out)
    plot_bifurcation(run, out)
    plot_lyapunov(run, out)
    plot_sharpness(run, out)
    plot_drift(run, out)
    plot_invariant_measure(run, out)
    plot_escapes(run, out)
    counts = np.bincount(run.status, minlength=len(STATUS_NAMES))
    print(f"{argv[1]}: {run.status.size} runs: " +
          ", ".join(f"{STATUS_NAMES[s]} {c}" for s, c in enumerate(counts) if c))
    print(f"figures in {out}/: " + ", ".join(sorted(f for f in os.listdir(out) if f.endswith('.png'))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
