#!/usr/bin/python3
"""The figures of the large-learning-rate story, one function each, from an lrzoo output file.

Each fig_* function takes a Run (lrzoo_file.py) and an output directory. If the file has what
the figure needs, it draws one PNG and returns a Figure: the file name, a one-paragraph caption
with the numbers that matter, and `data`, the numbers behind the figure (tests/integration/
report.py checks their physics). Otherwise it raises Missing with what is lacking.

usage: /usr/bin/python3 analysis/figures.py FIGURE OUT.h5 [-o DIR]   (FIGURE: one of FIGURES)
analysis/report.py draws every figure a file has data for, and an index.html.
"""
import argparse
import os
import sys
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lrzoo_file import STATUS_COLORS, STATUS_NAMES, Run  # noqa: E402

DPI = 100
CONVERGED, PERIODIC, CHAOTIC, DIVERGED = 1, 2, 3, 4


class Missing(Exception):
    """The file lacks what a figure needs; the message says what."""


@dataclass
class Figure:
    png: str
    title: str
    caption: str
    data: dict = field(default_factory=dict)


def need(cond, what):
    if not cond:
        raise Missing(what)


def problem_kind(run):
    """mf, multiscale, mlp or quadratic, told by what only that kind has."""
    if run.data:
        return "mlp"
    if "norm_y" in run.runs:
        return "mf"
    return "multiscale" if "f0_loss" in run.runs else "quadratic"


def save(fig, out, name):
    fig.savefig(os.path.join(out, name), dpi=DPI)
    plt.close(fig)
    return name


def x_trace(run):
    """/runs/trace/x as R x K x C (C = run.record_x), or None."""
    x = run.trace.get("x")
    if x is None:
        return None
    return x[:, :, None] if x.ndim == 2 else x


def is_scalar_mf(run):
    return "scalar_gap" in run.runs and np.all(run.runs.get("n", [0]) == 1) and \
        np.all(run.runs.get("d", [0]) == 1)


# ---- 1. regimes ---------------------------------------------------------------------------

def behaviour_of(x):
    """monotone, oscillating or diverging, from the first entries of a 1-D trajectory."""
    x = x[np.isfinite(x)]
    if x.size < 3:
        return "too short"
    grows = abs(x[-1]) > abs(x[0])
    flips = np.mean(np.sign(x[1:]) != np.sign(x[:-1]))
    if grows:
        return "diverging"
    return "oscillating" if flips > 0.5 else "monotone"


def fig_regimes(run, out, steps=30):
    """x_k and f(x_k) against k for one h in each of (0, 1/L), (1/L, 2/L) and (2/L, ...)."""
    x = x_trace(run)
    need(x is not None and "loss" in run.trace, "/runs/trace/x and /runs/trace/loss (run.record_x >= 1)")
    need(problem_kind(run) == "quadratic", "a quadratic problem")
    h, L = run.runs["h"], run.runs["sharpness_init"]
    hl = h * L
    picks = {}
    for name, lo, hi, target in (("h < 1/L", 0, 1, 0.5), ("1/L < h < 2/L", 1, 2, 1.5),
                                 ("h > 2/L", 2, np.inf, 2.2)):
        cand = np.flatnonzero((hl > lo) & (hl < hi) & (run.status > 0))
        if cand.size:
            picks[name] = cand[np.argmin(abs(hl[cand] - target))]
    need(len(picks) == 3, "runs with h in each of (0, 1/L), (1/L, 2/L) and (2/L, inf)")
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    data = {}
    for name, r in picks.items():
        k = min(steps, int(run.runs["trace_len"][r]))
        xs, fs = x[r, :k, 0], run.trace["loss"][r, :k]
        kind = behaviour_of(xs)
        data[name] = {"h": float(h[r]), "hL": float(hl[r]), "behaviour": kind}
        label = f"hL = {hl[r]:.2f} ({name}): {kind}"
        ax[0].plot(np.arange(k), xs, "o-", ms=3, lw=1, label=label)
        ax[1].semilogy(np.arange(k), np.maximum(fs, 1e-300), "o-", ms=3, lw=1, label=label)
    ax[0].axhline(0, color="k", lw=0.6)
    ax[0].set_xlabel("GD step k")
    ax[0].set_ylabel("x_k, coordinate along the top eigenvector")
    ax[0].set_ylim(-3, 3)
    ax[1].set_xlabel("GD step k")
    ax[1].set_ylabel("f(x_k)")
    for a in ax:
        a.legend(fontsize=8)
    fig.suptitle(f"{run.name}: the three regimes of GD on a quadratic (L = {L.max():g})")
    fig.tight_layout()
    caption = ("GD on a quadratic, along the eigenvector of the largest eigenvalue L. " +
               "; ".join(f"{n}: h = {d['h']:.3g} is {d['behaviour']}" for n, d in data.items()) +
               ". Each step multiplies that coordinate by 1 − hL: positive below 1/L, negative "
               "but smaller than 1 in size up to 2/L, and larger than 1 in size beyond.")
    return Figure(save(fig, out, "fig1_regimes.png"), "Regimes of GD", caption, data)


