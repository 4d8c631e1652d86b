#!/usr/bin/python3
"""Damaged files are refused cleanly: mutation fuzzing of the three HDF5 inputs lrzoo reads.

- An output file, truncated, with bits flipped in its metadata (the first 4 KiB: superblock and
  object headers) or anywhere, or with blocks of junk or zeros, is given to `lrzoo info` and to
  `lrzoo run --resume`.
- A target matrix file and an mlp data file damaged the same ways are given to `lrzoo validate`
  and `lrzoo run` of a job that reads them.

Every call must end by itself within the time limit, with exit 0, 1 or 2 (never a signal, an
abort or a hang), and a refusal must name the file. Its messages must be ASCII: a name read
from a damaged file is printed with '?' for every byte that is not printable. A resume that is refused must leave the
file's bytes as they were, and a truncated output must always be refused. Damage inside the raw
data of a finished tile cannot be seen (contiguous datasets carry no checksum), so a resume may
accept such a file: the test then only asks that it ends cleanly.

The seed is printed; LZ_DAMAGE_SEED and LZ_DAMAGE_CASES replay or widen a run. A sanitizer
report on stderr counts as a crash, so tests/reliability/sanitizers.sh runs this with its ASan +
UBSan build too."""
import os
import random
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # run alone by sanitizers.sh
from lrzoo_test import LRZOO, SRC, check, verdict  # noqa: E402
SEED = int(os.environ.get("LZ_DAMAGE_SEED", random.SystemRandom().randrange(1 << 30)))
CASES = int(os.environ.get("LZ_DAMAGE_CASES", "40"))
TIMEOUT = 60  # seconds per call: a small file is read in well under a second here

