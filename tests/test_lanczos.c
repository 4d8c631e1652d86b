#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lrzoo/lanczos.h"
#include "lrzoo/linalg.h"
#include "lrzoo/rng.h"

/* A = Q diag(lambda) Q^T with Q = I - 2 u u^T (|u| = 1): a dense symmetric matrix whose
 * eigenvalues are known exactly. */
typedef struct reflected_diag {
  size_t n;
  const double *lambda;
  double *u;
  double *tmp;
} reflected_diag;

static void apply_reflected_diag(void *ctx, const double *v, double *out) {
  reflected_diag *a = ctx;
  size_t n = a->n;
  double c = lz_dot(a->u, v, n);
  for (size_t i = 0; i < n; ++i) a->tmp[i] = v[i] - 2 * c * a->u[i];        /* Q v */
  for (size_t i = 0; i < n; ++i) a->tmp[i] *= a->lambda[i];                 /* D Q v */
  c = lz_dot(a->u, a->tmp, n);
  for (size_t i = 0; i < n; ++i) out[i] = a->tmp[i] - 2 * c * a->u[i];      /* Q D Q v */
}

static double lanczos_top_with(reflected_diag *a, int max_steps, int three_term,
                               lz_lanczos_result *res) {
  size_t n = a->n;
  double *v0 = malloc(n * sizeof *v0);
  double *work = malloc(lz_lanczos_work_len(n, max_steps) * sizeof *work);
  lz_rng r;
  lz_rng_init(&r, 11, LZ_RNG_TEST, n, 0);
  for (size_t i = 0; i < n; ++i) v0[i] = lz_rng_normal(&r);
  lz_lanczos_opts opts = {1e-12, max_steps, three_term};
  assert_int_equal(lz_lanczos_max_eig(apply_reflected_diag, a, n, v0, &opts, res, work), 0);
  free(v0);
  free(work);
  return res->lambda;
}

static double lanczos_top(reflected_diag *a, int max_steps, lz_lanczos_result *res) {
  return lanczos_top_with(a, max_steps, 0, res);
}

static void make_reflected_diag(reflected_diag *a, size_t n, const double *lambda) {
  a->n = n;
  a->lambda = lambda;
  a->u = malloc(n * sizeof *a->u);
  a->tmp = malloc(n * sizeof *a->tmp);
  lz_rng r;
  lz_rng_init(&r, 3, LZ_RNG_TEST, n, 1);
  for (size_t i = 0; i < n; ++i) a->u[i] = lz_rng_normal(&r);
  double nu = lz_norm2(a->u, n);
  for (size_t i = 0; i < n; ++i) a->u[i] /= nu;
}

static void free_reflected_diag(reflected_diag *a) {
  free(a->u);
  free(a->tmp);
}

static void lanczos_should_find_the_largest_of_a_known_spectrum_to_1e_10(void **state) {
  (void)state;
  const size_t n = 400;
  double *lambda = malloc(n * sizeof *lambda);
  /* Eigenvalues in [-3, 2] with the top two close together (gap 1e-3): a fair test. */
  for (size_t i = 0; i < n; ++i) lambda[i] = -3.0 + 4.999 * (double)i / (double)(n - 1);
  lambda[n / 2] = 2.0;
  reflected_diag a;
  make_reflected_diag(&a, n, lambda);
  lz_lanczos_result res;
  double top = lanczos_top(&a, 300, &res);
  assert_true(res.converged);
  assert_true(fabs(top - 2.0) <= 1e-10 * 2.0);
  free_reflected_diag(&a);
  free(lambda);
}

static void lanczos_should_return_the_algebraic_not_the_absolute_largest(void **state) {
  (void)state;
  const double lambda[] = {-10.0, 0.5, 1.0, 3.0, -7.0};
  reflected_diag a;
  make_reflected_diag(&a, 5, lambda);
  lz_lanczos_result res;
  assert_true(fabs(lanczos_top(&a, 0, &res) - 3.0) < 1e-12);
  free_reflected_diag(&a);
}

static void lanczos_should_be_exact_when_the_krylov_space_is_exhausted(void **state) {
  (void)state;
  const double lambda[] = {1.0, 2.0};
  reflected_diag a;
  make_reflected_diag(&a, 2, lambda);
  lz_lanczos_result res;
  assert_true(fabs(lanczos_top(&a, 10, &res) - 2.0) < 1e-14);
  assert_true(res.converged);
  assert_true(res.steps <= 2);
  free_reflected_diag(&a);
}

static void lanczos_should_be_bitwise_repeatable(void **state) {
  (void)state;
  const size_t n = 100;
  double lambda[100];
  for (size_t i = 0; i < n; ++i) lambda[i] = sin((double)i);
  reflected_diag a;
  make_reflected_diag(&a, n, lambda);
  lz_lanczos_result r1, r2;
  double l1 = lanczos_top(&a, 50, &r1), l2 = lanczos_top(&a, 50, &r2);
  assert_memory_equal(&l1, &l2, sizeof l1);
  assert_int_equal(r1.steps, r2.steps);
  free_reflected_diag(&a);
}

