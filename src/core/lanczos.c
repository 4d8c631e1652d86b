#include "lrzoo/lanczos.h"

#include <math.h>
#include <string.h>

#include "lapack.h"
#include "lrzoo/error.h"
#include "lrzoo/linalg.h"

static int effective_steps(size_t dim, int max_steps) {
  int m = max_steps > 0 ? max_steps : 200;
  if ((size_t)m > dim) m = (int)dim;
  return m;
}

/* Above this many doubles (1 GiB) the Krylov basis is not stored: a problem that large uses the
 * three-term recurrence (see lz_lanczos_max_eig). The choice depends on dim and the step cap
 * only, so a given problem always takes the same path. */
#define LZ_LANCZOS_BASIS_MAX_DOUBLES ((size_t)1 << 27)

static int keeps_basis(size_t dim, int m, const lz_lanczos_opts *opts) {
  if (opts && opts->three_term) return 0;
  return ((size_t)m + 1) * dim <= LZ_LANCZOS_BASIS_MAX_DOUBLES;
}

size_t lz_lanczos_work_len(size_t dim, int max_steps) {
  size_t m = (size_t)effective_steps(dim, max_steps);
  /* Krylov basis (m+1 vectors; 2 without the basis), one product, and the tridiagonal
   * solver's scratch (alpha, beta, their copies, Ritz vector, 5m work, 6m ints stored in 3m
   * doubles). */
  size_t basis = keeps_basis(dim, (int)m, NULL) ? m + 1 : 2;
  return (basis + 1) * dim + 16 * m + 8;
}

/* Largest eigenvalue of the j x j tridiagonal (alpha, beta) and the last component of its
 * eigenvector: the Ritz residual of the Lanczos pair is beta_j * |s_last|. */
static int top_ritz_pair(int j, const double *alpha, const double *beta, double *scratch,
                         double *theta, double *s_last) {
  double *d = scratch, *e = d + j, *z = e + j, *wk = z + j;
  int *iwork = (int *)(wk + 5 * j), *ifail = iwork + 5 * j;
  memcpy(d, alpha, (size_t)j * sizeof *d);
  if (j > 1) memcpy(e, beta, (size_t)(j - 1) * sizeof *e);
  const int il = j, iu = j, ldz = j;
  const double vl = 0, vu = 0, abstol = 2.0 * dlamch_("S", 1);
  int m = 0, info = 0;
  double w[1];
  dstevx_("V", "I", &j, d, e, &vl, &vu, &il, &iu, &abstol, &m, w, z, &ldz, wk, iwork, ifail,
          &info, 1, 1);
  if (info != 0 || m != 1) return LZ_ENUMERIC;
  *theta = w[0];
  *s_last = z[j - 1];
  return LZ_OK;
}

/* Removes from w its components along the first count basis vectors. Done twice: one pass
 * of classical Gram-Schmidt loses orthogonality, two are enough ("twice is enough"). */
static void orthogonalize_against_basis(double *w, const double *V, size_t dim, int count) {
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i < count; ++i) {
      const double *vi = V + (size_t)i * dim;
      double c = lz_dot(vi, w, dim);
      for (size_t k = 0; k < dim; ++k) w[k] -= c * vi[k];
    }
}

int lz_lanczos_max_eig(lz_matvec_fn mv, void *ctx, size_t dim, const double *v0,
                       const lz_lanczos_opts *opts, lz_lanczos_result *res, double *work) {
  const double tol = opts && opts->tol > 0 ? opts->tol : 1e-12;
  const int m = effective_steps(dim, opts ? opts->max_steps : 0);
  const int full = keeps_basis(dim, m, opts);
  double *V = work;
  double *w = V + (size_t)(full ? m + 1 : 2) * dim;
  double *alpha = w + dim, *beta = alpha + m, *scratch = beta + m;

  memset(res, 0, sizeof *res);
  double nv = lz_norm2(v0, dim);
  if (!(nv > 0) || !isfinite(nv)) return LZ_EINVAL;
  for (size_t k = 0; k < dim; ++k) V[k] = v0[k] / nv;

  double anorm = 0.0;  /* running estimate of ||A||, to recognize a negligible beta */
  for (int j = 0; j < m; ++j) {
    /* Without the basis, V holds only v_j (slot j % 2) and v_(j-1) (the other slot). */
    double *vj = V + (size_t)(full ? j : j % 2) * dim;
    mv(ctx, vj, w);
    if (!lz_all_finite(w, dim)) return LZ_ENUMERIC;
    alpha[j] = lz_dot(vj, w, dim);
    if (full) {
      orthogonalize_against_basis(w, V, dim, j + 1);
    } else {
      /* The three-term recurrence. Orthogonality is lost once a Ritz value converges, which
       * only adds copies of converged values: the largest one and its residual bound
       * beta_j |s_last| stay right (Paige), and that is all this function returns. */
      const double *vprev = V + (size_t)((j + 1) % 2) * dim;
      const double bprev = j ? beta[j - 1] : 0.0;
      for (size_t k = 0; k < dim; ++k) w[k] -= alpha[j] * vj[k] + bprev * vprev[k];
    }
    beta[j] = lz_norm2(w, dim);
    double a = fabs(alpha[j]) + beta[j] + (j ? beta[j - 1] : 0.0);
    if (a > anorm) anorm = a;

    double theta, s_last;
    int rc = top_ritz_pair(j + 1, alpha, beta, scratch, &theta, &s_last);
    if (rc) return rc;
    res->lambda = theta;
    res->residual = beta[j] * fabs(s_last);
    res->steps = j + 1;
    int exhausted = beta[j] <= 1e-14 * anorm || j + 1 == (int)dim;
    if (res->residual <= tol * fabs(theta) || exhausted) {
      res->converged = 1;
      return LZ_OK;
    }
    double *next = V + (size_t)(full ? j + 1 : (j + 1) % 2) * dim;
    for (size_t k = 0; k < dim; ++k) next[k] = w[k] / beta[j];
  }
  res->converged = 0;
  return LZ_OK;
}
