/* The dynamics analytics against closed forms and published facts: orbit periods, Lyapunov
 * exponents, sharpness at stable minimizers, balancing, and the modified equations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lrzoo/analysis.h"
#include "lrzoo/config.h"
#include "lrzoo/problem.h"
#include "lrzoo/results.h"
#include "test_jobs.h"

void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info, size_t, size_t);

/* ---- helpers ------------------------------------------------------------------------------ */

/* Runs every tile of the job; returns the run results (free them). */
static lz_run_result *run_job(const lz_job *job) {
  lz_run_result *all = calloc((size_t)job->nruns, sizeof *all);
  lz_tile_result tr;
  lz_err err;
  assert_int_equal(lz_tile_result_alloc(&tr, job, &err), LZ_OK);
  for (int64_t t = 0; t < job->ntiles; ++t) {
    lz_problem *p = instance_of_tile(job, t);
    run_tile_or_fail(job, p, t, &tr);
    memcpy(all + tr.r0, tr.runs, (size_t)tr.count * sizeof *all);
    lz_problem_destroy(&p);
  }
  lz_tile_result_free(&tr);
  return all;
}

static double lr_of(const lz_job *job, int64_t r) {
  size_t idx[LZ_MAX_AXES];
  lz_job_run_coords(job, r, idx);
  return lz_job_lr_value(job, idx);
}

static lz_problem *make_problem_with_seed(const lz_problem_params *pp, uint64_t seed) {
  lz_problem *p = NULL;
  lz_err err;
  assert_int_equal(lz_problem_create(pp, seed, NULL, &p, &err), LZ_OK);
  return p;
}

static lz_problem *make_problem(const lz_problem_params *pp) { return make_problem_with_seed(pp, 3); }

/* ---- orbits ------------------------------------------------------------------------------- */

static void find_period_should_return_the_minimal_period_not_a_multiple(void **state) {
  (void)state;
  double storage[2 * 16 * 2];
  lz_orbit_ring r;
  lz_orbit_ring_init(&r, 2, 16, storage);
  const double cycle[3][2] = {{1.0, 2.0}, {-0.5, 0.25}, {3.0, -1.0}};
  for (int k = 0; k < 40; ++k) lz_orbit_ring_push(&r, cycle[k % 3]);
  lz_orbit_period op = lz_orbit_find_period(&r, 16, 1e-9);
  assert_int_equal(op.period, 3);  /* 6, 9, 12 repeat too */
  assert_true(op.residual == 0.0);
}

static void find_period_should_reject_an_orbit_that_repeats_only_at_one_point(void **state) {
  (void)state;
  /* x_K equals x_(K-2) but the cycle before does not repeat: not period 2. */
  double storage[2 * 8 * 1];
  lz_orbit_ring r;
  lz_orbit_ring_init(&r, 1, 8, storage);
  const double seq[] = {0.1, 0.7, 0.2, 0.9, 0.3, 0.5, 0.4, 0.5};
  for (int k = 0; k < 8; ++k) lz_orbit_ring_push(&r, &seq[k]);
  lz_orbit_period op = lz_orbit_find_period(&r, 4, 1e-9);
  assert_int_not_equal(op.period, 2);
  assert_int_equal(op.period, 0);
  assert_true(op.residual > 1e-3);
}

static void find_period_should_follow_the_tolerance(void **state) {
  (void)state;
  double storage[2 * 4];
  lz_orbit_ring r;
  lz_orbit_ring_init(&r, 1, 4, storage);
  for (int k = 0; k < 8; ++k) {
    double x = (k % 2 ? 1.0 : -1.0) + 1e-7 * k;  /* period 2 up to a drift of 2e-7 per cycle */
    lz_orbit_ring_push(&r, &x);
  }
  assert_int_equal(lz_orbit_find_period(&r, 4, 1e-9).period, 0);
  assert_int_equal(lz_orbit_find_period(&r, 4, 1e-6).period, 2);
}

/* ---- Lyapunov exponents ------------------------------------------------------------------- */

