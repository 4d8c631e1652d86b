/* Pooling the invariant measure of a sweep point's replicas (src/core/pool.c): the pooled
 * histograms are the exact sums of the replicas', the distances are those of the summed
 * histograms against the point's Gibbs density, and a point whose replicas ran at different
 * step sizes has no Gibbs comparison. */
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
#include "lrzoo/pool.h"
#include "lrzoo/problem.h"
#include "lrzoo/results.h"
#include "test_jobs.h"

/* Three replicas of a chaotic double-well chain at one step size: one sweep point. */
static const char *const three_replicas =
    "problem: {kind: multiscale, f0: double_well, eps: 1.0e-2}\n"
    "init: {kind: gaussian, scale: 0.5, replicas: 3}\n"
    "lr: {values: [0.3]}\n"
    "run: {max_iter: 2000}\n"
    "analyze: {invariant_measure: {samples: 20000, burn_in: 500, bins: 40, range: [-2, 2]}}\n";

typedef struct pooled_point {
  lz_job *job;
  lz_problem *p;
  lz_tile_result tr;
  lz_pool_buffers b;
  int64_t count;
} pooled_point;

/* What the scheduler reads back from the file: the point's runs, in their order. */
static void copy_point_runs_into_buffers(pooled_point *pt) {
  int64_t first, count, stride;
  lz_job_pooled_runs(pt->job, 0, &first, &count, &stride);
  assert_int_equal(count, 3);
  pt->count = count;
  for (int64_t i = 0; i < count; ++i) {
    int64_t r = first + i * stride - pt->tr.r0;
    pt->b.runs[i] = pt->tr.runs[r];
    for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
      if (!pt->b.in[a]) continue;
      int64_t per = lz_array_shape_size(pt->b.shape[a]);
      memcpy((char *)pt->b.in[a] + (size_t)(i * per) * 8, lz_tile_row(&pt->tr, (lz_array_id)a, r),
             (size_t)per * 8);
    }
  }
}

static void run_the_point(pooled_point *pt) {
  lz_err err;
  pt->job = parse(three_replicas);
  assert_int_equal(pt->job->ntiles, 1);
  assert_int_equal(lz_job_npooled(pt->job), 1);
  assert_int_equal(lz_tile_result_alloc(&pt->tr, pt->job, &err), LZ_OK);
  pt->p = instance_of_tile(pt->job, 0);
  run_tile_or_fail(pt->job, pt->p, 0, &pt->tr);
  assert_int_equal(lz_pool_buffers_alloc(pt->job, &pt->b), LZ_OK);
  copy_point_runs_into_buffers(pt);
}

static void free_the_point(pooled_point *pt) {
  lz_pool_buffers_free(&pt->b);
  lz_tile_result_free(&pt->tr);
  lz_problem_destroy(&pt->p);
  lz_job_destroy(&pt->job);
}

static int64_t bins_of(const pooled_point *pt) { return pt->job->analyze.invariant_measure.bins; }

static void pooled_counts_should_be_the_exact_sums_of_the_replicas(void **state) {
  (void)state;
  pooled_point pt;
  run_the_point(&pt);
  lz_pooled_result pr;
  lz_pool_point(pt.job, pt.p, &pt.b, pt.count, &pr);
  const lz_array_id counted[] = {LZ_ARRAY_HIST, LZ_ARRAY_HIST_HALF1};
  for (size_t i = 0; i < 2; ++i) {
    const uint64_t *sum = pt.b.out[counted[i]];
    assert_non_null(sum);
    for (int64_t k = 0; k < bins_of(&pt); ++k) {
      uint64_t expect = 0;
      for (int64_t r = 0; r < pt.count; ++r) expect += lz_tile_counts(&pt.tr, counted[i], r)[k];
      assert_int_equal(sum[k], expect);
    }
  }
  int64_t samples = 0, transitions = 0;
  for (int64_t r = 0; r < pt.count; ++r) {
    samples += pt.tr.runs[r].im.samples;
    transitions += pt.tr.runs[r].im.transitions;
  }
  assert_int_equal(samples, 3 * 20000);
  assert_int_equal(pr.im.samples, samples);
  assert_int_equal(pr.im.transitions, transitions);
  free_the_point(&pt);
}

static void pooled_distances_should_be_those_of_the_summed_histogram(void **state) {
  (void)state;
  pooled_point pt;
  run_the_point(&pt);
  lz_pooled_result pr;
  lz_pool_point(pt.job, pt.p, &pt.b, pt.count, &pr);
  const int64_t B = bins_of(&pt);
  const double *gibbs = pt.b.out[LZ_ARRAY_GIBBS];
  /* one h, so one temperature and the same Gibbs row as every replica's */
  assert_true(pr.im.temperature == pt.tr.runs[0].im.temperature);
  assert_memory_equal(gibbs, lz_tile_row(&pt.tr, LZ_ARRAY_GIBBS, 0), (size_t)B * sizeof *gibbs);
  const uint64_t *hist = pt.b.out[LZ_ARRAY_HIST];
  assert_true(pr.im.gibbs_tv == lz_tv_counts(hist, gibbs, B));
  assert_true(pr.im.gibbs_kl == lz_kl_counts(hist, gibbs, B));
  /* pooled moments: the sample-weighted mean of the replicas' */
  double mean = 0.0;
  for (int64_t r = 0; r < pt.count; ++r) mean += lz_tile_row(&pt.tr, LZ_ARRAY_MOMENTS, r)[0] / 3.0;
  assert_true(fabs(((const double *)pt.b.out[LZ_ARRAY_MOMENTS])[0] - mean) <= 1e-14);
  free_the_point(&pt);
}

static void one_replica_pooled_alone_should_give_its_own_measurements(void **state) {
  (void)state;
  pooled_point pt;
  run_the_point(&pt);
  lz_pooled_result pr;
  lz_pool_point(pt.job, pt.p, &pt.b, 1, &pr);
  const lz_im_result *own = &pt.tr.runs[0].im;
  assert_int_equal(pr.im.samples, own->samples);
  assert_true(pr.im.gibbs_tv == own->gibbs_tv);
  assert_true(pr.im.halves_tv == own->halves_tv);
  assert_true(fabs(pr.im.f0_mean - own->f0_mean) <= 1e-14 * fabs(own->f0_mean));
  assert_true(fabs(pr.im.sample_variance - own->sample_variance) <=
              1e-12 * own->sample_variance);
  free_the_point(&pt);
}

static void replicas_at_different_step_sizes_should_have_no_gibbs_comparison(void **state) {
  (void)state;
  pooled_point pt;
  run_the_point(&pt);
  pt.b.runs[1].h *= 1.5;  /* what lr relative to 2/L gives replicas of different sharpness */
  lz_pooled_result pr;
  lz_pool_point(pt.job, pt.p, &pt.b, pt.count, &pr);
  assert_true(isnan(pr.im.temperature));
  assert_true(isnan(pr.im.gibbs_tv));
  assert_true(isnan(((const double *)pt.b.out[LZ_ARRAY_GIBBS])[0]));
  assert_int_equal(pr.im.samples, 3 * 20000);  /* the counts are pooled all the same */
  free_the_point(&pt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pooled_counts_should_be_the_exact_sums_of_the_replicas),
      cmocka_unit_test(pooled_distances_should_be_those_of_the_summed_histogram),
      cmocka_unit_test(one_replica_pooled_alone_should_give_its_own_measurements),
      cmocka_unit_test(replicas_at_different_step_sizes_should_have_no_gibbs_comparison),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
