/* The lanes engine (src/core/gd_lanes.c, lanes_rows.c, lanes_drift.c) against the per-run
 * engine it must equal to the bit: every small problem it takes (the scalar factorization with
 * each activation, quadratics of dimension 1 to 16, every multiscale objective up to dimension
 * 16, networks of
 * width 1 to 5), with the traces and with the analyses it carries itself (orbit rings, both
 * tangents), any tolerance and bound, and the modified-equation drifts. */
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
#include "lrzoo/gd_lanes.h"
#include "lrzoo/lanczos.h"
#include "lrzoo/problem.h"

enum { TRACE_MAX = 1024, MAX_DIM = LZ_LANES_MAX_DIM, SEED = 99 };

static lz_problem *create_or_fail(const lz_problem_params *pp) {
  lz_problem *p = NULL;
  lz_err err;
  assert_int_equal(lz_problem_create(pp, 0, NULL, &p, &err), LZ_OK);
  return p;
}

static lz_problem *make_scalar_mf(double mu, lz_activation act, double alpha) {
  lz_problem_params pp;
  memset(&pp, 0, sizeof pp);
  pp.kind = LZ_PROBLEM_MF;
  pp.mf.n = pp.mf.d = 1;
  pp.mf.target = LZ_TARGET_SCALAR;
  pp.mf.mu = mu;
  pp.mf.activation = act;
  pp.mf.alpha = alpha;
  return create_or_fail(&pp);
}

static lz_problem *make_quadratic(int dim) {
  static const double lambda[MAX_DIM] = {1.0, 0.1, 2.0, -0.3, 0.7, 1.5, 0.01, 3.0,
                                         0.5, 1.1, -0.05, 0.9, 2.5, 0.2, 1.3, 0.6};
  lz_problem_params pp;
  memset(&pp, 0, sizeof pp);
  pp.kind = LZ_PROBLEM_QUADRATIC;
  pp.quadratic.eigenvalues = lambda;
  pp.quadratic.n_eigenvalues = (size_t)dim;
  return create_or_fail(&pp);
}

static lz_problem *make_multiscale(int dim, lz_f0_kind f0, lz_f1_kind f1) {
  lz_problem_params pp;
  memset(&pp, 0, sizeof pp);
  pp.kind = LZ_PROBLEM_MULTISCALE;
  pp.multiscale.dim = dim;
  pp.multiscale.f0 = f0;
  pp.multiscale.f1 = f1;
  pp.multiscale.eps = 0.05;
  pp.multiscale.amplitude = 0.05;
  pp.multiscale.ratio = 1.618;
  return create_or_fail(&pp);
}

static lz_problem *make_mlp(int width, lz_mlp_activation act) {
  lz_problem_params pp;
  memset(&pp, 0, sizeof pp);
  pp.kind = LZ_PROBLEM_MLP;
  pp.mlp.width = width;
  pp.mlp.points = 17;
  pp.mlp.activation = act;
  pp.mlp.sampling = LZ_DATA_GRID;
  pp.mlp.g0 = LZ_G0_SIN;
  pp.mlp.lo = -1.5;
  pp.mlp.hi = 1.5;
  pp.mlp.amplitude = 0.1;
  pp.mlp.eps = 0.05;
  return create_or_fail(&pp);
}

/* ---- one block through both engines ---------------------------------------------------- */

/* What watches the runs besides the loss and state traces. */
typedef struct analyses {
  int64_t max_period;           /* orbit ring of 2 max_period iterates; 0: none */
  int64_t transient, iters;     /* tangents (two where the problem has a symmetry); 0: none */
  int64_t sharpness_every;      /* 0: no sharpness trace */
} analyses;

/* One run's observers and their storage, as the runner sets them up. */
typedef struct watched {
  double loss[TRACE_MAX], states[2 * TRACE_MAX], sharp[TRACE_MAX];
  double ring_pts[2 * 64 * MAX_DIM], tangent_store[2][2 * MAX_DIM + 128];
  lz_orbit_ring ring;
  lz_tangent tangent[2];
  lz_gd_observers obs;
} watched;

