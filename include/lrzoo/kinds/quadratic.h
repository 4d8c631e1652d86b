/* The quadratic kind: f(x) = sum_i lambda_i x_i^2 / 2 (src/core/problems/quadratic.c). */
#ifndef LRZOO_KINDS_QUADRATIC_H
#define LRZOO_KINDS_QUADRATIC_H

#include "lrzoo/param.h"

/* As the job file gives it (lz_job.problem.quadratic). */
typedef struct lz_quadratic_job {
  lz_vparam eigenvalues;
} lz_quadratic_job;

/* Resolved for one instance. */
typedef struct lz_quadratic_params {
  size_t n_eigenvalues;
  const double *eigenvalues;
} lz_quadratic_params;

#define LZ_QUADRATIC_SLOTS(X)                                                                    \
  X(EIGENVALUES, "eigenvalues", LZ_AXIS_VECTOR, LZ_AXIS_PROBLEM, false, NULL,                    \
    "Hessian eigenvalues of the quadratic problem", VPARAM, problem.quadratic.eigenvalues)

#endif
