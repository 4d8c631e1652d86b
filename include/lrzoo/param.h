/* The job's parameters as the job file gives them: a fixed value or a coordinate of the sweep,
 * with where the job file wrote it. Shared by job.h and the kinds' headers (kinds/). */
#ifndef LRZOO_PARAM_H
#define LRZOO_PARAM_H

#include <stddef.h>

/* 1-based position in the job file, for messages after parsing. line 0 means "not in file". */
typedef struct lz_mark {
  int line, col;
} lz_mark;

/* A scalar parameter: fixed, or the coordinate of a run on an axis. Choices (activation, f0,
 * f1) hold their enum code in value. */
typedef struct lz_param {
  int axis;          /* -1 when fixed */
  double value;      /* the fixed value */
  lz_mark mark;
} lz_param;

/* A vector parameter (eigenvalues, point x, singular values): fixed, or a VECTOR axis. */
typedef struct lz_vparam {
  int axis;          /* -1 when fixed */
  size_t len;        /* vector length (the axis width when axis >= 0) */
  double *value;     /* fixed vector, owned by the job; NULL when axis >= 0 */
  lz_mark mark;
} lz_vparam;

typedef enum { LZ_AXIS_NUMBER = 0, LZ_AXIS_CHOICE = 1, LZ_AXIS_VECTOR = 2 } lz_axis_type;
typedef enum { LZ_AXIS_PROBLEM = 0, LZ_AXIS_INIT = 1, LZ_AXIS_LR = 2 } lz_axis_group;

#endif
