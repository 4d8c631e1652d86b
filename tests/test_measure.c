/* Invariant measures: Gibbs bin probabilities against closed forms, the temperature fit, the
 * distances, and whole sampling runs against the Kong-Tao and double-well facts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lrzoo/config.h"
#include "lrzoo/measure.h"
#include "lrzoo/problem.h"
#include "lrzoo/results.h"
#include "test_jobs.h"

static lz_problem_params multiscale(lz_f0_kind f0, int dim) {
  lz_problem_params pp;
  memset(&pp, 0, sizeof pp);
  pp.kind = LZ_PROBLEM_MULTISCALE;
  pp.multiscale.f0 = f0;
  pp.multiscale.dim = dim;
  pp.multiscale.f1 = LZ_F1_SINE;
  pp.multiscale.eps = 1e-3;
  pp.multiscale.amplitude = 1e-3;
  pp.multiscale.ratio = 1.618;
  return pp;
}

/* ---- Gibbs ---------------------------------------------------------------------------------- */

static void gibbs_bins_of_a_quadratic_should_match_the_error_function_to_1e_10(void **state) {
  (void)state;
  lz_problem_params pp = multiscale(LZ_F0_QUADRATIC, 1);
  const double lo = -1.0, hi = 1.3;
  const int64_t B = 73;
  for (double T = 0.005; T < 2.0; T *= 4.0) {
    double p[73], s = 0.0;
    assert_int_equal(lz_gibbs_marginal(&pp, T, lo, hi, B, p), LZ_OK);
    /* exp(-x^2 / 2T) integrates to erf(x / sqrt(2T)) up to a constant */
    double z = sqrt(2.0 * T), total = erf(hi / z) - erf(lo / z);
    for (int64_t i = 0; i < B; ++i) {
      double a = lo + (hi - lo) * i / B, b = lo + (hi - lo) * (i + 1) / B;
      double expect = (erf(b / z) - erf(a / z)) / total;
      assert_true(fabs(p[i] - expect) <= 1e-10 * fmax(expect, 1e-300) + 1e-16);
      s += p[i];
    }
    assert_true(fabs(s - 1.0) < 1e-13);
  }
}

static void gibbs_marginal_of_matyas_should_be_the_joint_summed_over_the_other_coordinate(void **state) {
  (void)state;
  /* With the box holding all the mass, summing the joint over a column gives the marginal. */
  lz_problem_params pp = multiscale(LZ_F0_MATYAS, 2);
  const int64_t B = 40;
  const double T = 0.002, lo = -2.0, hi = 2.0;
  double *joint = malloc(B * B * sizeof *joint), marg[40];
  assert_int_equal(lz_gibbs_joint(&pp, T, lo, hi, B, joint), LZ_OK);
  assert_int_equal(lz_gibbs_marginal(&pp, T, lo, hi, B, marg), LZ_OK);
  double s = 0.0;
  for (int64_t i = 0; i < B; ++i) {
    double row = 0.0;
    for (int64_t j = 0; j < B; ++j) row += joint[i * B + j];
    s += row;
    assert_true(fabs(row - marg[i]) < 1e-9);
  }
  assert_true(fabs(s - 1.0) < 1e-13);
  free(joint);
}

static void gibbs_should_refuse_a_temperature_that_is_not_positive(void **state) {
  (void)state;
  lz_problem_params pp = multiscale(LZ_F0_QUADRATIC, 1);
  double p[4];
  assert_int_not_equal(lz_gibbs_marginal(&pp, 0.0, -1, 1, 4, p), LZ_OK);
  assert_int_not_equal(lz_gibbs_marginal(&pp, NAN, -1, 1, 4, p), LZ_OK);
}

static void temperature_fit_of_a_quadratic_should_be_the_sample_mean_of_x_squared(void **state) {
  (void)state;
  lz_problem_params pp = multiscale(LZ_F0_QUADRATIC, 1);
  /* mean of f0 = x^2/2 is half the mean of x^2 */
  assert_true(fabs(lz_gibbs_fit_temperature(&pp, 0.5 * 0.0263) - 0.0263) < 1e-15);
  pp.multiscale.dim = 2;
  assert_true(fabs(lz_gibbs_fit_temperature(&pp, 0.0263) - 0.0263) < 1e-15);
  assert_true(lz_gibbs_fit_temperature(&pp, 0.0) == 0.0);
}

