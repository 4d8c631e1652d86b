#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lrzoo/analysis.h"
#include "lrzoo/gd.h"
#include "lrzoo/lanczos.h"
#include "lrzoo/problem.h"

static lz_problem *create_or_fail(const lz_problem_params *pp) {
  lz_problem *p = NULL;
  lz_err err;
  assert_int_equal(lz_problem_create(pp, 0, NULL, &p, &err), LZ_OK);
  return p;
}

static lz_problem *make_quadratic(const double *lambda, size_t n) {
  lz_problem_params pp;
  memset(&pp, 0, sizeof pp);
  pp.kind = LZ_PROBLEM_QUADRATIC;
  pp.quadratic.eigenvalues = lambda;
  pp.quadratic.n_eigenvalues = n;
  return create_or_fail(&pp);
}

static lz_gd_outcome run_gd(const lz_problem *p, double h, int64_t max_iter, double tol,
                            double *x, double *trace) {
  double *work = malloc(lz_gd_work_len(p) * sizeof *work);
  lz_gd_params gp = {h, max_iter, tol, 1e12, 1, NULL};
  lz_gd_outcome out;
  assert_int_equal(lz_gd_run(p, &gp, x, trace, &out, work, NULL), LZ_OK);
  free(work);
  return out;
}

static void gd_on_a_quadratic_should_follow_the_closed_form_to_1e_12(void **state) {
  (void)state;
  const double lambda[] = {1.0, 0.3, 2.5, 1e-3};
  const double x0[] = {1.0, -2.0, 0.5, 3.0};
  const double h = 0.5;
  const int64_t K = 200;
  lz_problem *p = make_quadratic(lambda, 4);
  double x[4], trace[K + 1];
  memcpy(x, x0, sizeof x);
  lz_gd_outcome out = run_gd(p, h, K, 0.0, x, trace);
  assert_int_equal(out.end, LZ_GD_MAX_ITER);
  assert_int_equal(out.iterations, K);
  assert_int_equal(out.records, K + 1);
  for (int i = 0; i < 4; ++i) {
    double expect = pow(1.0 - h * lambda[i], (double)K) * x0[i];
    assert_true(fabs(x[i] - expect) <= 1e-12 * fabs(expect) + 1e-300);
  }
  for (int64_t k = 0; k <= K; ++k) {
    double f = 0;
    for (int i = 0; i < 4; ++i) {
      double xi = pow(1.0 - h * lambda[i], (double)k) * x0[i];
      f += 0.5 * lambda[i] * xi * xi;
    }
    assert_true(fabs(trace[k] - f) <= 1e-12 * f);
  }
  lz_problem_destroy(&p);
}

static void step_half_on_x_squared_should_converge_monotonically(void **state) {
  (void)state;
  const double one = 1.0;
  lz_problem *p = make_quadratic(&one, 1);
  double prev = 1.0;
  for (int64_t k = 1; k <= 40; ++k) {
    double x = 1.0;
    run_gd(p, 0.5, k, 0.0, &x, NULL);
    assert_true(x > 0.0 && x < prev);  /* same sign, shrinking */
    prev = x;
  }
  double x = 1.0;
  lz_gd_outcome out = run_gd(p, 0.5, 1000, 1e-10, &x, NULL);
  assert_int_equal(out.end, LZ_GD_CONVERGED);
  /* |x_k| = 0.5^k < 1e-10 first at k = 34 */
  assert_int_equal(out.iterations, 34);
  lz_problem_destroy(&p);
}

static void step_one_and_a_half_on_x_squared_should_converge_with_alternating_sign(void **state) {
  (void)state;
  const double one = 1.0;
  lz_problem *p = make_quadratic(&one, 1);
  double prev = 1.0;
  for (int64_t k = 1; k <= 40; ++k) {
    double x = 1.0;
    run_gd(p, 1.5, k, 0.0, &x, NULL);
    assert_true(x * prev < 0.0);           /* sign flips every step */
    assert_true(fabs(x) < fabs(prev));     /* and the size shrinks */
    prev = x;
  }
  double x = 1.0;
  lz_gd_outcome out = run_gd(p, 1.5, 1000, 1e-10, &x, NULL);
  assert_int_equal(out.end, LZ_GD_CONVERGED);
  lz_problem_destroy(&p);
}