# ---- 2. modified equations ----------------------------------------------------------------

def loglog_slope(h, d):
    ok = np.isfinite(d) & (d > 0)
    return float(np.polyfit(np.log(h[ok]), np.log(d[ok]), 1)[0]) if ok.sum() >= 2 else float("nan")


def fig_modified_equations(run, out):
    orders = [k for k in range(3) if f"drift_order{k}" in run.runs]
    need(orders, "/runs/drift_order* (analyze.modified_equation)")
    h = run.runs["h"]
    order = np.argsort(h)
    h = h[order]
    small = h <= np.quantile(h, 0.35)
    fig, ax = plt.subplots(figsize=(8, 5))
    data = {"h": h.tolist()}
    for k in orders:
        d = run.runs[f"drift_order{k}"][order]
        slope = loglog_slope(h[small], d[small])
        data[f"order{k}"] = d.tolist()
        data[f"slope{k}"] = slope
        ok = np.isfinite(d) & (d > 0)
        ax.loglog(h[ok], d[ok], "o-", ms=3,
                  label=f"{'gradient flow' if k == 0 else f'modified equation, order {k}'}"
                        f" (slope {slope:.2f} at small h)")
    L = float(np.nanmedian(run.runs["sharpness_init"]))
    ax.axvspan(h[0], h[small][-1], color="#2a9d8f", alpha=0.08)
    ax.axvspan(1 / L, h[-1], color="#e76f51", alpha=0.08)
    ax.text(0.01, 0.98, "small h: error ∝ h^(k+1)", transform=ax.transAxes, va="top", fontsize=8)
    ax.text(0.99, 0.02, "shaded right: h ≥ 1/L,\nno expansion holds", transform=ax.transAxes,
            va="bottom", ha="right", fontsize=8)
    ax.set_xlabel("step size h")
    ax.set_ylabel("max over steps of |x(kh) − x_k|")
    ax.set_title(f"{run.name}: distance of GD from the flows")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, 0.92))
    fig.tight_layout()
    d0 = data.get("order0", [np.nan])[0]
    caption = (f"Largest distance between GD and the flows over the run, against h. At small h the "
               f"error of the order-k equation scales like h^(k+1): fitted slopes " +
               ", ".join(f"{data[f'slope{k}']:.2f}" for k in orders) +
               f" for orders {', '.join(map(str, orders))}; at h = {h[0]:.3g} the gradient-flow "
               f"distance is {d0:.2g}. In between the higher orders gain less; past h ≈ 1/L = "
               f"{1 / L:.2g} GD leaves the flows behind and every order is as far off.")
    return Figure(save(fig, out, "fig2_modified_equations.png"), "GD, gradient flow and modified "
                  "equations", caption, data)


# ---- 3. period doubling -------------------------------------------------------------------