static void watch(watched *w, const lz_problem *p, const lz_gd_params *gp, const analyses *an,
                  double *lanczos) {
  const size_t dim = lz_problem_dim(p);
  for (int k = 0; k < TRACE_MAX; ++k) w->loss[k] = w->sharp[k] = -7.0;
  for (int k = 0; k < 2 * TRACE_MAX; ++k) w->states[k] = -7.0;
  memset(w->ring_pts, 0, sizeof w->ring_pts);
  memset(&w->obs, 0, sizeof w->obs);
  w->obs.x_trace = w->states;
  w->obs.x_coords = 2;
  w->obs.x_every = gp->record_every;
  w->obs.seed = SEED;
  w->obs.lanczos_work = lanczos;
  if (an->sharpness_every > 0) {
    w->obs.sharpness = w->sharp;
    w->obs.sharpness_every = an->sharpness_every;
  }
  if (an->max_period > 0) {
    lz_orbit_ring_init(&w->ring, dim, an->max_period, w->ring_pts);
    w->obs.ring = &w->ring;
    w->obs.ring_from = gp->max_iter - 2 * an->max_period + 1;
  }
  if (an->iters > 0) {
    int tangents = lz_problem_has_symmetries(p) ? 2 : 1;
    for (int t = 0; t < tangents; ++t) {
      lz_tangent_init(&w->tangent[t], p, SEED, an->transient, an->iters, t == 1,
                      w->tangent_store[t]);
      w->obs.tangents[t] = &w->tangent[t];
    }
    int64_t from = gp->max_iter - an->transient - an->iters;
    w->obs.tangent_from = from > 0 ? from : 0;
  }
}

static void assert_same_tangent(const lz_tangent *a, const lz_tangent *b) {
  assert_memory_equal(a->v, b->v, a->dim * sizeof *a->v);
  assert_int_equal(a->done, b->done);
  assert_int_equal(a->shift, b->shift);
  assert_memory_equal(&a->log_start, &b->log_start, sizeof a->log_start);
  assert_int_equal(a->dead, b->dead);
  assert_int_equal(a->stopped, b->stopped);
  double ea = lz_tangent_exponent(a), eb = lz_tangent_exponent(b);
  assert_memory_equal(&ea, &eb, sizeof ea);
}

/* The ring of a run that reached max_iter (the only runs whose ring is read) holds exactly the
 * reference's points; of any other run, the same count and head (the slots past the head may
 * hold points of steps that a failed group took back). */
static void assert_same_ring(const lz_orbit_ring *a, const lz_orbit_ring *b, lz_gd_end end) {
  assert_int_equal(a->count, b->count);
  assert_int_equal(a->head, b->head);
  if (end == LZ_GD_MAX_ITER)
    assert_memory_equal(a->pts, b->pts, (size_t)a->cap * a->dim * sizeof *a->pts);
}

/* Lanes stopped inside the engine (after step 0, before until), over all comparisons. */
static int stopped_inside;

/* Every lane through the lanes engine up to `until`, then lz_gd_continue, against lz_gd_run
 * from the same start with the same observers: outcome, final state, every trace, the orbit
 * ring and the tangents must agree to the bit. x0 is count x dim. Returns how many lanes the
 * engine stopped early. */
