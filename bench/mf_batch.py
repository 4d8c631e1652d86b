#!/usr/bin/python3
"""Batched matrix factorization (issue 6): n = 512, d = 4, 64 runs x 100 GD steps on one
gaussian target, lrzoo's batched engine against the NumPy a user would write (batched matmul
forming the residual), and the GEMM part of lrzoo's step (its two products A S_all and
A^T X_all) against a plain large dgemm. Targets: >= 20x NumPy; GEMM part >= 70% of the dgemm
peak (batch x d >= 64).

The products are lrzoo's own kernels by default; run the script with LRZOO_MF_PRODUCTS=blas in
the environment to measure OpenBLAS's GEMMs in their place. Each configuration runs in child
processes: with the environment as it is (this machine forces OPENBLAS_CORETYPE=Haswell), with
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE both unset (OpenBLAS picks its kernel by CPU), and with
the SkylakeX kernel forced, for lrzoo and NumPy alike (the kernel also sets the peak). Rounds
interleave lrzoo and NumPy, ratios are taken within a round, and the median over rounds is
reported.

lrzoo: bench_mf_batch (bench/mf_batch.c) runs lz_gd_batch, 32 runs on each of 2 threads, as a
tile runs them; it also times the batched gradient and its two products alone, and plain 1536^3
dgemms on both cores (OpenBLAS's threads, or one single-threaded product a core: the faster).
The whole `lrzoo run` adds each run's start and end analyses (Lanczos) and the file, which this
benchmark leaves out; docs/performance.md says what they cost.

With --scaling, instead: lrzoo's batched steps per second for n = 256 ... 8192 at d = 4 (64 runs
on 2 threads, OPENBLAS_CORETYPE as set), with the products' rate and the bytes of A per step.

usage: /usr/bin/python3 bench/mf_batch.py [BUILD_DIR] [ROUNDS]
       /usr/bin/python3 bench/mf_batch.py [BUILD_DIR] --scaling"""
import os
import statistics
import subprocess
import sys

from common import HERE, blas_kernel

build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build")
scaling = len(sys.argv) > 2 and sys.argv[2] == "--scaling"
rounds = int(sys.argv[2]) if len(sys.argv) > 2 and not scaling else 3
BENCH = os.path.join(os.path.abspath(build), "bench", "bench_mf_batch")
N, D, RUNS, STEPS = 512, 4, 64, 100

NUMPY = r"""
import ctypes, sys, time
import numpy as np
n, d, runs, steps = map(int, sys.argv[1:5])
rng = np.random.default_rng(1)
A = rng.standard_normal((n, n)) / np.sqrt(n)
X = rng.standard_normal((runs, n, d)) * n ** -0.25
Y = rng.standard_normal((runs, n, d)) * n ** -0.25
h = (1e-3 * (1.0 + np.arange(runs) / runs))[:, None, None]
t0 = time.perf_counter()
for _ in range(steps):
    R = X @ Y.transpose(0, 2, 1) - A          # runs x n x n residuals
    loss = 0.5 * np.einsum("rij,rij->r", R, R)
    alive = np.isfinite(loss) & (np.abs(X).max(axis=(1, 2)) < 1e300)
    gX, gY = R @ Y, R.transpose(0, 2, 1) @ X
    X, Y = X - h * gX, Y - h * gY
rate = runs * steps / (time.perf_counter() - t0)
kernel = "?"
for line in open("/proc/self/maps"):
    if "openblas" in line:
        lib = ctypes.CDLL(line.split()[-1])
        lib.openblas_get_corename.restype = ctypes.c_char_p
        kernel = lib.openblas_get_corename().decode()
        break
print(rate, kernel)
"""


def environment(forced, coretype=None):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    if not forced:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    return env


def lrzoo_round(env):
    out = subprocess.run([BENCH, str(N), str(D), str(RUNS), str(STEPS)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return dict(kv.split("=", 1) for kv in out.split())


def numpy_round(env):
    out = subprocess.run(["/usr/bin/python3", "-c", NUMPY, str(N), str(D), str(RUNS),
                          str(STEPS)], env=env, check=True, capture_output=True,
                         text=True).stdout.split()
    return float(out[0]), out[1]


def scaling_in_n():
    """A batched step streams A twice (A S_all, A^T X_all) for all 64 runs: 4 n^2 (64 d) flops
    against 16 n^2 bytes, 64 flops a byte at d = 4, so the GEMMs are compute-bound at every n;
    the rest of a step is O(n d^2) a run."""
    env = environment(True)
    print(f"scaling in n, d = {D}, 64 runs on 2 threads, kernel {blas_kernel()}")
    print("  n      steps/s   s per batched step  GEMM GFLOP/s  A per step")
    for n in (256, 512, 1024, 2048, 4096, 8192):
        steps = max(10, int(400 * (512 / n) ** 2))
        out = subprocess.run([BENCH, str(n), str(D), str(RUNS), str(steps), "1024"], env=env,
                             check=True, capture_output=True, text=True).stdout
        lz = dict(kv.split("=", 1) for kv in out.split())
        rate = float(lz["steps_per_s"])
        print(f"  {n:<6} {rate:10.4g}   {RUNS / rate:.3g} s            {float(lz['gemm_gflops']):8.3g}"
              f"      {2 * 8 * n * n / 2**20:.3g} MiB")


def main():
    if not os.path.exists(BENCH):
        raise SystemExit(f"{BENCH} not found: cmake --build {build} --target bench_mf_batch")
    if scaling:
        scaling_in_n()
        return
    print(f"mf n = {N}, d = {D}, {RUNS} runs x {STEPS} steps, 2 threads; {rounds} rounds")
    # The third: the kernel OpenBLAS would pick on an AVX-512 CPU it recognizes (this
    # virtual CPU hides its model, so unset falls back to the generic Prescott kernel).
    for forced, coretype in ((True, None), (False, None), (False, "SkylakeX")):
        env = environment(forced, coretype)
        label = (f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
                 if forced else f"OPENBLAS_CORETYPE={coretype}, OPENBLAS_L2_SIZE unset"
                 if coretype else "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset")
        ratios, fractions, rows = [], [], []
        for _ in range(rounds):
            lz = lrzoo_round(env)
            np_rate, np_kernel = numpy_round(env)
            rate = float(lz["steps_per_s"])
            gemm, peak = float(lz["gemm_gflops"]), float(lz["peak_gflops"])
            ratios.append(rate / np_rate)
            fractions.append(gemm / peak)
            rows.append((rate, np_rate, float(lz["grad_s"]), gemm, peak))
        med = [statistics.median(c) for c in zip(*rows)]
        print(f"\n{label}: lrzoo kernel {lz['kernel']}, NumPy kernel {np_kernel}, "
              f"own products {lz['own_products']}")
        print(f"  lrzoo  {med[0]:10.4g} steps/s ({med[0] / 2:.4g} per core); "
              f"batched gradient of {lz['runs_per_thread']} runs: {med[2] * 1e3:.3g} ms")
        print(f"  NumPy  {med[1]:10.4g} steps/s")
        print(f"  ratio  {statistics.median(ratios):10.3g}x   (rounds: "
              f"{', '.join(f'{r:.3g}' for r in ratios)})")
        print(f"  GEMM part {med[3]:.4g} GFLOP/s against 1536^3 dgemms at {med[4]:.4g} GFLOP/s: "
              f"{100 * statistics.median(fractions):.0f}% (batch x d = "
              f"{int(lz['runs_per_thread']) * D} per thread)")


if __name__ == "__main__":
    main()
