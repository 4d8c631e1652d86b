/* Unit tests of the objectives: gradients and Hessian-vector products against finite
 * differences for every variant, closed forms, accuracy of the lowrank loss, equivalence of
 * the lowrank and dense paths, bitwise determinism across threads, target statistics and
 * create errors. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <omp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../src/core/problems/mf/mf_internal.h"
#include "../src/core/problem_internal.h"
#include "../src/core/problems/problems.h"
#include "../src/core/vmath.h"
#include "lrzoo/linalg.h"
#include "lrzoo/problem.h"
#include "lrzoo/rng.h"

static const uint64_t seed = 2022;
static const double singular_values[] = {3.0, 1.7, 0.6};

/* cmocka 1.1 compares floats only in single precision. */
#define assert_close(got, want, tol) assert_close_at((got), (want), (tol), #got, __LINE__)

static void assert_close_at(double got, double want, double tol, const char *expr, int line) {
  if (!(fabs(got - want) <= tol))
    fail_msg("line %d: %s = %.17g, expected %.17g within %g", line, expr, got, want, tol);
}

/* ---- instances --------------------------------------------------------------------- */

typedef struct instance {
  lz_problem *p;
  double *work;  /* exactly lz_problem_work_len doubles, so valgrind sees any overrun */
  size_t dim;
  char label[128];
} instance;

static double *new_doubles(size_t len) {
  double *v = malloc((len ? len : 1) * sizeof *v);
  assert_non_null(v);
  return v;
}

static instance open_instance(const lz_problem_params *pp, const double *target,
                              const char *label) {
  instance in = {0};
  lz_err err = {0};
  int rc = lz_problem_create(pp, seed, target, &in.p, &err);
  if (rc != LZ_OK) fail_msg("%s: create failed: %s", label, err.msg);
  in.dim = lz_problem_dim(in.p);
  in.work = new_doubles(lz_problem_work_len(in.p));
  snprintf(in.label, sizeof in.label, "%s", label);
  return in;
}

static void close_instance(instance *in) {
  lz_problem_destroy(&in->p);
  assert_null(in->p);
  free(in->work);
  in->work = NULL;
}

static lz_problem_params quadratic_params(size_t n, const double *eigenvalues) {
  lz_problem_params pp = {0};
  pp.kind = LZ_PROBLEM_QUADRATIC;
  pp.quadratic.n_eigenvalues = n;
  pp.quadratic.eigenvalues = eigenvalues;
  return pp;
}

static lz_problem_params mf_params(int64_t n, int64_t d, lz_target_kind target,
                                   lz_activation act) {
  lz_problem_params pp = {0};
  pp.kind = LZ_PROBLEM_MF;
  pp.mf.n = n;
  pp.mf.d = d;
  pp.mf.activation = act;
  pp.mf.alpha = 0.1;
  pp.mf.target = target;
  pp.mf.target_scale = 1.0;
  pp.mf.mu = 1.5;
  pp.mf.rank = n < 3 ? n : 3;
  pp.mf.n_singular_values = (size_t)pp.mf.rank;
  pp.mf.singular_values = singular_values;
  return pp;
}

static lz_problem_params multiscale_params(lz_f0_kind f0, lz_f1_kind f1, int dim, double eps) {
  lz_problem_params pp = {0};
  pp.kind = LZ_PROBLEM_MULTISCALE;
  pp.multiscale.f0 = f0;
  pp.multiscale.f1 = f1;
  pp.multiscale.dim = dim;
  pp.multiscale.eps = eps;
  pp.multiscale.amplitude = eps;
  pp.multiscale.ratio = 1.6180339887498949;
  return pp;
}

/* An n x n matrix of independent normals, for file targets. */
static double *random_matrix(size_t n, uint64_t stream) {
  double *a = new_doubles(n * n);
  lz_rng rng;
  lz_rng_init(&rng, seed, LZ_RNG_TEST, stream, 1);
  for (size_t i = 0; i < n * n; ++i) a[i] = lz_rng_normal(&rng) / sqrt((double)n);
  return a;
}

static instance open_mf(int64_t n, int64_t d, lz_target_kind target, lz_activation act) {
  char label[128];
  snprintf(label, sizeof label, "mf n=%lld d=%lld target=%s activation=%s", (long long)n,
           (long long)d, lz_target_kind_names[target], lz_activation_names[act]);
  lz_problem_params pp = mf_params(n, d, target, act);
  double *file = target == LZ_TARGET_FILE ? random_matrix((size_t)n, 5) : NULL;
  instance in = open_instance(&pp, file, label);
  free(file);  /* create copies it */
  return in;
}

/* ---- points and directions ----------------------------------------------------------- */

static void random_vector(uint64_t stream, double scale, double *x, size_t len) {
  lz_rng rng;
  lz_rng_init(&rng, seed, LZ_RNG_TEST, stream, 0);
  for (size_t i = 0; i < len; ++i) x[i] = scale * lz_rng_normal(&rng);
}

static void normalize(double *v, size_t len) {
  double norm = lz_norm2(v, len);
  for (size_t i = 0; i < len; ++i) v[i] /= norm;
}

/* Pushes entries at least margin away from 0, where relu and leaky_relu have their kink, so
 * that finite differences never straddle it. */
static void keep_away_from_kinks(double *y, size_t len, double margin) {
  for (size_t i = 0; i < len; ++i) y[i] = y[i] >= 0.0 ? y[i] + margin : y[i] - margin;
}

/* A random point of the instance; for mf, Y away from activation kinks. */
static double *random_point(const instance *in, uint64_t stream, double scale) {
  double *x = new_doubles(in->dim);
  random_vector(stream, scale, x, in->dim);
  if (lz_problem_params_of(in->p)->kind == LZ_PROBLEM_MF)
    keep_away_from_kinks(x + in->dim / 2, in->dim / 2, 0.2);
  return x;
}

static double norm_of_difference(const double *a, const double *b, size_t len) {
  double *diff = new_doubles(len);
  for (size_t i = 0; i < len; ++i) diff[i] = a[i] - b[i];
  double norm = lz_norm2(diff, len);
  free(diff);
  return norm;
}

static double relative_gap(const double *got, const double *want, size_t len) {
  double ref = lz_norm2(want, len);
  return norm_of_difference(got, want, len) / (ref > 0.0 ? ref : 1.0);
}

/* ---- finite differences -------------------------------------------------------------- */

/* (f(x + t v) - f(x - t v)) / 2t with the accurate value. */
static double directional_difference(instance *in, const double *x, const double *v,
                                     double t) {
  double *xp = new_doubles(in->dim);
  for (size_t i = 0; i < in->dim; ++i) xp[i] = x[i] + t * v[i];
  double fp = lz_problem_value(in->p, xp, in->work);
  for (size_t i = 0; i < in->dim; ++i) xp[i] = x[i] - t * v[i];
  double fm = lz_problem_value(in->p, xp, in->work);
  free(xp);
  return (fp - fm) / (2.0 * t);
}

enum { FULL_FD_MAX_DIM = 64, FD_DIRECTIONS = 6 };

/* Every coordinate for small dimensions; otherwise the gradient direction itself plus random
 * unit directions. The error is measured against ||grad f||. */
static void assert_gradient_matches_differences(instance *in, const double *x, double t,
                                                double tol) {
  size_t dim = in->dim;
  double *g = new_doubles(dim), *v = new_doubles(dim);
  lz_problem_value_grad(in->p, x, g, in->work);
  double gnorm = lz_norm2(g, dim), worst = 0.0;
  size_t directions = dim <= FULL_FD_MAX_DIM ? dim : FD_DIRECTIONS;
  for (size_t j = 0; j < directions; ++j) {
    if (dim <= FULL_FD_MAX_DIM) {
      memset(v, 0, dim * sizeof *v);
      v[j] = 1.0;
    } else if (j == 0) {
      memcpy(v, g, dim * sizeof *v);
      normalize(v, dim);
    } else {
      random_vector(100 + j, 1.0, v, dim);
      normalize(v, dim);
    }
    double gap = fabs(directional_difference(in, x, v, t) - lz_dot(g, v, dim));
    if (gap > worst) worst = gap;
  }
  double scale = dim <= FULL_FD_MAX_DIM ? sqrt((double)dim) : 1.0;  /* per-coordinate bound */
  if (worst * scale > tol * (gnorm > 1e-6 ? gnorm : 1e-6))
    fail_msg("%s: gradient differs from finite differences by %.3g relative", in->label,
             worst * scale / gnorm);
  free(g);
  free(v);
}