static double tangent_exponent_at(const lz_problem *p, const double *x, double h, int64_t T,
                                  int64_t N, int project) {
  double *storage = malloc(lz_tangent_len(p) * sizeof(double));
  double *work = malloc((lz_problem_work_len(p) + 1) * sizeof(double));
  lz_tangent t;
  lz_tangent_init(&t, p, 7, T, N, project, storage);
  while (lz_tangent_wants_step(&t)) lz_tangent_step(&t, p, x, h, work);
  double e = lz_tangent_exponent(&t);
  free(storage);
  free(work);
  return e;
}

static void lyapunov_of_a_quadratic_should_be_max_log_of_one_minus_h_lambda(void **state) {
  (void)state;
  const double lambda[] = {1.0, 0.3, 2.5, 0.01};
  lz_problem_params pp = {
      .kind = LZ_PROBLEM_QUADRATIC, .quadratic.eigenvalues = lambda, .quadratic.n_eigenvalues = 4};
  lz_problem *p = make_problem(&pp);
  const double x[] = {0.3, -1.0, 2.0, 0.5};
  /* h = 0.1: the slowest mode wins; 0.7: the stiffest (|1 - 1.75| = 0.75); 0.9: diverging. */
  const double hs[] = {0.1, 0.5, 0.7, 0.79, 0.9};
  for (size_t i = 0; i < sizeof hs / sizeof hs[0]; ++i) {
    double expect = -HUGE_VAL;
    for (int j = 0; j < 4; ++j) expect = fmax(expect, log(fabs(1.0 - hs[i] * lambda[j])));
    double got = tangent_exponent_at(p, x, hs[i], 2000, 1000, 0);
    if (!(fabs(got - expect) <= 1e-10)) fprintf(stderr, "h %g: %.15g vs %.15g\n", hs[i], got, expect);
    assert_true(fabs(got - expect) <= 1e-10);
  }
  lz_problem_destroy(&p);
}

static void lyapunov_of_a_converged_quadratic_run_should_match_the_closed_form(void **state) {
  (void)state;
  lz_job *job = parse("problem: {kind: quadratic, eigenvalues: [1.0, 0.3, 2.5]}\n"
                      "init: {kind: point, x: [1.0, -2.0, 0.5]}\n"
                      "lr: {values: [0.2, 0.5, 0.7]}\n"
                      "run: {max_iter: 5000, tol_grad: 1.0e-10}\n");
  lz_run_result *res = run_job(job);
  const double lambda[] = {1.0, 0.3, 2.5};
  for (int64_t r = 0; r < job->nruns; ++r) {
    double h = lr_of(job, r), expect = -HUGE_VAL;
    for (int j = 0; j < 3; ++j) expect = fmax(expect, log(fabs(1.0 - h * lambda[j])));
    assert_int_equal(res[r].status, LZ_STATUS_CONVERGED);
    assert_true(res[r].lyapunov < 0);  /* an isolated minimum attracts */
    assert_true(fabs(res[r].lyapunov - expect) <= 1e-10);
    /* at the fixed point the power iteration settles long before the 2000-step window ends */
    assert_true(res[r].lyapunov_steps > 0 && res[r].lyapunov_steps < 1000);
  }
  free(res);
  lz_job_destroy(&job);
}

static void lyapunov_should_be_negative_at_an_isolated_minimum_of_a_double_well(void **state) {
  (void)state;
  /* f1 varies slowly here (eps = 1): a smooth objective whose minimum near x = 1 is isolated. */
  lz_job *job = parse("problem: {kind: multiscale, f0: double_well, eps: 1.0, amplitude: 0.01}\n"
                      "init: {kind: point, x: [[0.5], [1.7]]}\n"
                      "lr: {values: [0.1, 0.4]}\n"
                      "run: {max_iter: 20000, tol_grad: 1.0e-12}\n");
  lz_run_result *res = run_job(job);
  for (int64_t r = 0; r < job->nruns; ++r) {
    assert_int_equal(res[r].status, LZ_STATUS_CONVERGED);
    assert_true(res[r].lyapunov < -1e-3);
    /* At a 1-D fixed point the exponent is ln|1 - h f''(x*)|; f'' = sharpness_final. */
    double expect = log(fabs(1.0 - res[r].h * res[r].sharpness_final));
    assert_true(fabs(res[r].lyapunov - expect) <= 1e-8);
  }
  free(res);
  lz_job_destroy(&job);
}