static void step_two_and_a_half_on_x_squared_should_diverge_at_the_predicted_step(void **state) {
  (void)state;
  const double one = 1.0;
  lz_problem *p = make_quadratic(&one, 1);
  double x = 1.0, trace[1001];
  lz_gd_outcome out = run_gd(p, 2.5, 1000, 1e-10, &x, trace);
  assert_int_equal(out.end, LZ_GD_DIVERGED);
  /* |x_k| = 1.5^k: the loss x^2/2 first exceeds 1e12 at the smallest k with
   * 1.5^(2k)/2 > 1e12 (the state bound |x| > 1e12 comes later). */
  int64_t k = 0;
  while (0.5 * pow(1.5, 2.0 * (double)k) <= 1e12) ++k;
  assert_int_equal(out.iterations, k);
  /* The reported state is the last one inside the bounds, and nothing is NaN. */
  assert_true(isfinite(out.loss) && out.loss <= 1e12);
  assert_true(fabs(fabs(x) - pow(1.5, (double)(k - 1))) <= 1e-9 * fabs(x));
  for (int64_t i = 0; i < out.records; ++i) assert_true(isfinite(trace[i]));
  assert_int_equal(out.records, k);
  lz_problem_destroy(&p);
}

static void an_overflow_to_infinity_should_be_reported_as_diverged_without_nan(void **state) {
  (void)state;
  const double one = 1.0;
  lz_problem *p = make_quadratic(&one, 1);
  double x = 1.0;
  lz_gd_outcome out = run_gd(p, 1e308, 100, 1e-10, &x, NULL);
  assert_int_equal(out.end, LZ_GD_DIVERGED);
  assert_int_equal(out.iterations, 1);
  assert_true(x == 1.0);
  assert_false(isnan(out.loss) || isnan(out.grad_norm));
  lz_problem_destroy(&p);
}

static void a_set_cancel_flag_should_stop_the_run_with_estopped(void **state) {
  (void)state;
  const double one = 1.0;
  lz_problem *p = make_quadratic(&one, 1);
  double *work = malloc(lz_gd_work_len(p) * sizeof *work);
  volatile sig_atomic_t cancel = 0;
  lz_gd_params gp = {0.5, 100000, 0.0, 1e12, 1000, &cancel};
  lz_gd_outcome out;
  double x = 1.0;
  assert_int_equal(lz_gd_run(p, &gp, &x, NULL, &out, work, NULL), LZ_OK);  /* not set: runs to the end */
  assert_int_equal(out.iterations, 100000);
  cancel = 1;
  x = 1.0;
  assert_int_equal(lz_gd_run(p, &gp, &x, NULL, &out, work, NULL), LZ_ESTOPPED);
  free(work);
  lz_problem_destroy(&p);
}

/* The state trace on a 2-D quadratic: x_k = (1 - h lambda_i)^k x0_i, exactly (powers of 1/2 and
 * of -1/2), every 3rd step, with a third requested coordinate past the dimension left alone. */
static void the_state_trace_should_hold_the_iterates_at_the_recorded_steps(void **state) {
  (void)state;
  const double lambda[2] = {1.0, 3.0};
  lz_problem *p = make_quadratic(lambda, 2);
  double *work = malloc(lz_gd_work_len(p) * sizeof *work);
  enum { COORDS = 3, STEPS = 30, EVERY = 3, ROWS = STEPS / EVERY + 1 };
  double xs[ROWS * COORDS];
  for (int i = 0; i < ROWS * COORDS; ++i) xs[i] = -7.0;
  lz_gd_observers obs;
  memset(&obs, 0, sizeof obs);
  obs.x_trace = xs, obs.x_coords = COORDS, obs.x_every = EVERY;
  double x[2] = {1.0, 1.0};
  lz_gd_params gp = {0.5, STEPS, 0.0, 1e12, EVERY, NULL};  /* factors 1/2 and -1/2 */
  lz_gd_outcome out;
  assert_int_equal(lz_gd_run(p, &gp, x, NULL, &out, work, &obs), LZ_OK);
  assert_int_equal(obs.x_records, ROWS);
  for (int r = 0; r < ROWS; ++r) {
    assert_true(xs[r * COORDS + 0] == ldexp(1.0, -EVERY * r));
    assert_true(xs[r * COORDS + 1] == ((EVERY * r) % 2 ? -1.0 : 1.0) * ldexp(1.0, -EVERY * r));
    assert_true(xs[r * COORDS + 2] == -7.0);
  }
  free(work);
  lz_problem_destroy(&p);
}


