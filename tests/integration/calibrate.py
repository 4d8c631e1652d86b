#!/usr/bin/python3
"""A job that lasts a given time on this machine, now: for tests that must interrupt a run
mid-way (signals, the stop file, SLURM time limits). A fixed job gets shorter as the engine or
the machine gets faster, until it ends before the interruption comes; a calibrated one does not.

    calibrate.py TEMPLATE.yaml SECONDS OUT.yaml [--ranks P] [--threads T] [--key KEY]

The template's work must be linear in one integer key (max_iter by default; samples for an
invariant-measure job): runs that never converge, so every run costs the same number of steps.
The template's own value is the first guess, best a fraction of a second of work. The key is timed at two values, v and 4v, with whole `lrzoo run` processes on P ranks x T threads
(v grows until the two differ by at least CALIBRATION_SPREAD seconds). The slope between them is
the cost of one unit of the key, start-up excluded; OUT.yaml gets the value that makes the work
alone last SECONDS, so the whole process lasts a little longer. Where the key is max_iter, the
loss trace keeps 20 records (record_every = max_iter / 20).

The same machine under load is calibrated under that load: the job then lasts about SECONDS
whatever the speed. Prints the chosen value and the measured rate."""
import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
import time

CALIBRATION_SPREAD = 0.6   # seconds between the two timed runs: well above start-up jitter
MAX_ROUNDS = 12


def key_pattern(key):
    return re.compile(rf"^(\s*{re.escape(key)}:\s*)(\d+)(\s*(#.*)?)$", re.MULTILINE)


def template_value(text, key):
    found = key_pattern(key).findall(text)
    if len(found) != 1:
        raise SystemExit(f"calibrate.py: the template needs exactly one line '{key}: N', found {len(found)}")
    return int(found[0][1])


def with_value(text, key, value):
    text = key_pattern(key).sub(lambda m: f"{m.group(1)}{value}{m.group(3)}", text)
    if key == "max_iter":
        text = key_pattern("record_every").sub(
            lambda m: f"{m.group(1)}{max(1, value // 20)}{m.group(3)}", text)
    return text


def lrzoo_run_seconds(text, ranks, threads, tmp):
    job, out = os.path.join(tmp, "calibration.yaml"), os.path.join(tmp, "calibration.h5")
    with open(job, "w") as f:
        f.write(text)
    src = os.environ.get("LZ_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
    mpirun = os.path.join(src, "scripts", "mpirun")
    cmd = [mpirun, str(ranks), os.environ["LRZOO"], "run", job, "-o", out, "--overwrite",
           "--threads", str(threads)]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    took = time.monotonic() - t0
    if r.returncode != 0:
        raise SystemExit(f"calibrate.py: calibration run failed (exit {r.returncode}):\n{r.stderr}")
    return took


def calibrated_job(template, seconds, out_path, ranks=2, threads=1, key="max_iter"):
    """Writes out_path, the template with `key` set so that its work lasts about `seconds` here;
    returns (value, units per second)."""
    with open(template) as f:
        text = f.read()
    v = template_value(text, key)
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(MAX_ROUNDS):
            t1 = lrzoo_run_seconds(with_value(text, key, v), ranks, threads, tmp)
            t4 = lrzoo_run_seconds(with_value(text, key, 4 * v), ranks, threads, tmp)
            spread = t4 - t1
            if spread >= CALIBRATION_SPREAD:
                break
            # Aim at twice the spread needed; at most x16 a round, so noise cannot overshoot far.
            v = int(v * min(16.0, max(2.0, 2 * CALIBRATION_SPREAD / max(spread, 1e-3))))
        else:
            raise SystemExit(f"calibrate.py: {key} = {4 * v} still runs in {t4:.2f} s; "
                             "the template's work does not grow with it")
    rate = 3 * v / spread
    value = max(1, math.ceil(seconds * rate))
    with open(out_path, "w") as f:
        f.write(f"# calibrate.py: {template} with {key} for {seconds:g} s of work "
                f"on {ranks} x {threads} ({rate:.4g} per second)\n")
        f.write(with_value(text, key, value))
    return value, rate


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("template")
    ap.add_argument("seconds", type=float)
    ap.add_argument("out")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--key", default="max_iter")
    a = ap.parse_args()
    value, rate = calibrated_job(a.template, a.seconds, a.out, a.ranks, a.threads, a.key)
    print(f"calibrate.py: {a.key} = {value} for {a.seconds:g} s ({rate:.4g} per second on "
          f"{a.ranks} ranks x {a.threads} threads)")


if __name__ == "__main__":
    sys.exit(main())
