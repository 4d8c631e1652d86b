/* The matrix factorization kind: f(X, Y) = |A - X sigma(Y)^T|^2 / 2 with n x d factors
 * (src/core/problems/mf/). */
#ifndef LRZOO_KINDS_MF_H
#define LRZOO_KINDS_MF_H

#include <stdint.h>

#include "lrzoo/param.h"

typedef enum { LZ_ACT_NONE = 0, LZ_ACT_RELU = 1, LZ_ACT_LEAKY_RELU = 2 } lz_activation;
typedef enum {
  LZ_TARGET_GAUSSIAN = 0, LZ_TARGET_IDENTITY = 1, LZ_TARGET_SCALAR = 2,
  LZ_TARGET_LOWRANK = 3, LZ_TARGET_FILE = 4
} lz_target_kind;
/* Names in job files, indexed by the enums (NULL-terminated). */
extern const char *const lz_activation_names[];
extern const char *const lz_target_kind_names[];

/* As the job file gives it (lz_job.problem.mf). */
typedef struct lz_mf_job {
  lz_param n, d;
  lz_param activation;      /* choice: lz_activation */
  lz_param alpha;           /* leaky_relu slope */
  struct {
    lz_target_kind kind;
    lz_param scale;         /* gaussian: entries N(0, scale^2 / n) */
    lz_param mu;            /* scalar */
    lz_param rank;          /* lowrank */
    lz_vparam singular_values;
    char *path;             /* file: resolved against the job file's directory */
    char *dataset;
    lz_mark mark;
  } target;
} lz_mf_job;

/* Resolved for one instance. */
typedef struct lz_mf_params {
  int64_t n, d;
  lz_activation activation;
  double alpha;               /* leaky_relu slope */
  lz_target_kind target;
  double target_scale, mu;    /* gaussian entries N(0, scale^2 / n); the scalar target */
  int64_t rank;
  size_t n_singular_values;
  const double *singular_values;
  const char *target_path, *target_dataset;
} lz_mf_params;

#define LZ_MF_SLOTS(X)                                                                           \
  X(N, "n", LZ_AXIS_NUMBER, LZ_AXIS_PROBLEM, true, NULL, "size of the n x n target matrix A",    \
    PARAM, problem.mf.n)                                                                         \
  X(D, "d", LZ_AXIS_NUMBER, LZ_AXIS_PROBLEM, true, NULL,                                         \
    "inner dimension of the n x d factors X, Y", PARAM, problem.mf.d)                            \
  X(ACTIVATION, "activation", LZ_AXIS_CHOICE, LZ_AXIS_PROBLEM, true, lz_activation_names,        \
    "activation applied to Y^T", PARAM, problem.mf.activation)                                   \
  X(ALPHA, "alpha", LZ_AXIS_NUMBER, LZ_AXIS_PROBLEM, false, NULL,                                \
    "negative-side slope of leaky_relu", PARAM, problem.mf.alpha)                                \
  X(TARGET_SCALE, "target_scale", LZ_AXIS_NUMBER, LZ_AXIS_PROBLEM, false, NULL,                  \
    "scale of the Gaussian target: entries N(0, scale^2 / n)", PARAM, problem.mf.target.scale)   \
  X(MU, "mu", LZ_AXIS_NUMBER, LZ_AXIS_PROBLEM, false, NULL,                                      \
    "target of the scalar problem (mu - x y)^2 / 2", PARAM, problem.mf.target.mu)                \
  X(SINGULAR_VALUES, "singular_values", LZ_AXIS_VECTOR, LZ_AXIS_PROBLEM, false, NULL,            \
    "singular values of the low-rank target", VPARAM, problem.mf.target.singular_values)

#endif