/* Eigenvalues of the Hessian assembled from Hessian-vector products (ascending). */
static void hessian_eigenvalues(const lz_problem *p, const double *x, double *w) {
  int n = (int)lz_problem_dim(p), lwork = 8 * n + 64, info = 0;
  double *H = calloc((size_t)n * n, sizeof *H), *e = calloc((size_t)n, sizeof *e);
  double *pw = malloc((lz_problem_work_len(p) + 1) * sizeof *pw), *wk = malloc((size_t)lwork * sizeof *wk);
  for (int j = 0; j < n; ++j) {
    e[j] = 1.0;
    lz_problem_hvp(p, x, e, H + (size_t)j * n, pw);
    e[j] = 0.0;
  }
  dsyev_("N", "U", &n, H, &n, w, wk, &lwork, &info, 1, 1);
  assert_int_equal(info, 0);
  free(H), free(e), free(pw), free(wk);
}

static void mf_lyapunov_should_vanish_along_the_minimizers_and_not_across_them(void **state) {
  (void)state;
  /* At a minimizer of 1/2 |A - X Y^T|^2 the Hessian is zero along the d^2 directions
   * (X A, -Y A^T): the full exponent is ln|1 - h 0| = 0, the transverse one
   * max over the other eigenvalues of ln|1 - h lambda|. */
  lz_job *job = parse("problem: {kind: mf, n: 4, d: 2, target: {kind: gaussian}}\n"
                      "init: {kind: gaussian, scale: 0.5, replicas: 3}\n"
                      "lr: {values: [0.05, 0.1]}\n"
                      "run: {max_iter: 200000, tol_grad: 1.0e-12}\n");
  lz_run_result *res = run_job(job);
  lz_problem_params pp = {.kind = LZ_PROBLEM_MF,
                          .mf.n = 4,
                          .mf.d = 2,
                          .mf.target = LZ_TARGET_GAUSSIAN,
                          .mf.target_scale = 1.0};
  lz_problem *p = make_problem_with_seed(&pp, job->seed);  /* the job's target matrix */
  for (int64_t r = 0; r < job->nruns; ++r) {
    assert_int_equal(res[r].status, LZ_STATUS_CONVERGED);
    assert_true(fabs(res[r].lyapunov) < 1e-6);
    assert_true(res[r].lyapunov_transverse < -1e-3);
    assert_true(res[r].lyapunov_transverse <= res[r].lyapunov + 1e-12);
  }
  /* Compare one run with the spectrum at its limit point, recomputed here by running GD. */
  double x[16], g[16], w[16];
  double *pw = malloc((lz_problem_work_len(p) + 1) * sizeof *pw);
  size_t idx[LZ_MAX_AXES];
  lz_job_run_coords(job, 1, idx);
  lz_job_initial_point(job, idx, &pp, x);
  double h = lr_of(job, 1);
  for (int64_t k = 0; k < res[1].iterations; ++k) {
    lz_problem_value_grad(p, x, g, pw);
    for (int i = 0; i < 16; ++i) x[i] -= h * g[i];
  }
  hessian_eigenvalues(p, x, w);
  int zeros = 0;
  double transverse = -HUGE_VAL;
  for (int i = 0; i < 16; ++i) {
    if (fabs(w[i]) < 1e-8 * w[15]) {
      ++zeros;
      continue;
    }
    transverse = fmax(transverse, log(fabs(1.0 - h * w[i])));
  }
  assert_int_equal(zeros, 4);  /* d^2 flat directions */
  assert_true(fabs(res[1].lyapunov_transverse - transverse) <= 1e-6);
  free(pw);
  lz_problem_destroy(&p);
  free(res);
  lz_job_destroy(&job);
}

