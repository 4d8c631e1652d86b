/* Small deterministic linear-algebra helpers shared by the kernels.
 *
 * Reductions here use a fixed blocking that does not depend on threads, so a norm computed on
 * any rank or thread is bitwise the same. */
#ifndef LRZOO_LINALG_H
#define LRZOO_LINALG_H

#include <stddef.h>

/* Euclidean norm, computed with scaling so it neither overflows nor underflows for finite x. */
double lz_norm2(const double *x, size_t n);
/* Dot product, summed in a fixed order. */
double lz_dot(const double *x, const double *y, size_t n);
/* Largest |x_i|; +inf if any entry is inf, NaN if any is NaN. */
double lz_norm_inf(const double *x, size_t n);
/* 1 if every entry is finite. */
int lz_all_finite(const double *x, size_t n);

#endif
