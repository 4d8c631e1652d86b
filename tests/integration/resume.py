#!/usr/bin/python3
"""Interruption and resume, against an uninterrupted run of the same job:
  - SIGTERM to every rank mid-run: exit 3, a line saying how many tiles remain, a consistent
    file; --resume completes it, and every dataset equals the uninterrupted run's;
  - a second SIGTERM drops the tiles in flight: exit 3 within seconds; resume gives equality;
  - the --stop-file appearing mid-run stops it the same way (exit 3, resume gives equality);
  - SIGUSR1 at start-up, before MPI is up, is caught: exit 3, nothing lost;
  - kill -9 of every rank at three different moments, then --resume: equality each time;
  - --resume with a different job file is refused with exit 2 and the file is left alone.
The job is calibrated to last about 4 s on this machine (calibrate.py), so that every
interruption comes mid-run however fast the machine is."""
import os
import signal
import subprocess
import sys
import tempfile
import time

from calibrate import calibrated_job
from lrzoo_test import (datasets, differences, job_path, lrzoo_command, rank_pids, run_lrzoo,
                        tiles_done)

JOB_SECONDS = 4.0
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def start(out, ranks=2, *extra):
    return subprocess.Popen(lrzoo_command(ranks, "run", JOB, "-o", out, "--threads", "1", *extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def signal_ranks(proc, sig):
    ranks = rank_pids(proc)
    for pid in ranks:
        os.kill(pid, sig)
    return len(ranks)


def wait_until_some_tiles_done(out, proc, timeout=60, fraction=0.0):
    """Interrupting before any tile is done would test nothing. With fraction, waits until that
    share of the tiles is done: a moment that does not depend on the machine's speed."""
    t0 = time.time()
    while time.time() - t0 < timeout and proc.poll() is None:
        try:
            done, total = tiles_done(out)
            if done > 0 and done >= fraction * total:
                return True
        except (OSError, KeyError):
            pass
        time.sleep(0.05)
    return False


def resume_and_compare(out, ref, what, ranks=2):
    r = run_lrzoo(ranks, "run", JOB, "--resume", "-o", out, "--threads", "1", check=False)
    check(r.returncode == 0, f"{what}: resume exits 0 (got {r.returncode})")
    done, total = tiles_done(out)
    check(done == total, f"{what}: every tile done after resume ({done}/{total})")
    diff = differences(ref, datasets(out))
    check(not diff, f"{what}: resumed file equals the uninterrupted one" +
          (f" (differs: {diff})" if diff else ""))


with tempfile.TemporaryDirectory() as tmp:
    JOB = f"{tmp}/resume.yaml"
    max_iter, rate = calibrated_job(job_path("resume.yaml"), JOB_SECONDS, JOB)
    print(f"calibrated: max_iter {max_iter} for {JOB_SECONDS:g} s of work on 2 ranks")
    ref_path = f"{tmp}/ref.h5"
    t0 = time.time()
    r = run_lrzoo(2, "run", JOB, "-o", ref_path, "--threads", "1", "--progress", "1")
    duration = time.time() - t0
    ref = datasets(ref_path)
    print(f"uninterrupted run: {duration:.1f} s")
    # --progress 1: a line a second with tiles, runs, GD steps/s and ETA; then the summary.
    progress = [l for l in r.stderr.splitlines() if "GD steps/s, ETA" in l]
    print("\n".join(progress[:2] + ["..."] + [l for l in r.stderr.splitlines() if "runs this session" in l]))
    check(len(progress) >= duration - 3, f"--progress 1: {len(progress)} lines in {duration:.1f} s")
    check(all("tiles " in l and "/120, runs " in l for l in progress), "--progress: tiles and runs")
    check(any("runs this session (" in l and "chaotic " in l for l in r.stderr.splitlines()),
          "final summary with status counts")

    # SIGTERM to every rank: finish the tiles in flight, save, exit 3.
    out = f"{tmp}/term.h5"
    p = start(out)
    check(wait_until_some_tiles_done(out, p, fraction=0.2), "SIGTERM: some tiles done before the signal")
    check(signal_ranks(p, signal.SIGTERM) == 2, "SIGTERM: sent to both ranks")
    _, err = p.communicate(timeout=120)
    check(p.returncode == 3, f"SIGTERM: exit code 3 (got {p.returncode})")
    check("tiles remain" in err and "--resume" in err, "SIGTERM: says how many tiles remain")
    done, total = tiles_done(out)
    check(0 < done < total, f"SIGTERM: file holds a part of the run ({done}/{total} tiles)")
    resume_and_compare(out, ref, "SIGTERM")

    # Two SIGTERMs: drop the tiles in flight, promptly.
    out = f"{tmp}/term2.h5"
    p = start(out)
    wait_until_some_tiles_done(out, p)
    signal_ranks(p, signal.SIGTERM)
    time.sleep(0.05)
    t_sig = time.time()
    signal_ranks(p, signal.SIGTERM)
    p.communicate(timeout=120)
    check(p.returncode == 3, f"second SIGTERM: exit code 3 (got {p.returncode})")
    check(time.time() - t_sig < 5, f"second SIGTERM: exits within 5 s ({time.time() - t_sig:.2f} s)")
    resume_and_compare(out, ref, "second SIGTERM")

    # The stop file: what slurm/lrzoo.sbatch creates on SLURM's warning, since a signal sent while
    # srun is still launching the ranks is lost.
    out, stop = f"{tmp}/stopfile.h5", f"{tmp}/STOP"
    p = start(out, 2, "--stop-file", stop)
    check(wait_until_some_tiles_done(out, p, fraction=0.2), "stop file: some tiles done before it appears")
    open(stop, "w").close()
    t_stop = time.time()
    _, err = p.communicate(timeout=120)
    check(p.returncode == 3, f"stop file: exit code 3 (got {p.returncode})")
    check(time.time() - t_stop < 5, f"stop file: exits within 5 s ({time.time() - t_stop:.2f} s)")
    check(f"found the stop file {stop}" in err and "tiles remain" in err,
          "stop file: says it found the file and how many tiles remain")
    done, total = tiles_done(out)
    check(0 < done < total, f"stop file: file holds a part of the run ({done}/{total} tiles)")
    os.unlink(stop)
    resume_and_compare(out, ref, "stop file")

    # SIGUSR1 before lrzoo has even started (one rank, no mpiexec). It is started with SIGUSR1
    # blocked, so the signal waits, pending, until lrzoo unblocks it with its handler in place:
    # the earliest a program can take a signal, and no race with the test's timing.
    out = f"{tmp}/early.h5"
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    try:
        p = subprocess.Popen([os.environ["LRZOO"], "run", JOB, "-o", out, "--threads", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
    p.send_signal(signal.SIGUSR1)
    p.communicate(timeout=120)
    check(p.returncode == 3, f"SIGUSR1 at start-up: exit code 3, not death by the signal (got {p.returncode})")
    if os.path.exists(out):
        resume_and_compare(out, ref, "SIGUSR1 at start-up")

    # kill -9 of every rank (and of mpiexec) at three moments; resume on another layout too.
    for frac, ranks in [(0.15, 2), (0.4, 3), (0.7, 1)]:
        out = f"{tmp}/kill{frac}.h5"
        p = start(out)
        wait_until_some_tiles_done(out, p, fraction=frac)
        signal_ranks(p, signal.SIGKILL)
        p.kill()
        p.communicate(timeout=60)
        done, total = tiles_done(out)
        check(done < total, f"kill -9 at {frac:.0%}: interrupted mid-run ({done}/{total} tiles)")
        resume_and_compare(out, ref, f"kill -9 at {frac:.0%}, resumed on {ranks} ranks", ranks)

    # A different job file (one comment more) must not resume this file.
    other = f"{tmp}/other.yaml"
    with open(JOB) as f, open(other, "w") as g:
        g.write(f.read() + "# one more line\n")
    before = datasets(ref_path)
    r = run_lrzoo(2, "run", other, "--resume", "-o", ref_path, check=False)
    check(r.returncode == 2, f"different job: resume refused with exit 2 (got {r.returncode})")
    check("different job" in r.stderr, "different job: the message says so")
    check(not differences(before, datasets(ref_path)), "different job: the file is unchanged")

print("PASS" if not failures else f"FAIL: {len(failures)} checks")
sys.exit(1 if failures else 0)