static void kong_tao_multiscale_gd_should_be_chaotic_with_exponent_near_log_h_over_2eps(void **state) {
  (void)state;
  lz_job *job = parse("problem: {kind: multiscale, f0: quadratic, eps: 1.0e-3}\n"
                      "init: {kind: gaussian, scale: 1.0, replicas: 4}\n"
                      "lr: {values: [0.1]}\n"
                      "run: {max_iter: 20000, tol_grad: 1.0e-12}\n"
                      "analyze: {lyapunov: {iters: 10000, transient: 100}}\n");
  lz_run_result *res = run_job(job);
  for (int64_t r = 0; r < job->nruns; ++r) {
    assert_int_equal(res[r].status, LZ_STATUS_CHAOTIC);
    /* |d x_(k+1) / d x_k| = |1 - h (1 - sin(x/eps)/eps)| ~ (h/eps)|sin|: mean log is
     * ln(h/eps) + E ln|sin| = ln(h/eps) - ln 2 = ln(h / (2 eps)). */
    assert_true(fabs(res[r].lyapunov - log(0.1 / 2e-3)) < 0.05);
  }
  free(res);
  lz_job_destroy(&job);
}

/* ---- known dynamics ----------------------------------------------------------------------- */

static void x_squared_should_converge_oscillate_and_diverge_at_the_known_steps(void **state) {
  (void)state;
  lz_job *job = parse("problem: {kind: quadratic, eigenvalues: [1.0]}\n"
                      "init: {kind: point, x: [1.0]}\n"
                      "lr: {values: [0.5, 1.5, 2.5]}\n"
                      "run: {max_iter: 2000, tol_grad: 1.0e-10, record_every: 1}\n");
  lz_run_result *res = run_job(job);
  assert_int_equal(res[0].status, LZ_STATUS_CONVERGED);
  assert_int_equal(res[1].status, LZ_STATUS_CONVERGED);
  assert_int_equal(res[2].status, LZ_STATUS_DIVERGED);
  assert_true(fabs(res[0].lyapunov - log(0.5)) < 1e-12);   /* monotone: 1 - h = +0.5 */
  assert_true(fabs(res[1].lyapunov - log(0.5)) < 1e-12);   /* oscillating: 1 - h = -0.5 */
  free(res);
  lz_job_destroy(&job);
}

static void one_minus_xy_squared_should_double_its_period_on_the_way_to_chaos(void **state) {
  (void)state;
  /* From starts near the diagonal (measured with a NumPy reference), period 2 for h in (1, ~1.23], period 4 near
   * 1.25, then doubling into chaos. Checked away from the bifurcation points. */
  lz_job *job = parse("problem: {kind: mf, n: 1, d: 1, target: {kind: scalar, mu: 1.0}}\n"
                      "init: {kind: point, x: [[1.2, 0.9], [0.9, 1.2], [1.05, 0.95]]}\n"
                      "lr: {values: [1.02, 1.1, 1.2, 1.25, 1.27, 1.29, 1.3, 1.33, 1.35]}\n"
                      "run: {max_iter: 200000, tol_grad: 1.0e-12}\n");
  lz_run_result *res = run_job(job);
  const int64_t expect[] = {2, 2, 2, 4, 4, 8, 16, -1, -1};  /* -1: chaotic */
  for (int64_t r = 0; r < job->nruns; ++r) {
    int64_t e = expect[r % 9];
    if (e > 0) {
      if (res[r].status != LZ_STATUS_PERIODIC || res[r].period != e)
        fprintf(stderr, "run %lld h %g: status %d period %lld\n", (long long)r, lr_of(job, r),
                res[r].status, (long long)res[r].period);
      assert_int_equal(res[r].status, LZ_STATUS_PERIODIC);
      assert_int_equal(res[r].period, e);
      assert_true(res[r].recurrence <= 1e-9);
      assert_true(res[r].lyapunov < 0);  /* a stable cycle attracts */
    } else {
      assert_int_equal(res[r].status, LZ_STATUS_CHAOTIC);
      assert_true(res[r].lyapunov > 0.01);
    }
  }
  free(res);
  lz_job_destroy(&job);
}

