#!/usr/bin/python3
"""lrzoo against the peers a user would pick instead, whole process and in-kernel, in one session
(issue 19). Each workload is a job in bench/jobs/peers_*.yaml and a script in bench/peers/ that
does the same work:

  toy        (1 - xy)^2/2, 10^6 starts x 4000 steps, default analytics (orbit ring, Lyapunov):
             Numba prange with the same tangent map and period ring (peers/toy_numba.py)
  toy_plain  the same with the analyses off: Numba (toy_numba.py)
  toy_tol    toy_plain with tol_grad 0 and with tol_grad 1e-300: lrzoo against itself
  mf         1/2|A - XY^T|^2, n = 512, d = 4, 64 runs x 1000 steps, default analytics: lrzoo
             against lrzoo on mf_plain, and NumPy in GEMM form with one tangent
             (peers/mf_numpy.py --analytics)
  mf_plain   the same with the analyses off: NumPy in GEMM form (mf_numpy.py), Numba prange
             with a BLAS call per run (mf_numba.py)
  sampling   Kong-Tao chains, 1024 x 2e6 samples into 200 bins: NumPy with fancy-indexed
             counts, NumPy with np.histogram (issue 19's loop), Numba prange (peers/sampling.py)

Whole process: the wall time of the command a user runs (`lrzoo run JOB --threads 2`, one rank
without mpiexec; `python3 peer.py`), start-up, JIT cache load and file included. In-kernel:
lrzoo's own rate from its summary line (the tiles, without start-up and file creation); the
peers' loop alone. Work: lrzoo's steps are the sum of /runs/iterations, the peers count theirs.
Numba compiles once into a private NUMBA_CACHE_DIR before the first round (a user's second run).
Rounds interleave the sides; every ratio is taken within a round, and the median over rounds
is reported.

usage: /usr/bin/python3 bench/peers.py [BUILD_DIR] [ROUNDS] [WORKLOAD ...]"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import h5py

from common import HERE, blas_kernel, lrzoo_binary

PEERS = os.path.join(HERE, "peers")
PY = "/usr/bin/python3"


def lrzoo_side(job, label="lrzoo", edit=None):
    return {"label": label, "kind": "lrzoo", "job": job, "edit": edit}


def peer_side(label, script, *args, env=None):
    return {"label": label, "kind": "peer", "cmd": [PY, os.path.join(PEERS, script), *args],
            "env": env or {}}


ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1"}
WORKLOADS = {
    "toy": [lrzoo_side("peers_toy.yaml"), peer_side("numba", "toy_numba.py", "--analytics")],
    "toy_plain": [lrzoo_side("peers_toy_plain.yaml"), peer_side("numba", "toy_numba.py")],
    "toy_tol": [lrzoo_side("peers_toy_plain.yaml", "lrzoo tol_grad 0", ("record_every: 4000", "record_every: 4000, tol_grad: 0")),
                lrzoo_side("peers_toy_plain.yaml", "lrzoo tol_grad 1e-300", ("record_every: 4000", "record_every: 4000, tol_grad: 1.0e-300"))],
    "mf": [lrzoo_side("peers_mf.yaml"), lrzoo_side("peers_mf_plain.yaml", "lrzoo plain"),
           peer_side("numpy gemm", "mf_numpy.py", "--analytics")],
    "mf_plain": [lrzoo_side("peers_mf_plain.yaml"), peer_side("numpy gemm", "mf_numpy.py"),
                 peer_side("numba", "mf_numba.py", env=ONE_BLAS_THREAD)],
    # NumPy's rate per sample is steady after a few steps: its loops run 2e5 samples a chain
    "sampling": [lrzoo_side("peers_sampling.yaml"),
                 peer_side("numpy", "sampling.py", "numpy", "2e5"),
                 peer_side("numpy np.histogram", "sampling.py", "numpy_hist", "2e5"),
                 peer_side("numba", "sampling.py", "numba")],
}


def lrzoo_work(path, job):
    with h5py.File(path, "r") as f:
        if "sampling" in job:
            return float(f["runs/samples"][()].sum())
        return float(f["runs/iterations"][()].sum())


def run_lrzoo(lrzoo, side, tmp):
    job = os.path.join(HERE, "jobs", side["job"])
    if side["edit"]:
        with open(job) as f:
            text = f.read()
        old, new = side["edit"]
        if old not in text:
            raise SystemExit(f"{job}: no '{old}' to edit")
        job = os.path.join(tmp, side["job"])
        with open(job, "w") as f:
            f.write(text.replace(old, new))
    out = os.path.join(tmp, "out.h5")
    t0 = time.perf_counter()
    r = subprocess.run([lrzoo, "run", job, "-o", out, "--overwrite", "--threads", "2"],
                       capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"lrzoo run {job} failed:\n{r.stderr}")
    m = re.search(r"runs this session.* in ([0-9hms.]+), ([0-9.e+-]+) GD steps/s", r.stderr)
    engines = re.search(r"engines: (.*)", r.stderr)
    work = lrzoo_work(out, side["job"])
    if not m:
        raise SystemExit(f"no summary line from lrzoo run {job}:\n{r.stderr}")
    # GD steps/s is lrzoo's in-kernel rate of GD jobs; a sampling job's is its samples over
    # the tiles' time (the summary's duration: start-up and file creation excluded)
    kernel = work / tiles_seconds(m.group(1)) if "sampling" in side["job"] else float(m.group(2))
    return work / wall, kernel, engines.group(1) if engines else ""


def tiles_seconds(text):
    """The summary's duration: 3.4s, 42s, 2m05s or 1h03m."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:([0-9.]+)s)?", text)
    h, m, sec = (float(g) if g else 0.0 for g in parts.groups())
    return 3600 * h + 60 * m + sec