static void temperature_fit_of_a_double_well_should_invert_its_mean(void **state) {
  (void)state;
  lz_problem_params pp = multiscale(LZ_F0_DOUBLE_WELL, 1);
  for (double T = 1e-4; T < 10.0; T *= 7.0) {
    double m = lz_gibbs_mean_f0(&pp, T);
    assert_true(fabs(lz_gibbs_fit_temperature(&pp, m) / T - 1.0) < 1e-9);
  }
  /* cold: harmonic in each well, so E[f0] = T/2 (equipartition) */
  assert_true(fabs(lz_gibbs_mean_f0(&pp, 1e-6) / 5e-7 - 1.0) < 1e-3);
  pp.multiscale.dim = 2;
  assert_true(fabs(lz_gibbs_mean_f0(&pp, 1e-6) / 1e-6 - 1.0) < 1e-3);
}

/* ---- distances ------------------------------------------------------------------------------ */

static void distances_should_vanish_on_equal_distributions_and_follow_closed_forms(void **state) {
  (void)state;
  const uint64_t c[4] = {1, 2, 3, 4};
  const double q[4] = {0.1, 0.2, 0.3, 0.4}, r[4] = {0.4, 0.3, 0.2, 0.1};
  assert_true(lz_tv_counts(c, q, 4) < 1e-16);
  assert_true(fabs(lz_kl_counts(c, q, 4)) < 1e-16);
  assert_true(lz_w1_counts(c, q, 4, 0.5) < 1e-16);
  assert_true(fabs(lz_tv_counts(c, r, 4) - 0.4) < 1e-15);
  /* cumulative differences 0.3, 0.4, 0.3, 0: W1 = 0.5 x 1.0 */
  assert_true(fabs(lz_w1_counts(c, r, 4, 0.5) - 0.5) < 1e-15);
  const uint64_t with_empty[4] = {0, 2, 3, 5};  /* an empty bin adds nothing to KL */
  double kl = 0.2 * log(0.2 / 0.2) + 0.3 * log(0.3 / 0.3) + 0.5 * log(0.5 / 0.4);
  assert_true(fabs(lz_kl_counts(with_empty, q, 4) - kl) < 1e-15);
  const double zero_q[4] = {0.0, 0.5, 0.5, 0.0};
  assert_true(isinf(lz_kl_counts(c, zero_q, 4)));
  const uint64_t none[4] = {0, 0, 0, 0};
  assert_true(isnan(lz_tv_counts(none, q, 4)));
  assert_true(fabs(lz_tv_between_counts(c, c, 4)) < 1e-16);
}

/* ---- whole sampling runs -------------------------------------------------------------------- */

typedef struct tile_run {
  lz_tile_result tr;
  lz_problem *p;
} tile_run;

/* Runs the job's only tile. */
static void run_single_tile(const lz_job *job, tile_run *out) {
  lz_err err;
  assert_int_equal(job->ntiles, 1);
  assert_int_equal(lz_tile_result_alloc(&out->tr, job, &err), LZ_OK);
  out->p = instance_of_tile(job, 0);
  run_tile_or_fail(job, out->p, 0, &out->tr);
}

static void free_tile_run(tile_run *t) {
  lz_tile_result_free(&t->tr);
  lz_problem_destroy(&t->p);
}

static void kong_tao_gd_should_sample_close_to_gibbs_with_the_linearized_variance(void **state) {
  (void)state;
  /* f = x^2/2 + eps sin(x/eps), eps = 1e-3, h = 0.1: sigma^2 = 1/2, T = h sigma^2 / 2 = 0.025,
   * and the variance is h sigma^2 / (2 - h) = 0.026316 (Kong & Tao's linearization). 10^6 samples per chain. */
  lz_job *job = parse("problem: {kind: multiscale, f0: quadratic, eps: 1.0e-3}\n"
                      "init: {kind: gaussian, scale: 0.5, replicas: 4}\n"
                      "lr: {values: [0.1]}\n"
                      "run: {max_iter: 4000}\n"
                      "analyze: {invariant_measure: {samples: 1000000, burn_in: 1000, bins: 100, "
                      "range: [-1, 1]}}\n");
  tile_run t;
  run_single_tile(job, &t);
  for (int64_t r = 0; r < t.tr.count; ++r) {
    const lz_run_result *res = &t.tr.runs[r];
    const lz_im_result *im = &res->im;
    assert_int_equal(res->status, LZ_STATUS_CHAOTIC);
    assert_true(res->lyapunov > 3.0);  /* ln(h / 2 eps) = 3.9 */
    assert_int_equal(im->samples, 1000000);
    assert_true(fabs(im->temperature - 0.025) < 1e-15);
    assert_true(fabs(im->variance_linear - 0.05 / 1.9) < 1e-15);
    assert_true(fabs(im->sample_variance / im->variance_linear - 1.0) < 0.03);
    /* the maximum-likelihood T of exp(-x^2 / 2T) is the sample E[x^2] */
    const double *m = lz_tile_row(&t.tr, LZ_ARRAY_MOMENTS, r);
    assert_true(fabs(im->temperature_fit - m[1]) <= 1e-12 * m[1]);
    /* within the leading-order error: the variance ratio 2 / (2 - h) - 1 = 5.3% */
    assert_true(fabs(im->temperature_fit / im->temperature - 1.0) < 0.08);
    fprintf(stderr, "chain %lld: var %.5f (linear %.5f), T_fit %.5f (T %.4f), TV %.4f, halves %.4f, "
            "KL %.5f, W1 %.5f, outside %.2g\n", (long long)r, im->sample_variance,
            im->variance_linear, im->temperature_fit, im->temperature, im->gibbs_tv,
            im->halves_tv, im->gibbs_kl, im->gibbs_w1, im->outside_fraction);
    /* small, and above the sampling error: the Gibbs picture holds to leading order only */
    assert_true(im->gibbs_tv < 0.03);
    assert_true(im->gibbs_tv > im->halves_tv);
    assert_true(im->outside_fraction < 1e-3);
    const double *g = lz_tile_row(&t.tr, LZ_ARRAY_GIBBS, r);
    double s = 0;
    for (int i = 0; i < 100; ++i) s += g[i];
    assert_true(fabs(s - 1.0) < 1e-13);
  }
  free_tile_run(&t);
  lz_job_destroy(&job);
}