static int compare_block(const lz_problem *p, const lz_gd_params *base, const analyses *an,
                         const double *x0, const double *h, int count, int64_t until) {
  const int dim = (int)lz_problem_dim(p);
  lz_lanes_problem lp;
  assert_true(lz_gd_lanes_problem(p, &lp));
  assert_int_equal(lp.dim, dim);
  static watched ref[LZ_LANES], got[LZ_LANES];
  double *lanczos = malloc(lz_sharpness_work_len(p) * sizeof *lanczos);
  double *work = malloc(lz_gd_work_len(p) * sizeof *work);
  lz_lanes *b = calloc(1, sizeof *b);
  b->count = count;
  b->x_coords = 2;
  b->sharpness_every = an->sharpness_every;
  b->lanczos_work = lanczos;
  b->seed = SEED;
  for (int i = 0; i < count; ++i) {
    lz_gd_params gp = *base;
    gp.h = h[i];
    watch(&ref[i], p, &gp, an, lanczos);
    watch(&got[i], p, &gp, an, lanczos);
    b->h[i] = h[i];
    for (int c = 0; c < dim; ++c) b->x[c][i] = x0[i * dim + c];
    b->trace[i] = got[i].loss;
    b->x_trace[i] = got[i].states;
    b->sharpness[i] = got[i].obs.sharpness;
    b->ring[i] = got[i].obs.ring;
    b->ring_from = got[i].obs.ring_from;
    b->tangents = got[i].obs.tangents[1] ? 2 : got[i].obs.tangents[0] ? 1 : 0;
    b->tangent[0][i] = got[i].obs.tangents[0];
    b->tangent[1][i] = got[i].obs.tangents[1];
    b->tangent_from = got[i].obs.tangent_from;
  }
  assert_int_equal(lz_gd_lanes_advance(&lp, base, until, b), LZ_OK);
  int early = 0;
  for (int i = 0; i < count; ++i) {
    lz_gd_params gp = *base;
    gp.h = h[i];
    double xr[MAX_DIM], xl[MAX_DIM], prev[MAX_DIM];
    for (int c = 0; c < dim; ++c) {
      xr[c] = x0[i * dim + c];
      xl[c] = b->x[c][i];
      prev[c] = b->px[c][i];
    }
    lz_gd_outcome want, have;
    assert_int_equal(lz_gd_run(p, &gp, xr, ref[i].loss, &want, work, &ref[i].obs), LZ_OK);
    got[i].obs.x_records = b->x_records[i];
    got[i].obs.sharpness_records = b->sharpness_records[i];
    lz_gd_resume from = {b->step[i], prev, b->records[i]};
    assert_int_equal(lz_gd_continue(p, &gp, &from, xl, got[i].loss, &have, work, &got[i].obs),
                     LZ_OK);
    early += b->step[i] < until;
    stopped_inside += b->step[i] > 0 && b->step[i] < until;
    assert_int_equal(have.end, want.end);
    assert_int_equal(have.iterations, want.iterations);
    assert_int_equal(have.records, want.records);
    assert_memory_equal(&have.loss, &want.loss, sizeof want.loss);
    assert_memory_equal(&have.grad_norm, &want.grad_norm, sizeof want.grad_norm);
    assert_memory_equal(xl, xr, (size_t)dim * sizeof *xr);
    assert_memory_equal(got[i].loss, ref[i].loss, sizeof ref[i].loss);
    assert_int_equal(got[i].obs.x_records, ref[i].obs.x_records);
    assert_memory_equal(got[i].states, ref[i].states, sizeof ref[i].states);
    assert_int_equal(got[i].obs.sharpness_records, ref[i].obs.sharpness_records);
    assert_memory_equal(got[i].sharp, ref[i].sharp, sizeof ref[i].sharp);
    if (ref[i].obs.ring) assert_same_ring(&got[i].ring, &ref[i].ring, want.end);
    for (int t = 0; t < 2; ++t)
      if (ref[i].obs.tangents[t]) assert_same_tangent(&got[i].tangent[t], &ref[i].tangent[t]);
  }
  free(b);
  free(work);
  free(lanczos);
  return early;
}

/* Starts of a block: coordinate c of lane i spread over [-scale, scale] by a fixed hash, and
 * step sizes from h_lo to h_hi. */
static void fill_block(int dim, double scale, double h_lo, double h_hi, unsigned seed,
                       double *x0, double *h) {
  for (int i = 0; i < LZ_LANES; ++i) {
    for (int c = 0; c < dim; ++c) {
      unsigned v = (unsigned)(i * 7 + c * 13 + (int)seed * 29) % 64u;
      x0[i * dim + c] = scale * (-1.0 + 2.0 * (double)((v * 37u + seed) % 64u) / 63.0);
    }
    h[i] = h_lo + (h_hi - h_lo) * (double)((i * 29 + (int)seed) % 64) / 63.0;
  }
}

