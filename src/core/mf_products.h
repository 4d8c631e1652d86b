/* lrzoo's own products of a dense target with a block of columns, for the batched gradient and
 * Hessian-vector products of matrix factorization (obj_mf.c).
 *
 * Every entry c_iq = sum_k L_ik b_kq is one chain of fma over k = 0, 1, ..., n - 1, whatever
 * the block it falls in, the width of b or the rows asked for: the products are column and row
 * independent by construction, so a run's result never depends on which runs share its batch,
 * and L^T b through a stored transpose is bitwise L^T b read by columns. */
#ifndef LZ_MF_PRODUCTS_H
#define LZ_MF_PRODUCTS_H

#include <stddef.h>

/* Rows [i0, i1) of c (n x w, row-major) = L b: L is n x n with rows of stride ld, b n x w. */
void lz__own_product(const double *l, size_t ld, size_t n, const double *b, size_t w,
                     size_t i0, size_t i1, double *c);

/* Rows [i0, i1) of c = L^T b, reading L by columns. Where the memory allows, keeping L^T and
 * calling lz__own_product is faster (the same chains). */
void lz__own_product_transposed(const double *l, size_t ld, size_t n, const double *b,
                                size_t w, size_t i0, size_t i1, double *c);

#endif