def fig_period_doubling(run, out, tail=200):
    orbit = run.runs.get("orbit")
    need(orbit is not None and "period" in run.runs and "lyapunov" in run.runs,
         "/runs/orbit, /runs/period and /runs/lyapunov (analyze.orbit and analyze.lyapunov)")
    need(is_scalar_mf(run) and "grid0" not in run.runs and np.unique(run.runs["h"]).size >= 10
         and (run.status == PERIODIC).any(),
         "periodic runs of (mu - xy)^2/2 over at least 10 step sizes from one start")
    if orbit.ndim == 2:
        orbit = orbit[:, :, None]
    x = x_trace(run)
    h, st, lam = run.runs["h"], run.status, run.runs["lyapunov"]
    fig, ax = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True, height_ratios=[2, 1])
    for r in np.flatnonzero(st == CONVERGED):
        ax[0].plot(h[r], run.runs.get("norm_x", np.full(h.size, np.nan))[r], ".", ms=3,
                   color=STATUS_COLORS[CONVERGED])
    for r in np.flatnonzero(st == PERIODIC):
        p = int(run.runs["period"][r])
        ax[0].plot(np.full(p, h[r]), orbit[r, :p, 0], ".", ms=2, color="k")
    chaos = np.flatnonzero(st == CHAOTIC)
    if x is not None:
        for r in chaos:
            k = int(run.runs["trace_len"][r])
            pts = x[r, max(0, k - tail):k, 0]
            ax[0].plot(np.full(pts.size, h[r]), pts, ",", color=STATUS_COLORS[CHAOTIC], alpha=0.7)
    ax[0].set_ylabel("x at the limit\n(black: periodic orbits;\npurple: last iterates of chaos)")
    periods = sorted({int(p) for p in run.runs["period"][st == PERIODIC]})
    ax[0].set_title(f"{run.name}: period doubling of GD on (1 − xy)²/2 (periods {periods[:8]})")
    handles = [matplotlib.lines.Line2D([], [], ls="", marker=".", color=c, label=l) for c, l in
               ((STATUS_COLORS[CONVERGED], "converged: |x|"), ("k", "periodic orbit points"),
                (STATUS_COLORS[CHAOTIC], "chaotic iterates"))]
    ax[0].legend(handles=handles, fontsize=7, loc="lower left")
    for s in (CONVERGED, PERIODIC, CHAOTIC, 5):
        sel = (st == s) & np.isfinite(lam)
        if sel.any():
            ax[1].plot(h[sel], lam[sel], ".", ms=4, color=STATUS_COLORS[s], label=STATUS_NAMES[s])
    ax[1].axhline(0, color="k", lw=0.6)
    ax[1].set_xlabel("step size h")
    ax[1].set_ylabel("Lyapunov exponent\nper step")
    ax[1].legend(fontsize=7, ncol=4)
    fig.tight_layout()
    first = {}
    for p in (2, 4, 8):
        sel = (st == PERIODIC) & (run.runs["period"] == p)
        if sel.any():
            first[p] = float(h[sel].min())
    data = {"first_h_of_period": first, "chaotic_h": h[chaos].tolist(),
            "chaotic_lyapunov_min": float(np.nanmin(lam[chaos])) if chaos.size else float("nan"),
            "periodic_lyapunov_max": float(np.nanmax(lam[st == PERIODIC])) if (st == PERIODIC).any()
            else float("nan")}
    caption = ("Top: where GD ends against h, the periodic orbits' points and, for chaotic runs, "
               "their last iterates. Bottom: the largest Lyapunov exponent. " +
               ", ".join(f"period {p} from h = {v:.3f}" for p, v in first.items()) +
               (f"; chaos (exponent > 0) at {chaos.size} step sizes from h = {h[chaos].min():.3f}"
                if chaos.size else "") + ". Periodic orbits have negative exponents; windows of "
               "low period inside the chaotic range show as dips below zero.")
    return Figure(save(fig, out, "fig3_period_doubling.png"), "Period doubling and chaos",
                  caption, data)


# ---- 4. basin map -------------------------------------------------------------------------

def outcome_classes(run):
    """A class per run: converged, period 2, 4, 8, other periodic, chaotic, diverged, other."""
    names = ["converged", "period 2", "period 4", "period 8", "other period", "chaotic",
             "diverged", "undetermined"]
    colors = [STATUS_COLORS[1], "#f4a261", "#e9c46a", "#d4a017", "#8d6e00", STATUS_COLORS[3],
              STATUS_COLORS[4], STATUS_COLORS[5]]
    st, per = run.status, run.runs.get("period", np.zeros(run.status.size))
    c = np.full(st.size, 7)
    c[st == CONVERGED] = 0
    c[st == CHAOTIC] = 5
    c[st == DIVERGED] = 6
    for i, p in ((1, 2), (2, 4), (3, 8)):
        c[(st == PERIODIC) & (per == p)] = i
    c[(st == PERIODIC) & ~np.isin(per, (2, 4, 8))] = 4
    return c, names, colors


