/* The ceiling for bench/toy.py: GD on f = (1 - x y)^2 / 2 over blocks of 64 starts held in L1,
 * `#pragma omp simd` across the block, no check of any kind and nothing recorded: what lrzoo's
 * lanes engine does on top of this (bounds, loss and gradient checks, the previous iterate, the
 * loss trace, each run's start and end) is what the comparison prices. Not part of the build.
 * usage: bare_toy STARTS STEPS  (prints GD steps per second, one thread) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define L 64

int main(int argc, char **argv) {
  long starts = argc > 1 ? atol(argv[1]) : 65536, steps = argc > 2 ? atol(argv[2]) : 20000;
  const double h = 1.25;
  double x[L], y[L], sum = 0.0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long block = 0; block < starts / L; ++block) {
    for (int l = 0; l < L; ++l) x[l] = 0.3 + 0.02 * l, y[l] = 0.3 + 1e-5 * (double)block;
    for (long k = 0; k < steps; ++k) {
#pragma omp simd
      for (int l = 0; l < L; ++l) {
        double r = x[l] * y[l] - 1.0;
        double gx = r * y[l], gy = r * x[l];
        x[l] = x[l] - h * gx;
        y[l] = y[l] - h * gy;
      }
    }
    for (int l = 0; l < L; ++l) sum += x[l] + y[l];
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  printf("%.6g %g\n", (double)(starts / L * L) * (double)steps / sec, sum);
  return 0;
}
