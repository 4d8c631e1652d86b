"""Helpers shared by the Python integration tests: running lrzoo and comparing output files."""
import os
import subprocess

import h5py
import numpy as np

LRZOO = os.environ["LRZOO"]
SRC = os.environ["LZ_SOURCE_DIR"]
MPIRUN = os.path.join(SRC, "scripts", "mpirun")


def job_path(name):
    return os.path.join(SRC, "tests", "data", "jobs_layout", name)


def lrzoo_command(ranks, *args):
    return [MPIRUN, str(ranks), LRZOO, *args]


def run_lrzoo(ranks, *args, check=True, **kw):
    return subprocess.run(lrzoo_command(ranks, *args), capture_output=True, text=True,
                          check=check, **kw)


def datasets(path, groups=("runs", "tiles", "axes")):
    """Every dataset under the given groups, as raw bytes (bitwise comparison, NaN == NaN)."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                a = obj[()]
                out[name] = (a.dtype.str, a.shape, np.ascontiguousarray(a).tobytes())
        for g in groups:
            f[g].visititems(lambda n, o, g=g: visit(f"{g}/{n}", o))
    return out


def differences(a, b):
    """Names of datasets that are missing from one file or differ in any bit."""
    names = sorted(set(a) | set(b))
    return [n for n in names if a.get(n) != b.get(n)]


def rank_pids(proc):
    """The pids of the processes proc started (the ranks, under scripts/mpirun), for signals."""
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == proc.pid:
                    kids.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def tiles_done(path):
    with h5py.File(path, "r") as f:
        return int(f["tiles/done"][()].sum()), int(f["tiles/done"].shape[0])


failures = []


def check(cond, what):
    """Prints one verdict; the failed ones collect in failures, for the test's exit status."""
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def verdict():
    """The last line and the exit status of a test that collected its checks in failures."""
    print("PASS" if not failures else f"FAIL: {len(failures)} checks")
    return 1 if failures else 0
