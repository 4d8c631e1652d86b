/* Seconds per GD step of one mf instance, the objective alone: f and its gradient at x, then
 * x <- x - h grad f, repeated. What bench/lowrank.py reports as the cost of a step, free of the
 * sharpness computations and the file that a whole `lrzoo run` adds.
 * usage: bench_mf_step lowrank|gaussian N D RANK STEPS  (prints seconds per step) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lrzoo/problem.h"
#include "lrzoo/rng.h"

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s lowrank|gaussian N D RANK STEPS\n", argv[0]);
    return 2;
  }
  const double sv[8] = {8, 7, 6, 5, 4, 3, 2, 1};
  lz_problem_params pp;
  memset(&pp, 0, sizeof pp);
  pp.kind = LZ_PROBLEM_MF;
  pp.mf.n = atoll(argv[2]);
  pp.mf.d = atoll(argv[3]);
  pp.mf.rank = atoll(argv[4]);
  pp.mf.target = strcmp(argv[1], "lowrank") == 0 ? LZ_TARGET_LOWRANK : LZ_TARGET_GAUSSIAN;
  pp.mf.target_scale = 1.0;
  pp.mf.singular_values = sv;
  pp.mf.n_singular_values = (size_t)pp.mf.rank;
  long steps = atol(argv[5]);
  if (pp.mf.rank > 8 || steps < 1) return 2;
  lz_problem *p = NULL;
  lz_err err;
  if (lz_problem_create(&pp, 1, NULL, &p, &err) != LZ_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  size_t dim = lz_problem_dim(p);
  double *x = malloc(dim * sizeof *x), *g = malloc(dim * sizeof *g);
  double *work = malloc((lz_problem_work_len(p) + 1) * sizeof *work);
  if (!x || !g || !work) return 1;
  lz_rng rng;
  lz_rng_init(&rng, 1, LZ_RNG_TEST, dim, 0);
  /* Entries of size 1/sqrt(n): X Y^T is of the size of A, and the steps stay bounded. */
  const double scale = 1.0 / sqrt((double)pp.mf.n);
  for (size_t i = 0; i < dim; ++i) x[i] = scale * lz_rng_normal(&rng);
  double f = lz_problem_value_grad(p, x, g, work);  /* warm-up: first touch of the scratch */
  double t0 = seconds();
  for (long k = 0; k < steps; ++k) {
    for (size_t i = 0; i < dim; ++i) x[i] -= 1e-3 * g[i];
    f = lz_problem_value_grad(p, x, g, work);
  }
  printf("%.6g %.6g\n", (seconds() - t0) / (double)steps, f);
  lz_problem_destroy(&p);
  free(x);
  free(g);
  free(work);
  return 0;
}