static void double_well_should_trap_a_small_step_and_let_a_large_one_cross(void **state) {
  (void)state;
  lz_job *job = parse("problem: {kind: multiscale, f0: double_well, eps: 1.0e-2}\n"
                      "init: {kind: point, x: [-1.0]}\n"
                      "lr: {values: [1.0e-4, 0.3]}\n"
                      "run: {max_iter: 20000}\n"
                      "analyze: {invariant_measure: {samples: 400000, burn_in: 1000, bins: 80, "
                      "range: [-2, 2]}}\n");
  tile_run t;
  run_single_tile(job, &t);
  const lz_run_result *small = &t.tr.runs[0], *large = &t.tr.runs[1];
  const double *ws = lz_tile_row(&t.tr, LZ_ARRAY_WELLS, 0), *wl = lz_tile_row(&t.tr, LZ_ARRAY_WELLS, 1);
  fprintf(stderr, "h 1e-4: status %d, transitions %lld, wells %.3f %.3f; h 0.3: status %d, "
          "transitions %lld, wells %.3f %.3f, residence %.1f\n", small->status,
          (long long)small->im.transitions, ws[0], ws[1], large->status,
          (long long)large->im.transitions, wl[0], wl[1], large->im.residence_mean);
  /* h << eps resolves f1: GD converges in the starting well (x < 0) and stays */
  assert_int_equal(small->status, LZ_STATUS_CONVERGED);
  assert_int_equal(small->im.transitions, 0);
  assert_true(ws[0] == 1.0 && ws[1] == 0.0);
  /* h >> eps: chaotic, crossing the barrier often, both wells occupied */
  assert_int_equal(large->status, LZ_STATUS_CHAOTIC);
  assert_true(large->im.transitions > 100);
  assert_true(wl[0] > 0.3 && wl[1] > 0.3);
  assert_true(fabs(wl[0] + wl[1] - 1.0) < 1e-12);
  free_tile_run(&t);
  lz_job_destroy(&job);
}

/* The same in 3 and 6 dimensions (one chain at a time, the wells tracked per coordinate): the
 * small step stays in its starting well; the large one crosses, occupies the 2^3 wells about
 * equally (each near 1/8 by symmetry), and samples each coordinate about as close to the
 * marginal Gibbs density as in one dimension. In 6 dimensions the 64 wells are beyond what /runs/wells records (NaN), the
 * transitions still count. */
