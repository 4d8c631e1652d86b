"""Shared by the benchmark scripts: timing lrzoo runs in one session."""
import os
import re
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


def lrzoo_binary(build):
    path = os.path.join(os.path.abspath(build), "lrzoo")
    if not os.path.exists(path):
        raise SystemExit(f"{path} not found: build lrzoo first (cmake --build {build})")
    return path


def timed_run(lrzoo, job, ranks, threads, extra=()):
    """Wall seconds of one run, and its stderr."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [os.path.join(TOP, "scripts", "mpirun"), str(ranks), lrzoo, "run",
               os.path.join(HERE, "jobs", job), "-o", f"{tmp}/out.h5", "--threads", str(threads),
               *extra]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return time.perf_counter() - t0, r.stderr


def median_times(lrzoo, job, layouts, repeats):
    """Median wall time of each (ranks, threads) layout, the layouts interleaved so that a slow
    spell of this shared machine hits them all alike."""
    times = {l: [] for l in layouts}
    for _ in range(repeats):
        for l in layouts:
            times[l].append(timed_run(lrzoo, job, *l)[0])
    return {l: statistics.median(v) for l, v in times.items()}, times


def blas_kernel():
    return os.environ.get("OPENBLAS_CORETYPE", "(unset: OpenBLAS picks by CPU)")


def master_cost_us(stderr):
    m = re.search(r"master handed out (\d+) tiles at ([0-9.e+-]+) us", stderr)
    return (int(m.group(1)), float(m.group(2))) if m else (0, float("nan"))
