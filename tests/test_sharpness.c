#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lrzoo/lanczos.h"
#include "lrzoo/problem.h"
#include "lrzoo/rng.h"

/* LAPACK's dense symmetric eigensolver (in OpenBLAS): the reference Lanczos is checked against. */
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info, size_t, size_t);

/* Largest eigenvalue of the Hessian assembled column by column from Hessian-vector products. */
static double dense_hessian_top_eigenvalue(const lz_problem *p, const double *x) {
  int n = (int)lz_problem_dim(p);
  double *H = calloc((size_t)n * n, sizeof *H), *e = calloc((size_t)n, sizeof *e);
  double *w = malloc((size_t)n * sizeof *w);
  double *pw = malloc((lz_problem_work_len(p) + 1) * sizeof *pw);
  for (int j = 0; j < n; ++j) {
    e[j] = 1.0;
    lz_problem_hvp(p, x, e, H + (size_t)j * n, pw);
    e[j] = 0.0;
  }
  for (int i = 0; i < n; ++i)  /* symmetrize away rounding */
    for (int j = 0; j < i; ++j) H[i * n + j] = H[j * n + i] = 0.5 * (H[i * n + j] + H[j * n + i]);
  int lwork = 8 * n + 64, info = 0;
  double *work = malloc((size_t)lwork * sizeof *work);
  dsyev_("N", "U", &n, H, &n, w, work, &lwork, &info, 1, 1);
  assert_int_equal(info, 0);
  double top = w[n - 1];
  free(H), free(e), free(w), free(pw), free(work);
  return top;
}

static double lanczos_sharpness(const lz_problem *p, const double *x) {
  double *work = malloc(lz_sharpness_work_len(p) * sizeof *work);
  lz_lanczos_result res;
  assert_int_equal(lz_sharpness(p, x, 2022, &res, work), LZ_OK);
  free(work);
  return res.lambda;
}

static lz_problem *make(const lz_problem_params *pp) {
  lz_problem *p = NULL;
  lz_err err;
  int rc = lz_problem_create(pp, 7, NULL, &p, &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, LZ_OK);
  return p;
}

static void random_point(double *x, size_t n, double scale, uint64_t id) {
  lz_rng r;
  lz_rng_init(&r, 5, LZ_RNG_TEST, id, 0);
  for (size_t i = 0; i < n; ++i) x[i] = scale * lz_rng_normal(&r);
}

static void sharpness_of_the_scalar_case_should_match_the_2x2_closed_form(void **state) {
  (void)state;
  lz_problem_params pp = {.kind = LZ_PROBLEM_MF,
                          .mf.n = 1,
                          .mf.d = 1,
                          .mf.target = LZ_TARGET_SCALAR,
                          .mf.mu = 1.0,
                          .mf.activation = LZ_ACT_NONE};
  lz_problem *p = make(&pp);
  const double pts[][2] = {{9.0, 1.0}, {0.1, 0.2}, {1.0, 1.0}, {-2.0, 3.0}, {0.0, 0.0}};
  for (size_t i = 0; i < sizeof pts / sizeof pts[0]; ++i) {
    double x = pts[i][0], y = pts[i][1], mu = pp.mf.mu;
    /* H = [[y^2, 2xy - mu], [2xy - mu, x^2]] */
    double a = y * y, c = x * x, b = 2 * x * y - mu;
    double L = 0.5 * (a + c) + sqrt(0.25 * (a - c) * (a - c) + b * b);
    double got = lanczos_sharpness(p, pts[i]);
    assert_true(fabs(got - L) <= 1e-12 * fabs(L));
  }
  lz_problem_destroy(&p);
}

static void sharpness_of_a_quadratic_should_be_its_largest_eigenvalue(void **state) {
  (void)state;
  double lambda[50];
  for (int i = 0; i < 50; ++i) lambda[i] = 0.1 + 0.05 * i;
  lambda[17] = 7.25;
  lz_problem_params pp = {
      .kind = LZ_PROBLEM_QUADRATIC, .quadratic.eigenvalues = lambda, .quadratic.n_eigenvalues = 50};
  lz_problem *p = make(&pp);
  double x[50];
  random_point(x, 50, 1.0, 1);
  assert_true(fabs(lanczos_sharpness(p, x) - 7.25) <= 1e-12 * 7.25);
  lz_problem_destroy(&p);
}

static void check_against_dense(const lz_problem_params *pp, double scale, uint64_t id) {
  lz_problem *p = make(pp);
  size_t n = lz_problem_dim(p);
  double *x = malloc(n * sizeof *x);
  random_point(x, n, scale, id);
  double dense = dense_hessian_top_eigenvalue(p, x), lan = lanczos_sharpness(p, x);
  if (!(fabs(lan - dense) <= 1e-8 * fabs(dense)))
    fprintf(stderr, "Lanczos %.17g vs dense %.17g (kind %d, dim %zu)\n", lan, dense, pp->kind, n);
  assert_true(fabs(lan - dense) <= 1e-8 * fabs(dense));
  free(x);
  lz_problem_destroy(&p);
}

static void sharpness_of_mf_should_match_the_dense_hessian_to_1e_8(void **state) {
  (void)state;
  lz_problem_params pp = {.kind = LZ_PROBLEM_MF,
                          .mf.n = 12,
                          .mf.d = 3,
                          .mf.target = LZ_TARGET_GAUSSIAN,
                          .mf.target_scale = 1.0,
                          .mf.activation = LZ_ACT_NONE};
  check_against_dense(&pp, 0.3, 2);
  check_against_dense(&pp, 1.0, 3);
  pp.mf.activation = LZ_ACT_LEAKY_RELU;
  pp.mf.alpha = 0.1;
  check_against_dense(&pp, 0.5, 4);
  pp.mf.activation = LZ_ACT_NONE;
  pp.mf.n = 40;
  pp.mf.d = 2;
  pp.mf.target = LZ_TARGET_IDENTITY;
  check_against_dense(&pp, 0.1, 5);
  const double sv[] = {3.0, 1.0};
  pp.mf.target = LZ_TARGET_LOWRANK;
  pp.mf.rank = 2;
  pp.mf.singular_values = sv;
  pp.mf.n_singular_values = 2;
  check_against_dense(&pp, 0.2, 6);
}

static void sharpness_of_multiscale_should_match_the_dense_hessian_to_1e_8(void **state) {
  (void)state;
  lz_problem_params pp = {.kind = LZ_PROBLEM_MULTISCALE,
                          .multiscale.f0 = LZ_F0_MATYAS,
                          .multiscale.dim = 2,
                          .multiscale.f1 = LZ_F1_SINE,
                          .multiscale.eps = 0.1,
                          .multiscale.amplitude = 0.1,
                          .multiscale.ratio = 1.618};
  check_against_dense(&pp, 1.0, 7);
  pp.multiscale.f0 = LZ_F0_DOUBLE_WELL;
  pp.multiscale.f1 = LZ_F1_QUASIPERIODIC;
  check_against_dense(&pp, 1.0, 8);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sharpness_of_the_scalar_case_should_match_the_2x2_closed_form),
      cmocka_unit_test(sharpness_of_a_quadratic_should_be_its_largest_eigenvalue),
      cmocka_unit_test(sharpness_of_mf_should_match_the_dense_hessian_to_1e_8),
      cmocka_unit_test(sharpness_of_multiscale_should_match_the_dense_hessian_to_1e_8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