static void lanczos_should_reject_a_zero_start_vector(void **state) {
  (void)state;
  const double lambda[] = {1.0, 2.0, 3.0};
  reflected_diag a;
  make_reflected_diag(&a, 3, lambda);
  double v0[3] = {0, 0, 0}, work[256];
  lz_lanczos_result res;
  assert_int_not_equal(lz_lanczos_max_eig(apply_reflected_diag, &a, 3, v0, NULL, &res, work), 0);
  free_reflected_diag(&a);
}


/* Problems above about 320 unknowns do not store the Krylov basis (512 KiB cap): the three-term
 * recurrence must still find the top eigenvalue, here forced on spectra whose answer is known,
 * including the 1e-3 top gap, after its orthogonality is long lost. */
static void the_three_term_recurrence_should_find_the_top_eigenvalue_to_1e_10(void **state) {
  (void)state;
  const size_t n = 3000;
  double *lambda = malloc(n * sizeof *lambda);
  const double gaps[] = {1e-3, 0.05, 1.0};
  for (int g = 0; g < 3; ++g) {
    for (size_t i = 0; i < n; ++i) lambda[i] = -3.0 + 5.0 * (double)i / (double)(n - 1) - gaps[g];
    lambda[n / 3] = 2.0;
    reflected_diag a;
    make_reflected_diag(&a, n, lambda);
    lz_lanczos_result full, three;
    lanczos_top_with(&a, 600, 0, &full);
    double top = lanczos_top_with(&a, 600, 1, &three);
    print_message("gap %g: full basis %d steps (error %.3g), three-term %d steps (error %.3g, "
                  "residual %.3g)\n", gaps[g], full.steps, fabs(full.lambda - 2.0), three.steps,
                  fabs(top - 2.0), three.residual);
    assert_true(three.converged);
    assert_true(fabs(top - 2.0) <= 1e-10 * 2.0);
    free_reflected_diag(&a);
  }
  free(lambda);
}

/* The scratch comes from earlier runs and may hold NaN or inf (a diverged run's vectors). The
 * three-term recurrence must not read the slot of v_(-1) at its first step: the answer is the
 * same as from zeroed scratch, bitwise. */
static void the_three_term_recurrence_should_not_read_what_the_scratch_held(void **state) {
  (void)state;
  const size_t n = 3000;
  double *lambda = malloc(n * sizeof *lambda), *v0 = malloc(n * sizeof *v0);
  for (size_t i = 0; i < n; ++i) lambda[i] = -1.0 + 2.0 * (double)i / (double)(n - 1);
  reflected_diag a;
  make_reflected_diag(&a, n, lambda);
  lz_rng r;
  lz_rng_init(&r, 5, LZ_RNG_TEST, n, 0);
  for (size_t i = 0; i < n; ++i) v0[i] = lz_rng_normal(&r);
  const size_t len = lz_lanczos_work_len(n, 50);
  double *clean = calloc(len, sizeof *clean), *dirty = malloc(len * sizeof *dirty);
  for (size_t i = 0; i < len; ++i) dirty[i] = NAN;
  lz_lanczos_opts opts = {1e-12, 50, 1};
  lz_lanczos_result from_clean, from_dirty;
  assert_int_equal(lz_lanczos_max_eig(apply_reflected_diag, &a, n, v0, &opts, &from_clean, clean), 0);
  assert_int_equal(lz_lanczos_max_eig(apply_reflected_diag, &a, n, v0, &opts, &from_dirty, dirty), 0);
  assert_true(isfinite(from_dirty.lambda));
  assert_memory_equal(&from_clean.lambda, &from_dirty.lambda, sizeof from_clean.lambda);
  assert_int_equal(from_clean.steps, from_dirty.steps);
  free(clean), free(dirty), free(v0), free(lambda);
  free_reflected_diag(&a);
}

/* The work length follows the path: a dimension whose basis exceeds the cap (512 KiB) needs 3
 * vectors. */
static void the_work_length_should_drop_the_basis_above_512_kib(void **state) {
  (void)state;
  assert_true(lz_lanczos_work_len(300, 0) >= 201 * 300);
  assert_true(lz_lanczos_work_len(400, 0) < 4 * 400 + 16 * 200 + 8);
  size_t big = (size_t)20 * 1000 * 1000;
  assert_true(lz_lanczos_work_len(big, 0) < 4 * big);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(lanczos_should_find_the_largest_of_a_known_spectrum_to_1e_10),
      cmocka_unit_test(the_three_term_recurrence_should_not_read_what_the_scratch_held),
      cmocka_unit_test(lanczos_should_return_the_algebraic_not_the_absolute_largest),
      cmocka_unit_test(lanczos_should_be_exact_when_the_krylov_space_is_exhausted),
      cmocka_unit_test(lanczos_should_be_bitwise_repeatable),
      cmocka_unit_test(lanczos_should_reject_a_zero_start_vector),
      cmocka_unit_test(the_three_term_recurrence_should_find_the_top_eigenvalue_to_1e_10),
      cmocka_unit_test(the_work_length_should_drop_the_basis_above_512_kib),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