static void a_double_well_in_several_dimensions_should_trap_and_cross_the_same_way(void **state) {
  (void)state;
  for (int dim = 3; dim <= 6; dim += 3) {
    char text[640];
    snprintf(text, sizeof text,
             "problem: {kind: multiscale, f0: double_well, dim: %d, eps: 1.0e-2}\n"
             "init: {kind: point, x: [-1.0, 1.0, -0.7%s]}\n"
             "lr: {values: [1.0e-4, 0.3]}\n"
             "run: {max_iter: 20000}\n"
             "analyze: {invariant_measure: {samples: 400000, burn_in: 1000, bins: 80, "
             "range: [-2, 2], coords: [0, 2]}}\n", dim, dim == 6 ? ", 0.8, 1.2, -1.3" : "");
    lz_job *job = parse(text);
    tile_run t;
    run_single_tile(job, &t);
    const lz_run_result *small = &t.tr.runs[0], *large = &t.tr.runs[1];
    const double *ws = lz_tile_row(&t.tr, LZ_ARRAY_WELLS, 0), *wl = lz_tile_row(&t.tr, LZ_ARRAY_WELLS, 1);
    fprintf(stderr, "dim %d: h 1e-4 status %d transitions %lld; h 0.3 status %d transitions "
            "%lld, TV %.3f, first well %.3f\n", dim, small->status,
            (long long)small->im.transitions, large->status, (long long)large->im.transitions,
            large->im.gibbs_tv, wl[0]);
    assert_int_equal(small->status, LZ_STATUS_CONVERGED);
    assert_int_equal(small->im.transitions, 0);
    assert_int_equal(large->status, LZ_STATUS_CHAOTIC);
    assert_true(large->im.transitions > 100);
    assert_true(large->im.gibbs_tv < 0.3);
    if (dim <= LZ_WELLS_MAX_DIM) {
      /* the start (-1, 1, -0.7) is well 0b010 = 2; the coordinates evolve apart (f is
       * separable), each from its own start */
      double sum = 0.0;
      for (int w = 0; w < 8; ++w) {
        assert_true(ws[w] == (w == 2 ? 1.0 : 0.0));
        assert_true(wl[w] > 0.06 && wl[w] < 0.2);
        sum += wl[w];
      }
      assert_true(fabs(sum - 1.0) < 1e-12);
    } else {
      assert_true(isnan(wl[0]));
    }
    free_tile_run(&t);
    lz_job_destroy(&job);
  }
}

static void counts_should_not_depend_on_how_chains_are_grouped_into_blocks(void **state) {
  (void)state;
  /* The same chains in tiles of 1, 3 and 64 runs give the same counts: a chain's arithmetic
   * does not depend on its lane. */
#define GROUPING_JOB                                                         \
  "problem: {kind: multiscale, f0: double_well, dim: 2, eps: 1.0e-3}\n"     \
  "init: {kind: gaussian, scale: 1.0, replicas: 5}\n"                       \
  "lr: {values: [0.05]}\n"                                                  \
  "run: {max_iter: 500}\n"                                                  \
  "analyze: {invariant_measure: {samples: 20000, burn_in: 100, bins: 16, "  \
  "range: [-2, 2]}}\n"
  uint64_t *reference = NULL;
  size_t len = 0;
  for (int runs = 5; runs >= 1; runs -= 2) {
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "%stiles: {runs: %d}\n", GROUPING_JOB, runs);
    lz_job *job = parse(yaml);
    lz_err err;
    lz_tile_result tr;
    assert_int_equal(lz_tile_result_alloc(&tr, job, &err), LZ_OK);
    size_t per = (size_t)lz_array_shape_size(tr.shape[LZ_ARRAY_HIST2D]);
    uint64_t *all = calloc(5 * per, sizeof *all);
    lz_problem *p = instance_of_tile(job, 0);
    for (int64_t tile = 0; tile < job->ntiles; ++tile) {
      run_tile_or_fail(job, p, tile, &tr);
      for (int64_t i = 0; i < tr.count; ++i)
        memcpy(all + (size_t)(tr.r0 + i) * per, lz_tile_counts(&tr, LZ_ARRAY_HIST2D, i), per * sizeof *all);
    }
    if (!reference) {
      reference = all;
      len = 5 * per;
    } else {
      assert_memory_equal(reference, all, len * sizeof *all);
      free(all);
    }
    lz_problem_destroy(&p);
    lz_tile_result_free(&tr);
    lz_job_destroy(&job);
  }
  free(reference);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(gibbs_bins_of_a_quadratic_should_match_the_error_function_to_1e_10),
      cmocka_unit_test(gibbs_marginal_of_matyas_should_be_the_joint_summed_over_the_other_coordinate),
      cmocka_unit_test(gibbs_should_refuse_a_temperature_that_is_not_positive),
      cmocka_unit_test(temperature_fit_of_a_quadratic_should_be_the_sample_mean_of_x_squared),
      cmocka_unit_test(temperature_fit_of_a_double_well_should_invert_its_mean),
      cmocka_unit_test(distances_should_vanish_on_equal_distributions_and_follow_closed_forms),
      cmocka_unit_test(kong_tao_gd_should_sample_close_to_gibbs_with_the_linearized_variance),
      cmocka_unit_test(double_well_should_trap_a_small_step_and_let_a_large_one_cross),
      cmocka_unit_test(a_double_well_in_several_dimensions_should_trap_and_cross_the_same_way),
      cmocka_unit_test(counts_should_not_depend_on_how_chains_are_grouped_into_blocks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