/* H v against (grad f(x + t v) - grad f(x - t v)) / 2t along random unit directions. */
static void assert_hvp_matches_differences(instance *in, const double *x, double t,
                                           double tol) {
  size_t dim = in->dim;
  double *v = new_doubles(dim), *hv = new_doubles(dim), *fd = new_doubles(dim);
  double *xs = new_doubles(dim), *gp = new_doubles(dim), *gm = new_doubles(dim);
  for (size_t j = 0; j < 3; ++j) {
    random_vector(200 + j, 1.0, v, dim);
    normalize(v, dim);
    lz_problem_hvp(in->p, x, v, hv, in->work);
    for (size_t i = 0; i < dim; ++i) xs[i] = x[i] + t * v[i];
    lz_problem_value_grad(in->p, xs, gp, in->work);
    for (size_t i = 0; i < dim; ++i) xs[i] = x[i] - t * v[i];
    lz_problem_value_grad(in->p, xs, gm, in->work);
    for (size_t i = 0; i < dim; ++i) fd[i] = (gp[i] - gm[i]) / (2.0 * t);
    double gap = relative_gap(hv, fd, dim);
    if (gap > tol)
      fail_msg("%s: Hessian-vector product differs from finite differences by %.3g relative",
               in->label, gap);
  }
  free(v), free(hv), free(fd), free(xs), free(gp), free(gm);
}

static void assert_value_agrees_with_value_grad(instance *in, const double *x, double tol) {
  double *g = new_doubles(in->dim);
  double f = lz_problem_value(in->p, x, in->work);
  double fg = lz_problem_value_grad(in->p, x, g, in->work);
  if (fabs(f - fg) > tol * fabs(f))
    fail_msg("%s: value %.17g and value_grad's f %.17g differ", in->label, f, fg);
  free(g);
}

/* ---- mf variants ------------------------------------------------------------------- */

/* Tiny shapes (n = d = 1, n < d); the row kernel (d <= 32) with one chunk, and with 16 chunks
 * (n^2 d >= 262144); BLAS row blocks (d > 32) with products small enough for plain loops, with
 * two blocks in one chunk, and with 16 chunks. */
static const int64_t mf_shapes[][2] = {{1, 1},  {2, 3},   {5, 2},   {8, 8},  {3, 40},
                                       {9, 2},  {40, 3},  {130, 4}, {300, 3}, {80, 34},
                                       {130, 34}};
/* Large enough for the row kernel to sweep several column tiles (run for fewer variants). */
static const int64_t tiled_shape[2] = {600, 8};
static const lz_target_kind dense_and_lowrank[] = {LZ_TARGET_GAUSSIAN, LZ_TARGET_IDENTITY,
                                                   LZ_TARGET_LOWRANK, LZ_TARGET_FILE};
static const lz_activation activations[] = {LZ_ACT_NONE, LZ_ACT_RELU, LZ_ACT_LEAKY_RELU};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef void variant_check(instance *in, const double *x);

/* Runs check on every mf variant: each target and activation at every shape above, the
 * scalar target, and the tiled shape for the dense targets. */
static void for_every_mf_variant(variant_check *check) {
  for (size_t t = 0; t < COUNT(dense_and_lowrank); ++t)
    for (size_t a = 0; a < COUNT(activations); ++a)
      for (size_t s = 0; s < COUNT(mf_shapes); ++s) {
        instance in = open_mf(mf_shapes[s][0], mf_shapes[s][1], dense_and_lowrank[t],
                              activations[a]);
        double *x = random_point(&in, 10 + s, 0.7);
        check(&in, x);
        free(x);
        close_instance(&in);
      }
  for (size_t a = 0; a < COUNT(activations); ++a) {
    instance in = open_mf(1, 1, LZ_TARGET_SCALAR, activations[a]);
    double *x = random_point(&in, 3, 0.7);
    check(&in, x);
    free(x);
    close_instance(&in);
  }
  const lz_target_kind large_targets[] = {LZ_TARGET_GAUSSIAN, LZ_TARGET_IDENTITY,
                                          LZ_TARGET_FILE};
  for (size_t t = 0; t < COUNT(large_targets); ++t) {
    instance in = open_mf(tiled_shape[0], tiled_shape[1], large_targets[t], LZ_ACT_LEAKY_RELU);
    double *x = random_point(&in, 4, 0.7);
    check(&in, x);
    free(x);
    close_instance(&in);
  }
}

/* The shapes above must reach every evaluation path; this keeps them honest if the
 * thresholds in src/core/problems/mf change. */
static void mf_test_shapes_reach_every_evaluation_path(void **state) {
  int row_one_chunk = 0, row_chunks = 0, row_tiles = 0, blocks_two = 0, blocks_chunks = 0;
  for (size_t s = 0; s <= COUNT(mf_shapes); ++s) {
    const int64_t *shape = s < COUNT(mf_shapes) ? mf_shapes[s] : tiled_shape;
    instance in = open_mf(shape[0], shape[1], LZ_TARGET_GAUSSIAN, LZ_ACT_NONE);
    lz_mf_layout l = lz__mf_layout(lz__problem_state(in.p));
    row_one_chunk |= l.row_kernel && l.chunks == 1;
    row_chunks |= l.row_kernel && l.chunks > 1;
    row_tiles |= l.row_kernel && l.tiles > 1;
    blocks_two |= l.chunks == 1 && !l.row_kernel && l.blocks > 1;
    blocks_chunks |= l.chunks > 1 && !l.row_kernel;
    close_instance(&in);
  }
  assert_true(row_one_chunk && row_chunks && row_tiles && blocks_two && blocks_chunks);
  instance in = open_mf(1, 1, LZ_TARGET_SCALAR, LZ_ACT_NONE);
  assert_true(lz__mf_layout(lz__problem_state(in.p)).scalar);
  close_instance(&in);
  in = open_mf(5, 2, LZ_TARGET_LOWRANK, LZ_ACT_NONE);
  assert_true(lz__mf_layout(lz__problem_state(in.p)).lowrank);
  close_instance(&in);
}

static void check_gradient(instance *in, const double *x) {
  assert_gradient_matches_differences(in, x, 1e-5, 1e-6);
}

static void check_hvp(instance *in, const double *x) {
  assert_hvp_matches_differences(in, x, 1e-5, 1e-6);
}

static void check_value(instance *in, const double *x) {
  assert_value_agrees_with_value_grad(in, x, 1e-10);
}

/* The memory estimate sizes instances from their parameters, without building them. */
static void check_sizes_without_building(instance *in, const double *x) {
  lz_problem_sizes s;
  lz_problem_params_sizes(lz_problem_params_of(in->p), &s);
  if (s.dim != lz_problem_dim(in->p) || s.work_len != lz_problem_work_len(in->p) ||
      s.symmetry_work_len != lz_problem_symmetry_work_len(in->p))
    fail_msg("%s: sizes from the parameters (dim %zu, work %zu, symmetry %zu) differ from the "
             "instance's (%zu, %zu, %zu)", in->label, s.dim, s.work_len, s.symmetry_work_len,
             lz_problem_dim(in->p), lz_problem_work_len(in->p),
             lz_problem_symmetry_work_len(in->p));
  const lz_problem_params *pp = lz_problem_params_of(in->p);
  if (pp->kind == LZ_PROBLEM_MF &&
      (pp->mf.target == LZ_TARGET_GAUSSIAN || pp->mf.target == LZ_TARGET_FILE))
    assert_true(s.stored_bytes >= 8.0 * (double)pp->mf.n * (double)pp->mf.n);
}

static void sizes_from_parameters_match_the_built_instance(void **state) {
  for_every_mf_variant(check_sizes_without_building);
}

static void mf_gradient_matches_finite_differences_for_every_variant(void **state) {
  for_every_mf_variant(check_gradient);
}

static void mf_hvp_matches_finite_differences_for_every_variant(void **state) {
  for_every_mf_variant(check_hvp);
}

static void mf_value_agrees_with_value_grad_for_every_variant(void **state) {
  for_every_mf_variant(check_value);
}

/* ---- quadratic ----------------------------------------------------------------------- */

static void quadratic_gradient_is_lambda_times_x_and_hvp_lambda_times_v(void **state) {
  const double lambda[] = {2.0, 0.5, -1.0, 3.0};
  lz_problem_params pp = quadratic_params(4, lambda);
  instance in = open_instance(&pp, NULL, "quadratic");
  const double x[] = {1.0, -2.0, 0.25, 3.0}, v[] = {0.5, 1.0, -1.0, 2.0};
  double g[4], hv[4];
  double f = lz_problem_value_grad(in.p, x, g, in.work);
  assert_true(f == 0.5 * (2.0 * 1.0 + 0.5 * 4.0 - 1.0 * 0.0625 + 3.0 * 9.0));
  assert_true(lz_problem_value(in.p, x, in.work) == f);
  lz_problem_hvp(in.p, x, v, hv, in.work);
  for (size_t i = 0; i < 4; ++i) {
    assert_true(g[i] == lambda[i] * x[i]);
    assert_true(hv[i] == lambda[i] * v[i]);
  }
  assert_true(lz_problem_f0(in.p, x, in.work) == f);
  assert_true(lz_problem_sigma2(in.p) == 0.0);
  close_instance(&in);
}

