#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>

#include <cmocka.h>

#include "lrzoo/rng.h"

static void same_stream_should_give_the_same_numbers(void **state) {
  (void)state;
  lz_rng a, b;
  lz_rng_init(&a, 42, LZ_RNG_INIT, 7, 3);
  lz_rng_init(&b, 42, LZ_RNG_INIT, 7, 3);
  for (int i = 0; i < 1000; ++i) assert_int_equal(lz_rng_u64(&a), lz_rng_u64(&b));
}

static void streams_should_differ_in_every_name_component(void **state) {
  (void)state;
  lz_rng base, other;
  lz_rng_init(&base, 42, LZ_RNG_INIT, 7, 3);
  uint64_t first = lz_rng_u64(&base);
  lz_rng_init(&other, 43, LZ_RNG_INIT, 7, 3);
  assert_true(lz_rng_u64(&other) != first);
  lz_rng_init(&other, 42, LZ_RNG_TARGET, 7, 3);
  assert_true(lz_rng_u64(&other) != first);
  lz_rng_init(&other, 42, LZ_RNG_INIT, 8, 3);
  assert_true(lz_rng_u64(&other) != first);
  lz_rng_init(&other, 42, LZ_RNG_INIT, 7, 4);
  assert_true(lz_rng_u64(&other) != first);
}

static void uniforms_should_lie_in_the_open_unit_interval_with_mean_one_half(void **state) {
  (void)state;
  lz_rng r;
  lz_rng_init(&r, 1, LZ_RNG_TEST, 0, 0);
  const int n = 200000;
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    double u = lz_rng_uniform(&r);
    assert_true(u > 0.0 && u < 1.0);
    sum += u;
  }
  /* sd of the mean is sqrt(1/12/n) ~ 6.5e-4; allow 5 sd */
  assert_true(fabs(sum / n - 0.5) < 5 * sqrt(1.0 / 12 / n));
}

static void normals_should_have_zero_mean_and_unit_variance(void **state) {
  (void)state;
  lz_rng r;
  lz_rng_init(&r, 2, LZ_RNG_TEST, 0, 0);
  const int n = 200000;
  double s1 = 0, s2 = 0;
  for (int i = 0; i < n; ++i) {
    double z = lz_rng_normal(&r);
    s1 += z;
    s2 += z * z;
  }
  double mean = s1 / n, var = s2 / n - mean * mean;
  assert_true(fabs(mean) < 5.0 / sqrt(n));
  assert_true(fabs(var - 1.0) < 5.0 * sqrt(2.0 / n));
}

static void the_kth_normal_should_not_depend_on_uniforms_drawn_elsewhere(void **state) {
  (void)state;
  /* Two independent streams interleaved give the same numbers as each drawn alone. */
  lz_rng a, b, a2;
  lz_rng_init(&a, 5, LZ_RNG_INIT, 1, 0);
  lz_rng_init(&b, 5, LZ_RNG_INIT, 2, 0);
  lz_rng_init(&a2, 5, LZ_RNG_INIT, 1, 0);
  double ia[10];
  for (int i = 0; i < 10; ++i) {
    ia[i] = lz_rng_normal(&a);
    (void)lz_rng_normal(&b);
  }
  for (int i = 0; i < 10; ++i) assert_true(ia[i] == lz_rng_normal(&a2));
}

/* A team member draws its rows of a target from normal row0 * n on: the numbers must be those
 * of the whole stream, at even and odd skips (half a Philox block) and past one block. */
static void a_stream_started_at_normal_k_should_continue_the_whole_stream(void **state) {
  (void)state;
  lz_rng whole;
  lz_rng_init(&whole, 42, LZ_RNG_TARGET, 300, 0);
  double seen[40];
  for (int k = 0; k < 40; ++k) seen[k] = lz_rng_normal(&whole);
  const uint64_t skips[] = {0, 1, 2, 3, 7, 20, 33};
  for (size_t s = 0; s < sizeof skips / sizeof *skips; ++s) {
    lz_rng part;
    lz_rng_init_at_normal(&part, 42, LZ_RNG_TARGET, 300, 0, skips[s]);
    for (uint64_t k = skips[s]; k < 40; ++k) assert_true(lz_rng_normal(&part) == seen[k]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(same_stream_should_give_the_same_numbers),
      cmocka_unit_test(streams_should_differ_in_every_name_component),
      cmocka_unit_test(uniforms_should_lie_in_the_open_unit_interval_with_mean_one_half),
      cmocka_unit_test(normals_should_have_zero_mean_and_unit_variance),
      cmocka_unit_test(the_kth_normal_should_not_depend_on_uniforms_drawn_elsewhere),
      cmocka_unit_test(a_stream_started_at_normal_k_should_continue_the_whole_stream),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
