/* The batched mf engine on one dense target (issue 6): RUNS runs of n x d GD for STEPS steps,
 * split over the OpenMP threads (one batch each, as a tile runs them), against its two
 * products alone and against a plain large dgemm (the machine's BLAS peak).
 *
 * Prints one line of key=value pairs:
 *   steps_per_s   GD steps per second of lz_gd_batch (every run's checks included, and its
 *                 final state's accurate loss, one pass over A a run; no trace)
 *   grad_s        seconds per batched gradient of one thread's batch (lz_problem_value_grad_batch)
 *   gemm_gflops   the two products of that gradient (A S_all, A^T X_all) timed alone, on every
 *                 thread at once, as the gradient computes them (lrzoo's own kernels, or the
 *                 single-threaded BLAS under LRZOO_MF_PRODUCTS=blas)
 *   peak_gflops   plain PEAK_N^3 dgemms on all cores (dgemm_peak; PEAK_N 1536 by default)
 *   own_products  1 if lrzoo's own products ran (the default, or the probe rejected the BLAS)
 *   kernel        the OpenBLAS kernel (openblas_get_corename)
 * usage: bench_mf_batch N D RUNS STEPS [PEAK_N] */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/core/problems/mf/mf_internal.h"
#include "../src/core/problem_internal.h"
#include "lrzoo/gd.h"
#include "lrzoo/problem.h"
#include "lrzoo/rng.h"

extern char *openblas_get_corename(void) __attribute__((weak));
extern void openblas_set_num_threads(int) __attribute__((weak));

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double *random_doubles(size_t len, uint64_t stream, double scale) {
  double *v = malloc(len * sizeof *v);
  if (!v) exit(1);
  lz_rng rng;
  lz_rng_init(&rng, 3, LZ_RNG_TEST, stream, len);
  for (size_t i = 0; i < len; ++i) v[i] = scale * lz_rng_normal(&rng);
  return v;
}

/* GFLOP/s of plain n^3 dgemms on all cores, best of five of each way: OpenBLAS's own threads
 * on one product, and every thread its own single-threaded product at once (as lrzoo calls
 * the BLAS). The better of the two is the peak the GEMM part is compared with. */