def run_peer(side, env):
    t0 = time.perf_counter()
    r = subprocess.run(side["cmd"], capture_output=True, text=True, env=dict(env, **side["env"]))
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(side['cmd'])} failed:\n{r.stderr}")
    fields = dict(kv.split("=", 1) for kv in r.stdout.split())
    work = float(fields.get("steps", fields.get("samples")))
    return work / wall, work / float(fields["seconds"]), ""


def main():
    args = sys.argv[1:]
    build = args.pop(0) if args and not args[0].isdigit() and args[0] not in WORKLOADS else os.path.join(HERE, "..", "build")
    rounds = int(args.pop(0)) if args and args[0].isdigit() else 3
    names = args or list(WORKLOADS)
    lrzoo = lrzoo_binary(build)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(tmp, "numba"))
        print(f"2 cores: lrzoo run --threads 2 (1 rank); Numba {env.get('NUMBA_NUM_THREADS', 'default')} threads; "
              f"OpenBLAS kernel {blas_kernel()}; median of {rounds} interleaved rounds")
        for name in names:
            sides = WORKLOADS[name]
            for s in sides:   # compile the Numba loops into the cache, untimed
                if s["kind"] == "peer" and "numba" in s["label"]:
                    run_peer(s, env)
            rates = {s["label"]: [] for s in sides}
            notes = {}
            for _ in range(rounds):
                for s in sides:
                    whole, kernel, note = run_lrzoo(lrzoo, s, tmp) if s["kind"] == "lrzoo" else run_peer(s, env)
                    rates[s["label"]].append((whole, kernel))
                    notes[s["label"]] = note
            ref = sides[0]["label"]
            print(f"\n{name}:")
            print(f"  {'side':24s} {'whole process /s':>17s} {'in-kernel /s':>13s} {'ratio whole':>12s} {'ratio kernel':>13s}")
            for s in sides:
                lab = s["label"]
                whole = statistics.median(w for w, _ in rates[lab])
                kernel = statistics.median(k for _, k in rates[lab])
                rw = statistics.median(a[0] / b[0] for a, b in zip(rates[ref], rates[lab]))
                rk = statistics.median(a[1] / b[1] for a, b in zip(rates[ref], rates[lab]))
                extra = f"   {notes[lab]}" if notes[lab] else ""
                print(f"  {lab:24s} {whole:17.3e} {kernel:13.3e} {rw:11.2f}x {rk:12.2f}x{extra}")


if __name__ == "__main__":
    main()