/* ---- the batched engine ---------------------------------------------------------------- */

enum { BATCH = 12, BATCH_DIM = 2 * 24 * 2, BATCH_MAX_ITER = 300, BATCH_EVERY = 7 };

static lz_problem *make_dense_mf(lz_activation act) {
  lz_problem_params pp;
  memset(&pp, 0, sizeof pp);
  pp.kind = LZ_PROBLEM_MF;
  pp.mf.n = 24;
  pp.mf.d = 2;
  pp.mf.activation = act;
  pp.mf.alpha = 0.2;
  pp.mf.target = LZ_TARGET_GAUSSIAN;
  pp.mf.target_scale = 1.0;
  return create_or_fail(&pp);
}

typedef struct batch_case {
  double x[BATCH][BATCH_DIM], trace[BATCH][BATCH_MAX_ITER / BATCH_EVERY + 1];
  double xs[BATCH][(BATCH_MAX_ITER / BATCH_EVERY + 1) * 3];
  double tangent_store[BATCH][2][2 * BATCH_DIM + 6 * 4 + 12 * 2 + 64];
  lz_tangent tangent[BATCH][2];
  lz_gd_observers obs[BATCH];
  lz_gd_outcome out[BATCH];
} batch_case;

/* Both tangents of every run (the full exponent and the transverse one) over the last 150
 * steps, averaging from step 180. */
static void watch_tangents(batch_case *c, const lz_problem *p) {
  for (int r = 0; r < BATCH; ++r) {
    for (int t = 0; t < 2; ++t) {
      assert_true(lz_tangent_len(p) <= sizeof c->tangent_store[r][t] / sizeof(double));
      lz_tangent_init(&c->tangent[r][t], p, 7, 30, 120, t == 1, c->tangent_store[r][t]);
      c->obs[r].tangents[t] = &c->tangent[r][t];
    }
    c->obs[r].tangent_from = BATCH_MAX_ITER - 150;
  }
}

/* Starts from small to large, step sizes from tiny to far beyond 2 / L, and one start out of
 * bounds: runs that converge, run to max_iter and diverge, at different steps. */
static void fill_batch_case(batch_case *c, double *h) {
  unsigned state = 12345;
  for (int r = 0; r < BATCH; ++r) {
    for (int i = 0; i < BATCH_DIM; ++i) {
      state = state * 1103515245u + 12345u;
      c->x[r][i] = (0.3 + 0.05 * r) * (((state >> 8) & 0xffff) / 32768.0 - 1.0);
    }
    h[r] = 0.1 + 0.06 * r;
    for (size_t k = 0; k < sizeof c->trace[r] / sizeof c->trace[r][0]; ++k) c->trace[r][k] = -1.0;
    memset(c->xs[r], 0, sizeof c->xs[r]);
    memset(&c->obs[r], 0, sizeof c->obs[r]);
    c->obs[r].x_trace = c->xs[r];
    c->obs[r].x_coords = 3;
    c->obs[r].x_every = BATCH_EVERY;
  }
  c->x[5][3] = 1e7;  /* beyond diverge_above: diverged at step 0 */
}