static void classification_should_not_change_under_a_1e_12_perturbation(void **state) {
  (void)state;
  /* Points well inside their basins, one of each status. */
#define PERTURBED_JOB(x, y)                                                    \
  "problem: {kind: mf, n: 1, d: 1, target: {kind: scalar, mu: 1.0}}\n"         \
  "init: {kind: point, x: [[1.2, 0.9], [" x ", " y "]]}\n"                     \
  "lr: {values: [0.5, 1.1, 1.27, 1.35, 2.5]}\n"                                \
  "run: {max_iter: 100000, tol_grad: 1.0e-12}\n"
  /* the second point is the first moved by 1e-12 in each coordinate */
  const char *a = PERTURBED_JOB("1.2", "0.9"), *b = PERTURBED_JOB("1.200000000001", "0.899999999999");
  lz_job *ja = parse(a), *jb = parse(b);
  lz_run_result *ra = run_job(ja), *rb = run_job(jb);
  int seen[LZ_STATUS_COUNT] = {0};
  for (int64_t r = 0; r < 5; ++r) {
    assert_int_equal(ra[r].status, rb[5 + r].status);
    assert_int_equal(ra[r].period, rb[5 + r].period);
    seen[ra[r].status] = 1;
  }
  assert_true(seen[LZ_STATUS_CONVERGED] && seen[LZ_STATUS_PERIODIC] && seen[LZ_STATUS_CHAOTIC] &&
              seen[LZ_STATUS_DIVERGED]);
  free(ra), free(rb);
  lz_job_destroy(&ja), lz_job_destroy(&jb);
}

/* ---- sharpness and balance ---------------------------------------------------------------- */

static void converged_mf_runs_should_sit_at_linearly_stable_minimizers(void **state) {
  (void)state;
  lz_job *job = parse("problem: {kind: mf, n: [1, 3, 6], d: [1, 2], target: {kind: gaussian}}\n"
                      "init: {kind: gaussian, scale: 0.5, imbalance: [1, 9], replicas: 3}\n"
                      "lr: {values: {linspace: [0.2, 1.95, 8]}, relative_to: two_over_L}\n"
                      "run: {max_iter: 100000, tol_grad: 1.0e-10}\n");
  lz_run_result *res = run_job(job);
  int converged = 0, beyond_2_over_l = 0;
  for (int64_t r = 0; r < job->nruns; ++r) {
    if (res[r].status != LZ_STATUS_CONVERGED) continue;
    ++converged;
    beyond_2_over_l += lr_of(job, r) > 1.0;
    assert_true(fabs(res[r].sharpness_h - res[r].sharpness_final * res[r].h) <= 1e-15 * res[r].sharpness_h);
    assert_true(res[r].sharpness_h <= 2.0 + 1e-6);
  }
  assert_true(converged > 100 && beyond_2_over_l > 20);
  free(res);
  lz_job_destroy(&job);
}

static void large_steps_should_balance_the_scalar_factorization(void **state) {
  (void)state;
  /* (1 - xy)^2 / 2 from (9, 1): L ~ 84. Converged runs with 2/L < h < 4/L end far more
   * balanced (|x^2 - y^2|) than runs with h < 2/L, and all satisfy x^2 + y^2 <= 2/h. */
  lz_job *job = parse("problem: {kind: mf, n: 1, d: 1, target: {kind: scalar, mu: 1.0}}\n"
                      "init: {kind: point, x: [9.0, 1.0]}\n"
                      "lr: {values: {linspace: [0.05, 1.99, 120]}, relative_to: two_over_L}\n"
                      "run: {max_iter: 200000, tol_grad: 1.0e-12}\n");
  lz_run_result *res = run_job(job);
  double small_min = HUGE_VAL, large_sum = 0, small_sum = 0;
  int nsmall = 0, nlarge = 0;
  for (int64_t r = 0; r < job->nruns; ++r) {
    if (res[r].status != LZ_STATUS_CONVERGED) continue;
    double nx = res[r].norm_x, ny = res[r].norm_y, h = res[r].h;
    assert_true(nx * nx + ny * ny <= 2.0 / h * (1 + 1e-9));
    double imbalance = res[r].balance;  /* |x^2 - y^2| for n = d = 1 */
    if (lr_of(job, r) < 1.0) {
      small_min = fmin(small_min, imbalance);
      small_sum += imbalance, ++nsmall;
    } else {
      large_sum += imbalance, ++nlarge;
    }
  }
  assert_true(nsmall > 40 && nlarge > 40);
  double small_mean = small_sum / nsmall, large_mean = large_sum / nlarge;
  fprintf(stderr, "mean |x^2 - y^2|: h < 2/L %.3g (min %.3g), 2/L < h < 4/L %.3g\n", small_mean,
          small_min, large_mean);
  assert_true(large_mean < 0.5 * small_mean);
  free(res);
  lz_job_destroy(&job);
}

