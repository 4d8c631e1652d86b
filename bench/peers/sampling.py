#!/usr/bin/python3
"""The peers a user would write for bench/jobs/peers_sampling.yaml: Kong and Tao's
x <- x - h (x + cos(x / eps)) (f0 = x^2/2, f1 = eps sin(x / eps), eps = 1e-3, h = 0.1) for 1024
chains, 1000 steps of burn-in, then 2e6 samples a chain counted into 200 bins on [-1, 1] (one
histogram a chain, samples outside counted apart), as lrzoo's invariant measure does.

  numpy       the chains as one array, one vectorized step, and the counts of every chain's
              bin incremented by fancy indexing (counts[chains, bins] += 1: each chain once
              a step, so no index repeats); 2.7x the np.histogram loop below here
  numpy_hist  the loop bench/sampling.py and issue 19 measured: one np.histogram a step, of
              all chains together (less than lrzoo records: one histogram, not one a chain)
  numba       one prange loop over the chains, each with its own histogram

Prints "samples=S seconds=T" (T: burn-in and sampling). Run numba once with NUMBA_CACHE_DIR set
beforehand, so that the timed runs load the compiled loop from the cache.

usage: sampling.py numpy|numpy_hist|numba [SAMPLES]"""
import math
import sys
import time

import numba
import numpy as np

CHAINS, H, EPS, BINS, LO, HI, BURN_IN = 1024, 0.1, 1e-3, 200, -1.0, 1.0, 1000


def numpy_sampler(x, samples):
    counts = np.zeros((CHAINS, BINS + 1), np.int64)
    chains = np.arange(CHAINS)
    for _ in range(BURN_IN):
        x = x - H * (x + np.cos(x / EPS))
    scale = BINS / (HI - LO)
    for _ in range(samples):
        x = x - H * (x + np.cos(x / EPS))
        b = np.floor((x - LO) * scale)
        b = np.where((b >= 0) & (b < BINS), b, BINS).astype(np.intp)   # BINS: outside
        counts[chains, b] += 1
    return counts


def numpy_histogram_sampler(x, samples):
    edges = np.linspace(LO, HI, BINS + 1)
    counts = np.zeros((1, BINS + 1), np.int64)
    for _ in range(BURN_IN):
        x = x - H * (x + np.cos(x / EPS))
    for _ in range(samples):
        x = x - H * (x + np.cos(x / EPS))
        counts[0, :BINS] += np.histogram(x, bins=edges)[0]
    return counts


@numba.njit(parallel=True, cache=True)
def numba_sampler(x0, samples):
    counts = np.zeros((CHAINS, BINS + 1), np.int64)
    scale = BINS / (HI - LO)
    for c in numba.prange(CHAINS):
        x = x0[c]
        for _ in range(BURN_IN):
            x = x - H * (x + math.cos(x / EPS))
        for _ in range(samples):
            x = x - H * (x + math.cos(x / EPS))
            b = math.floor((x - LO) * scale)
            counts[c, int(b) if 0 <= b < BINS else BINS] += 1
    return counts


def main():
    which = sys.argv[1]
    samples = int(float(sys.argv[2])) if len(sys.argv) > 2 else 2_000_000
    x0 = np.random.default_rng(0).normal(0.0, 0.5, CHAINS)
    t0 = time.perf_counter()
    sampler = {"numpy": numpy_sampler, "numpy_hist": numpy_histogram_sampler,
               "numba": numba_sampler}[which]
    counts = sampler(x0, samples)
    took = time.perf_counter() - t0
    print(f"samples={CHAINS * samples} seconds={took:.6f} inside={int(counts[:, :BINS].sum())}")


if __name__ == "__main__":
    main()