static void quadratic_gradient_and_hvp_match_finite_differences(void **state) {
  const double lambda[] = {1.0, 0.1, 7.0};
  lz_problem_params pp = quadratic_params(3, lambda);
  instance in = open_instance(&pp, NULL, "quadratic");
  double *x = random_point(&in, 1, 1.0);
  assert_gradient_matches_differences(&in, x, 1e-5, 1e-6);
  assert_hvp_matches_differences(&in, x, 1e-5, 1e-6);
  free(x);
  close_instance(&in);
}

/* ---- multiscale ---------------------------------------------------------------------- */

static void multiscale_gradient_and_hvp_match_finite_differences(void **state) {
  const lz_f0_kind f0s[] = {LZ_F0_QUADRATIC, LZ_F0_DOUBLE_WELL, LZ_F0_MATYAS};
  const lz_f1_kind f1s[] = {LZ_F1_SINE, LZ_F1_QUASIPERIODIC};
  const double epss[] = {0.1, 1e-3};
  for (size_t a = 0; a < COUNT(f0s); ++a)
    for (size_t b = 0; b < COUNT(f1s); ++b)
      for (int dim = 1; dim <= 2; ++dim)
        for (size_t e = 0; e < COUNT(epss); ++e) {
          if (f0s[a] == LZ_F0_MATYAS && dim == 1) continue;
          char label[128];
          snprintf(label, sizeof label, "multiscale f0=%s f1=%s dim=%d eps=%g",
                   lz_f0_names[f0s[a]], lz_f1_names[f1s[b]], dim, epss[e]);
          lz_problem_params pp = multiscale_params(f0s[a], f1s[b], dim, epss[e]);
          instance in = open_instance(&pp, NULL, label);
          double *x = random_point(&in, 20 + a + 3 * b + 7 * e, 1.0);
          double t = 1e-5 * epss[e];  /* resolve the fast oscillation */
          assert_gradient_matches_differences(&in, x, t, 1e-6);
          assert_hvp_matches_differences(&in, x, t, 1e-6);
          assert_value_agrees_with_value_grad(&in, x, 1e-10);
          free(x);
          close_instance(&in);
        }
}

/* Relu's second derivative is 0 except at its kink, which random points do not hit. */
static void mlp_gradient_and_hvp_match_finite_differences(void **state) {
  const lz_mlp_activation acts[] = {LZ_MLP_TANH, LZ_MLP_RELU};
  const int64_t widths[] = {1, 3, 8};
  for (size_t a = 0; a < COUNT(acts); ++a)
    for (size_t w = 0; w < COUNT(widths); ++w)
      for (int sampling = 0; sampling < 2; ++sampling) {
        char label[128];
        snprintf(label, sizeof label, "mlp width=%lld activation=%s sampling=%s",
                 (long long)widths[w], lz_mlp_activation_names[acts[a]],
                 lz_data_sampling_names[sampling]);
        lz_problem_params pp = {0};
        pp.kind = LZ_PROBLEM_MLP;
        pp.mlp.width = widths[w];
        pp.mlp.activation = acts[a];
        pp.mlp.points = 23;
        pp.mlp.lo = -2.0, pp.mlp.hi = 3.0;
        pp.mlp.sampling = (lz_data_sampling)sampling;
        pp.mlp.g0 = sampling ? LZ_G0_SQUARE : LZ_G0_SIN;
        pp.mlp.amplitude = 0.2, pp.mlp.eps = 0.05;
        pp.mlp.seed = 7;
        instance in = open_instance(&pp, NULL, label);
        assert_int_equal(in.dim, 3 * widths[w] + 1);
        double *x = random_point(&in, 40 + w + 5 * a, 0.8);
        assert_gradient_matches_differences(&in, x, 1e-5, 1e-6);
        assert_hvp_matches_differences(&in, x, 1e-5, 1e-6);
        assert_value_agrees_with_value_grad(&in, x, 1e-12);
        free(x);
        close_instance(&in);
      }
}

/* The variants of the blobs setup: sin units, no biases, listed weighted points, weight
 * decay; each alone and all together, against finite differences. */
static void mlp_variants_match_finite_differences(void **state) {
  const double xs[] = {-1.0, -0.3, 0.4, 1.0, 200.0}, ys[] = {0.2, -0.5, 0.9, 1.1, -0.7};
  const double qs[] = {0.25, 0.25, 0.2, 0.2, 0.1};
  /* width 30 widens the state in the caller's scratch, width 2 on the stack */
  for (int variant = 0; variant < 32; ++variant) {
    const int sin_units = variant & 1, no_biases = variant & 2, weighted = variant & 4,
              decay = variant & 8, width = variant & 16 ? 30 : 2;
    char label[128];
    snprintf(label, sizeof label, "mlp width=%d sin=%d without_biases=%d weighted=%d decay=%d",
             width, sin_units, !!no_biases, !!weighted, !!decay);
    lz_problem_params pp = {0};
    pp.kind = LZ_PROBLEM_MLP;
    pp.mlp.width = width;
    pp.mlp.activation = sin_units ? LZ_MLP_SIN : LZ_MLP_TANH;
    pp.mlp.without_biases = no_biases != 0;
    pp.mlp.weight_decay = decay ? 0.03 : 0.0;
    pp.mlp.points = COUNT(xs);
    pp.mlp.x = xs, pp.mlp.y = ys, pp.mlp.weight = weighted ? qs : NULL;
    instance in = open_instance(&pp, NULL, label);
    assert_int_equal(in.dim, no_biases ? 2 * width : 3 * width + 1);
    double *x = random_point(&in, 90 + variant, 0.3);
    /* the far input 200 makes the loss oscillate in W1 on a scale of 1/200 */
    assert_gradient_matches_differences(&in, x, 1e-7, 1e-6);
    assert_hvp_matches_differences(&in, x, 1e-7, 1e-6);
    assert_value_agrees_with_value_grad(&in, x, 1e-12);
    free(x);
    close_instance(&in);
  }
}

/* The weighted loss by hand for v sin(w x) without biases: (1/2) sum q r^2 + (mu/2)|theta|^2. */
static void mlp_weighted_sin_loss_is_the_formula(void **state) {
  const double xs[] = {-1.0, 0.5, 200.0}, ys[] = {0.3, -0.2, 0.8}, qs[] = {0.5, 0.3, 0.2};
  lz_problem_params pp = {0};
  pp.kind = LZ_PROBLEM_MLP;
  pp.mlp.width = 1, pp.mlp.activation = LZ_MLP_SIN, pp.mlp.without_biases = 1;
  pp.mlp.weight_decay = 0.01, pp.mlp.points = 3;
  pp.mlp.x = xs, pp.mlp.y = ys, pp.mlp.weight = qs;
  instance in = open_instance(&pp, NULL, "mlp blobs formula");
  const double theta[2] = {0.7, -1.3};
  double want = 0.5 * 0.01 * (0.7 * 0.7 + 1.3 * 1.3);
  for (int i = 0; i < 3; ++i) {
    double r = -1.3 * sin(0.7 * xs[i]) - ys[i];
    want += 0.5 * qs[i] * r * r;
  }
  double got = lz_problem_value(in.p, theta, in.work);
  assert_true(fabs(got - want) <= 1e-14 * fabs(want));
  close_instance(&in);
}

/* The data: y = g0(x) + a sin(x / eps) on a grid that includes both ends. */
static void mlp_data_follow_the_grid_and_the_formula(void **state) {
  lz_problem_params pp = {0};
  pp.kind = LZ_PROBLEM_MLP;
  pp.mlp.points = 5, pp.mlp.lo = -1.0, pp.mlp.hi = 1.0, pp.mlp.amplitude = 0.3, pp.mlp.eps = 0.1;
  pp.mlp.g0 = LZ_G0_SQUARE, pp.mlp.sampling = LZ_DATA_GRID;
  double x[5], y[5];
  lz_mlp_data(&pp, x, y);
  for (int i = 0; i < 5; ++i) {
    assert_true(fabs(x[i] - (-1.0 + 0.5 * i)) < 1e-15);
    assert_true(fabs(y[i] - (x[i] * x[i] + 0.3 * sin(x[i] / 0.1))) < 1e-15);
  }
}

static void multiscale_f0_is_the_slow_part_alone(void **state) {
  const double x[] = {0.3, -1.2};
  struct {
    lz_f0_kind f0;
    double want;
  } cases[] = {
      {LZ_F0_QUADRATIC, 0.5 * (0.09 + 1.44)},
      {LZ_F0_DOUBLE_WELL, 0.25 * ((0.09 - 1.0) * (0.09 - 1.0) + (1.44 - 1.0) * (1.44 - 1.0))},
      {LZ_F0_MATYAS, 0.26 * (0.09 + 1.44) - 0.48 * 0.3 * -1.2},
  };
  for (size_t c = 0; c < COUNT(cases); ++c) {
    lz_problem_params pp = multiscale_params(cases[c].f0, LZ_F1_QUASIPERIODIC, 2, 0.01);
    instance in = open_instance(&pp, NULL, lz_f0_names[cases[c].f0]);
    double f0 = lz_problem_f0(in.p, x, in.work);
    assert_close(f0, cases[c].want, 1e-14);
    double f1 = 0.0;
    for (size_t i = 0; i < 2; ++i) {
      double t = x[i] / pp.multiscale.eps;
      f1 += pp.multiscale.amplitude * (sin(t) + sin(pp.multiscale.ratio * t) / pp.multiscale.ratio);
    }
    assert_close(lz_problem_value(in.p, x, in.work), f0 + f1, 1e-14);
    close_instance(&in);
  }
}