def damaged_versions(data, rng, cases):
    """(label, bytes) pairs: truncations, metadata bit flips, flips anywhere, junk, zeros."""
    n = len(data)
    out = [(f"truncated to {k} bytes", data[:k]) for k in sorted({0, 8, 48, 512, 4096, n // 2, n - 1})]
    for _ in range(cases):
        b = bytearray(data)
        what = rng.choice(("metadata flip", "flip", "junk", "zeros"))
        if what == "metadata flip":
            k = rng.randrange(min(4096, n))
            b[k] ^= 1 << rng.randrange(8)
        elif what == "flip":
            k = rng.randrange(n)
            b[k] ^= 1 << rng.randrange(8)
        else:
            k = rng.randrange(n - 64)
            size = rng.choice((8, 64, 512))
            b[k:k + size] = bytes(rng.randrange(256) for _ in range(size)) if what == "junk" \
                else bytes(size)
        out.append((f"{what} at byte {k}", bytes(b)))
    return out


SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: ",
                     "Sanitizer CHECK failed")


def lrzoo(*args):
    """Exit status and stderr; a sanitizer report (the ASan build exits 1 after one) counts as
    a crash, whatever the status."""
    try:
        p = subprocess.run([LRZOO, *args], capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    try:
        # a message quoting a damaged file's bytes as they are could rewrite the terminal
        stderr = p.stderr.decode("ascii")
    except UnicodeDecodeError:
        return "a message with bytes that are not ASCII", p.stderr.decode("utf-8", "replace")
    if any(r in stderr for r in SANITIZER_REPORTS):
        return "sanitizer report", stderr
    return p.returncode, stderr


def ends_cleanly(rc):
    return rc in (0, 1, 2)


def output_file_cases(tmp, rng):
    job = os.path.join(SRC, "jobs", "quickstart", "regimes.yaml")
    good = os.path.join(tmp, "good.h5")
    rc, err = lrzoo("run", job, "-o", good, "--threads", "1")
    check(rc == 0, f"the reference output is made (exit {rc}) {err.strip()[-200:]}")
    data = open(good, "rb").read()
    refused = accepted = 0
    for label, bad in damaged_versions(data, rng, CASES):
        path = os.path.join(tmp, "damaged.h5")
        open(path, "wb").write(bad)
        rc_info, err_info = lrzoo("info", path)
        rc_run, err_run = lrzoo("run", job, "-o", path, "--resume", "--threads", "1")
        after = open(path, "rb").read() if os.path.exists(path) else None
        clean = ends_cleanly(rc_info) and ends_cleanly(rc_run)
        named = (rc_info == 0 or path in err_info) and (rc_run == 0 or path in err_run)
        untouched = rc_run == 0 or after == bad
        truncated_refused = not label.startswith("truncated") or rc_run == 2
        if not (clean and named and untouched and truncated_refused):
            check(False, f"output {label}: info exit {rc_info}, resume exit {rc_run}, file "
                         f"{'unchanged' if after == bad else 'changed'}; "
                         f"{(err_run or err_info).strip()[-300:]}")
        refused += rc_run != 0
        accepted += rc_run == 0
    check(True, f"damaged outputs: {refused} refused, {accepted} resumed (damage in raw data)")


def input_file_cases(tmp, rng, what, write_file, problem):
    """A job whose problem reads damaged_<what>.h5, run on each damaged version of the file
    write_file makes."""
    good = os.path.join(tmp, f"{what}.h5")
    write_file(good)
    data = open(good, "rb").read()
    name = f"damaged_{what}.h5"
    job = os.path.join(tmp, f"{what}_job.yaml")
    with open(job, "w") as f:
        f.write(f"name: damaged_{what}\nproblem: {problem.format(path=name)}\n"
                "init: {kind: gaussian, scale: 0.1, replicas: 1}\nlr: {values: [0.01]}\n"
                "run: {max_iter: 50}\n")
    shutil.copy(good, os.path.join(tmp, name))
    rc, err = lrzoo("run", job, "-o", os.path.join(tmp, f"from_good_{what}.h5"), "--threads", "1")
    check(rc == 0, f"the job runs on the undamaged {what} file (exit {rc}) {err.strip()[-200:]}")
    refused = accepted = 0
    for label, bad in damaged_versions(data, rng, CASES):
        open(os.path.join(tmp, name), "wb").write(bad)
        out = os.path.join(tmp, f"from_damaged_{what}.h5")
        rc_val, err_val = lrzoo("validate", job)
        rc_run, err_run = lrzoo("run", job, "-o", out, "--overwrite", "--threads", "1")
        clean = ends_cleanly(rc_val) and ends_cleanly(rc_run)
        named = (rc_val == 0 or name in err_val) and (rc_run == 0 or name in err_run)
        nothing_written = rc_run == 0 or not os.path.exists(out)
        if not (clean and named and nothing_written):
            check(False, f"{what} {label}: validate exit {rc_val}, run exit {rc_run}, output "
                         f"{'left' if os.path.exists(out) else 'absent'}; "
                         f"{(err_run or err_val).strip()[-300:]}")
        if os.path.exists(out):
            os.remove(out)
        refused += rc_run != 0
        accepted += rc_run == 0
    check(True, f"damaged {what} files: {refused} refused, {accepted} accepted (damage in raw "
          "data)")


def write_target(path):
    with h5py.File(path, "w") as f:
        f["A"] = np.random.default_rng(1).standard_normal((8, 8))


def write_points(path):
    x = np.linspace(-1, 1, 16)
    with h5py.File(path, "w") as f:
        f["x"], f["y"], f["weight"] = x, np.sin(x), np.full(16, 1 / 16)


def main():
    print(f"seed {SEED} (LZ_DAMAGE_SEED={SEED} replays this run), {CASES} random cases per file")
    rng = random.Random(SEED)
    tmp = tempfile.mkdtemp(prefix="lrzoo-damaged.")
    try:
        output_file_cases(tmp, rng)
        input_file_cases(tmp, rng, "target", write_target,
                         "{{kind: mf, n: 8, d: 2, target: {{kind: file, path: {path}, "
                         "dataset: A}}}}")
        input_file_cases(tmp, rng, "points", write_points,
                         "{{kind: mlp, width: 1, activation: sin, data: {{path: {path}}}}}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
