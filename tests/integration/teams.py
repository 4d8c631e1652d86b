#!/usr/bin/python3
"""Teams of ranks that compute one run together (tiles: {ranks_per_run: K}, issue 22):
  - K = 2 and 3 give every dataset bitwise equal to K = 1, on a mixed job with the analytics
    (Lyapunov exponents, sharpness traces, orbits, modified equations), with one or two threads
    and with one or two teams; and the summary says the teams computed the tiles together;
  - the same for a target read from a file (each member reads its rows);
  - a lowrank job, which no team shares, runs on each team's first rank, with equal results;
  - an instance with fewer row chunks than ranks per run is refused at the key, and a rank
    count that K does not divide is refused before any output exists;
  - memory per rank: a job refused under --memory-limit at K = 1 is accepted at K = 2, whose
    estimate still bounds the peak resident size measured on a member;
  - SIGTERM to every rank while two teams compute: exit 3, and --resume on one team gives the
    uninterrupted file (the job is calibrated to last about 4 s here, so the signal comes
    mid-run).
Outputs go to a temporary directory."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

from calibrate import calibrated_job
from lrzoo_test import (LRZOO, check, datasets, differences, lrzoo_command, rank_pids,
                        run_lrzoo, tiles_done, verdict)

MIXED = """name: teams_mixed
seed: 11
output: {out}
problem: {{kind: mf, n: [256, 300], d: [4, 5], activation: [none, relu], target: {{kind: gaussian}}}}
init: {{kind: gaussian, scale: 0.3, replicas: 1}}
lr:
  values: [0.2, 1.0, 2.3]
run: {{max_iter: 100, tol_grad: 1.0e-10, record_every: 10}}
tiles: {{runs: 2, ranks_per_run: {k}}}
analyze:
  sharpness: {{every: 50}}
  lyapunov: {{iters: 40, transient: 40}}
  modified_equation: {{orders: [0, 1, 2], steps: 5}}
"""

FILE_TARGET = """name: teams_file
seed: 2
output: {out}
problem: {{kind: mf, n: 320, d: 4, target: {{kind: file, path: {target}, dataset: A}}}}
init: {{kind: gaussian, scale: 0.2, replicas: 3}}
lr:
  values: [0.3, 1.5]
run: {{max_iter: 150, record_every: 10}}
tiles: {{runs: 2, ranks_per_run: {k}}}
analyze: {{sharpness: {{every: 30}}}}
"""

LOWRANK = """name: teams_lowrank
seed: 4
output: {out}
problem: {{kind: mf, n: 64, d: 4, target: {{kind: lowrank, singular_values: [3.0, 1.0]}}}}
init: {{kind: gaussian, scale: 0.1, replicas: 2}}
lr:
  values: [0.1, 0.5]
run: {{max_iter: 200, record_every: 10}}
tiles: {{runs: 2, ranks_per_run: {k}}}
"""

TOO_SMALL = """name: teams_small
output: {out}
problem: {{kind: mf, n: [40, 256], d: 4, target: {{kind: gaussian}}}}
init: {{kind: gaussian, replicas: 1}}
lr: {{values: [0.1]}}
tiles: {{runs: 4,
        ranks_per_run: 2}}
"""

LARGE = """name: teams_memory
output: {out}
problem: {{kind: mf, n: 3000, d: 2, target: {{kind: gaussian}}}}
init: {{kind: gaussian, scale: 0.1, replicas: 1}}
lr: {{values: [0.1]}}
run: {{max_iter: 5, record_every: 5}}
tiles: {{ranks_per_run: {k}}}
analyze: {{orbit: {{max_period: 0}}, lyapunov: {{iters: 0}}}}
"""

# Resume: small steps that neither diverge nor meet tol_grad = 0, so every run costs max_iter
# steps, the key calibrate.py scales.
RESUME = """name: teams_resume
seed: 9
output: results/teams_resume.h5
problem: {kind: mf, n: 256, d: 4, target: {kind: gaussian}}
init: {kind: gaussian, scale: 0.3, replicas: 8}
lr:
  values: [0.05, 0.1]