static void batch_should_end_every_run_bitwise_as_gd_run(void **state) {
  (void)state;
  for (int variant = 0; variant < 3; ++variant) {
    if (variant < 2) setenv("LRZOO_MF_PRODUCTS", "blas", 1);
    /* 0: BLAS products, 1: leaky_relu on Y, 2: lrzoo's own products (the default) */
    lz_problem *p = make_dense_mf(variant == 1 ? LZ_ACT_LEAKY_RELU : LZ_ACT_NONE);
    unsetenv("LRZOO_MF_PRODUCTS");
    assert_true(lz_problem_batch_max(p) >= BATCH);
    static batch_case alone, together;
    double h[BATCH];
    fill_batch_case(&alone, h);
    fill_batch_case(&together, h);
    watch_tangents(&alone, p);
    watch_tangents(&together, p);
    lz_gd_params gp = {0.0, BATCH_MAX_ITER, 1e-4, 1e6, BATCH_EVERY, NULL};
    double *work = malloc(lz_gd_work_len(p) * sizeof *work);
    for (int r = 0; r < BATCH; ++r) {
      gp.h = h[r];
      assert_int_equal(lz_gd_run(p, &gp, alone.x[r], alone.trace[r], &alone.out[r], work,
                                 &alone.obs[r]), LZ_OK);
    }
    free(work);
    lz_gd_batch_run runs[BATCH];
    double *own = malloc(BATCH * 2 * BATCH_DIM * sizeof *own);
    for (int r = 0; r < BATCH; ++r) {
      runs[r].h = h[r];
      runs[r].work = own + r * 2 * BATCH_DIM;
      runs[r].x = together.x[r];
      runs[r].trace = together.trace[r];
      runs[r].obs = &together.obs[r];
    }
    work = malloc(lz_gd_batch_work_len(p, BATCH, 1) * sizeof *work);
    assert_int_equal(lz_gd_batch(p, &gp, BATCH, runs, work, NULL), LZ_OK);
    free(work);
    free(own);
    int ends[6] = {0};
    int64_t tangent_steps = 0;
    for (int r = 0; r < BATCH; ++r) {
      const lz_gd_outcome *a = &alone.out[r], *b = &runs[r].out;
      ends[a->end]++;
      assert_int_equal(a->end, b->end);
      assert_int_equal(a->iterations, b->iterations);
      assert_int_equal(a->records, b->records);
      assert_memory_equal(&a->loss, &b->loss, sizeof a->loss);
      assert_memory_equal(&a->grad_norm, &b->grad_norm, sizeof a->grad_norm);
      assert_memory_equal(alone.x[r], together.x[r], sizeof alone.x[r]);
      assert_memory_equal(alone.trace[r], together.trace[r], sizeof alone.trace[r]);
      assert_int_equal(alone.obs[r].x_records, together.obs[r].x_records);
      assert_memory_equal(alone.xs[r], together.xs[r], sizeof alone.xs[r]);
      for (int t = 0; t < 2; ++t) {
        const lz_tangent *ta = &alone.tangent[r][t], *tb = &together.tangent[r][t];
        assert_int_equal(ta->done, tb->done);
        assert_int_equal(ta->shift, tb->shift);
        assert_memory_equal(ta->v, tb->v, BATCH_DIM * sizeof *ta->v);
        assert_memory_equal(&ta->log_start, &tb->log_start, sizeof ta->log_start);
        tangent_steps += ta->done;
      }
    }
    /* the batch shrank at different steps: every kind of end occurs, at more than one step
     * (with leaky_relu no run converges to 1e-4 in 300 steps or diverges after step 0) */
    assert_true(ends[LZ_GD_DIVERGED] >= 1 && ends[LZ_GD_MAX_ITER] >= 1);
    if (variant != 1) assert_true(ends[LZ_GD_CONVERGED] >= 2 && ends[LZ_GD_DIVERGED] >= 2);
    assert_true(tangent_steps > 500);  /* the batched tangent products were compared */
    lz_problem_destroy(&p);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(gd_on_a_quadratic_should_follow_the_closed_form_to_1e_12),
      cmocka_unit_test(step_half_on_x_squared_should_converge_monotonically),
      cmocka_unit_test(step_one_and_a_half_on_x_squared_should_converge_with_alternating_sign),
      cmocka_unit_test(step_two_and_a_half_on_x_squared_should_diverge_at_the_predicted_step),
      cmocka_unit_test(an_overflow_to_infinity_should_be_reported_as_diverged_without_nan),
      cmocka_unit_test(a_set_cancel_flag_should_stop_the_run_with_estopped),
      cmocka_unit_test(the_state_trace_should_hold_the_iterates_at_the_recorded_steps),
      cmocka_unit_test(batch_should_end_every_run_bitwise_as_gd_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
