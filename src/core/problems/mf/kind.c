/* The mf problem kind: its parameters from the job, dimension, step cost, initial point and
 * the lanes engine's scalar case, around the objective of objective.c. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "lrzoo/gd_lanes.h"
#include "lrzoo/job.h"
#include "../../problem_internal.h"
#include "../problems.h"
#include "mf.h"
#include "mf_internal.h"

const char *const lz_activation_names[] = {"none", "relu", "leaky_relu", NULL};
const char *const lz_target_kind_names[] = {"gaussian", "identity", "scalar", "lowrank", "file",
                                            NULL};

/* 2 n d, saturated at SIZE_MAX: the memory estimate sizes jobs that are then refused, whose n
 * and d may each be up to 2^53 (the fuzzer found the overflow), and a saturated size keeps
 * them refused. */
static size_t params_dim(const lz_problem_params *pp) {
  size_t nd, dim;
  if (pp->mf.n < 0 || pp->mf.d < 0 ||
      __builtin_mul_overflow((size_t)pp->mf.n, (size_t)pp->mf.d, &nd) ||
      __builtin_mul_overflow(nd, (size_t)2, &dim))
    return SIZE_MAX;
  return dim;
}

static void params_at(const lz_job *job, const size_t *idx, lz_problem_params *out) {
  out->mf.n = (int64_t)lz_param_at(job, &job->problem.mf.n, idx);
  out->mf.d = (int64_t)lz_param_at(job, &job->problem.mf.d, idx);
  out->mf.activation = (lz_activation)lz_param_at(job, &job->problem.mf.activation, idx);
  out->mf.alpha = lz_param_at(job, &job->problem.mf.alpha, idx);
  out->mf.target = job->problem.mf.target.kind;
  out->mf.target_scale = lz_param_at(job, &job->problem.mf.target.scale, idx);
  out->mf.mu = lz_param_at(job, &job->problem.mf.target.mu, idx);
  out->mf.rank = (int64_t)lz_param_at(job, &job->problem.mf.target.rank, idx);
  out->mf.n_singular_values = job->problem.mf.target.singular_values.len;
  out->mf.singular_values = lz_vparam_at(job, &job->problem.mf.target.singular_values, idx);
  out->mf.target_path = job->problem.mf.target.path;
  out->mf.target_dataset = job->problem.mf.target.dataset;
}

static double step_cost(const lz_problem_params *pp) {
  double n = (double)pp->mf.n, d = (double)pp->mf.d;
  switch (pp->mf.target) {
    case LZ_TARGET_SCALAR: return 10.0;
    case LZ_TARGET_LOWRANK: return 8.0 * n * d * (d + (double)pp->mf.rank);
    default: return 6.0 * n * n * d + 8.0 * n * d * d;
  }
}

/* (n, d) rather than 2 n d, so that n x d and d x n start from different draws. */
static uint64_t initial_point_shape(const lz_problem_params *pp) {
  return ((uint64_t)pp->mf.n << 32) | (uint64_t)pp->mf.d;
}

/* init.imbalance c: X0 *= sqrt(c), Y0 /= sqrt(c), the same product X0 sigma(Y0)^T for the
 * identity activation. */
static void scale_initial_point(const lz_job *job, const size_t *idx,
                                const lz_problem_params *pp, double *x0) {
  size_t dim = params_dim(pp);
  double c = lz_param_at(job, &job->init.imbalance, idx);
  double sx = sqrt(c), sy = 1.0 / sqrt(c);
  size_t half = dim / 2;
  for (size_t i = 0; i < half; ++i) x0[i] *= sx;
  for (size_t i = half; i < dim; ++i) x0[i] *= sy;
}

static int64_t x_entry_index(const lz_problem_params *pp, const int64_t entry[2]) {
  return entry[0] * pp->mf.d + entry[1];
}

static int describe_lanes(const lz_problem *p, lz_lanes_problem *lp) {
  if (!lz__mf_scalar(lz__problem_state(p), &lp->mu, &lp->act, &lp->alpha)) return 0;
  lp->kind = LZ_LANES_SCALAR_MF;
  lp->dim = 2;
  return 1;
}

static int target_file(const lz_problem_params *pp, const char **path, const char **dataset,
                       int64_t *n) {
  if (pp->mf.target != LZ_TARGET_FILE) return 0;
  *path = pp->mf.target_path;
  *dataset = pp->mf.target_dataset;
  *n = pp->mf.n;
  return 1;
}

static size_t size_axes(const lz_job *job, int *axes) {
  const lz_mf_job *part = &job->problem.mf;
  axes[0] = part->n.axis, axes[1] = part->d.axis;
  axes[2] = part->target.rank.axis, axes[3] = part->target.singular_values.axis;
  return 4;
}

static void free_job_part(lz_job *job) {
  lz__free_vparam(&job->problem.mf.target.singular_values);
  free(job->problem.mf.target.path);
  free(job->problem.mf.target.dataset);
}

const lz_problem_kind_desc lz__kind_mf = {
    .name = "mf",
    .objective = &lz__objective_mf,
    .dim = params_dim,
    .dim_formula = "2*n*d, X row-major then Y",
    .params_at = params_at,
    .step_cost = step_cost,
    .traits = LZ_KIND_HAS_FACTORS,
    .initial_point_shape = initial_point_shape,
    .scale_initial_point = scale_initial_point,
    .state_stats = lz__mf_state_stats,
    .x_entry_index = x_entry_index,
    .describe_lanes = describe_lanes,
    .size_axes = size_axes,
    .free_job_part = free_job_part,
    .target_file = target_file,
    .team_chunks = lz__mf_team_chunks,
    .team_rows = lz__mf_team_rows,
};