static void sigma2_is_the_phase_variance_of_the_fast_gradient(void **state) {
  lz_problem_params pp = multiscale_params(LZ_F0_QUADRATIC, LZ_F1_SINE, 1, 1e-3);
  instance in = open_instance(&pp, NULL, "sine");
  assert_close(lz_problem_sigma2(in.p), 0.5, 1e-15);
  close_instance(&in);

  pp = multiscale_params(LZ_F0_DOUBLE_WELL, LZ_F1_QUASIPERIODIC, 2, 1e-2);
  pp.multiscale.amplitude = 3e-2;
  in = open_instance(&pp, NULL, "quasiperiodic");
  assert_close(lz_problem_sigma2(in.p), 9.0, 1e-12);
  close_instance(&in);

  /* The variance over the fast phase, sampled: the mean of (d f1/dx)^2 over many periods. */
  pp = multiscale_params(LZ_F0_QUADRATIC, LZ_F1_QUASIPERIODIC, 1, 1e-3);
  pp.multiscale.amplitude = 2e-3;
  in = open_instance(&pp, NULL, "quasiperiodic sampled");
  double sum = 0.0, g, x;
  const int samples = 200000;
  for (int i = 0; i < samples; ++i) {
    x = 1e-3 * 0.37 * i;
    lz_problem_value_grad(in.p, &x, &g, in.work);
    g -= x;  /* remove the slow gradient f0' = x */
    sum += g * g;
  }
  assert_close(sum / samples, lz_problem_sigma2(in.p), 0.02 * lz_problem_sigma2(in.p));
  close_instance(&in);
}

/* ---- scalar ------------------------------------------------------------------------- */

static void scalar_gradient_and_hessian_match_closed_forms(void **state) {
  lz_problem_params pp = mf_params(1, 1, LZ_TARGET_SCALAR, LZ_ACT_NONE);
  const double mu = pp.mf.mu;
  instance in = open_instance(&pp, NULL, "scalar");
  const double x = 0.7, y = -1.3, xy[] = {x, y};
  const double r = mu - x * y;
  double g[2], h0[2], h1[2];
  double f = lz_problem_value_grad(in.p, xy, g, in.work);
  assert_close(f, 0.5 * r * r, 1e-14);
  assert_close(lz_problem_value(in.p, xy, in.work), 0.5 * r * r, 1e-14);
  assert_close(g[0], -r * y, 1e-14);
  assert_close(g[1], -r * x, 1e-14);
  lz_problem_hvp(in.p, xy, (const double[]){1.0, 0.0}, h0, in.work);
  lz_problem_hvp(in.p, xy, (const double[]){0.0, 1.0}, h1, in.work);
  assert_close(h0[0], y * y, 1e-14);
  assert_close(h0[1], 2.0 * x * y - mu, 1e-14);
  assert_close(h1[0], 2.0 * x * y - mu, 1e-14);
  assert_close(h1[1], x * x, 1e-14);
  assert_int_equal(lz_problem_work_len(in.p), 0);
  close_instance(&in);
}

/* The closed-form fast path against the general dense path on the same 1 x 1 target. */
static void scalar_target_agrees_with_a_one_by_one_file_target(void **state) {
  for (size_t a = 0; a < COUNT(activations); ++a) {
    lz_problem_params sp = mf_params(1, 1, LZ_TARGET_SCALAR, activations[a]);
    lz_problem_params fp = mf_params(1, 1, LZ_TARGET_FILE, activations[a]);
    instance s = open_instance(&sp, NULL, "scalar"), f = open_instance(&fp, &sp.mf.mu, "file");
    const double xy[] = {0.9, 1.1}, v[] = {0.3, -0.8};
    double gs[2], gf[2], hs[2], hf[2];
    assert_close(lz_problem_value_grad(s.p, xy, gs, s.work),
                        lz_problem_value_grad(f.p, xy, gf, f.work), 1e-14);
    lz_problem_hvp(s.p, xy, v, hs, s.work);
    lz_problem_hvp(f.p, xy, v, hf, f.work);
    for (size_t i = 0; i < 2; ++i) {
      assert_close(gs[i], gf[i], 1e-14);
      assert_close(hs[i], hf[i], 1e-14);
    }
    close_instance(&s);
    close_instance(&f);
  }
}

/* ---- lowrank ------------------------------------------------------------------------ */

static size_t lowrank_factors(const instance *in, const double **u, const double **s,
                              const double **v) {
  return lz__mf_lowrank_factors(lz__problem_state(in->p), u, s, v);
}

/* A = U diag(s) V^T, n x n row-major. */
static double *materialize_lowrank(const instance *in, size_t n) {
  const double *u, *s, *v;
  size_t k = lowrank_factors(in, &u, &s, &v);
  assert_true(k > 0);
  double *a = new_doubles(n * n);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (size_t l = 0; l < k; ++l) acc += u[i * k + l] * s[l] * v[j * k + l];
      a[i * n + j] = acc;
    }
  return a;
}

static void lowrank_factors_have_orthonormal_columns(void **state) {
  instance in = open_mf(50, 2, LZ_TARGET_LOWRANK, LZ_ACT_NONE);
  const double *u, *s, *v;
  size_t k = lowrank_factors(&in, &u, &s, &v);
  assert_int_equal(k, 3);
  for (size_t a = 0; a < k; ++a)
    for (size_t b = 0; b < k; ++b) {
      double uu = 0.0, vv = 0.0;
      for (size_t i = 0; i < 50; ++i) {
        uu += u[i * k + a] * u[i * k + b];
        vv += v[i * k + a] * v[i * k + b];
      }
      assert_close(uu, a == b, 1e-14);
      assert_close(vv, a == b, 1e-14);
    }
  close_instance(&in);
}

/* At X = U diag(s), Y = V the loss is zero. The accurate value must see that to rounding of
 * the residual (eps^2 ||A||^2), where the Gram form only reaches eps ||A||^2. */
static void lowrank_value_is_accurate_at_an_exact_factorization(void **state) {
  const size_t n = 60, k = 3;
  instance in = open_mf((int64_t)n, (int64_t)k, LZ_TARGET_LOWRANK, LZ_ACT_NONE);
  const double *u, *s, *v;
  assert_int_equal(lowrank_factors(&in, &u, &s, &v), k);
  double *x = new_doubles(in.dim), *g = new_doubles(in.dim);
  double norm_a2 = 0.0;
  for (size_t l = 0; l < k; ++l) norm_a2 += s[l] * s[l];
  for (size_t i = 0; i < n; ++i)
    for (size_t l = 0; l < k; ++l) {
      x[i * k + l] = u[i * k + l] * s[l];
      x[n * k + i * k + l] = v[i * k + l];
    }
  double accurate = lz_problem_value(in.p, x, in.work);
  double cheap = lz_problem_value_grad(in.p, x, g, in.work);
  print_message("exact factorization: accurate loss %.3g, Gram-form loss %.3g (||A||^2 = %g)\n",
                accurate, cheap, norm_a2);
  assert_true(accurate >= 0.0);
  assert_true(accurate <= 1e-28 * norm_a2);
  free(x);
  free(g);
  close_instance(&in);
}

/* f (accurate and from value_grad), grad f and H v of two instances of the same objective
 * agree to tol relative at a random point and direction. */
static void assert_instances_agree(instance *a, instance *b, uint64_t stream, double tol) {
  size_t dim = a->dim;
  assert_int_equal(dim, b->dim);
  double *x = random_point(a, stream, 0.7), *v = new_doubles(dim);
  random_vector(stream + 1000, 1.0, v, dim);
  double *ga = new_doubles(dim), *gb = new_doubles(dim);
  double *ha = new_doubles(dim), *hb = new_doubles(dim);
  double fa = lz_problem_value(a->p, x, a->work), fb = lz_problem_value(b->p, x, b->work);
  double ca = lz_problem_value_grad(a->p, x, ga, a->work);
  double cb = lz_problem_value_grad(b->p, x, gb, b->work);
  lz_problem_hvp(a->p, x, v, ha, a->work);
  lz_problem_hvp(b->p, x, v, hb, b->work);
  if (fabs(fa - fb) > tol * fabs(fb) || fabs(ca - cb) > tol * fabs(cb) ||
      relative_gap(ga, gb, dim) > tol || relative_gap(ha, hb, dim) > tol)
    fail_msg("%s differs from %s: f %.3g, value_grad's f %.3g, grad %.3g, hvp %.3g", a->label,
             b->label, fabs(fa - fb) / fabs(fb), fabs(ca - cb) / fabs(cb),
             relative_gap(ga, gb, dim), relative_gap(ha, hb, dim));
  free(x), free(v), free(ga), free(gb), free(ha), free(hb);
}

