#!/usr/bin/python3
"""kill -9 while the output file is being created leaves no half-built file under its name.

A new file is built as OUT.h5.creating and renamed to OUT.h5 once its layout is on disk. The
test starts a run whose file takes a while to create (about 300 MB of datasets, allocated and
filled before the first tile), kills it as soon as OUT.h5.creating appears, and checks the
invariant that holds whenever the kill lands: OUT.h5 is either absent or a file `lrzoo info`
reads. Then a plain rerun (or --resume, where the file was published before the kill) must
complete it, leaving no .creating file. The same with --overwrite over an older complete file,
which must survive a kill during the new file's creation. A kill that lands after the creation
(a machine too fast for the poll) still checks the invariant and says so. Last, a SIGTERM
during creation must end the run with exit 3 within seconds, leaving nothing behind."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from lrzoo_test import LRZOO, check, verdict

JOB = """name: killed_create
seed: 1
problem: {kind: mf, n: 1, d: 1, target: {kind: scalar, mu: 1.0}}
init: {kind: grid, lo: [0.3, 0.3], hi: [1.6, 1.6], points: [200, 200]}
lr: {values: [0.5]}
run: {max_iter: 1000, record_every: 1}
tiles: {runs: 4096}
"""


def kill_while_creating(job, out, *flags):
    """Starts lrzoo, SIGKILLs it once OUT.creating exists; True if the kill landed in time."""
    building = out + ".creating"
    p = subprocess.Popen([LRZOO, "run", job, "-o", out, "--threads", "1", *flags],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not os.path.exists(building) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    in_time = os.path.exists(building) and p.poll() is None
    p.send_signal(signal.SIGKILL)
    p.wait()
    return in_time


def stop_while_creating(job, out):
    """SIGTERM once OUT.creating exists: (in time, exit status, seconds from signal to exit)."""
    building = out + ".creating"
    p = subprocess.Popen([LRZOO, "run", job, "-o", out, "--threads", "1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(building) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    in_time = os.path.exists(building) and p.poll() is None
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate()
    return in_time, p.returncode, time.monotonic() - t0, err


def info_reads(path):
    return subprocess.run([LRZOO, "info", path], capture_output=True).returncode == 0


def main():
    tmp = tempfile.mkdtemp(prefix="lrzoo-killed-create.")
    try:
        job = os.path.join(tmp, "job.yaml")
        open(job, "w").write(JOB)
        out = os.path.join(tmp, "out.h5")
        in_time = kill_while_creating(job, out)
        print(f"note: the kill {'landed during' if in_time else 'came after'} the creation")
        check(not os.path.exists(out) or info_reads(out),
              "after kill -9 during creation, out.h5 is absent or readable")
        if in_time:
            check(not os.path.exists(out), "a file killed while created is not under its name")
        flags = ["--resume"] if os.path.exists(out) else []
        p = subprocess.run([LRZOO, "run", job, "-o", out, "--threads", "2", *flags],
                           capture_output=True, text=True)
        check(p.returncode == 0, f"the rerun {' '.join(flags) or '(no flag)'} completes "
                                 f"(exit {p.returncode}) {p.stderr.strip()[-300:]}")
        check(not os.path.exists(out + ".creating"), "no .creating file is left")
        before = os.stat(out).st_ino
        in_time = kill_while_creating(job, out, "--overwrite")
        check(os.path.exists(out) and info_reads(out),
              "--overwrite killed during creation keeps a readable out.h5")
        if in_time:
            check(os.stat(out).st_ino == before, "...and it is the old file, untouched")
        # SIGTERM while the file is created: the creation stops between datasets, exit 3,
        # nothing under the output's name and no .creating file left
        fresh = os.path.join(tmp, "fresh.h5")
        in_time, rc, took, err = stop_while_creating(job, fresh)
        print(f"note: SIGTERM {'during' if in_time else 'after'} the creation, obeyed in "
              f"{took:.2f} s")
        check(rc == 3, f"a stop during creation exits 3 (exit {rc}) {err.strip()[-200:]}")
        check(took < 5.0, f"...within 5 s ({took:.2f} s; the largest dataset here is 320 MB)")
        if in_time and not os.path.exists(fresh):
            check("while the file was created" in err, "...saying it stopped the creation")
        check(not os.path.exists(fresh) or info_reads(fresh), "...leaving no file or a readable one")
        check(not os.path.exists(fresh + ".creating") and not os.path.exists(fresh + ".lock"),
              "...and no .creating or .lock file")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
