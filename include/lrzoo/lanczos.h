/* Largest eigenvalue of a symmetric operator by Lanczos with full reorthogonalization; for
 * problems whose Krylov basis would exceed 512 KiB (dimensions above about 320), by the
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

/* lz_lanczos_max_eig cut at its products, for callers that take the products of many runs at
 * once: lz_lanczos_start, then while it returned 1, run->w = A run->in and lz_lanczos_next.
 * When it returns 0, run->rc holds what lz_lanczos_max_eig would have returned and the result
 * is in res. The same arithmetic: bitwise lz_lanczos_max_eig's answer. */
typedef struct lz_lanczos_run {
  const double *in;  /* the vector to multiply next (NULL when done) */
  double *w;         /* where its product goes */
  int rc;
  /* private */
  size_t dim;
  int m, full, j;
  double tol, anorm;
  double *V, *alpha, *beta, *scratch;
  lz_lanczos_result *res;
} lz_lanczos_run;

int lz_lanczos_start(lz_lanczos_run *run, size_t dim, const double *v0,
                     const lz_lanczos_opts *opts, lz_lanczos_result *res, double *work);
int lz_lanczos_next(lz_lanczos_run *run);

/* Sharpness (largest Hessian eigenvalue) of p at x, from a start vector drawn from the stream
 * (seed, LZ_RNG_LANCZOS, dim). work: lz_sharpness_work_len doubles. */
size_t lz_sharpness_work_len(const lz_problem *p);
size_t lz_sharpness_work_len_for(const lz_problem_sizes *s);
int lz_sharpness(const lz_problem *p, const double *x, unsigned long long seed,
                 lz_lanczos_result *res, double *work);
/* lz_sharpness at count points at once (rc[j], res[j] as lz_sharpness's for x[j], bitwise):
 * their Lanczos runs advance together and take their Hessian-vector products in one
 * lz_problem_hvp_batch. works[j]: lz_sharpness_work_len doubles each; batch_work:
 * lz_problem_hvp_batch_work_len(p, count). */
void lz_sharpness_many(const lz_problem *p, size_t count, const double *const *x,
                       unsigned long long seed, lz_lanczos_result *res, int *rc,
                       double *const *works, double *batch_work);

#endif