/* The lowrank path never forms A; the dense path streams it. Same A, same answers. Finite
 * differences cannot see a kernel that ignores a column of X and Y in f and grad f alike, so
 * this comparison runs every d the row kernel has its own copy for, and both kernels. */
static void lowrank_target_agrees_with_the_same_matrix_as_a_file(void **state) {
  const int64_t shapes[][2] = {{4, 2},   {8, 40},  {50, 1},  {50, 2},  {50, 3},  {50, 4},
                               {50, 5},  {50, 6},  {50, 7},  {50, 8},  {50, 9},  {50, 16},
                               {50, 32}, {50, 33}, {90, 33}, {300, 2}, {600, 8}};
  for (size_t sh = 0; sh < COUNT(shapes); ++sh)
    for (size_t a = 0; a < COUNT(activations); ++a) {
      int64_t n = shapes[sh][0], d = shapes[sh][1];
      instance lowrank = open_mf(n, d, LZ_TARGET_LOWRANK, activations[a]);
      double *target = materialize_lowrank(&lowrank, (size_t)n);
      lz_problem_params fp = mf_params(n, d, LZ_TARGET_FILE, activations[a]);
      instance dense = open_instance(&fp, target, "the same A as a file");
      free(target);
      assert_instances_agree(&lowrank, &dense, 30 + sh, 1e-11);
      close_instance(&lowrank);
      close_instance(&dense);
    }
}

/* ---- batched gradients ------------------------------------------------------------- */

enum { BATCH_RUNS = 11 };

/* f and g of states[first .. first + count - 1] in one batch, taken in reverse order when
 * reversed is set, against the single-run results f1, g1 bit for bit. */
static void assert_batch_equals_single_runs(const lz_problem *p, double *const *states,
                                            size_t first, size_t count, int reversed,
                                            const double *f1, double *const *g1,
                                            const char *label) {
  size_t dim = lz_problem_dim(p);
  const double *xs[BATCH_RUNS];
  double *gs[BATCH_RUNS], fs[BATCH_RUNS];
  size_t which[BATCH_RUNS];
  for (size_t r = 0; r < count; ++r) {
    which[r] = reversed ? first + count - 1 - r : first + r;
    xs[r] = states[which[r]];
    gs[r] = new_doubles(dim);
  }
  double *work = new_doubles(lz_problem_batch_work_len(p, count));
  lz_problem_value_grad_batch(p, count, xs, gs, fs, work);
  for (size_t r = 0; r < count; ++r) {
    size_t i = which[r];
    if (memcmp(&fs[r], &f1[i], sizeof fs[r]) || memcmp(gs[r], g1[i], dim * sizeof *gs[r]))
      fail_msg("%s: run %zu in a batch of %zu (from %zu%s) differs from the run alone: f %.17g "
               "vs %.17g, grad gap %.3g", label, i, count, first, reversed ? ", reversed" : "",
               fs[r], f1[i], norm_of_difference(gs[r], g1[i], dim));
    free(gs[r]);
  }
  free(work);
}

/* A run's gradient does not depend on the runs that share its batch: every batch size, every
 * position, both orders, with the BLAS products and with lrzoo's own. */
static void batched_gradients_equal_single_run_gradients_bitwise(void **state) {
  (void)state;
  /* 1100 x 2: the products run in two row chunks */
  const int64_t shapes[][2] = {{37, 3}, {64, 4}, {129, 2}, {40, 33}, {1100, 2}};
  const lz_target_kind targets[] = {LZ_TARGET_GAUSSIAN, LZ_TARGET_IDENTITY, LZ_TARGET_FILE};
  for (int own = 0; own < 2; ++own) {
    if (!own) setenv("LRZOO_MF_PRODUCTS", "blas", 1);
    for (size_t sh = 0; sh < COUNT(shapes); ++sh)
      for (size_t t = 0; t < COUNT(targets); ++t)
        for (size_t a = 0; a < COUNT(activations); ++a) {
          if (shapes[sh][0] > 1000 && (t > 0 || a > 0)) continue;  /* one variant is enough */
          instance in = open_mf(shapes[sh][0], shapes[sh][1], targets[t], activations[a]);
          lz_mf_layout l = lz__mf_layout(lz__problem_state(in.p));
          if (shapes[sh][0] > 1000) assert_int_equal(l.product_chunks, 2);
          if (targets[t] != LZ_TARGET_IDENTITY && own) assert_true(l.own_products);
          assert_true(l.batch_max >= BATCH_RUNS);
          double *states[BATCH_RUNS], *g1[BATCH_RUNS], f1[BATCH_RUNS];
          for (size_t r = 0; r < BATCH_RUNS; ++r) {
            states[r] = random_point(&in, 100 + r, 0.7);
            g1[r] = new_doubles(in.dim);
            f1[r] = lz_problem_value_grad(in.p, states[r], g1[r], in.work);
          }
          for (size_t count = 1; count <= BATCH_RUNS; ++count)
            for (size_t first = 0; first + count <= BATCH_RUNS; first += 3)
              for (int rev = 0; rev < 2; ++rev)
                assert_batch_equals_single_runs(in.p, states, first, count, rev, f1, g1,
                                                in.label);
          for (size_t r = 0; r < BATCH_RUNS; ++r) free(states[r]), free(g1[r]);
          close_instance(&in);
        }
    unsetenv("LRZOO_MF_PRODUCTS");
  }
}

/* A direction's H v does not depend on the directions that share its batch, and equals the
 * per-run product (every batch size and position, both orders); the expanded form agrees with
 * the residual form of large instances to rounding, near a zero-loss factorization too. */
static void batched_hvps_equal_single_hvps_bitwise_and_the_residual_form_to_rounding(void **state) {
  (void)state;
  const int64_t shapes[][2] = {{37, 3}, {64, 4}, {1100, 2}};
  const lz_target_kind targets[] = {LZ_TARGET_GAUSSIAN, LZ_TARGET_IDENTITY};
  enum { DIRS = 2 * BATCH_RUNS };
  for (size_t sh = 0; sh < COUNT(shapes); ++sh)
    for (size_t t = 0; t < COUNT(targets); ++t)
      for (size_t a = 0; a < COUNT(activations); ++a) {
        if (shapes[sh][0] > 1000 && (t > 0 || a > 0)) continue;
        instance in = open_mf(shapes[sh][0], shapes[sh][1], targets[t], activations[a]);
        assert_true(lz_problem_batch_max(in.p) * 2 >= DIRS);
        double *x[DIRS], *v[DIRS], *h1[DIRS], *hb[DIRS];
        for (size_t j = 0; j < DIRS; ++j) {
          x[j] = random_point(&in, 200 + j / 2, 0.7);  /* two directions a point */
          v[j] = random_point(&in, 300 + j, 1.0);
          h1[j] = new_doubles(in.dim);
          hb[j] = new_doubles(in.dim);
          lz_problem_hvp(in.p, x[j], v[j], h1[j], in.work);
          double *hr = new_doubles(in.dim);
          lz__mf_residual_hvp(lz__problem_state(in.p), x[j], v[j], hr, in.work);
          double scale = 0.0;
          for (size_t i = 0; i < in.dim; ++i) scale = fmax(scale, fabs(hr[i]));
          for (size_t i = 0; i < in.dim; ++i) assert_close(h1[j][i], hr[i], 1e-11 * scale);
          free(hr);
        }
        double *work = new_doubles(lz_problem_hvp_batch_work_len(in.p, DIRS));
        for (size_t count = 1; count <= DIRS; count += 3)
          for (size_t first = 0; first + count <= DIRS; first += 5)
            for (int rev = 0; rev < 2; ++rev) {
              const double *xs[DIRS], *vs[DIRS];
              double *hs[DIRS];
              for (size_t r = 0; r < count; ++r) {
                size_t j = rev ? first + count - 1 - r : first + r;
                xs[r] = x[j], vs[r] = v[j], hs[r] = hb[j];
              }
              lz_problem_hvp_batch(in.p, count, xs, vs, hs, work);
              for (size_t r = 0; r < count; ++r) {
                size_t j = rev ? first + count - 1 - r : first + r;
                if (memcmp(hb[j], h1[j], in.dim * sizeof *hb[j]))
                  fail_msg("%s: direction %zu in a batch of %zu differs from H v alone (gap %.3g)",
                           in.label, j, count, norm_of_difference(hb[j], h1[j], in.dim));
              }
            }
        free(work);
        for (size_t j = 0; j < DIRS; ++j) free(x[j]), free(v[j]), free(h1[j]), free(hb[j]);
        close_instance(&in);
      }
}

/* Stand-ins for a BLAS, to see the probe tell them apart: each entry of op(A) b summed over k
 * in order (column independent), or in an order that depends on the width or on where the
 * column sits. (A kernel that treats column q by q mod d would pass, rightly: a run's columns
 * always start at a multiple of d.) */