def fig_basin_map(run, out):
    need("grid0" in run.runs and "grid1" in run.runs, "a grid of initial points (init.kind grid)")
    g0, g1 = run.axes["grid0"], run.axes["grid1"]
    hs = np.unique(run.runs["h"])
    h = hs[0]
    sel = run.runs["h"] == h
    cls, names, colors = outcome_classes(run)
    img = np.full((len(g1), len(g0)), 7)
    img[np.searchsorted(g1, run.runs["grid1"][sel]), np.searchsorted(g0, run.runs["grid0"][sel])] = cls[sel]
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    ax.imshow(img, origin="lower", extent=[g0[0], g0[-1], g1[0], g1[-1]],
              cmap=matplotlib.colors.ListedColormap(colors), vmin=-0.5, vmax=len(names) - 0.5,
              interpolation="nearest")
    shares = {names[c]: float(np.mean(cls[sel] == c)) for c in np.unique(cls[sel])}
    ax.legend(handles=[matplotlib.patches.Patch(color=colors[names.index(n)], label=f"{n} ({v:.1%})")
                       for n, v in shares.items()], fontsize=7, loc="upper right")
    ax.set_xlabel("x0")
    ax.set_ylabel("y0")
    ax.set_title(f"{run.name}: what GD does from each start, h = {h:g}")
    fig.tight_layout()
    caption = (f"Each pixel is a start (x0, y0) of GD at h = {h:g}, coloured by what the run did: " +
               ", ".join(f"{n} {v:.1%}" for n, v in shares.items()) + "." +
               (f" The file has {hs.size} step sizes; this shows the first." if hs.size > 1 else ""))
    return Figure(save(fig, out, "fig4_basin_map.png"), "Basins and attractors", caption,
                  {"h": float(h), "shares": shares})


# ---- 5. invariant measure and escapes -----------------------------------------------------

def fig_invariant_measure(run, out, how_many=4):
    need("hist" in run.runs and "hist_edges" in run.runs and "gibbs" in run.runs,
         "/runs/hist and /runs/gibbs (analyze.invariant_measure on a multiscale problem)")
    edges = run.runs["hist_edges"]
    width, centers = np.diff(edges), 0.5 * (edges[1:] + edges[:-1])
    src = run.pooled if run.pooled else run.runs
    hist, gibbs = src["hist"], src["gibbs"]
    hs = src["h"] if "h" in src else src.get("lr")
    points = [i for i in np.argsort(hs) if hist[i, 0].sum() > 0]
    points = [points[j] for j in np.unique(np.linspace(0, len(points) - 1, min(how_many, len(points))).astype(int))]
    need(points, "samples in the histograms")
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    data = {}
    for i in points:
        c = hist[i, 0].astype(float)
        tv, kl = float(src["gibbs_tv"][i]), float(src["gibbs_kl"][i])
        line, = ax.step(centers, c / c.sum() / width, where="mid", lw=1,
                        label=f"h = {hs[i]:.3g}: TV {tv:.3f}, KL {kl:.3f} (halves TV {src['halves_tv'][i]:.3f})")
        ax.plot(centers, gibbs[i, 0] / width, ":", color=line.get_color(), lw=1.8)
        data[f"{hs[i]:.6g}"] = {"tv": tv, "kl": kl, "halves_tv": float(src["halves_tv"][i]),
                                "temperature": float(src["temperature"][i]),
                                "temperature_fit": float(src["temperature_fit"][i])}
    ax.set_xlabel("x")
    ax.set_ylabel("density (steps: GD iterates; dotted: Gibbs)")
    ax.set_title(f"{run.name}: GD's invariant measure against Gibbs, T = hσ²/2" +
                 (" (replicas pooled)" if run.pooled else ""), fontsize=11)
    ax.legend(fontsize=7)
    fig.tight_layout()
    caption = ("Histograms of GD's iterates after burn-in (steps) and the Gibbs density of f0 at "
               "T = hσ²/2 integrated over the same bins (dotted). " +
               "; ".join(f"h = {k}: TV {v['tv']:.3f} against a sampling error of {v['halves_tv']:.3f}"
                         for k, v in data.items()) +
               ". A TV well above the sampling error is a real departure from Gibbs, which is "
               "only the leading order in h and fails when h is not much larger than ε.")
    return Figure(save(fig, out, "fig5_invariant_measure.png"), "Invariant measure against Gibbs",
                  caption, data)


