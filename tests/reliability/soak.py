#!/usr/bin/python3
"""Soak test of interrupts and resumes (issue 20): a 2-rank run of tests/reliability/soak.yaml is
interrupted at random moments, again and again, by SIGKILL of every rank and of mpiexec, SIGTERM
to mpiexec (which forwards it to the ranks), or the --stop-file appearing, and resumed after each
interrupt with --resume. Each file that gets complete must be bitwise equal in every result to an
uninterrupted run of the same job (tests/slurm/same_results.py); then a new file is started.

The delays are drawn uniformly from [0, length of the uninterrupted run] with a seeded RNG (the
seed is printed; LZ_SOAK_SEED or --seed replays the same draws, though not the same timing). An
interrupt that comes after the run has ended is no interrupt: such rounds count apart, and the
test goes on until it has delivered --interrupts real ones (at most --max-rounds rounds), so the
verdict does not depend on the machine's speed.

After every round: the exit status must be the one that interrupt gives, no process of the run
may be left, the stop file is removed, and the file (if any) must pass `lrzoo info`. Open MPI's
session directory and shared-memory segments are kept inside the work directory, a temporary one
removed at the end, since a SIGKILL leaves them behind. On failure the logs and files go to
BUILD/soak-logs.

usage: tests/reliability/soak.py [--seed N] [--interrupts 50] [--max-rounds 250]
       (LRZOO: the binary, default build/lrzoo; about 2-4 minutes on 2 cores)"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
JOB = os.path.join(TOP, "tests", "reliability", "soak.yaml")
MPIRUN = os.path.join(TOP, "scripts", "mpirun")
SAME_RESULTS = os.path.join(TOP, "tests", "slurm", "same_results.py")
KINDS = ("KILL", "TERM", "STOP")
EXIT_STOPPED = 3
# mpiexec forwards SIGTERM to the ranks, which save and exit 3, but itself then exits 1.
EXIT_MPIEXEC_TERMINATED = 1
# Every stop says so, in whichever phase it lands: while the job is read, before or while the
# file is created ("...; nothing written"), or during the tiles ("lrzoo: stopped by ...: N tiles
# remain").
STOP_LINE = "stopped by a signal or the stop file"
FINISHED_LINE = " runs this session"
RUN_TIMEOUT = 120     # seconds: a run that has not ended by then hangs
REAP_TIMEOUT = 15     # seconds for the processes of a run to be gone once mpiexec has exited


class Failure(Exception):
    pass


def elapsed_since(t0):
    return time.monotonic() - t0


def processes_of_session(sid):
    """The processes of the run: mpiexec leads a session of its own, and puts each rank in a
    process group of its own inside it, so the session is what holds them all."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(entry))
    return found


def kill_session(sid):
    """SIGKILL to every process of the session, again until none is left: a rank that mpiexec
    was still starting can appear after the first sweep."""
    t0 = time.monotonic()
    while elapsed_since(t0) < REAP_TIMEOUT:
        pids = processes_of_session(sid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)


def wait_until_session_is_gone(sid):
    t0 = time.monotonic()
    while processes_of_session(sid):
        if elapsed_since(t0) > REAP_TIMEOUT:
            left = processes_of_session(sid)
            kill_session(sid)
            raise Failure(f"processes {left} of the run still alive {REAP_TIMEOUT} s after mpiexec exited")
        time.sleep(0.05)


def wait_for_the_end(p, what):
    """The exit status of mpiexec, once it and every process of the run are gone."""
    try:
        rc = p.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        kill_session(p.pid)
        p.wait()
        raise Failure(f"{what} did not end within {RUN_TIMEOUT} s")
    wait_until_session_is_gone(p.pid)
    return rc


