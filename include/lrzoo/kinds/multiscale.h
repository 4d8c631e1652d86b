/* The multiscale kind: f0(x) + f1(x / eps), a slow part and a fast oscillation
 * (src/core/problems/multiscale.c). */
#ifndef LRZOO_KINDS_MULTISCALE_H
#define LRZOO_KINDS_MULTISCALE_H

#include "lrzoo/param.h"

typedef enum { LZ_F0_QUADRATIC = 0, LZ_F0_DOUBLE_WELL = 1, LZ_F0_MATYAS = 2 } lz_f0_kind;
typedef enum { LZ_F1_SINE = 0, LZ_F1_QUASIPERIODIC = 1 } lz_f1_kind;
/* Names in job files, indexed by the enums (NULL-terminated). */
extern const char *const lz_f0_names[];
extern const char *const lz_f1_names[];
/* The largest dimension of a multiscale objective (the lanes engine's), and the largest whose
 * 2^dim wells of a double well have their occupation recorded (/runs/wells). */
#define LZ_MULTISCALE_MAX_DIM 16
#define LZ_WELLS_MAX_DIM 4

/* As the job file gives it (lz_job.problem.multiscale). */
typedef struct lz_multiscale_job {
  lz_param f0;              /* choice: lz_f0_kind */
  lz_param dim;
  lz_param f1;              /* choice: lz_f1_kind */
  lz_param eps, amplitude;  /* f1 = amplitude * sum_i sin(x_i / eps) [+ sin(ratio x_i / eps) / ratio] */
  lz_param ratio;           /* second frequency of the quasi-periodic f1 */
} lz_multiscale_job;

/* Resolved for one instance. */
typedef struct lz_multiscale_params {
  lz_f0_kind f0;
  int dim;
  lz_f1_kind f1;
  double eps, amplitude, ratio;  /* f1 = amplitude sum_i sin(x_i / eps) [+ the ratio term] */
} lz_multiscale_params;

#define LZ_MULTISCALE_SLOTS(X)                                                                   \
  X(F0, "f0", LZ_AXIS_CHOICE, LZ_AXIS_PROBLEM, true, lz_f0_names,                                \
    "slow part f0 of the multiscale objective", PARAM, problem.multiscale.f0)                    \
  X(DIM, "dim", LZ_AXIS_NUMBER, LZ_AXIS_PROBLEM, true, NULL,                                     \
    "dimension of the multiscale problem", PARAM, problem.multiscale.dim)                        \
  X(F1, "f1", LZ_AXIS_CHOICE, LZ_AXIS_PROBLEM, true, lz_f1_names,                                \
    "fast part f1 of the multiscale objective", PARAM, problem.multiscale.f1)                    \
  X(EPS, "eps", LZ_AXIS_NUMBER, LZ_AXIS_PROBLEM, false, NULL,                                    \
    "length scale of the fast oscillation f1", PARAM, problem.multiscale.eps)                    \
  X(AMPLITUDE, "amplitude", LZ_AXIS_NUMBER, LZ_AXIS_PROBLEM, false, NULL,                        \
    "amplitude of the fast oscillation f1", PARAM, problem.multiscale.amplitude)                 \
  X(RATIO, "ratio", LZ_AXIS_NUMBER, LZ_AXIS_PROBLEM, false, NULL,                                \
    "ratio of the two frequencies of the quasi-periodic f1", PARAM, problem.multiscale.ratio)

#endif
