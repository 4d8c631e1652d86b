/* Quadratic objective f = 1/2 sum_i lambda_i x_i^2: the reference case where GD's stability
 * limit h < 2 / max lambda is exact. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lrzoo/gd_lanes.h"
#include "lrzoo/problem.h"
#include "problems.h"

typedef struct quadratic {
  size_t n;
  double lambda[];  /* a copy, so the instance does not depend on who owns the params */
} quadratic;

static int quadratic_create(const lz_problem_params *pp, uint64_t seed, const double *target,
                            void **state, lz_err *err) {
  *state = NULL;
  if (pp->quadratic.n_eigenvalues == 0 || !pp->quadratic.eigenvalues)
    return lz_err_set(err, LZ_EINVAL, "quadratic: eigenvalues must be a non-empty list");
  for (size_t i = 0; i < pp->quadratic.n_eigenvalues; ++i)
    if (!isfinite(pp->quadratic.eigenvalues[i]))
      return lz_err_set(err, LZ_EINVAL, "quadratic: eigenvalue %zu is not finite", i);
  quadratic *q = malloc(sizeof *q + pp->quadratic.n_eigenvalues * sizeof q->lambda[0]);
  if (!q) return lz_err_set(err, LZ_ENOMEM, "quadratic: out of memory");
  q->n = pp->quadratic.n_eigenvalues;
  memcpy(q->lambda, pp->quadratic.eigenvalues, q->n * sizeof q->lambda[0]);
  *state = q;
  return LZ_OK;
}

static void quadratic_destroy(void *state) { free(state); }

static size_t quadratic_dim(const void *state) { return ((const quadratic *)state)->n; }

static size_t quadratic_work_len(const void *state) { return 0; }

static void quadratic_sizes(const lz_problem_params *pp, lz_problem_sizes *s) {
  s->dim = pp->quadratic.n_eigenvalues;
  s->stored_bytes = (double)sizeof(quadratic) + 8.0 * (double)pp->quadratic.n_eigenvalues;
}

static double quadratic_value(const void *state, const double *x, double *work) {
  const quadratic *q = state;
  double f = 0.0;
  for (size_t i = 0; i < q->n; ++i) f += q->lambda[i] * x[i] * x[i];
  return 0.5 * f;
}

static double quadratic_value_grad(const void *state, const double *x, double *g,
                                   double *work) {
  const quadratic *q = state;
  for (size_t i = 0; i < q->n; ++i) g[i] = q->lambda[i] * x[i];
  return quadratic_value(state, x, work);
}

static void quadratic_hvp(const void *state, const double *x, const double *v, double *hv,
                          double *work) {
  const quadratic *q = state;
  for (size_t i = 0; i < q->n; ++i) hv[i] = q->lambda[i] * v[i];
}

static const lz_objective objective = {
    .name = "quadratic",
    .sizes = quadratic_sizes,
    .create = quadratic_create,
    .destroy = quadratic_destroy,
    .dim = quadratic_dim,
    .work_len = quadratic_work_len,
    .value = quadratic_value,
    .value_grad = quadratic_value_grad,
    .hvp = quadratic_hvp,
    .f0 = NULL,
    .sigma2 = NULL,
};

/* ---- the kind ------------------------------------------------------------------------------ */

static size_t params_dim(const lz_problem_params *pp) { return pp->quadratic.n_eigenvalues; }

static void params_at(const lz_job *job, const size_t *idx, lz_problem_params *out) {
  out->quadratic.n_eigenvalues = job->problem.quadratic.eigenvalues.len;
  out->quadratic.eigenvalues = lz_vparam_at(job, &job->problem.quadratic.eigenvalues, idx);
}

static double step_cost(const lz_problem_params *pp) {
  return 4.0 * (double)pp->quadratic.n_eigenvalues;
}

static int describe_lanes(const lz_problem *p, lz_lanes_problem *lp) {
  const lz_problem_params *pp = lz_problem_params_of(p);
  lp->kind = LZ_LANES_QUADRATIC;
  for (int c = 0; c < lp->dim; ++c) lp->lambda[c] = pp->quadratic.eigenvalues[c];
  return 1;
}

static void free_job_part(lz_job *job) { lz__free_vparam(&job->problem.quadratic.eigenvalues); }

const lz_problem_kind_desc lz__kind_quadratic = {
    .name = "quadratic",
    .objective = &objective,
    .dim = params_dim,
    .dim_formula = "the number of eigenvalues",
    .params_at = params_at,
    .step_cost = step_cost,
    .describe_lanes = describe_lanes,
    .free_job_part = free_job_part,
};