def fig_escapes(run, out):
    x = x_trace(run)
    need(x is not None and "wells" in run.runs and "transitions" in run.runs,
         "/runs/trace/x and /runs/wells (a double-well multiscale job with run.record_x >= 1)")
    h = run.runs["h"]
    order = [r for r in np.argsort(h) if run.runs["trace_len"][r] >= 2]
    need(order, "runs with an x trace")
    # The smallest step (the trapped case) and the four largest (where the escapes happen).
    order = list(dict.fromkeys([order[0]] + order[-4:]))
    steps = run.trace_steps_of.get("x", np.arange(x.shape[1]))
    fig = plt.figure(figsize=(11, 1.6 + 1.3 * len(order)))
    grid = fig.add_gridspec(len(order), 2, width_ratios=[2, 1])
    share = fig.add_subplot(grid[:, 1])
    data = {}
    for i, r in enumerate(order):
        k = int(run.runs["trace_len"][r])
        xs = x[r, :k, 0]
        a = fig.add_subplot(grid[i, 0])
        line, = a.plot(steps[:k], xs, lw=0.5, color=f"C{i}")
        a.axhline(0, color="k", lw=0.5)
        a.set_ylim(-1.8, 1.8)
        a.set_xlim(0, steps[x.shape[1] - 1])
        a.set_ylabel("x_k")
        a.text(0.01, 0.9, f"h = {h[r]:.3g}: {int(run.runs['transitions'][r])} crossings while "
               f"sampling, wells {run.runs['wells'][r][0]:.2f}/{run.runs['wells'][r][1]:.2f}",
               transform=a.transAxes, fontsize=8, va="top",
               bbox=dict(facecolor="white", alpha=0.8, lw=0))
        if i < len(order) - 1:
            a.tick_params(labelbottom=False)
        else:
            a.set_xlabel("GD step (wells at x = −1 and +1)")
        right = np.cumsum(xs > 0) / np.arange(1, k + 1)
        share.plot(steps[:k], right, lw=1.2, color=line.get_color(), label=f"h = {h[r]:.3g}")
        data[f"{h[r]:.6g}"] = {"transitions": int(run.runs["transitions"][r]),
                               "wells": run.runs["wells"][r].tolist(),
                               "trace_crossings": int(np.sum(np.diff(np.sign(xs)) != 0))}
    share.set_xlabel("GD step")
    share.set_ylabel("share of steps so far in the right well")
    share.set_ylim(-0.05, 1.05)
    share.legend(fontsize=7)
    fig.suptitle(f"{run.name}: escapes from the starting well of (x² − 1)²/4 + ε sin(x/ε)")
    fig.tight_layout()
    caption = ("GD started in the left well. Left: the iterates over the run; right: the share of "
               "steps spent in the right well so far. " +
               "; ".join(f"h = {k}: {v['transitions']} crossings while sampling, wells "
                         f"{v['wells'][0]:.2f}/{v['wells'][1]:.2f}" for k, v in data.items()) +
               ". A step much smaller than ε resolves the fast term and stays; a large one heats "
               "GD to T = hσ²/2 and it hops between the wells.")
    return Figure(save(fig, out, "fig5_escapes.png"), "Escapes from a local minimum", caption, data)


# ---- 6. balancing -------------------------------------------------------------------------