class Soak:
    def __init__(self, lrzoo, work, seed):
        self.lrzoo, self.work = lrzoo, work
        self.rng = random.Random(seed)
        self.out = os.path.join(work, "soak.h5")
        self.ref = os.path.join(work, "reference.h5")
        self.stop = os.path.join(work, "STOP")
        self.log = os.path.join(work, "round.log")
        self.env = self.environment_keeping_open_mpi_inside(work)
        self.interrupts = {k: 0 for k in KINDS}
        self.finished_first = {k: 0 for k in KINDS}
        self.resumes = self.files_compared = self.rounds = 0
        self.last_kind = self.last_mode = None
        self.history = []

    @staticmethod
    def environment_keeping_open_mpi_inside(work):
        env = dict(os.environ)
        for d in ("ompi-tmp", "ompi-shm"):
            os.mkdir(os.path.join(work, d))
        env["TMPDIR"] = os.path.join(work, "ompi-tmp")
        env["OMPI_MCA_btl_vader_backing_directory"] = os.path.join(work, "ompi-shm")
        env["OMP_WAIT_POLICY"] = "passive"
        return env

    def command(self, out, mode):
        cmd = [MPIRUN, "2", self.lrzoo, "run", JOB, "-o", out, "--threads", "1",
               "--stop-file", self.stop]
        return cmd + ([f"--{mode}"] if mode != "start" else [])

    def start(self, out, mode):
        with open(self.log, "w") as log:
            return subprocess.Popen(self.command(out, mode), stdout=log, stderr=subprocess.STDOUT,
                                    env=self.env, start_new_session=True)

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def run_to_the_end(self, out, mode):
        rc = wait_for_the_end(self.start(out, mode), f"an uninterrupted run of {out}")
        if rc != 0:
            raise Failure(f"an uninterrupted run of {out} exited {rc}:\n{self.log_text()}")

    def info(self, path):
        r = subprocess.run([self.lrzoo, "info", path], capture_output=True, text=True)
        if r.returncode != 0:
            raise Failure(f"lrzoo info {path} exits {r.returncode} after the interrupt:\n{r.stderr}")
        return r.stdout

    def is_complete(self, path):
        text = self.info(path)
        # A kill after the last tile but before /pooled leaves every tile done and the pooling
        # to the next resume: the file is complete only with /pooled written too.
        tiles = pooled = None
        for line in text.splitlines():
            words = line.split()
            if words[:1] == ["tiles:"]:
                tiles = words[1] == words[3] and words[4] == "done"
            if words[:1] == ["pooled:"]:
                pooled = words[1] == "written"
        if tiles is None or pooled is None:
            raise Failure(f"lrzoo info {path} prints no tiles or pooled line:\n{text}")
        return tiles and pooled

    def check_same_results(self, path):
        # lrzoo_test.py, which same_results.py imports, wants the binary and the source tree.
        env = dict(os.environ, LRZOO=self.lrzoo, LZ_SOURCE_DIR=TOP)
        r = subprocess.run([SAME_RESULTS, self.ref, path], capture_output=True, text=True, env=env)
        if r.returncode != 0 and " differ in: " in r.stdout:
            raise Failure(f"the resumed file differs from the uninterrupted one: {r.stdout}")
        if r.returncode != 0:
            raise Failure(f"same_results.py could not compare the files:\n{r.stdout}{r.stderr}")
        self.files_compared += 1
        return r.stdout.strip()

    def measure_the_reference(self):
        t0 = time.monotonic()
        self.run_to_the_end(self.ref, "start")
        self.reference_seconds = elapsed_since(t0)
        if not self.is_complete(self.ref):
            raise Failure("the uninterrupted run left tiles undone")

    def deliver(self, kind, p):
        if kind == "KILL":
            kill_session(p.pid)
        elif kind == "TERM":
            p.send_signal(signal.SIGTERM)
        else:
            open(self.stop, "w").close()

    def check_exit_status(self, kind, rc, text):
        """The exit each interrupt gives: 3 for the stop file; for SIGTERM, mpiexec's 1 while the
        ranks say they stopped (or, a signal before lrzoo started, say nothing, or mpiexec ended
        by it); killed for KILL."""
        if kind == "KILL":
            ok = rc == -signal.SIGKILL
        elif kind == "STOP":
            ok = rc == EXIT_STOPPED and STOP_LINE in text
        else:
            # a SIGTERM in mpiexec's first milliseconds, before it handles signals, ends it by
            # the signal, with nothing of lrzoo started (seen 3 ms after the start)
            early = rc == -signal.SIGTERM and "lrzoo:" not in text
            ok = early or (rc == EXIT_MPIEXEC_TERMINATED and (STOP_LINE in text or "lrzoo:" not in text))
        if not ok:
            raise Failure(f"{kind}: exit status {rc} is not the one of this interrupt:\n{text}")

    def one_round(self):
        self.rounds += 1
        kind = self.rng.choice(KINDS)
        delay = self.rng.uniform(0.0, self.reference_seconds)
        mode = self.next_mode()
        self.resumes += mode == "resume"
        self.history.append(f"round {self.rounds}: {mode}, {kind} after {delay:.3f} s")
        self.last_kind, self.last_mode = kind, mode
        p = self.start(self.out, mode)
        try:
            rc = p.wait(timeout=delay)
            ended_first = True
        except subprocess.TimeoutExpired:
            self.deliver(kind, p)
            ended_first = False
        rc = wait_for_the_end(p, f"{kind}: the run")
        text = self.log_text()
        if os.path.exists(self.stop):
            os.unlink(self.stop)
        self.history[-1] += f": exit {rc}"
        if ended_first or self.ranks_had_finished(kind, rc, text):
            self.count_a_run_that_had_ended(kind, rc, text)
        else:
            self.check_exit_status(kind, rc, text)
            self.interrupts[kind] += 1
        if os.path.exists(self.out) and self.is_complete(self.out):
            self.history[-1] += ", complete: " + self.check_same_results(self.out)
            os.unlink(self.out)

    def next_mode(self):
        return "resume" if os.path.exists(self.out) else "start"

    @staticmethod
    def ranks_had_finished(kind, rc, text):
        """Exit 0; or SIGTERM reaching mpiexec after the ranks had finished their work (the
        summary, no stop line): mpiexec then exits 1 though nothing was interrupted."""
        term_after_the_work = (kind == "TERM" and rc == EXIT_MPIEXEC_TERMINATED and
                               FINISHED_LINE in text and STOP_LINE not in text)
        return rc == 0 or term_after_the_work

    def count_a_run_that_had_ended(self, kind, rc, text):
        if rc != 0 and not self.ranks_had_finished(kind, rc, text):
            raise Failure(f"{kind}: the run ended before the interrupt with exit {rc}:\n{text}")
        if not (os.path.exists(self.out) and self.is_complete(self.out)):
            raise Failure(f"{kind}: the run ended with exit {rc} but left tiles undone:\n{text}")
        self.finished_first[kind] += 1

    def finish(self):
        if os.path.exists(self.out):
            self.resumes += 1
            self.run_to_the_end(self.out, "resume")
            if not self.is_complete(self.out):
                raise Failure("the last resume left tiles undone")
            self.history.append("last resume: " + self.check_same_results(self.out))

    def check_nothing_is_left(self):
        left = [n for n in ("STOP",) if os.path.exists(os.path.join(self.work, n))]
        if left:
            raise Failure(f"left in the work directory: {left}")

    def open_mpi_leftovers(self):
        n = 0
        for d in ("ompi-tmp", "ompi-shm"):
            for _, dirs, files in os.walk(os.path.join(self.work, d)):
                n += len(files)
        return n

    def summary(self):
        real = sum(self.interrupts.values())
        kinds = ", ".join(f"{self.interrupts[k]} {k}" for k in KINDS)
        ended = sum(self.finished_first.values())
        return (f"{real} interrupts ({kinds}), {ended} rounds after the run had ended, "
                f"{self.resumes} resumes, {self.files_compared} complete files bitwise equal to "
                f"the uninterrupted run ({self.reference_seconds:.1f} s)")


