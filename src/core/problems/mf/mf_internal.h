/* Private to src/core and the unit tests: matrix-factorization internals that problem.c and
 * the tests need beyond the lz_objective interface. */
#ifndef LRZOO_MF_INTERNAL_H
#define LRZOO_MF_INTERNAL_H

#include <stddef.h>

#include "lrzoo/problem.h"

/* Fills st from the state vector x = [X, Y] of the mf instance state (no scratch needed). */
void lz__mf_state_stats(const void *state, const double *x, lz_state_stats *st);

/* The stored dense target of a gaussian or file instance: n x n, row i starting at i * (*ld).
 * NULL otherwise (identity, scalar and lowrank targets are never stored densely). */
const double *lz__mf_dense_target(const void *state, size_t *ld);

/* The factors of a lowrank target A = U diag(s) V^T: U and V are n x k row-major with
 * orthonormal columns. Returns k, or 0 (and NULLs) if the target is not lowrank. */
size_t lz__mf_lowrank_factors(const void *state, const double **u, const double **s,
                              const double **v);

/* The scalar path (n = d = 1, A = mu): its target and activation. Returns 0 for any other
 * path. */
int lz__mf_scalar(const void *state, double *mu, lz_activation *act, double *alpha);

/* How an instance evaluates, so that tests can check they cover every path. */
typedef struct lz_mf_layout {
  int scalar, lowrank;  /* the closed-form scalar path, the Gram-matrix lowrank path */
  int row_kernel;       /* dense targets: 1 for the row kernel, 0 for BLAS row blocks */
  size_t chunks;        /* dense: row chunks (1, or LZ_MF_CHUNKS for large problems) */
  size_t tiles;         /* row kernel: column tiles per row */
  size_t blocks;        /* BLAS row blocks: blocks in the first chunk */
  size_t batch_max;     /* dense: runs one batched gradient takes at most */
  int own_products;     /* dense: A S and A^T X by lrzoo's kernels, not the BLAS */
  size_t product_chunks;  /* dense: row chunks of A S and A^T X */
} lz_mf_layout;

lz_mf_layout lz__mf_layout(const void *state);

/* c (n x w) = A b, or A^T b when transposed, for the dense target of instance state. */
typedef void lz_mf_product_fn(const void *state, int transposed, const double *b, size_t w,
                              double *c);

/* The products of the batched gradient, as it computes them (own or BLAS, in row chunks):
 * an lz_mf_product_fn for the dense target of instance state. */
void lz__mf_target_product(const void *state, int transposed, const double *b, size_t w,
                           double *c);

/* The probe create runs on the BLAS: *ok = 1 if `product` computes every entry the same way
 * for one run alone, half and a full batch, wherever its columns sit. */
int lz__mf_probe_products(const void *state, lz_mf_product_fn *product, int *ok, lz_err *err);

/* H v of a dense instance by the residual form (dense_hvp), whatever the size: the form that
 * serves beyond LZ_MF_EXPANDED_HVP_BYTES, for tests to compare with the expanded one.
 * work: lz_problem_work_len doubles. */
void lz__mf_residual_hvp(const void *state, const double *x, const double *v, double *hv,
                         double *work);

/* Whether the dense path keeps the expanded loss 1/2 norm_a2 - cross + 1/2 grams (= loss)
 * rather than forming the residual: the choice the tests check. */
int lz__mf_expanded_loss_is_accurate(double loss, double norm_a2, double cross, double grams);

#endif