def fig_balancing(run, out):
    need("balance" in run.runs and run.lr_is_relative,
         "/runs/balance of an mf job with lr relative_to two_over_L (so that lr = hL/2)")
    lr, h, st = run.runs["lr"], run.runs["h"], run.status
    conv = st == CONVERGED
    need(conv.any(), "converged runs")
    data = {}
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    if is_scalar_mf(run):
        gap = run.runs["scalar_gap"]
        mu = float(np.median(run.runs["norm_x"][conv] * run.runs["norm_y"][conv]))
        ax.semilogy(lr[conv], gap[conv], "o", ms=3, color=STATUS_COLORS[1], label="|x∞ − y∞| (converged)")
        grid = np.linspace(lr[conv].min(), lr[conv].max(), 200)
        hh = np.interp(grid, lr[conv], h[conv])
        bound = np.sqrt(np.maximum(2 / hh - 2 * mu, 0))
        ax.semilogy(grid, np.where(bound > 0, bound, np.nan), "k--", lw=1,
                    label=f"bound √(2/h − 2μ), μ = {mu:.3g}")
        ax.set_ylabel("|x∞ − y∞|")
        y = gap
        data["bound_excess_max"] = float(np.max(gap[conv] - np.sqrt(np.maximum(2 / h[conv] - 2 * mu, 0))))
        data["mu"] = mu
    else:
        y = run.runs["balance"]
        n = run.runs.get("n", np.zeros(lr.size))
        imb = run.runs.get("imbalance", np.ones(lr.size))
        for nn in np.unique(n):
            for c in np.unique(imb):
                sel = conv & (n == nn) & (imb == c)
                vals = np.unique(lr[sel])
                if vals.size == 0:
                    continue
                med = [np.median(y[sel & (lr == v)]) for v in vals]
                ax.semilogy(vals, med, "o-", ms=3, lw=1, label=f"n = {nn:g}, imbalance {c:g}")
                data.setdefault("groups", {})[f"n={nn:g}, imbalance={c:g}"] = {
                    "imbalance": float(c), "lr_low": float(vals[0]), "median_low": float(med[0]),
                    "lr_high": float(vals[-1]), "median_high": float(med[-1])}
        ax.set_ylabel("median ‖XᵀX − YᵀY‖_F of converged runs")
    ax.axvline(1.0, color="k", lw=0.6, ls=":")
    ax.set_xlabel("hL/2 (L: sharpness at the start)")
    kind = "scalar (1 − xy)²/2" if is_scalar_mf(run) else "matrix factorization"
    ax.set_title(f"{run.name}: balancing of the minimizer GD finds, {kind}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    if is_scalar_mf(run):
        lo = conv & (lr <= np.quantile(lr[conv], 0.25))
        hi = conv & (lr >= np.quantile(lr[conv], 0.75))
        data.update({"median_low_lr": float(np.median(y[lo])), "median_high_lr": float(np.median(y[hi])),
                     "spearman": float(np.corrcoef(np.argsort(np.argsort(lr[conv])),
                                                   np.argsort(np.argsort(y[conv])))[0, 1])})
        trend = (f"median {data['median_low_lr']:.3g} over the smallest quarter of step sizes "
                 f"against {data['median_high_lr']:.3g} over the largest (rank correlation "
                 f"{data['spearman']:.2f})")
    else:
        trend = "; ".join(f"{k}: {g['median_low']:.3g} at lr {g['lr_low']:.2g}, {g['median_high']:.3g} "
                          f"at lr {g['lr_high']:.2g}" for k, g in data["groups"].items())
    caption = (f"The imbalance left at the minimizer GD reaches, against hL/2 (lr relative to 2/L "
               f"at the start). From unbalanced starts it falls as h grows: {trend}. A minimizer "
               f"is stable only where its sharpness is below 2/h, which for (μ − xy)²/2 bounds "
               f"|x − y| by √(2/h − 2μ): large steps can only end at balanced minimizers.")
    return Figure(save(fig, out, "fig6_balancing.png"), "Balancing", caption, data)


# ---- 7. edge of stability -----------------------------------------------------------------

def fig_edge_of_stability(run, out, first_steps=100000):
    need("sharpness" in run.trace, "/runs/trace/sharpness (analyze.sharpness.every)")
    sh, lens, h = run.trace["sharpness"], run.runs["sharpness_len"], run.runs["h"]
    steps = run.trace_steps_of.get("sharpness")
    ran = np.flatnonzero((run.status > 0) & (run.status != DIVERGED) & (lens > 2))
    need(ran.size, "bounded runs with a sharpness trace")
    fig, ax = plt.subplots(figsize=(8, 4.8))
    data = {}
    for v in np.unique(h[ran])[:6]:
        r = ran[h[ran] == v][0]
        k = int(min(lens[r], np.searchsorted(steps, first_steps) + 1))
        line, = ax.semilogx(steps[:k] + 1, sh[r, :k], lw=0.4, alpha=0.35)
        mean2 = 0.5 * (sh[r, 1:k] + sh[r, :k - 1])
        ax.semilogx(steps[1:k] + 1, mean2, lw=1.6, color=line.get_color(),
                    label=f"h = {v:.3g}, 2/h = {2 / v:.3g}")
        ax.axhline(2 / v, color=line.get_color(), ls=":", lw=1.2)
        tail = sh[r, max(0, k - 50):k]
        data[f"{v:.6g}"] = {"two_over_h": 2 / v, "final_mean": float(np.mean(tail)),
                            "max": float(np.nanmax(sh[r, :k]))}
    ax.set_xlabel("GD step + 1")
    ax.set_ylabel("sharpness (thin: every step; thick: 2-step mean)")
    ax.set_title(f"{run.name}: sharpness against the 2/h line (dotted)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    caption = ("The largest Hessian eigenvalue along each run (thin: every step; thick: mean of "
               "two steps) with its 2/h line. " +
               "; ".join(f"h = {k}: ends at a mean {v['final_mean']:.3g} against 2/h = "
                         f"{v['two_over_h']:.3g}" for k, v in data.items()) +
               ". Runs with a small h stop below 2/h; where the sharpness would grow past it, GD "
               "oscillates and the sharpness alternates across 2/h: the edge of stability.")
    return Figure(save(fig, out, "fig7_edge_of_stability.png"), "Edge of stability", caption, data)


# ---- 8. size study ------------------------------------------------------------------------

def fig_size_study(run, out):
    need("n" in run.runs and np.unique(run.runs["n"]).size >= 2 and "balance" in run.runs,
         "an mf sweep over at least two sizes n")
    n, lr, st, bal = run.runs["n"], run.runs["lr"], run.status, run.runs["balance"]
    imb = run.runs.get("imbalance", np.ones(n.size))
    unbalanced = imb == imb.max()
    ns = np.unique(n)
    lrs = np.unique(lr)
    picks = lrs[np.unique(np.linspace(0, lrs.size - 1, 5).astype(int))]
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.3))
    data = {}
    for v in picks:
        frac = [float(np.mean(st[(n == m) & (lr == v)] == CONVERGED)) for m in ns]
        ok = [(n == m) & (lr == v) & (st == CONVERGED) & unbalanced for m in ns]
        med = [float(np.median(bal[o])) if o.any() else np.nan for o in ok]
        ax[0].plot(ns, frac, "o-", ms=4, label=f"lr = {v:.2g}")
        ax[1].loglog(ns, med, "o-", ms=4, label=f"lr = {v:.2g}")
        data[f"{v:.6g}"] = {"converged_fraction": frac, "median_balance": med}
    for a in ax:
        a.set_xscale("log")
        a.set_xlabel("n (X, Y are n × d)")
        a.legend(fontsize=7)
    ax[0].set_ylabel("fraction of runs converged")
    ax[0].set_ylim(-0.05, 1.05)
    ax[1].set_ylabel(f"median ‖XᵀX − YᵀY‖_F, converged runs\nfrom imbalance {imb.max():g}")
    for a in ax:
        a.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        a.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        a.set_xticks(ns)
    fig.suptitle(f"{run.name}: convergence and balance against problem size"
                 + (" (lr relative to 2/L)" if run.lr_is_relative else ""))
    fig.tight_layout()
    caption = (f"For sizes n = {', '.join(f'{m:g}' for m in ns)}: the fraction of runs that "
               f"converged (runs still moving at max_iter count as not converged) and the balance "
               f"of the minimizers they reached from the most unbalanced starts, at five learning "
               f"rates. "
               + "; ".join(f"lr {k}: converged {', '.join(f'{f:.0%}' for f in v['converged_fraction'])}"
                           for k, v in data.items()) + ".")
    return Figure(save(fig, out, "fig8_size_study.png"), "Size study", caption,
                  {"n": ns.tolist(), "by_lr": data})