typedef enum { SUM_IN_ORDER, SUM_BACKWARDS_WHEN_WIDE, SUM_BACKWARDS_PAST_COLUMN_8 } sum_order;
static sum_order fake_order;
static size_t fake_n;  /* n of the instance the fake products serve */

static void fake_product(const void *state, int transposed, const double *b, size_t w,
                         double *c) {
  size_t ld = 0;
  const double *a = lz__mf_dense_target(state, &ld);
  for (size_t i = 0; i < fake_n; ++i)
    for (size_t q = 0; q < w; ++q) {
      int backwards = (fake_order == SUM_BACKWARDS_WHEN_WIDE && w > 8) ||
                      (fake_order == SUM_BACKWARDS_PAST_COLUMN_8 && q >= 8);
      double acc = 0.0;
      for (size_t t = 0; t < fake_n; ++t) {
        size_t k = backwards ? fake_n - 1 - t : t;
        double aik = transposed ? a[k * ld + i] : a[i * ld + k];
        acc += aik * b[k * w + q];
      }
      c[i * w + q] = acc;
    }
}

static void the_blas_probe_rejects_products_that_depend_on_the_batch(void **state) {
  (void)state;
  instance in = open_mf(40, 2, LZ_TARGET_GAUSSIAN, LZ_ACT_NONE);
  fake_n = 40;
  const void *st = lz__problem_state(in.p);
  lz_err err = {0};
  const sum_order orders[3] = {SUM_IN_ORDER, SUM_BACKWARDS_WHEN_WIDE, SUM_BACKWARDS_PAST_COLUMN_8};
  for (int o = 0; o < 3; ++o) {
    fake_order = orders[o];
    int ok = -1;
    assert_int_equal(lz__mf_probe_products(st, fake_product, &ok, &err), LZ_OK);
    assert_int_equal(ok, orders[o] == SUM_IN_ORDER);
  }
  close_instance(&in);
}

/* lrzoo's own products (the default) compute the same gradient as the BLAS up to rounding;
 * 301 x 7 has row and column blocks of every size the kernels use, and two chunks of k. */
static void own_products_agree_with_the_blas(void **state) {
  (void)state;
  const int64_t shapes[][2] = {{37, 3}, {130, 5}, {301, 7}};
  for (size_t sh = 0; sh < COUNT(shapes); ++sh) {
    setenv("LRZOO_MF_PRODUCTS", "blas", 1);
    instance blas = open_mf(shapes[sh][0], shapes[sh][1], LZ_TARGET_GAUSSIAN, LZ_ACT_RELU);
    unsetenv("LRZOO_MF_PRODUCTS");
    instance own = open_mf(shapes[sh][0], shapes[sh][1], LZ_TARGET_GAUSSIAN, LZ_ACT_RELU);
    assert_true(lz__mf_layout(lz__problem_state(own.p)).own_products);
    double *x = random_point(&blas, 7, 1.0), *gb = new_doubles(blas.dim), *go = new_doubles(blas.dim);
    double fb = lz_problem_value_grad(blas.p, x, gb, blas.work);
    double fo = lz_problem_value_grad(own.p, x, go, own.work);
    assert_close(fo, fb, 1e-13 * fabs(fb));
    if (norm_of_difference(gb, go, blas.dim) > 1e-13 * lz_norm2(gb, blas.dim))
      fail_msg("%s: own products' gradient differs from the BLAS's", blas.label);
    free(x), free(gb), free(go);
    close_instance(&blas);
    close_instance(&own);
  }
}

/* The expanded loss 1/2 ||A||^2 - <X, A S> + 1/2 <X^T X, S^T S>, computed here with plain
 * loops, and whether src/core/problems/mf would keep it. */
static double expanded_loss(const double *a, size_t n, size_t d, const double *xy,
                            int *accurate) {
  const double *x = xy, *s = xy + n * d;
  double norm_a2 = 0.0, cross = 0.0, grams = 0.0;
  for (size_t i = 0; i < n * n; ++i) norm_a2 += a[i] * a[i];
  for (size_t i = 0; i < n; ++i)
    for (size_t c = 0; c < d; ++c) {
      double as = 0.0;
      for (size_t j = 0; j < n; ++j) as += a[i * n + j] * s[j * d + c];
      cross += x[i * d + c] * as;
    }
  for (size_t b = 0; b < d; ++b)
    for (size_t c = 0; c < d; ++c) {
      double gx = 0.0, gs = 0.0;
      for (size_t i = 0; i < n; ++i) gx += x[i * d + b] * x[i * d + c], gs += s[i * d + b] * s[i * d + c];
      grams += gx * gs;
    }
  double loss = 0.5 * norm_a2 - cross + 0.5 * grams;
  *accurate = lz__mf_expanded_loss_is_accurate(loss, norm_a2, cross, grams);
  return loss;
}

/* Near an exact factorization A = U V^T the expanded loss cancels down to rounding noise, so
 * value_grad must form the residual there; far from it the expanded loss is kept and agrees
 * with the residual to the stated 1e-9 (relative). */
static void expanded_loss_gives_way_to_the_residual_near_zero_loss(void **state) {
  (void)state;
  const size_t n = 300, d = 4;
  double *uv = new_doubles(2 * n * d), *e = new_doubles(2 * n * d), *a = new_doubles(n * n);
  random_vector(60, 1.0, uv, 2 * n * d);
  random_vector(61, 1.0, e, 2 * n * d);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (size_t c = 0; c < d; ++c) acc += uv[i * d + c] * uv[n * d + j * d + c];
      a[i * n + j] = acc;
    }
  lz_problem_params pp = mf_params((int64_t)n, (int64_t)d, LZ_TARGET_FILE, LZ_ACT_NONE);
  instance in = open_instance(&pp, a, "mf A = U V^T");
  double *xy = new_doubles(in.dim), *g = new_doubles(in.dim);
  double norm_a2 = 0.0;
  for (size_t i = 0; i < n * n; ++i) norm_a2 += a[i] * a[i];
  int kept = 0, formed = 0;
  double worst_kept = 0.0, raw_error_at_smallest = 0.0;
  for (int k = 0; k <= 20; ++k) {
    double delta = pow(10.0, -0.5 * k);
    for (size_t i = 0; i < in.dim; ++i) xy[i] = uv[i] + delta * e[i];
    double f = lz_problem_value_grad(in.p, xy, g, in.work);
    double direct = lz_problem_value(in.p, xy, in.work);
    int accurate = 0;
    double raw = expanded_loss(a, n, d, xy, &accurate);
    /* the choice, away from its threshold of 1e-3 of about 2 ||A||^2 */
    if (direct >= 1e-2 * norm_a2) assert_true(accurate);
    if (direct <= 1e-4 * norm_a2) assert_false(accurate);
    if (accurate) {
      ++kept;
      worst_kept = fmax(worst_kept, fabs(f - direct) / direct);
      assert_close(f, direct, 1e-9 * direct);
    } else if (direct <= 1e-4 * norm_a2) {
      ++formed;
      if (memcmp(&f, &direct, sizeof f)) fail_msg("delta %g: the residual was not formed", delta);
    }
    if (k == 20) raw_error_at_smallest = fabs(raw - direct) / direct;
    /* H v in expanded form (the cancelling X (S^T dS) - A dS) against the residual form, to
     * rounding of the size of H v itself, however close to the factorization */
    double *hv = new_doubles(in.dim), *hr = new_doubles(in.dim);
    lz_problem_hvp(in.p, xy, e, hv, in.work);
    lz__mf_residual_hvp(lz__problem_state(in.p), xy, e, hr, in.work);
    double scale = 0.0;
    for (size_t i = 0; i < in.dim; ++i) scale = fmax(scale, fabs(hr[i]));
    for (size_t i = 0; i < in.dim; ++i) assert_close(hv[i], hr[i], 1e-11 * scale);
    free(hv), free(hr);
  }
  print_message("expanded loss: kept at %d of 21 distances, worst relative gap where kept "
                "%.2e; at delta 1e-10 the expanded form is off by %.2e relative\n", kept,
                worst_kept, raw_error_at_smallest);
  assert_true(kept >= 2 && formed >= 15);
  assert_true(raw_error_at_smallest > 1e-3);  /* without the fallback the loss would be noise */
  free(uv), free(e), free(a), free(xy), free(g);
  close_instance(&in);
}

/* ---- determinism ------------------------------------------------------------------- */

typedef struct evaluation {
  double f, fv;
  double *g, *hv;
} evaluation;

static evaluation evaluate(const lz_problem *p, const double *x, const double *v) {
  size_t dim = lz_problem_dim(p);
  double *work = new_doubles(lz_problem_work_len(p));
  evaluation e = {0};
  e.g = new_doubles(dim);
  e.hv = new_doubles(dim);
  e.f = lz_problem_value_grad(p, x, e.g, work);
  lz_problem_hvp(p, x, v, e.hv, work);
  e.fv = lz_problem_value(p, x, work);
  free(work);
  return e;
}

