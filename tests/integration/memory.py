#!/usr/bin/env python3
"""The memory estimate of `lrzoo validate` against the peak resident size of `lrzoo run`.

Each job in tests/data/jobs_memory is dominated by one part of the estimate (target, traces,
histograms). The estimate must bound the measured peak (a refusal must never come too late)
and stay within a factor 2.5 of it (a refusal must not come for nothing)."""
import os
import re
import resource
import subprocess
import sys
import tempfile

from lrzoo_test import LRZOO, SRC

JOBS = os.path.join(SRC, "tests", "data", "jobs_memory")
THREADS = "2"


def estimate_mib(job):
    out = subprocess.run([LRZOO, "validate", job, "--threads", THREADS], capture_output=True,
                         text=True, check=True).stdout
    return float(re.search(r"^memory: +about ([0-9.]+) MiB per rank", out, re.M).group(1))


def peak_mib(job, out):
    """Peak RSS of one run, measured in a fresh process so earlier runs do not count."""
    code = ("import resource, subprocess, sys\n"
            "subprocess.run(sys.argv[1:], check=True, capture_output=True)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    res = subprocess.run([sys.executable, "-c", code, LRZOO, "run", job, "-o", out,
                          "--overwrite", "--threads", THREADS],
                         capture_output=True, text=True, check=True)
    return int(res.stdout.strip()) / 1024.0  # ru_maxrss is in KiB on Linux


def main():
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(os.listdir(JOBS)):
            job = os.path.join(JOBS, name)
            est = estimate_mib(job)
            peak = peak_mib(job, os.path.join(tmp, name + ".h5"))
            print(f"{name}: estimate {est:.1f} MiB, measured peak {peak:.1f} MiB, "
                  f"ratio {est / peak:.2f}")
            if peak > est:
                failures.append(f"{name}: the run peaked at {peak:.1f} MiB, above the estimate "
                                f"{est:.1f} MiB")
            if est > 2.5 * peak:
                failures.append(f"{name}: the estimate {est:.1f} MiB is more than 2.5 times the "
                                f"measured peak {peak:.1f} MiB")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