# ---- the status overview ------------------------------------------------------------------

def fig_status(run, out):
    need(np.unique(run.runs["lr"]).size >= 2, "at least two learning rates")
    lr = run.runs["lr"]
    values = np.unique(lr)
    frac = np.array([[np.mean(run.status[lr == v] == s) for v in values] for s in range(len(STATUS_NAMES))])
    fig, ax = plt.subplots(figsize=(7.5, 4))
    bottom = np.zeros(values.size)
    for s, name in enumerate(STATUS_NAMES):
        if frac[s].any():
            ax.bar(np.arange(values.size), frac[s], bottom=bottom, color=STATUS_COLORS[s], label=name)
            bottom += frac[s]
    ticks = np.unique(np.linspace(0, values.size - 1, min(values.size, 8)).astype(int))
    ax.set_xticks(ticks, [f"{values[t]:.3g}" for t in ticks])
    ax.set_xlabel("lr" + (" (h as a multiple of 2/L)" if run.lr_is_relative else " (step size h)"))
    ax.set_ylabel("fraction of runs")
    ax.set_title(f"{run.name}: what GD did at each learning rate")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return Figure(save(fig, out, "status.png"), "Outcomes by learning rate",
                  "The share of runs in each status (converged, periodic, chaotic, diverged, "
                  "undetermined) at each learning rate of the sweep.",
                  {"lr": values.tolist(), "fractions": frac.tolist()})


# ---- blobs: a network's weights spread over two sign-symmetric blobs ----------------------

