/* Prototypes of the LAPACK routines lrzoo uses, exported by OpenBLAS (Fortran ABI: 32-bit
 * integers in Debian's build, and the hidden string-length arguments gfortran appends).
 * Declared here rather than through lapacke.h so that no extra package is needed. */
#ifndef LRZOO_CORE_LAPACK_H
#define LRZOO_CORE_LAPACK_H

#include <stddef.h>

void dstevx_(const char *jobz, const char *range, const int *n, double *d, double *e,
             const double *vl, const double *vu, const int *il, const int *iu,
             const double *abstol, int *m, double *w, double *z, const int *ldz, double *work,
             int *iwork, int *ifail, int *info, size_t jobz_len, size_t range_len);

double dlamch_(const char *cmach, size_t cmach_len);

/* Eigenvalues (ascending) and, with jobz "V", eigenvectors of a symmetric matrix. */
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info, size_t jobz_len,
            size_t uplo_len);

/* Householder QR of the m x n column-major a: R in the upper triangle, reflectors below. */
void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work,
             const int *lwork, int *info);

/* Forms the m x n matrix Q with orthonormal columns from the first k reflectors of dgeqrf_. */
void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda,
             const double *tau, double *work, const int *lwork, int *info);

#endif
