/* Prototypes of the LAPACK routines lrzoo uses, exported by OpenBLAS (Fortran ABI, with the
 * hidden string-length arguments gfortran appends). */
#ifndef LRZOO_CORE_LAPACK_H
#define LRZOO_CORE_LAPACK_H

#include <stddef.h>

void dstevx_(const char *jobz, const char *range, const int *n, double *d, double *e,
             const double *vl, const double *vu, const int *il, const int *iu,
             const double *abstol, int *m, double *w, double *z, const int *ldz, double *work,
             int *iwork, int *ifail, int *info, size_t jobz_len, size_t range_len);

double dlamch_(const char *cmach, size_t cmach_len);

#endif