run:
  max_iter: 20
  tol_grad: 0
  record_every: 1
tiles: {runs: 2, ranks_per_run: 2}
analyze: {orbit: {max_period: 0}, lyapunov: {iters: 0}}
"""


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def run_job(tmp, template, name, k, ranks, threads=1, **fields):
    out = f"{tmp}/{name}.h5"
    job = write(f"{tmp}/{name}.yaml", template.format(out=out, k=k, **fields))
    # More threads than this machine's 2 cores: spinning OpenMP threads would starve the ranks.
    env = dict(os.environ, OMP_WAIT_POLICY="passive") if ranks * threads > 2 else None
    r = run_lrzoo(ranks, "run", job, "--threads", str(threads), "--overwrite", check=False,
                  env=env)
    check(r.returncode == 0, f"{name}: K = {k} on {ranks} ranks x {threads} threads exits 0"
          + ("" if r.returncode == 0 else f" (got {r.returncode}: {r.stderr[-400:]})"))
    return out, r.stderr


def shared_tiles(stderr):
    m = re.search(r"teams of \d+ ranks: (\d+) tiles computed together, (\d+) on a team", stderr)
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def equal_to(ref, out, what):
    diff = differences(ref, datasets(out))
    check(not diff, f"{what}: every dataset bitwise equal to K = 1" +
          (f" (differs: {diff[:5]})" if diff else ""))


def estimate_mib(job, *extra):
    r = subprocess.run([LRZOO, "validate", job, "--threads", "1", *extra], capture_output=True,
                       text=True)
    m = re.search(r"^memory: +about ([0-9.]+) MiB per rank", r.stdout, re.M)
    return r, (float(m.group(1)) if m else None)


def peak_of_ranks_mib(ranks, *args):
    """The largest peak resident size of any rank (ru_maxrss of the children is their max)."""
    code = ("import resource, subprocess, sys\n"
            "subprocess.run(sys.argv[1:], check=True, capture_output=True)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    r = subprocess.run([sys.executable, "-c", code, *lrzoo_command(ranks, *args)],
                       capture_output=True, text=True, check=True)
    return int(r.stdout.strip()) / 1024.0


with tempfile.TemporaryDirectory() as tmp:
    # The mixed job: two sizes, two ranks d, two activations, three step sizes.
    ref_path, _ = run_job(tmp, MIXED, "mixed_k1", 1, 2)
    ref = datasets(ref_path)
    for k, ranks, threads in ((2, 2, 1), (2, 2, 2), (2, 4, 1), (3, 3, 1)):
        out, err = run_job(tmp, MIXED, f"mixed_k{k}_{ranks}x{threads}", k, ranks, threads)
        equal_to(ref, out, f"mixed job, K = {k} on {ranks} ranks x {threads} threads")
        together, alone = shared_tiles(err)
        check(together == 16 and alone == 0,
              f"mixed job, K = {k}: the teams computed all 16 tiles together ({together}, {alone})")

    # A file target: each member reads its own rows.
    target = f"{tmp}/target.h5"
    with h5py.File(target, "w") as f:
        f["A"] = np.random.default_rng(7).standard_normal((320, 320)) / np.sqrt(320.0)
    ref_path, _ = run_job(tmp, FILE_TARGET, "file_k1", 1, 1, target=target)
    out, err = run_job(tmp, FILE_TARGET, "file_k2", 2, 2, target=target)
    equal_to(datasets(ref_path), out, "file target, K = 2")
    check(shared_tiles(err)[0] == 3, f"file target: 3 tiles computed together ({shared_tiles(err)})")

    # No team shares a lowrank target: the first ranks run it alone.
    ref_path, _ = run_job(tmp, LOWRANK, "lowrank_k1", 1, 2)
    out, err = run_job(tmp, LOWRANK, "lowrank_k2", 2, 4)
    equal_to(datasets(ref_path), out, "lowrank target, K = 2 on 4 ranks")
    check(shared_tiles(err) == (0, 2), f"lowrank: both tiles on a first rank alone ({shared_tiles(err)})")

    # Refusals.
    job = write(f"{tmp}/small.yaml", TOO_SMALL.format(out=f"{tmp}/small.h5"))
    r = subprocess.run([LRZOO, "validate", job], capture_output=True, text=True)
    check(r.returncode == 2 and f"{job}:7:" in r.stderr and "ranks_per_run = 2" in r.stderr
          and "n = 40" in r.stderr and "1 row chunk" in r.stderr,
          "an instance of 1 row chunk with ranks_per_run 2: refused at the key's line")
    print("     " + r.stderr.strip().splitlines()[0])
    out = f"{tmp}/odd.h5"
    job = write(f"{tmp}/odd.yaml", MIXED.format(out=out, k=2))
    r = run_lrzoo(3, "run", job, "--threads", "1", check=False)
    check(r.returncode == 2 and "does not divide the 3 ranks" in r.stderr and not os.path.exists(out),
          f"3 ranks for ranks_per_run 2: refused, no output (exit {r.returncode})")

    # Memory per rank.
    job1 = write(f"{tmp}/large1.yaml", LARGE.format(out=f"{tmp}/large1.h5", k=1))
    job2 = write(f"{tmp}/large2.yaml", LARGE.format(out=f"{tmp}/large2.h5", k=2))
    _, e1 = estimate_mib(job1)
    _, e2 = estimate_mib(job2)
    print(f"     estimates per rank: K = 1 {e1} MiB, K = 2 {e2} MiB")
    check(e1 is not None and e2 is not None and e1 - e2 > 0.4 * 2 * 8 * 3000 * 3008 / 2**20,
          "the estimate per rank drops by about half of A and A^T at K = 2")
    limit = f"{(e1 + e2) / 2:.0f}M" if e1 and e2 else "1G"
    r1, _ = estimate_mib(job1, "--memory-limit", limit)
    r2, _ = estimate_mib(job2, "--memory-limit", limit)
    check(r1.returncode == 2 and "sweep too large for memory" in r1.stderr,
          f"K = 1 refused under --memory-limit {limit} (exit {r1.returncode})")
    check(r2.returncode == 0, f"K = 2 accepted under --memory-limit {limit} (exit {r2.returncode})")
    peak = peak_of_ranks_mib(2, "run", job2, "--threads", "1", "--overwrite")
    check(e2 is not None and peak <= e2, f"K = 2: the estimate {e2} MiB bounds the peak {peak:.0f} MiB")

    # SIGTERM while the teams compute, then --resume.
    template = write(f"{tmp}/resume_template.yaml", RESUME)
    job = f"{tmp}/resume.yaml"
    calibrated_job(template, 4.0, job, ranks=4)
    ref_path = f"{tmp}/resume_ref.h5"
    run_lrzoo(4, "run", job, "-o", ref_path, "--threads", "1")
    out = f"{tmp}/resume_term.h5"
    p = subprocess.Popen(lrzoo_command(4, "run", job, "-o", out, "--threads", "1"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while time.time() - t0 < 60 and p.poll() is None:
        try:
            done, total = tiles_done(out)
            if done >= 0.2 * total and done > 0:
                break
        except (OSError, KeyError):
            pass
        time.sleep(0.05)
    sent = 0
    for pid in rank_pids(p):
        os.kill(pid, signal.SIGTERM)
        sent += 1
    _, err = p.communicate(timeout=120)
    check(sent == 4 and p.returncode == 3, f"SIGTERM to the 4 ranks of 2 teams: exit 3 (got {p.returncode})")
    done, total = tiles_done(out)
    check(0 < done < total, f"SIGTERM: the file holds a part of the run ({done}/{total} tiles)")
    # on one team instead of two: any multiple of K ranks may go on
    r = run_lrzoo(2, "run", job, "--resume", "-o", out, "--threads", "1", check=False)
    check(r.returncode == 0, f"resume on 2 ranks (one team) exits 0 (got {r.returncode})")
    equal_to(datasets(ref_path), out, "resumed after SIGTERM, on one team")

sys.exit(verdict())
