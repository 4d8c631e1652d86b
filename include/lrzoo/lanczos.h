/* Largest eigenvalue of a symmetric operator by Lanczos with full reorthogonalization; for
 * problems whose Krylov basis would exceed 1 GiB (mf with n in the millions), by the
 * three-term recurrence with three vectors of storage instead.
 *
 * Deterministic: the same operator and start vector give bitwise the same answer. */
#ifndef LRZOO_LANCZOS_H
#define LRZOO_LANCZOS_H

#include <stddef.h>

#include "lrzoo/problem.h"

/* out = A v for the symmetric operator A. */
typedef void (*lz_matvec_fn)(void *ctx, const double *v, double *out);

typedef struct lz_lanczos_opts {
  double tol;      /* stop when the Ritz residual is below tol * |lambda| (default 1e-12) */
  int max_steps;   /* Krylov dimension cap (default 200; never more than the dimension) */
  int three_term;  /* 1: the three-term recurrence even where the basis would fit (tests) */
} lz_lanczos_opts;

typedef struct lz_lanczos_result {
  double lambda;   /* largest (algebraic) Ritz value */
  double residual; /* ||A u - lambda u|| for its Ritz vector u */
  int steps;
  int converged;   /* residual <= tol*|lambda|, or the Krylov space is exhausted */
} lz_lanczos_result;

/* Scratch doubles lz_lanczos_max_eig needs for dimension dim. */
size_t lz_lanczos_work_len(size_t dim, int max_steps);

/* Largest eigenvalue of A, started from v0 (need not be normalized, must be non-zero).
 * Returns LZ_OK, or LZ_ENUMERIC if a matrix-vector product is not finite. */
int lz_lanczos_max_eig(lz_matvec_fn mv, void *ctx, size_t dim, const double *v0,
                       const lz_lanczos_opts *opts, lz_lanczos_result *res, double *work);

/* Sharpness (largest Hessian eigenvalue) of p at x, from a start vector drawn from the stream
 * (seed, LZ_RNG_LANCZOS, dim). work: lz_sharpness_work_len doubles. */
size_t lz_sharpness_work_len(const lz_problem *p);
size_t lz_sharpness_work_len_for(const lz_problem_sizes *s);
int lz_sharpness(const lz_problem *p, const double *x, unsigned long long seed,
                 lz_lanczos_result *res, double *work);

#endif
