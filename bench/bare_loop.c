/* The ceiling for bench/sampling.py: the bare loop x <- x - h (x + cos(x/eps)) over blocks of 64
 * chains with one histogram per chain, compiled with -O3 -march=native -ffast-math so that gcc
 * calls libmvec's vector cos itself. No divergence check, no moments, no halves: what lrzoo's
 * sampler does on top of this is what the comparison prices. Not part of the build.
 * usage: bare_loop CHAINS STEPS  (prints samples per second) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define L 64
#define BINS 200

int main(int argc, char **argv) {
  long chains = argc > 1 ? atol(argv[1]) : 1024, steps = argc > 2 ? atol(argv[2]) : 1000000;
  const double h = 0.1, eps = 1e-3, lo = -1.0, inv_w = BINS / 2.0;
  static uint64_t hist[L][BINS + 2];
  double x[L];
  uint64_t total = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long block = 0; block < chains / L; ++block) {
    for (int l = 0; l < L; ++l) x[l] = 0.01 * (l + 1) + 0.001 * block;
    for (long k = 0; k < steps; ++k) {
#pragma omp simd
      for (int l = 0; l < L; ++l) x[l] = x[l] - h * (x[l] + cos(x[l] / eps));
      for (int l = 0; l < L; ++l) {
        double t = (x[l] - lo) * inv_w;
        int s = t >= 0 ? (t < BINS ? (int)t + 1 : BINS + 1) : 0;
        hist[l][s]++;
      }
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  for (int l = 0; l < L; ++l)
    for (int s = 0; s < BINS + 2; ++s) total += hist[l][s];
  double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  printf("%.6g %llu\n", (double)total / sec, (unsigned long long)total);
  return 0;
}
