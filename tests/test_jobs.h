/* Test helpers shared by the tests that run whole jobs: parse a job from YAML text, and run
 * every tile of it. Header-only (static functions), included once per test program. */
#ifndef LRZOO_TEST_JOBS_H
#define LRZOO_TEST_JOBS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lrzoo/config.h"
#include "lrzoo/problem.h"
#include "lrzoo/results.h"

/* The job of a YAML text; fails the test, printing the diagnostics, if it does not parse. */
static lz_job *parse(const char *yaml) {
  lz_job *job = NULL;
  char *diag = NULL;
  int rc = lz_config_parse("test.yaml", yaml, strlen(yaml), &job, &diag);
  if (rc != LZ_OK) fprintf(stderr, "%s\n", diag);
  assert_int_equal(rc, LZ_OK);
  free(diag);
  return job;
}

/* The problem instance of tile t. */
static lz_problem *instance_of_tile(const lz_job *job, int64_t t) {
  int64_t r0, count;
  lz_job_tile_runs(job, t, &r0, &count);
  lz_problem_params pp;
  lz_job_instance_params(job, lz_job_instance_of_run(job, r0), &pp);
  lz_problem *p = NULL;
  lz_err err;
  assert_int_equal(lz_problem_create(&pp, job->seed, NULL, &p, &err), LZ_OK);
  return p;
}

/* Runs tile t into tr (allocated for the job), failing the test on an error. */
static void run_tile_or_fail(const lz_job *job, const lz_problem *p, int64_t t, lz_tile_result *tr) {
  lz_err err;
  int rc = lz_run_tile(job, p, t, NULL, tr, &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, LZ_OK);
}

#endif
