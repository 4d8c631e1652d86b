#!/usr/bin/python3
"""analysis/report.py on the quickstart jobs' output: every figure is drawn as a PNG of the
expected pixel size, index.html shows them all, the numbers behind each figure state the physics
they claim, the output files are left untouched, and files that lack what a figure needs get a
clear message and exit 2."""
import glob
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

from lrzoo_test import LRZOO, MPIRUN, SRC

PY = "/usr/bin/python3"
REPORT = os.path.join(SRC, "analysis", "report.py")
FIGURES = os.path.join(SRC, "analysis", "figures.py")
# name -> (file stem of the quickstart job that draws it, width, height in pixels)
EXPECTED = {
    "regimes": ("regimes", 1000, 400),
    "modified_equations": ("modified_equation", 800, 500),
    "period_doubling": ("period_doubling", 800, 650),
    "basin_map": ("basin_map", 650, 550),
    "invariant_measure": ("invariant_measure", 750, 480),
    "escapes": ("escapes", 1100, 680),
    "balancing": ("scalar_balancing", 750, 480),
    "edge_of_stability": ("edge_of_stability", 800, 480),
    "size_study": ("quickstart", 1100, 430),
    "blobs": ("blobs", 1100, 950),
}
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


with tempfile.TemporaryDirectory() as tmp:
    jobs = [os.path.join(SRC, "jobs", "quickstart.yaml")] + sorted(glob.glob(os.path.join(SRC, "jobs", "quickstart", "*.yaml")))
    files = []
    for job in jobs:
        out = os.path.join(tmp, os.path.splitext(os.path.basename(job))[0] + ".h5")
        subprocess.run([MPIRUN, "2", LRZOO, "run", job, "-o", out, "--threads", "1"], check=True,
                       capture_output=True)
        files.append(out)
    before = {f: sha(f) for f in files}
    rep = os.path.join(tmp, "report")
    r = subprocess.run([PY, REPORT, *files, "-o", rep], capture_output=True, text=True)
    print(r.stdout, r.stderr)
    check(r.returncode == 0, f"report.py exits 0 (got {r.returncode})")
    check(all(sha(f) == before[f] for f in files), "the output files are unchanged")
    numbers = json.load(open(os.path.join(rep, "report.json")))
    page = open(os.path.join(rep, "index.html")).read()

    for name, (stem, w, h) in EXPECTED.items():
        fig = numbers.get(stem, {}).get(name)
        check(fig is not None, f"{name}: drawn from {stem}.h5")
        if fig is None:
            continue
        png = os.path.join(rep, fig["png"])
        size = png_size(png) if os.path.exists(png) else None
        check(size == (w, h) and os.path.getsize(png) > 10000,
              f"{name}: {fig['png']} is a {w} x {h} PNG with content (got {size})")
        check(f'src="{fig["png"]}"' in page, f"{name}: index.html shows it")
    check(page.count("<table>") == len(files), "index.html has a status table per file")

    d = numbers["regimes"]["regimes"]["data"]
    check([d[k]["behaviour"] for k in ("h < 1/L", "1/L < h < 2/L", "h > 2/L")] ==
          ["monotone", "oscillating", "diverging"], f"fig 1: monotone, oscillating, diverging ({d})")
    d = numbers["modified_equation"]["modified_equations"]["data"]
    check(d["order0"][0] > 10 * d["order1"][0] > 100 * d["order2"][0],
          f"fig 2: at the smallest h the errors are ordered 0 > 1 > 2 by decades "
          f"({d['order0'][0]:.2g}, {d['order1'][0]:.2g}, {d['order2'][0]:.2g})")
    check(all(abs(d[f"slope{k}"] - (k + 1)) < 0.2 for k in range(3)),
          f"fig 2: small-h slopes 1, 2, 3 (got {[round(d[f'slope{k}'], 3) for k in range(3)]})")
    d = numbers["period_doubling"]["period_doubling"]["data"]
    first = {int(k): v for k, v in d["first_h_of_period"].items()}
    check(1.0 < first.get(2, 0) < 1.05 and first.get(2, 9) < first.get(4, 0) < first.get(8, 0) < 1.35,
          f"fig 3: period 2 just above h = 1, then 4, then 8 ({first})")
    check(d["chaotic_lyapunov_min"] > 0 > d["periodic_lyapunov_max"],
          "fig 3: chaotic exponents positive, periodic ones negative")
    d = numbers["basin_map"]["basin_map"]["data"]
    check(0.85 < d["shares"].get("diverged", 0) < 0.99,
          f"fig 4: most starts diverge at h = 1.9 (FACTS: about 94%; got {d['shares']})")
    d = numbers["invariant_measure"]["invariant_measure"]["data"]
    check(d["0.1"]["tv"] < 0.05 and d["0.02"]["tv"] > 0.2,
          f"fig 5: Gibbs holds at h = 0.1 (TV {d['0.1']['tv']:.3f}) and fails at h = 0.02 "
          f"(TV {d['0.02']['tv']:.3f})")
    d = numbers["escapes"]["escapes"]["data"]
    check(d["0.0001"]["transitions"] == 0 and d["0.0001"]["wells"][0] == 1.0,
          "fig 5b: h = 1e-4 never leaves the left well")
    check(d["0.5"]["transitions"] > 100 and min(d["0.5"]["wells"]) > 0.3,
          f"fig 5b: h = 0.5 crosses often and occupies both wells ({d['0.5']})")
    d = numbers["scalar_balancing"]["balancing"]["data"]
    check(d["median_high_lr"] < 0.5 * d["median_low_lr"] and d["spearman"] < -0.5,
          f"fig 6: |x - y| decreases with h ({d['median_low_lr']:.3g} -> {d['median_high_lr']:.3g}, "
          f"rank correlation {d['spearman']:.2f})")
    check(d["bound_excess_max"] <= 1e-6, f"fig 6: every converged run within sqrt(2/h - 2 mu) "
          f"(largest excess {d['bound_excess_max']:.3g})")
    groups = {k: g for k, g in numbers["quickstart"]["balancing"]["data"]["groups"].items()
              if g["imbalance"] > 1}
    check(len(groups) == 3 and all(g["median_high"] < 0.5 * g["median_low"] for g in groups.values()),
          "fig 6 (matrix): from unbalanced starts, balance at the largest converging lr is below "
          "half that at the smallest, for every n (" +
          ", ".join(f"{k}: {g['median_low']:.3g} -> {g['median_high']:.3g}" for k, g in groups.items()) + ")")
    d = numbers["edge_of_stability"]["edge_of_stability"]["data"]
    check(d["0.1"]["final_mean"] < d["0.1"]["two_over_h"] and d["0.3"]["max"] > d["0.3"]["two_over_h"],
          "fig 7: h = 0.1 stays below 2/h; at h = 0.3 the sharpness crosses 2/h")
    d = numbers["blobs"]["blobs"]["data"]
    small, *large = sorted(d, key=float)
    check(d[small]["status"] == "converged" and d[small]["v_bins"] == 1,
          f"fig 9: h = {small} converges with v in one bin ({d[small]})")
    check(len(large) == 2 and all(d[h]["status"] == "chaotic" and d[h]["lyapunov"] > 0.5 and
                                  0.3 < d[h]["v_positive"] < 0.7 for h in large),
          f"fig 9: the large steps are chaotic with v on both sides of 0 ({[d[h] for h in large]})")
    d = numbers["quickstart"]["size_study"]["data"]
    check(d["n"] == [4, 16, 32], f"fig 8: the sizes of the sweep ({d['n']})")

    # Files that lack what a figure needs.
    r = subprocess.run([PY, FIGURES, "regimes", files[0], "-o", tmp], capture_output=True, text=True)
    check(r.returncode == 2 and "lacks what figure 'regimes' needs: /runs/trace/x" in r.stderr,
          f"figures.py: a missing trace is refused with exit 2 ({r.stderr.strip()})")
    bad = os.path.join(tmp, "not_lrzoo.h5")
    subprocess.run([PY, "-c", f"import h5py; h5py.File('{bad}', 'w').create_dataset('a', data=[1])"], check=True)
    r = subprocess.run([PY, REPORT, bad, "-o", os.path.join(tmp, "bad")], capture_output=True, text=True)
    check(r.returncode == 2 and "cannot read" in r.stderr and "not_lrzoo.h5" in r.stderr,
          f"report.py: a file that is not lrzoo's is refused with exit 2 ({r.stderr.strip()})")

print("PASS" if not failures else f"FAIL: {len(failures)} checks")
sys.exit(1 if failures else 0)