/* The analyses the comparisons cycle through: none; the defaults' kind at small sizes (ring and
 * tangents, the tangents starting after step 0 and averaging from mid-run); and tangents from
 * step 0 with a sharpness trace. */
static const analyses analysis_cases[] = {
    {0, 0, 0, 0}, {8, 40, 60, 0}, {3, 0, 500, 37}};

/* The run settings the comparisons cycle through: record_every 1, 7, 100 (whole groups, and
 * groups cut short by trace steps); tolerances 0, 1e-10, 1e-300 (below what the squares can
 * hold) and 1e-6; bounds of 20, 1e6 and 1e300 (under which diverging lanes overflow to inf
 * and then NaN inside a group). */
static const lz_gd_params run_cases[] = {{0, 600, 1e-10, 1e6, 100, NULL},
                                         {0, 200, 1e-6, 20.0, 7, NULL},
                                         {0, 150, 0.0, 1e300, 1, NULL},
                                         {0, 600, 1e-300, 1e12, 300, NULL}};

static int compare_cases(const lz_problem *p, double scale, double h_lo, double h_hi,
                         unsigned seeds) {
  const int dim = (int)lz_problem_dim(p);
  static double x0[LZ_LANES * MAX_DIM];
  double h[LZ_LANES];
  int early = 0;
  for (unsigned seed = 0; seed < seeds; ++seed) {
    fill_block(dim, scale, h_lo, h_hi, seed, x0, h);
    for (size_t r = 0; r < sizeof run_cases / sizeof run_cases[0]; ++r) {
      const analyses *an = &analysis_cases[(r + seed) % 3];
      early += compare_block(p, &run_cases[r], an, x0, h, LZ_LANES, run_cases[r].max_iter);
      early += compare_block(p, &run_cases[r], an, x0, h, 37, run_cases[r].max_iter / 3);
    }
  }
  return early;
}

static void scalar_factorization_lanes_should_equal_gd_run_bitwise(void **state) {
  (void)state;
  const lz_activation acts[] = {LZ_ACT_NONE, LZ_ACT_RELU, LZ_ACT_LEAKY_RELU};
  stopped_inside = 0;
  for (int a = 0; a < 3; ++a) {
    lz_problem *p = make_scalar_mf(a == 0 ? 1.0 : 0.7, acts[a], 0.2);
    compare_cases(p, 2.5, 0.1, 2.0, 3);
    lz_problem_destroy(&p);
  }
  /* The comparison means something only if runs stopped inside the engine. */
  assert_true(stopped_inside > 100);
}

static void quadratic_lanes_should_equal_gd_run_bitwise_in_every_dimension(void **state) {
  (void)state;
  const int dims[] = {1, 2, 3, 5, 16};
  stopped_inside = 0;
  for (size_t d = 0; d < sizeof dims / sizeof dims[0]; ++d) {
    lz_problem *p = make_quadratic(dims[d]);
    compare_cases(p, 2.0, 0.05, 1.2, 2);
    lz_problem_destroy(&p);
  }
  assert_true(stopped_inside > 50);
}

static void multiscale_lanes_should_equal_gd_run_bitwise(void **state) {
  (void)state;
  struct { int dim; lz_f0_kind f0; lz_f1_kind f1; } toys[] = {
      {1, LZ_F0_QUADRATIC, LZ_F1_SINE},        {2, LZ_F0_QUADRATIC, LZ_F1_QUASIPERIODIC},
      {1, LZ_F0_DOUBLE_WELL, LZ_F1_QUASIPERIODIC}, {2, LZ_F0_DOUBLE_WELL, LZ_F1_SINE},
      {2, LZ_F0_MATYAS, LZ_F1_SINE},           {2, LZ_F0_MATYAS, LZ_F1_QUASIPERIODIC},
      {3, LZ_F0_DOUBLE_WELL, LZ_F1_SINE},      {7, LZ_F0_QUADRATIC, LZ_F1_QUASIPERIODIC},
      {16, LZ_F0_DOUBLE_WELL, LZ_F1_QUASIPERIODIC},
  };
  stopped_inside = 0;
  for (size_t t = 0; t < sizeof toys / sizeof toys[0]; ++t) {
    lz_problem *p = make_multiscale(toys[t].dim, toys[t].f0, toys[t].f1);
    compare_cases(p, 2.0, 0.1, 2.5, 2);
    lz_problem_destroy(&p);
  }
  assert_true(stopped_inside > 100);
}

