#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lrzoo/job.h"

/* A hand-made mf job: n in {4, 8} (problem axis), replica 0..2, lr 5 values; 4 runs per tile. */
static lz_job *make_job(int64_t tile_runs) {
  lz_job *job = calloc(1, sizeof *job);
  job->problem.kind = LZ_PROBLEM_MF;
  job->naxes = 4;
  job->axes = calloc(4, sizeof *job->axes);
  const char *names[] = {"n", "d", "replica", "lr"};
  const lz_axis_group groups[] = {LZ_AXIS_PROBLEM, LZ_AXIS_PROBLEM, LZ_AXIS_INIT, LZ_AXIS_LR};
  const size_t lens[] = {2, 1, 3, 5};
  for (int a = 0; a < 4; ++a) {
    lz_axis *ax = &job->axes[a];
    strcpy(ax->name, names[a]);
    ax->group = groups[a];
    ax->len = lens[a];
    ax->width = 1;
    ax->values = calloc(lens[a], sizeof(double));
  }
  job->axes[0].values[0] = 4, job->axes[0].values[1] = 8;
  job->axes[1].values[0] = 2;
  for (int i = 0; i < 3; ++i) job->axes[2].values[i] = i;
  for (int i = 0; i < 5; ++i) job->axes[3].values[i] = 0.1 * (i + 1);
  job->problem.mf.n = (lz_param){0, 0, {0, 0}};
  job->problem.mf.d = (lz_param){1, 0, {0, 0}};
  job->problem.mf.activation = (lz_param){-1, LZ_ACT_NONE, {0, 0}};
  job->problem.mf.target.kind = LZ_TARGET_GAUSSIAN;
  job->problem.mf.target.scale = (lz_param){-1, 1.0, {0, 0}};
  job->init.kind = LZ_INIT_GAUSSIAN;
  job->init.scale = (lz_param){-1, 0.5, {0, 0}};
  job->init.imbalance = (lz_param){-1, 4.0, {0, 0}};
  job->init.replica_axis = 2;
  job->lr.axis = 3;
  job->tiles.runs = tile_runs;
  job->nruns = 30;
  job->ninstances = 2;
  job->runs_per_instance = 15;
  job->tiles_per_instance = (15 + tile_runs - 1) / tile_runs;
  job->ntiles = 2 * job->tiles_per_instance;
  job->seed = 99;
  return job;
}

static void run_coords_should_be_mixed_radix_with_lr_fastest(void **state) {
  (void)state;
  lz_job *job = make_job(4);
  size_t idx[4];
  for (int64_t r = 0; r < job->nruns; ++r) {
    lz_job_run_coords(job, r, idx);
    int64_t back = (int64_t)(((idx[0] * 1 + idx[1]) * 3 + idx[2]) * 5 + idx[3]);
    assert_int_equal(back, r);
    assert_int_equal(lz_job_instance_of_run(job, r), idx[0]);
  }
  lz_job_run_coords(job, 7, idx);  /* 7 = replica 1, lr 2 */
  assert_int_equal(idx[2], 1);
  assert_int_equal(idx[3], 2);
  assert_true(lz_job_lr_value(job, idx) == job->axes[3].values[2]);
  lz_job_destroy(&job);
  assert_null(job);
}

static void tiles_should_cover_every_run_once_without_crossing_instances(void **state) {
  (void)state;
  for (int64_t tr = 1; tr <= 16; ++tr) {
    lz_job *job = make_job(tr);
    int seen[30] = {0};
    for (int64_t t = 0; t < job->ntiles; ++t) {
      int64_t r0, count;
      lz_job_tile_runs(job, t, &r0, &count);
      assert_true(count >= 1 && count <= tr);
      assert_int_equal(lz_job_instance_of_run(job, r0), lz_job_instance_of_run(job, r0 + count - 1));
      for (int64_t r = r0; r < r0 + count; ++r) seen[r]++;
    }
    for (int r = 0; r < 30; ++r) assert_int_equal(seen[r], 1);
    lz_job_destroy(&job);
  }
}

static void gaussian_init_should_depend_on_replica_and_shape_not_on_lr(void **state) {
  (void)state;
  lz_job *job = make_job(4);
  size_t idx[4];
  lz_problem_params pp;
  double a[16], b[16];
  lz_job_run_coords(job, 5, idx);  /* instance 0 (n = 4), replica 1, lr 0 */
  lz_job_problem_params(job, idx, &pp);
  assert_int_equal(pp.mf.n, 4);
  assert_int_equal(pp.mf.d, 2);
  assert_int_equal(lz_problem_params_dim(&pp), 16);
  assert_int_equal(lz_job_initial_point(job, idx, &pp, a), 0);
  lz_job_run_coords(job, 9, idx);  /* same replica, lr 4 */
  assert_int_equal(lz_job_initial_point(job, idx, &pp, b), 0);
  assert_memory_equal(a, b, sizeof a);
  lz_job_run_coords(job, 10, idx); /* replica 2 */
  assert_int_equal(lz_job_initial_point(job, idx, &pp, b), 0);
  assert_memory_not_equal(a, b, sizeof a);
  /* imbalance 4 against 1: X exactly twice, Y exactly half (powers of two scale exactly) */
  job->init.imbalance.value = 1.0;
  lz_job_run_coords(job, 5, idx);
  assert_int_equal(lz_job_initial_point(job, idx, &pp, b), 0);
  for (int i = 0; i < 8; ++i) {
    assert_true(a[i] == 2.0 * b[i]);
    assert_true(a[8 + i] == 0.5 * b[8 + i]);
  }
  lz_job_destroy(&job);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(run_coords_should_be_mixed_radix_with_lr_fastest),
      cmocka_unit_test(tiles_should_cover_every_run_once_without_crossing_instances),
      cmocka_unit_test(gaussian_init_should_depend_on_replica_and_shape_not_on_lr),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