def fig_blobs(run, out):
    """v over time and the (w, v) histogram for a converged h and two large h, and the status
    and Lyapunov exponent against h (jobs/mlp_blobs.yaml)."""
    x = x_trace(run)
    need("hist2d" in run.runs and "lyapunov" in run.runs and x is not None and x.shape[2] >= 2,
         "/runs/hist2d, /runs/lyapunov and 2 recorded coordinates (an mlp of weights (w, v) "
         "with analyze.invariant_measure and record_x: 2)")
    need(problem_kind(run) == "mlp", "an mlp problem")
    h, status, lyap = run.runs["h"], run.status, run.runs["lyapunov"]
    converged = [i for i in np.argsort(h) if status[i] == CONVERGED]
    # the runs whose v spreads (chaos across the blobs, not inside one ripple)
    spread = [i for i in np.argsort(h)
              if status[i] == CHAOTIC and np.count_nonzero(run.runs["hist"][i, 1]) > 5]
    need(converged and len(spread) >= 2, "a converged run and two whose v spreads over bins")
    picks = [converged[0], spread[len(spread) // 3], spread[-1]]
    edges = run.runs["hist_edges"]
    steps = run.trace_steps_of.get("x")
    fig = plt.figure(figsize=(11, 9.5))
    grid = fig.add_gridspec(3, 3, height_ratios=[1, 1.3, 1])
    data = {}
    for col, i in enumerate(picks):
        n = int(run.runs["trace_len"][i])
        k = steps[:n] if steps is not None else np.arange(n)
        ax = fig.add_subplot(grid[0, col])
        if status[i] == CHAOTIC:
            ax.plot(k, x[i, :n, 1], ",", alpha=0.6)
        else:
            ax.plot(k, x[i, :n, 1], lw=0.8)
        ax.set_title(f"h = {h[i]:.3g}: {STATUS_NAMES[status[i]]}", fontsize=10)
        ax.set_xlabel("step k")
        if col == 0:
            ax.set_ylabel("v_k")
        ax = fig.add_subplot(grid[1, col])
        counts = run.runs["hist2d"][i].astype(float)
        ax.pcolormesh(edges, edges, np.log10(1 + counts.T), cmap="magma_r", shading="flat")
        if np.count_nonzero(counts) <= 4:  # a point: mark it, a bin alone is hard to see
            wi, vi = np.nonzero(counts)
            ax.scatter(0.5 * (edges[wi] + edges[wi + 1]), 0.5 * (edges[vi] + edges[vi + 1]),
                       s=80, facecolors="none", edgecolors="C0")
        occupied = np.nonzero(counts.sum(axis=0))[0]
        lo, hi = edges[max(occupied.min() - 3, 0)], edges[min(occupied.max() + 4, edges.size - 1)]
        ax.set_ylim(min(lo, -2.0), max(hi, 2.0))
        ax.set_xlabel("w")
        if col == 0:
            ax.set_ylabel("v   (log counts of the iterates)")
        v = run.runs["hist"][i, 1].astype(float)
        centers = 0.5 * (edges[1:] + edges[:-1])
        data[f"{h[i]:.6g}"] = {"status": STATUS_NAMES[status[i]], "lyapunov": float(lyap[i]),
                               "v_positive": float(v[centers > 0].sum() / v.sum()),
                               "v_bins": int(np.count_nonzero(v))}
    ax = fig.add_subplot(grid[2, :])
    for s, name in enumerate(STATUS_NAMES):
        sel = status == s
        if sel.any():
            ax.scatter(h[sel], np.where(np.isfinite(lyap[sel]), lyap[sel], np.nan), s=18,
                       color=STATUS_COLORS[s], label=name, zorder=3)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("step size h")
    ax.set_ylabel("Lyapunov exponent (per step)")
    ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"{run.name}: from one minimum to two sign-symmetric blobs", fontsize=12)
    fig.tight_layout()
    caption = ("Top: v over the steps of the run; middle: the histogram of (w, v) after burn-in; "
               "bottom: the status and the Lyapunov exponent of every h. " +
               "; ".join(f"h = {k}: {d['status']}, lambda {d['lyapunov']:.3g}, "
                         f"v > 0 in {100 * d['v_positive']:.0f}% of the samples"
                         for k, d in data.items()) +
               ". At a small h GD settles in the ripple next to its start; at large h it is "
               "chaotic and visits both blobs (w, v) and (-w, -v) of the symmetric loss.")
    return Figure(save(fig, out, "fig_blobs.png"), "The blobs of a network's weights", caption,
                  data)


FIGURES = {
    "regimes": fig_regimes, "modified_equations": fig_modified_equations,
    "period_doubling": fig_period_doubling, "basin_map": fig_basin_map,
    "invariant_measure": fig_invariant_measure, "escapes": fig_escapes,
    "balancing": fig_balancing, "edge_of_stability": fig_edge_of_stability,
    "size_study": fig_size_study, "status": fig_status, "blobs": fig_blobs,
}


def main(argv):
    ap = argparse.ArgumentParser(description="Draw one figure from an lrzoo output file.")
    ap.add_argument("figure", choices=sorted(FIGURES))
    ap.add_argument("file")
    ap.add_argument("-o", "--out", default=".")
    a = ap.parse_args(argv[1:])
    run = Run(a.file)
    os.makedirs(a.out, exist_ok=True)
    try:
        f = FIGURES[a.figure](run, a.out)
    except Missing as e:
        print(f"figures.py: {a.file} lacks what figure '{a.figure}' needs: {e}", file=sys.stderr)
        return 2
    print(os.path.join(a.out, f.png))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