static void assert_bitwise_equal(const evaluation *a, const evaluation *b, size_t dim,
                                 const char *what) {
  if (memcmp(&a->f, &b->f, sizeof a->f) || memcmp(&a->fv, &b->fv, sizeof a->fv) ||
      memcmp(a->g, b->g, dim * sizeof *a->g) || memcmp(a->hv, b->hv, dim * sizeof *a->hv))
    fail_msg("%s: results differ from the single-threaded ones", what);
}

static void free_evaluation(evaluation *e) {
  free(e->g);
  free(e->hv);
}

/* Every case here splits its rows into 16 chunks (the lowrank one has no chunks but calls
 * BLAS from several threads at once); at n = 1500 the products of the gradient run in two
 * row chunks too. */
static void mf_results_are_bitwise_identical_for_any_thread_count(void **state) {
  const struct {
    int64_t n, d;
    lz_target_kind target;
  } cases[] = {{300, 4, LZ_TARGET_GAUSSIAN}, {300, 4, LZ_TARGET_FILE},
               {300, 4, LZ_TARGET_LOWRANK},  {600, 8, LZ_TARGET_IDENTITY},
               {100, 40, LZ_TARGET_GAUSSIAN}, {1500, 2, LZ_TARGET_GAUSSIAN}};
  int saved_threads = omp_get_max_threads();
  for (size_t t = 0; t < COUNT(cases); ++t) {
    instance in = open_mf(cases[t].n, cases[t].d, cases[t].target, LZ_ACT_LEAKY_RELU);
    if (cases[t].n == 1500) assert_int_equal(lz__mf_layout(lz__problem_state(in.p)).product_chunks, 2);
    double *x = random_point(&in, 50, 0.7), *v = new_doubles(in.dim);
    random_vector(51, 1.0, v, in.dim);
    omp_set_num_threads(1);
    evaluation one = evaluate(in.p, x, v);
    omp_set_num_threads(2);
    evaluation two = evaluate(in.p, x, v);
    assert_bitwise_equal(&one, &two, in.dim, in.label);
    evaluation inside[2];
#pragma omp parallel num_threads(2)
    {
      int id = omp_get_thread_num();
      inside[id] = evaluate(in.p, x, v);
    }
    assert_bitwise_equal(&one, &inside[0], in.dim, in.label);
    assert_bitwise_equal(&one, &inside[1], in.dim, in.label);
    free_evaluation(&one);
    free_evaluation(&two);
    free_evaluation(&inside[0]);
    free_evaluation(&inside[1]);
    free(x);
    free(v);
    close_instance(&in);
  }
  omp_set_num_threads(saved_threads);
}

/* ---- targets ---------------------------------------------------------------------- */

static void gaussian_target_has_mean_zero_and_variance_scale2_over_n(void **state) {
  const size_t n = 400;
  lz_problem_params pp = mf_params((int64_t)n, 2, LZ_TARGET_GAUSSIAN, LZ_ACT_NONE);
  pp.mf.target_scale = 2.0;
  instance in = open_instance(&pp, NULL, "gaussian");
  size_t ld;
  const double *a = lz__mf_dense_target(lz__problem_state(in.p), &ld);
  assert_non_null(a);
  double count = (double)(n * n), sum = 0.0, sum2 = 0.0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) sum += a[i * ld + j];
  double mean = sum / count;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) sum2 += (a[i * ld + j] - mean) * (a[i * ld + j] - mean);
  double var = sum2 / (count - 1.0), want = 4.0 / (double)n;
  assert_true(fabs(mean) < 5.0 * sqrt(want / count));
  assert_true(fabs(var - want) < 5.0 * want * sqrt(2.0 / count));
  close_instance(&in);
}

static void gaussian_target_depends_only_on_seed_n_and_scale(void **state) {
  instance a = open_mf(37, 2, LZ_TARGET_GAUSSIAN, LZ_ACT_NONE);
  instance b = open_mf(37, 5, LZ_TARGET_GAUSSIAN, LZ_ACT_RELU);
  size_t lda, ldb;
  const double *ta = lz__mf_dense_target(lz__problem_state(a.p), &lda);
  const double *tb = lz__mf_dense_target(lz__problem_state(b.p), &ldb);
  assert_int_equal(lda, ldb);
  assert_memory_equal(ta, tb, 37 * lda * sizeof *ta);
  close_instance(&a);
  close_instance(&b);
}

/* The identity is applied on the fly; it must act as I_n given as a file, on every path
 * (n = 1, one chunk, 16 chunks, several column tiles, BLAS blocks). */
static void identity_target_is_never_stored_and_acts_as_the_identity(void **state) {
  const int64_t shapes[][2] = {{1, 1}, {5, 2}, {50, 2}, {300, 3}, {600, 8}, {80, 34}};
  for (size_t sh = 0; sh < COUNT(shapes); ++sh) {
    int64_t n = shapes[sh][0], d = shapes[sh][1];
    instance identity = open_mf(n, d, LZ_TARGET_IDENTITY, LZ_ACT_LEAKY_RELU);
    size_t ld;
    assert_null(lz__mf_dense_target(lz__problem_state(identity.p), &ld));
    double *eye = new_doubles((size_t)(n * n));
    for (int64_t i = 0; i < n * n; ++i) eye[i] = i % (n + 1) == 0 ? 1.0 : 0.0;
    lz_problem_params fp = mf_params(n, d, LZ_TARGET_FILE, LZ_ACT_LEAKY_RELU);
    instance file = open_instance(&fp, eye, "I as a file");
    free(eye);
    assert_instances_agree(&identity, &file, 60 + sh, 1e-14);
    double *zero = new_doubles(identity.dim);
    memset(zero, 0, identity.dim * sizeof *zero);
    assert_close(lz_problem_value(identity.p, zero, identity.work), 0.5 * (double)n, 1e-14);
    free(zero);
    close_instance(&identity);
    close_instance(&file);
  }
}

/* ---- state statistics -------------------------------------------------------------- */

static void state_stats_report_norms_balance_and_scalar_gap(void **state) {
  instance in = open_mf(3, 2, LZ_TARGET_GAUSSIAN, LZ_ACT_RELU);
  /* X = [[1, 0], [0, 2], [0, 0]], Y = [[1, 1], [0, 0], [0, 0]] */
  const double x[] = {1, 0, 0, 2, 0, 0, 1, 1, 0, 0, 0, 0};
  lz_state_stats st;
  lz_problem_state_stats(in.p, x, &st);
  assert_close(st.norm_x, sqrt(5.0), 1e-15);
  assert_close(st.norm_y, sqrt(2.0), 1e-15);
  /* X^T X - Y^T Y = [[1, 0], [0, 4]] - [[1, 1], [1, 1]] = [[0, -1], [-1, 3]] */
  assert_close(st.balance, sqrt(11.0), 1e-15);
  assert_true(st.scalar_gap == 0.0);
  close_instance(&in);

  in = open_mf(1, 1, LZ_TARGET_SCALAR, LZ_ACT_NONE);
  lz_problem_state_stats(in.p, (const double[]){2.0, -0.5}, &st);
  assert_close(st.scalar_gap, 2.5, 1e-15);
  assert_close(st.balance, 3.75, 1e-15);
  close_instance(&in);

  const double lambda[] = {1.0, 2.0};
  lz_problem_params pp = quadratic_params(2, lambda);
  in = open_instance(&pp, NULL, "quadratic");
  lz_problem_state_stats(in.p, (const double[]){3.0, 4.0}, &st);
  assert_close(st.norm_x, 5.0, 1e-15);
  assert_true(st.norm_y == 0.0 && st.balance == 0.0 && st.scalar_gap == 0.0);
  close_instance(&in);
}

/* ---- create errors ----------------------------------------------------------------- */

static void assert_create_fails(const lz_problem_params *pp, const char *needle) {
  static char sentinel;
  lz_problem *p = (lz_problem *)&sentinel;  /* create must reset it to NULL */
  lz_err err = {0};
  int rc = lz_problem_create(pp, seed, NULL, &p, &err);
  assert_int_equal(rc, LZ_EINVAL);
  assert_int_equal(err.code, LZ_EINVAL);
  assert_null(p);
  if (!strstr(err.msg, needle)) fail_msg("message \"%s\" does not mention %s", err.msg, needle);
}

static void create_rejects_matyas_in_one_dimension(void **state) {
  lz_problem_params pp = multiscale_params(LZ_F0_MATYAS, LZ_F1_SINE, 1, 0.1);
  assert_create_fails(&pp, "matyas");
}

static void create_rejects_a_lowrank_rank_above_n(void **state) {
  static const double s5[] = {1, 1, 1, 1, 1};
  lz_problem_params pp = mf_params(4, 2, LZ_TARGET_LOWRANK, LZ_ACT_NONE);
  pp.mf.rank = 5;
  pp.mf.n_singular_values = 5;
  pp.mf.singular_values = s5;
  assert_create_fails(&pp, "rank");
}

