/* The mlp kind: a network of one hidden layer, x -> w2^T sigma(W1 x + b1) + b2, fitted by least
 * squares to multiscale data (src/core/problems/mlp.c). */
#ifndef LRZOO_KINDS_MLP_H
#define LRZOO_KINDS_MLP_H

#include <stdint.h>

#include "lrzoo/param.h"

typedef enum { LZ_MLP_TANH = 0, LZ_MLP_RELU = 1, LZ_MLP_SIN = 2 } lz_mlp_activation;
typedef enum { LZ_G0_SIN = 0, LZ_G0_SQUARE = 1 } lz_g0_kind;
typedef enum { LZ_DATA_GRID = 0, LZ_DATA_RANDOM = 1 } lz_data_sampling;
/* Names in job files, indexed by the enums (NULL-terminated). */
extern const char *const lz_mlp_activation_names[];
extern const char *const lz_g0_names[];
extern const char *const lz_data_sampling_names[];

/* As the job file gives it (lz_job.problem.mlp): `width` hidden units fitted to
 * y_i = g0(x_i) + amplitude sin(x_i / eps) at `points` inputs on [lo, hi], or to listed points
 * (x_i, y_i) with weights q_i. */
typedef struct lz_mlp_job {
  int64_t width;
  lz_mlp_activation activation;
  int without_biases;         /* biases: false: the state is [W1 | w2], b1 = b2 = 0 */
  double weight_decay;        /* mu of (mu / 2) |theta|^2, default 0 */
  struct {
    int64_t points;
    double *x, *y, *weight;   /* listed data (points each; weight may be NULL), or NULL */
    char *path;               /* data file: x, y and weight are read from it after parsing */
    double lo, hi;
    lz_data_sampling sampling;
    lz_g0_kind g0;
    double amplitude, eps;
    lz_mark mark;
  } data;
} lz_mlp_job;

/* Resolved for one instance. */
typedef struct lz_mlp_params {
  int64_t width, points;
  lz_mlp_activation activation;
  int without_biases;
  double weight_decay;
  const double *x, *y, *weight;  /* listed data, owned by the job; x NULL: generated */
  lz_data_sampling sampling;
  lz_g0_kind g0;
  double lo, hi;
  double eps, amplitude;      /* the data's fast oscillation amplitude sin(x / eps) */
  uint64_t seed;              /* the job's seed: random data inputs */
} lz_mlp_params;

/* Nothing of an mlp is swept. */
#define LZ_MLP_SLOTS(X)

#endif