static double dgemm_peak(size_t n) {
  const int threads = omp_get_max_threads();
  double *a = random_doubles(n * n, 1, 1.0), *b = random_doubles(n * n, 2, 1.0);
  double *c = malloc((size_t)threads * n * n * sizeof *c), best = 0.0;
  if (!c) exit(1);
  if (openblas_set_num_threads) openblas_set_num_threads(threads);
  for (int rep = 0; rep < 5; ++rep) {
    double t0 = seconds();
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, a,
                (int)n, b, (int)n, 0.0, c, (int)n);
    best = fmax(best, 2.0 * n * n * n / (seconds() - t0) / 1e9);
  }
  if (openblas_set_num_threads) openblas_set_num_threads(1);
  for (int rep = 0; rep < 5; ++rep) {
    double t0 = seconds();
#pragma omp parallel
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, a,
                (int)n, b, (int)n, 0.0, c + (size_t)omp_get_thread_num() * n * n, (int)n);
    best = fmax(best, threads * 2.0 * n * n * n / (seconds() - t0) / 1e9);
  }
  free(a), free(b), free(c);
  return best;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s N D RUNS STEPS [PEAK_N]\n", argv[0]);
    return 2;
  }
  lz_problem_params pp;
  memset(&pp, 0, sizeof pp);
  pp.kind = LZ_PROBLEM_MF;
  pp.mf.n = atoll(argv[1]);
  pp.mf.d = atoll(argv[2]);
  pp.mf.target = LZ_TARGET_GAUSSIAN;
  pp.mf.target_scale = 1.0;
  const size_t runs = (size_t)atoll(argv[3]);
  const long steps = atol(argv[4]);
  const size_t peak_n = argc > 5 ? (size_t)atoll(argv[5]) : 1536;
  lz_problem *p = NULL;
  lz_err err;
  if (lz_problem_create(&pp, 1, NULL, &p, &err) != LZ_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  const int threads = omp_get_max_threads();
  const int reps = pp.mf.n >= 4096 ? 3 : 20;  /* repeats of the gradient and GEMM timings */
  const size_t n = (size_t)pp.mf.n, d = (size_t)pp.mf.d, dim = lz_problem_dim(p);
  const size_t per = (runs + (size_t)threads - 1) / (size_t)threads;
  if (per > lz_problem_batch_max(p)) {
    fprintf(stderr, "%zu runs a thread: above the batch size %zu\n", per, lz_problem_batch_max(p));
    return 2;
  }
  /* Entries of size 1/n^(1/4): X Y^T is of the size of A, and small steps stay bounded. */
  double *x0 = random_doubles(runs * dim, 4, pow((double)n, -0.25));
  double *x = malloc(runs * dim * sizeof *x), *own = malloc(runs * 2 * dim * sizeof *own);
  lz_gd_batch_run *batch = calloc(runs, sizeof *batch);
  if (!x || !own || !batch) return 1;
  memcpy(x, x0, runs * dim * sizeof *x);
  lz_gd_params gp = {0.0, steps, 0.0, 1e300, steps + 1, NULL};
  for (size_t r = 0; r < runs; ++r)
    batch[r] = (lz_gd_batch_run){1e-3 * (1.0 + (double)r / (double)runs), x + r * dim,
                                 own + r * 2 * dim, NULL, NULL, {0}};
  double grad_s = 0.0, gemm_s = 0.0;
  long done_steps = 0;
  int failed = 0;
  /* a first descent warms up (first touch of every buffer) and counts the steps; the
   * gradient and GEMM timings follow on the same buffers */
#pragma omp parallel reduction(+ : done_steps) reduction(max : grad_s, gemm_s) reduction(| : failed)
  {
    size_t t = (size_t)omp_get_thread_num(), first = t * per;
    size_t count = first >= runs ? 0 : runs - first < per ? runs - first : per;
    double *work = malloc(lz_gd_batch_work_len(p, per, 0) * sizeof *work);
    if (count > 0 && work) {
      failed |= lz_gd_batch(p, &gp, count, batch + first, work, NULL) != LZ_OK;
      for (size_t r = first; r < first + count; ++r) done_steps += batch[r].out.iterations;
    }
#pragma omp barrier
    /* one thread's batched gradient, every thread at once */
    const double *xs[64];
    double *gs[64], fs[64];
    for (size_t r = 0; r < count; ++r) xs[r] = x0 + (first + r) * dim, gs[r] = own + (first + r) * 2 * dim;
    if (count > 0 && work) {
      lz_problem_value_grad_batch(p, count, xs, gs, fs, work);
#pragma omp barrier
      double g0 = seconds();
      for (int rep = 0; rep < reps; ++rep) lz_problem_value_grad_batch(p, count, xs, gs, fs, work);
      grad_s = (seconds() - g0) / reps;
      /* the two products of that gradient alone, as it computes them */
      size_t w = count * d;
      const void *st = lz__problem_state(p);
      double *b = random_doubles(n * w, 5 + t, 1.0), *c = malloc(n * w * sizeof *c);
#pragma omp barrier
      double m0 = seconds();
      for (int rep = 0; rep < reps; ++rep) {
        lz__mf_target_product(st, 0, b, w, c);
        lz__mf_target_product(st, 1, b, w, c);
      }
      gemm_s = (seconds() - m0) / reps;
      free(b), free(c);
    }
    free(work);
  }
  if (failed) return 1;
  /* the timed descent, the same runs from the same starts */
  double descent_s = 0.0;
  {
    memcpy(x, x0, runs * dim * sizeof *x);
    double s0 = seconds();
    long check = 0;
#pragma omp parallel reduction(+ : check)
    {
      size_t t = (size_t)omp_get_thread_num(), first = t * per;
      size_t count = first >= runs ? 0 : runs - first < per ? runs - first : per;
      double *work = malloc(lz_gd_batch_work_len(p, per, 0) * sizeof *work);
      if (count > 0 && work) {
        lz_gd_batch(p, &gp, count, batch + first, work, NULL);
        for (size_t r = first; r < first + count; ++r) check += batch[r].out.iterations;
      }
      free(work);
    }
    descent_s = seconds() - s0;
    if (check != done_steps) return 1;
  }
  lz_mf_layout l = lz__mf_layout(lz__problem_state(p));
  double gemm_flops = (double)threads * 2.0 * 2.0 * (double)n * (double)n * (double)(per * d);
  printf("steps_per_s=%.6g grad_s=%.6g gemm_gflops=%.4g peak_gflops=%.4g own_products=%d "
         "threads=%d runs_per_thread=%zu kernel=%s\n",
         (double)done_steps / descent_s, grad_s, gemm_flops / gemm_s / 1e9, dgemm_peak(peak_n),
         l.own_products, threads, per, openblas_get_corename ? openblas_get_corename() : "?");
  lz_problem_destroy(&p);
  free(x0), free(x), free(own), free(batch);
  return 0;
}
