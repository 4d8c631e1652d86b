#!/usr/bin/python3
"""One writer per output file (issue 20), on local disk:
  - while a run writes OUT.h5, a second `run --overwrite`, `run --resume` and plain `run` on it
    are each refused with exit 2 naming the holder (host, pid); `validate` and `info` work
    alongside, never taking the lock; the first run then ends with exit 0, no lock file left,
    and a file equal to an uninterrupted run's;
  - the lock left by kill -9 of rank 0 is taken over by --resume with a stale-lock note, and the
    resumed file equals the uninterrupted one;
  - a lock file recording another host is refused while its heartbeat is fresh, and taken over
    once it is older than ten minutes.
The first run's rank 0 is stopped (SIGSTOP) as soon as its lock file names it and continued
(SIGCONT) after the second writers have been tried: they always meet a live holder, however fast
the machine. The job is calibrated to last about 2 s (calibrate.py) so that the stop comes well
before the run would have ended."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from calibrate import calibrated_job
from lrzoo_test import (check, datasets, differences, failures, job_path, lrzoo_command, run_lrzoo,
                        tiles_done)

JOB_SECONDS = 2.0
OTHER_HOST = "node-elsewhere.example"


def start(job, out):
    return subprocess.Popen(lrzoo_command(2, "run", job, "-o", out, "--threads", "1"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def lock_holder_pid(lock, proc, timeout=60):
    """The pid in the lock file once its record is written; None if the run ended first."""
    t0 = time.time()
    while time.time() - t0 < timeout and proc.poll() is None:
        try:
            with open(lock) as f:
                fields = f.read().split()
            if len(fields) == 4:
                return int(fields[1])
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    return None


def read_text(path):
    with open(path) as f:
        return f.read()


def second_writers_are_refused(job, out, lock, pid):
    host = socket.gethostname()
    for extra in (["--overwrite"], ["--resume"], []):
        what = "second `run " + " ".join(extra) + "`" if extra else "second plain `run`"
        r = run_lrzoo(1, "run", job, "-o", out, "--threads", "1", *extra, check=False)
        check(r.returncode == 2, f"{what}: exit 2 (got {r.returncode})")
        check(f"being written by another lrzoo run (host {host}, pid {pid}," in r.stderr and
              f"lock file {lock}" in r.stderr, f"{what}: names the holder: {r.stderr.strip()}")
    r = run_lrzoo(1, "validate", job, check=False)
    check(r.returncode == 0, f"validate alongside the writer: exit 0 (got {r.returncode})")
    check(f" {pid} " in read_text(lock), "the lock file still names the first run")


def first_run_finishes_whole(proc, out, lock, ref):
    _, err = proc.communicate(timeout=300)
    check(proc.returncode == 0, f"first run: exit 0 (got {proc.returncode}) {err[-300:]}")
    check(not os.path.exists(lock), "first run: its lock file is removed at the end")
    done, total = tiles_done(out)
    check(done == total, f"first run: every tile done ({done}/{total})")
    diff = differences(ref, datasets(out))
    check(not diff, "first run: file equals the uninterrupted run's" +
          (f" (differs: {diff})" if diff else ""))


def killed_run_leaves_a_stale_lock(job, out, lock, ref):
    p = start(job, out)
    pid = lock_holder_pid(lock, p)
    check(pid is not None, "kill -9: the run's lock file names its rank 0")
    t0 = time.time()
    while pid and time.time() - t0 < 60 and p.poll() is None:
        try:
            if tiles_done(out)[0] > 0:
                break
        except (OSError, KeyError):
            pass
        time.sleep(0.05)
    if pid:
        os.kill(pid, signal.SIGKILL)
    p.communicate(timeout=120)
    check(os.path.exists(lock), "kill -9: the lock file is left behind")
    r = run_lrzoo(2, "run", job, "--resume", "-o", out, "--threads", "1", check=False)
    check(r.returncode == 0, f"kill -9: --resume exits 0 (got {r.returncode})")
    check(f"{lock}: taking over the stale lock of host {socket.gethostname()}, pid {pid}," in
          r.stderr, "kill -9: --resume says it takes over a stale lock")
    check(not os.path.exists(lock), "kill -9: the resumed run removes the lock at its end")
    diff = differences(ref, datasets(out))
    check(not diff, "kill -9: resumed file equals the uninterrupted run's" +
          (f" (differs: {diff})" if diff else ""))


def lock_of_another_host(job, out, lock):
    record = f"{OTHER_HOST} 4242 777 2026-01-01T00:00:00Z\n"
    with open(lock, "w") as f:
        f.write(record)
    r = run_lrzoo(1, "run", job, "-o", out, "--overwrite", "--threads", "1", check=False)
    check(r.returncode == 2, f"another host's fresh lock: --overwrite exits 2 (got {r.returncode})")
    check(f"(host {OTHER_HOST}, pid 4242, SLURM job 777, since 2026-01-01T00:00:00Z;" in r.stderr,
          f"another host's fresh lock: names it: {r.stderr.strip()}")
    check(read_text(lock) == record, "another host's fresh lock: left as it was")
    r = run_lrzoo(1, "info", out, check=False)
    check(r.returncode == 0 and read_text(lock) == record, "info alongside: exit 0, lock untouched")
    an_hour_ago = time.time() - 3600
    os.utime(lock, (an_hour_ago, an_hour_ago))
    r = run_lrzoo(1, "run", job, "--resume", "-o", out, "--threads", "1", check=False)
    check(r.returncode == 0, f"another host's old lock: --resume exits 0 (got {r.returncode})")
    check(f"taking over the stale lock of host {OTHER_HOST}" in r.stderr and "heartbeat" in r.stderr,
          "another host's old lock: taken over, saying its heartbeat stopped")
    check(not os.path.exists(lock), "another host's old lock: removed at the end")


with tempfile.TemporaryDirectory() as tmp:
    job = f"{tmp}/lock.yaml"
    max_iter, _ = calibrated_job(job_path("resume.yaml"), JOB_SECONDS, job)
    print(f"calibrated: max_iter {max_iter} for {JOB_SECONDS:g} s of work on 2 ranks")
    ref_path = f"{tmp}/ref.h5"
    run_lrzoo(2, "run", job, "-o", ref_path, "--threads", "1")
    ref = datasets(ref_path)
    check(not os.path.exists(ref_path + ".lock"), "uninterrupted run: no lock file left")

    out = f"{tmp}/out/first.h5"
    lock = out + ".lock"
    p = start(job, out)
    pid = lock_holder_pid(lock, p)
    check(pid is not None, "first run: its lock file names its rank 0")
    if pid:
        os.kill(pid, signal.SIGSTOP)
        check(p.poll() is None, "first run: still running when stopped")
        try:
            second_writers_are_refused(job, out, lock, pid)
        finally:
            os.kill(pid, signal.SIGCONT)
    first_run_finishes_whole(p, out, lock, ref)

    out = f"{tmp}/killed.h5"
    killed_run_leaves_a_stale_lock(job, out, out + ".lock", ref)
    lock_of_another_host(job, out, out + ".lock")

print("all ok" if not failures else f"{len(failures)} FAILED")
sys.exit(1 if failures else 0)