/* ---- modified equations ------------------------------------------------------------------- */

static double one_step_error(const lz_problem *p, const double *x0, double h, int order) {
  double drift[3];
  double *work = malloc(lz_modeq_work_len(p) * sizeof *work);
  lz_modeq_drift(p, x0, h, 1, 64, 1u << order, drift, work);
  free(work);
  return drift[order];
}

static void one_step_errors_should_scale_as_h2_h3_h4_for_orders_0_1_2(void **state) {
  (void)state;
  lz_problem_params pp = {
      .kind = LZ_PROBLEM_MF, .mf.n = 1, .mf.d = 1, .mf.target = LZ_TARGET_SCALAR, .mf.mu = 1.0};
  lz_problem *p = make_problem(&pp);
  const double x0[] = {1.5, 0.2};
  const double hs[] = {0.004, 0.008, 0.016, 0.032, 0.064};
  const int n = 5;
  for (int order = 0; order <= 2; ++order) {
    /* least-squares slope of log error against log h */
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; ++i) {
      double lx = log(hs[i]), ly = log(one_step_error(p, x0, hs[i], order));
      sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
    }
    double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    fprintf(stderr, "order %d: one-step error ~ h^%.3f\n", order, slope);
    assert_true(fabs(slope - (order + 2)) < 0.1);
  }
  lz_problem_destroy(&p);
}

static void order_one_should_beat_order_zero_at_medium_h_and_all_should_fail_at_large_h(void **state) {
  (void)state;
  lz_problem_params pp = {
      .kind = LZ_PROBLEM_MF, .mf.n = 1, .mf.d = 1, .mf.target = LZ_TARGET_SCALAR, .mf.mu = 1.0};
  lz_problem *p = make_problem(&pp);
  const double x0[] = {1.5, 0.2}, near_diagonal[] = {1.2, 0.9};
  double *work = malloc(lz_modeq_work_len(p) * sizeof *work);
  double medium[3], large[3];
  lz_modeq_drift(p, x0, 0.1, 100, 32, 7u, medium, work);
  /* h = 1.25: GD stays bounded on a period-4 orbit, which no flow can follow */
  lz_modeq_drift(p, near_diagonal, 1.25, 100, 64, 7u, large, work);
  fprintf(stderr, "h = 0.1: %.3g %.3g %.3g; h = 1.25: %.3g %.3g %.3g\n", medium[0], medium[1],
          medium[2], large[0], large[1], large[2]);
  assert_true(medium[1] < 0.2 * medium[0]);
  assert_true(medium[2] < medium[1]);
  for (int k = 0; k < 3; ++k) assert_true(large[k] > 0.1 && isfinite(large[k]));
  free(work);
  lz_problem_destroy(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(find_period_should_return_the_minimal_period_not_a_multiple),
      cmocka_unit_test(find_period_should_reject_an_orbit_that_repeats_only_at_one_point),
      cmocka_unit_test(find_period_should_follow_the_tolerance),
      cmocka_unit_test(lyapunov_of_a_quadratic_should_be_max_log_of_one_minus_h_lambda),
      cmocka_unit_test(lyapunov_of_a_converged_quadratic_run_should_match_the_closed_form),
      cmocka_unit_test(lyapunov_should_be_negative_at_an_isolated_minimum_of_a_double_well),
      cmocka_unit_test(mf_lyapunov_should_vanish_along_the_minimizers_and_not_across_them),
      cmocka_unit_test(kong_tao_multiscale_gd_should_be_chaotic_with_exponent_near_log_h_over_2eps),
      cmocka_unit_test(x_squared_should_converge_oscillate_and_diverge_at_the_known_steps),
      cmocka_unit_test(one_minus_xy_squared_should_double_its_period_on_the_way_to_chaos),
      cmocka_unit_test(classification_should_not_change_under_a_1e_12_perturbation),
      cmocka_unit_test(converged_mf_runs_should_sit_at_linearly_stable_minimizers),
      cmocka_unit_test(large_steps_should_balance_the_scalar_factorization),
      cmocka_unit_test(one_step_errors_should_scale_as_h2_h3_h4_for_orders_0_1_2),
      cmocka_unit_test(order_one_should_beat_order_zero_at_medium_h_and_all_should_fail_at_large_h),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