static void create_rejects_a_scalar_target_unless_n_and_d_are_1(void **state) {
  lz_problem_params pp = mf_params(2, 1, LZ_TARGET_SCALAR, LZ_ACT_NONE);
  assert_create_fails(&pp, "scalar");
  pp = mf_params(1, 2, LZ_TARGET_SCALAR, LZ_ACT_NONE);
  assert_create_fails(&pp, "scalar");
}

static void create_rejects_a_file_target_without_its_matrix(void **state) {
  lz_problem_params pp = mf_params(3, 1, LZ_TARGET_FILE, LZ_ACT_NONE);
  assert_create_fails(&pp, "file");
}

static void create_rejects_an_unknown_choice_of_products(void **state) {
  lz_problem_params pp = mf_params(8, 2, LZ_TARGET_GAUSSIAN, LZ_ACT_NONE);
  setenv("LRZOO_MF_PRODUCTS", "gpu", 1);
  assert_create_fails(&pp, "LRZOO_MF_PRODUCTS is \"gpu\"; allowed: own (the default) or blas");
  unsetenv("LRZOO_MF_PRODUCTS");
}

/* ---- vmath.h: one cos for one run and for many ------------------------------------------ */

static double ulps_apart(double got, double want) {
  double ulp = nextafter(fabs(want), HUGE_VAL) - fabs(want);
  return fabs(got - want) / ulp;
}

/* An element's cos and sin must not depend on the other elements of its vector, so that the
 * per-run objective (element 0 of a broadcast) rounds like the lanes engine and the sampler.
 * Neighbours include inf, NaN and 1e300, which send libmvec down its scalar fallback for them.
 * And the values must stay within libmvec's documented 4 ulp of libm's. */
static void vector_cos_should_not_depend_on_the_neighbours_and_stay_within_4_ulp(void **state) {
  (void)state;
  const double odd[] = {INFINITY, -INFINITY, NAN, 1e300, -1e22, 1e-300, 0.0, 3.0};
  uint64_t u = 12345;
  double worst_cos = 0.0, worst_sin = 0.0;
  int fallback_neighbours = 0;
  for (int trial = 0; trial < 200000; ++trial) {
    u = u * 6364136223846793005ULL + 1442695040888963407ULL;
    double unit = (double)(u >> 11) * 0x1p-53;
    /* magnitudes 1e-3 .. 1e7: what x / eps takes in the multiscale studies */
    double x = (2.0 * unit - 1.0) * pow(10.0, (double)(trial % 11) - 3.0);
    int pos = trial % LZ_VW;
    lz_vd v = lz_vsplat(0.5);
    for (int j = 0; j < LZ_VW; ++j) v[j] = odd[(trial / 11 + j) % 8];
    v[pos] = x;
    fallback_neighbours += LZ_VW > 1 && !isfinite(v[(pos + 1) % LZ_VW]);
    double c = lz_vcos(v)[pos], s = lz_vsin(v)[pos];
    double c1 = lz_cos(x), s1 = lz_sin(x);
    assert_memory_equal(&c, &c1, sizeof c);
    assert_memory_equal(&s, &s1, sizeof s);
    double ec = ulps_apart(c, cos(x)), es = ulps_apart(s, sin(x));
    if (ec > worst_cos) worst_cos = ec;
    if (es > worst_sin) worst_sin = es;
  }
  print_message("vector width %d; worst distance from libm: cos %.2f ulp, sin %.2f ulp\n", LZ_VW,
                worst_cos, worst_sin);
  assert_true(worst_cos <= 4.0 && worst_sin <= 4.0);
  if (LZ_VW > 1) assert_true(fallback_neighbours > 1000);
}

/* The registry: every kind has its descriptor, named as in job files, with the hooks that have
 * no default. */
static void every_kind_has_a_complete_descriptor(void **state) {
  (void)state;
  for (int k = 0; k < LZ_PROBLEM_KIND_COUNT; ++k) {
    const lz_problem_kind_desc *kind = lz__problem_kind((lz_problem_kind)k);
    assert_non_null(kind);
    assert_string_equal(kind->name, lz_problem_kind_names[k]);
    assert_string_equal(kind->objective->name, kind->name);
    assert_non_null(kind->dim);
    assert_non_null(kind->dim_formula);
    assert_non_null(kind->params_at);
    assert_non_null(kind->step_cost);
  }
  assert_null(lz__problem_kind(LZ_PROBLEM_KIND_COUNT));
}

/* What src/io and src/sched ask a kind instead of naming it: which kinds store fitted data,
 * and which instances read a target file. */
static void kinds_answer_for_their_data_and_their_target_file(void **state) {
  (void)state;
  for (int k = 0; k < LZ_PROBLEM_KIND_COUNT; ++k)
    assert_int_equal((lz_problem_kind_traits((lz_problem_kind)k) & LZ_KIND_HAS_FITTED_DATA) != 0,
                     k == LZ_PROBLEM_MLP);
  assert_int_equal(lz_problem_kind_traits(LZ_PROBLEM_KIND_COUNT), 0);
  lz_problem_params pp = {.kind = LZ_PROBLEM_MF};
  pp.mf.n = 7;
  pp.mf.target = LZ_TARGET_FILE;
  pp.mf.target_path = "a.h5";
  pp.mf.target_dataset = "A";
  const char *path = NULL, *dataset = NULL;
  int64_t n = 0;
  assert_true(lz_problem_params_target_file(&pp, &path, &dataset, &n));
  assert_string_equal(path, "a.h5");
  assert_string_equal(dataset, "A");
  assert_int_equal(n, 7);
  pp.mf.target = LZ_TARGET_GAUSSIAN;
  assert_false(lz_problem_params_target_file(&pp, &path, &dataset, &n));
  lz_problem_params quad = {.kind = LZ_PROBLEM_QUADRATIC};
  assert_false(lz_problem_params_target_file(&quad, &path, &dataset, &n));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_kind_has_a_complete_descriptor),
      cmocka_unit_test(kinds_answer_for_their_data_and_their_target_file),
      cmocka_unit_test(quadratic_gradient_is_lambda_times_x_and_hvp_lambda_times_v),
      cmocka_unit_test(quadratic_gradient_and_hvp_match_finite_differences),
      cmocka_unit_test(multiscale_gradient_and_hvp_match_finite_differences),
      cmocka_unit_test(multiscale_f0_is_the_slow_part_alone),
      cmocka_unit_test(mlp_gradient_and_hvp_match_finite_differences),
      cmocka_unit_test(mlp_variants_match_finite_differences),
      cmocka_unit_test(mlp_weighted_sin_loss_is_the_formula),
      cmocka_unit_test(mlp_data_follow_the_grid_and_the_formula),
      cmocka_unit_test(sigma2_is_the_phase_variance_of_the_fast_gradient),
      cmocka_unit_test(mf_test_shapes_reach_every_evaluation_path),
      cmocka_unit_test(sizes_from_parameters_match_the_built_instance),
      cmocka_unit_test(mf_gradient_matches_finite_differences_for_every_variant),
      cmocka_unit_test(mf_hvp_matches_finite_differences_for_every_variant),
      cmocka_unit_test(mf_value_agrees_with_value_grad_for_every_variant),
      cmocka_unit_test(scalar_gradient_and_hessian_match_closed_forms),
      cmocka_unit_test(scalar_target_agrees_with_a_one_by_one_file_target),
      cmocka_unit_test(lowrank_factors_have_orthonormal_columns),
      cmocka_unit_test(lowrank_value_is_accurate_at_an_exact_factorization),
      cmocka_unit_test(lowrank_target_agrees_with_the_same_matrix_as_a_file),
      cmocka_unit_test(mf_results_are_bitwise_identical_for_any_thread_count),
      cmocka_unit_test(batched_gradients_equal_single_run_gradients_bitwise),
      cmocka_unit_test(batched_hvps_equal_single_hvps_bitwise_and_the_residual_form_to_rounding),
      cmocka_unit_test(own_products_agree_with_the_blas),
      cmocka_unit_test(the_blas_probe_rejects_products_that_depend_on_the_batch),
      cmocka_unit_test(expanded_loss_gives_way_to_the_residual_near_zero_loss),
      cmocka_unit_test(gaussian_target_has_mean_zero_and_variance_scale2_over_n),
      cmocka_unit_test(gaussian_target_depends_only_on_seed_n_and_scale),
      cmocka_unit_test(identity_target_is_never_stored_and_acts_as_the_identity),
      cmocka_unit_test(state_stats_report_norms_balance_and_scalar_gap),
      cmocka_unit_test(create_rejects_matyas_in_one_dimension),
      cmocka_unit_test(create_rejects_a_lowrank_rank_above_n),
      cmocka_unit_test(create_rejects_a_scalar_target_unless_n_and_d_are_1),
      cmocka_unit_test(create_rejects_a_file_target_without_its_matrix),
      cmocka_unit_test(create_rejects_an_unknown_choice_of_products),
      cmocka_unit_test(vector_cos_should_not_depend_on_the_neighbours_and_stay_within_4_ulp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