static void network_lanes_should_equal_gd_run_bitwise(void **state) {
  (void)state;
  const int widths[] = {1, 3, 5};
  stopped_inside = 0;
  for (int a = 0; a < 2; ++a)
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; ++w) {
      lz_problem *p = make_mlp(widths[w], a == 0 ? LZ_MLP_TANH : LZ_MLP_RELU);
      compare_cases(p, 1.5, 0.05, 3.0, 1);
      lz_problem_destroy(&p);
    }
  assert_true(stopped_inside > 20);
}

/* The blobs variants (tests/test_objectives.c checks their derivatives): sin units, no
 * biases, listed points with weights and a far input, weight decay; each alone and together. */
static void network_variants_lanes_should_equal_gd_run_bitwise(void **state) {
  (void)state;
  static const double xs[] = {-1.0, -0.5, 0.0, 0.5, 1.0, 20.0};
  static const double ys[] = {-1.2, -0.8, 0.0, 0.8, 1.2, 0.3};
  static const double qs[] = {0.2, 0.2, 0.2, 0.2, 0.15, 0.05};
  stopped_inside = 0;
  for (int variant = 1; variant < 16; ++variant) {
    lz_problem_params pp;
    memset(&pp, 0, sizeof pp);
    pp.kind = LZ_PROBLEM_MLP;
    pp.mlp.width = variant & 8 ? 1 : 3;
    pp.mlp.activation = variant & 1 ? LZ_MLP_SIN : LZ_MLP_TANH;
    pp.mlp.without_biases = (variant & 2) != 0;
    pp.mlp.weight_decay = variant & 4 ? 0.01 : 0.0;
    pp.mlp.points = 6;
    pp.mlp.x = xs, pp.mlp.y = ys;
    pp.mlp.weight = variant & 8 ? qs : NULL;
    lz_problem *p = create_or_fail(&pp);
    lz_lanes_problem lp;
    assert_true(lz_gd_lanes_problem(p, &lp));  /* the lanes engine takes every variant */
    compare_cases(p, 1.0, 0.05, 2.5, 1);
    lz_problem_destroy(&p);
  }
  assert_true(stopped_inside > 20);
}

static void a_start_out_of_bounds_should_be_handed_over_at_step_zero(void **state) {
  (void)state;
  lz_problem *p = make_scalar_mf(1.0, LZ_ACT_NONE, 0.0);
  const double x0[3 * 2] = {NAN, 1.0, 2e6, 1.0, 1.0, INFINITY}, h[3] = {0.5, 0.5, 0.5};
  const lz_gd_params gp = {0, 100, 1e-10, 1e6, 10, NULL};
  const analyses an = {4, 10, 10, 0};
  assert_int_equal(compare_block(p, &gp, &an, x0, h, 3, 100), 3);
  lz_problem_destroy(&p);
}

static void a_lane_at_a_minimum_should_stop_for_the_exact_check(void **state) {
  (void)state;
  /* At x = y = 1 the gradient is exactly 0: the lane stops at step 0 and lz_gd_continue
   * reports convergence there. */
  lz_problem *p = make_scalar_mf(1.0, LZ_ACT_NONE, 0.0);
  const double x0[2] = {1.0, 1.0}, h[1] = {0.5};
  const lz_gd_params gp = {0, 100, 1e-10, 1e6, 10, NULL};
  const analyses an = {0, 0, 0, 0};
  assert_int_equal(compare_block(p, &gp, &an, x0, h, 1, 100), 1);
  lz_problem_destroy(&p);
}

/* No tolerance pushes a run out of the engine: (1 - xy)^2 / 2 at h = 1.25 from near the
 * diagonal settles on period-4 orbits, whose gradients are of order 1, and every lane must run
 * to the end in the engine for tol_grad 0, 1e-10, 1e-160 and 1e-300 alike. */