def save_logs(soak, build):
    dest = os.path.join(build, "soak-logs")
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    for name in ("round.log", "soak.h5", "reference.h5"):
        src = os.path.join(soak.work, name)
        if os.path.exists(src):
            shutil.copy(src, dest)
    with open(os.path.join(dest, "rounds.txt"), "w") as f:
        f.write("\n".join(soak.history) + "\n")
    return dest


def parse_arguments():
    ap = argparse.ArgumentParser(description="soak test of interrupts and resumes")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("LZ_SOAK_SEED", "0")) or None)
    ap.add_argument("--interrupts", type=int, default=50)
    ap.add_argument("--max-rounds", type=int, default=250)
    return ap.parse_args()


def main():
    args = parse_arguments()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    lrzoo = os.environ.get("LRZOO", os.path.join(TOP, "build", "lrzoo"))
    t0 = time.monotonic()
    print(f"soak: seed {seed} (replay: LZ_SOAK_SEED={seed}), {args.interrupts} interrupts, {lrzoo}")
    if not os.access(lrzoo, os.X_OK):
        print(f"soak: FAIL: no {lrzoo}: build first, or set LRZOO")
        return 1
    work = tempfile.mkdtemp(prefix="lrzoo-soak.")
    soak = Soak(lrzoo, work, seed)
    try:
        soak.measure_the_reference()
        while sum(soak.interrupts.values()) < args.interrupts and soak.rounds < args.max_rounds:
            soak.one_round()
        soak.finish()
        soak.check_nothing_is_left()
        if sum(soak.interrupts.values()) < args.interrupts:
            raise Failure(f"only {sum(soak.interrupts.values())} real interrupts in {soak.rounds} rounds")
    except Failure as e:
        dest = save_logs(soak, os.path.dirname(lrzoo))
        print("\n".join(soak.history[-10:]))
        print(f"soak: FAIL after {elapsed_since(t0):.0f} s (seed {seed}, round {soak.rounds}), "
              f"logs in {dest}: {e}")
        return 1
    finally:
        leftovers = soak.open_mpi_leftovers()
        shutil.rmtree(work, ignore_errors=True)
    if os.environ.get("LZ_SOAK_VERBOSE"):
        print("\n".join(soak.history))
    print(f"soak: {soak.history[-1]}; Open MPI left {leftovers} session files behind its killed runs")
    print(f"soak: PASS in {elapsed_since(t0):.0f} s: {soak.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