static void no_tolerance_should_stop_a_lane_whose_gradient_stays_large(void **state) {
  (void)state;
  lz_problem *p = make_scalar_mf(1.0, LZ_ACT_NONE, 0.0);
  double x0[LZ_LANES * 2], h[LZ_LANES];
  for (int i = 0; i < LZ_LANES; ++i) {
    x0[2 * i] = 0.8 + 0.3 * i / 63.0;
    x0[2 * i + 1] = 0.85 + 0.25 * i / 63.0;
    h[i] = 1.25;
  }
  const double tols[] = {0.0, 1e-10, 1e-160, 1e-300};
  const analyses an = {8, 100, 100, 0};
  for (int t = 0; t < 4; ++t) {
    const lz_gd_params gp = {0, 800, tols[t], 1e12, 800, NULL};
    assert_int_equal(compare_block(p, &gp, &an, x0, h, LZ_LANES, 800), 0);
  }
  lz_problem_destroy(&p);
}

/* ---- the modified equations ------------------------------------------------------------ */

static void drift_of_every_lane_should_equal_modeq_drift_bitwise(void **state) {
  (void)state;
  lz_problem *problems[] = {make_scalar_mf(1.0, LZ_ACT_NONE, 0.0),
                            make_scalar_mf(0.7, LZ_ACT_LEAKY_RELU, 0.2),
                            make_quadratic(5),
                            make_multiscale(2, LZ_F0_DOUBLE_WELL, LZ_F1_QUASIPERIODIC),
                            make_multiscale(1, LZ_F0_QUADRATIC, LZ_F1_SINE),
                            make_mlp(2, LZ_MLP_TANH)};
  int finite = 0;
  for (size_t k = 0; k < sizeof problems / sizeof problems[0]; ++k) {
    lz_problem *p = problems[k];
    const int dim = (int)lz_problem_dim(p);
    lz_lanes_problem lp;
    assert_true(lz_gd_lanes_problem(p, &lp));
    static double x0[LZ_LANES * MAX_DIM];
    double h[LZ_LANES], got[3][LZ_LANES];
    fill_block(dim, 1.5, 0.01, 1.2, (unsigned)k, x0, h);
    lz_lanes *b = calloc(1, sizeof *b);
    b->count = 50;
    for (int i = 0; i < b->count; ++i) {
      b->h[i] = h[i];
      for (int c = 0; c < dim; ++c) b->x[c][i] = x0[i * dim + c];
    }
    lz_gd_lanes_drift(&lp, b, 12, 3, 7u, got);
    double *work = malloc(lz_modeq_work_len(p) * sizeof *work);
    for (int i = 0; i < b->count; ++i) {
      double want[3];
      lz_modeq_drift(p, x0 + i * dim, h[i], 12, 3, 7u, want, work);
      for (int o = 0; o < 3; ++o) {
        assert_memory_equal(&got[o][i], &want[o], sizeof want[o]);
        finite += isfinite(want[o]);
      }
      for (int c = 0; c < dim; ++c) assert_true(b->x[c][i] == x0[i * dim + c]);
    }
    free(work);
    free(b);
    lz_problem_destroy(&p);
  }
  assert_true(finite > 500);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(scalar_factorization_lanes_should_equal_gd_run_bitwise),
      cmocka_unit_test(quadratic_lanes_should_equal_gd_run_bitwise_in_every_dimension),
      cmocka_unit_test(multiscale_lanes_should_equal_gd_run_bitwise),
      cmocka_unit_test(network_lanes_should_equal_gd_run_bitwise),
      cmocka_unit_test(network_variants_lanes_should_equal_gd_run_bitwise),
      cmocka_unit_test(a_start_out_of_bounds_should_be_handed_over_at_step_zero),
      cmocka_unit_test(a_lane_at_a_minimum_should_stop_for_the_exact_check),
      cmocka_unit_test(no_tolerance_should_stop_a_lane_whose_gradient_stays_large),
      cmocka_unit_test(drift_of_every_lane_should_equal_modeq_drift_bitwise),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
