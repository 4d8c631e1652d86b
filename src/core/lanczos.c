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

/* Above this many doubles (512 KiB, dimensions above about 320) the Krylov basis is not stored:
 * the three-term recurrence serves instead (see lz_lanczos_next). Reorthogonalizing against a
 * stored basis read the whole basis twice a step and took half the time of the sharpness of a
 * 4096-dimensional factorization, for the same steps and a top eigenvalue within an ulp or two
 * (measured on mf with n = 64-1024); without the basis the scratch is three vectors, so many
 * runs take their sharpness at once. The choice depends on dim and the step cap only, so a
 * given problem always takes the same path. */
#define LZ_LANCZOS_BASIS_MAX_DOUBLES ((size_t)1 << 16)

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

/* A Lanczos run between products: lz_lanczos_max_eig's loop cut at its matrix-vector product,
 * so that many runs can take their products together. */
int lz_lanczos_start(lz_lanczos_run *run, size_t dim, const double *v0,
                     const lz_lanczos_opts *opts, lz_lanczos_result *res, double *work) {
  memset(run, 0, sizeof *run);
  run->dim = dim;
  run->tol = opts && opts->tol > 0 ? opts->tol : 1e-12;
  run->m = effective_steps(dim, opts ? opts->max_steps : 0);
  run->full = keeps_basis(dim, run->m, opts);
  run->V = work;
  run->w = run->V + (size_t)(run->full ? run->m + 1 : 2) * dim;
  run->alpha = run->w + dim;
  run->beta = run->alpha + run->m;
  run->scratch = run->beta + run->m;
  run->res = res;
  memset(res, 0, sizeof *res);
  double nv = lz_norm2(v0, dim);
  if (!(nv > 0) || !isfinite(nv)) {
    run->rc = LZ_EINVAL;
    return 0;
  }
  for (size_t k = 0; k < dim; ++k) run->V[k] = v0[k] / nv;
  run->in = run->V;
  return 1;
}

/* Without the basis, V holds only v_j (slot j % 2) and v_(j-1) (the other slot). */
static double *basis_vector(const lz_lanczos_run *run, int j) {
  return run->V + (size_t)(run->full ? j : j % 2) * run->dim;
}

static int lanczos_ends(lz_lanczos_run *run, int rc) {
  run->rc = rc;
  run->in = NULL;
  return 0;
}

int lz_lanczos_next(lz_lanczos_run *run) {
  const size_t dim = run->dim;
  const int j = run->j;
  double *vj = basis_vector(run, j), *w = run->w, *alpha = run->alpha, *beta = run->beta;
  lz_lanczos_result *res = run->res;
  if (!lz_all_finite(w, dim)) return lanczos_ends(run, LZ_ENUMERIC);
  alpha[j] = lz_dot(vj, w, dim);
  if (run->full) {
    orthogonalize_against_basis(w, run->V, dim, j + 1);
  } else {
    /* The three-term recurrence. Orthogonality is lost once a Ritz value converges, which
     * only adds copies of converged values: the largest one and its residual bound
     * beta_j |s_last| stay right (Paige), and that is all this function returns. */
    const double *vprev = run->V + (size_t)((j + 1) % 2) * dim;
    /* At j = 0 there is no v_(-1): its slot holds whatever the scratch held, and 0 times a
     * NaN or inf left there by an earlier run would be NaN. */
    if (j == 0) {
      for (size_t k = 0; k < dim; ++k) w[k] -= alpha[j] * vj[k];
    } else {
      for (size_t k = 0; k < dim; ++k) w[k] -= alpha[j] * vj[k] + beta[j - 1] * vprev[k];
    }
  }
  beta[j] = lz_norm2(w, dim);
  double a = fabs(alpha[j]) + beta[j] + (j ? beta[j - 1] : 0.0);
  if (a > run->anorm) run->anorm = a;  /* running estimate of ||A||, for a negligible beta */

  double theta, s_last;
  int rc = top_ritz_pair(j + 1, alpha, beta, run->scratch, &theta, &s_last);
  if (rc) return lanczos_ends(run, rc);
  res->lambda = theta;
  res->residual = beta[j] * fabs(s_last);
  res->steps = j + 1;
  int exhausted = beta[j] <= 1e-14 * run->anorm || j + 1 == (int)dim;
  if (res->residual <= run->tol * fabs(theta) || exhausted) {
    res->converged = 1;
    return lanczos_ends(run, LZ_OK);
  }
  if (j + 1 == run->m) {
    res->converged = 0;
    return lanczos_ends(run, LZ_OK);
  }
  double *next = basis_vector(run, j + 1);
  for (size_t k = 0; k < dim; ++k) next[k] = w[k] / beta[j];
  run->j = j + 1;
  run->in = next;
  return 1;
}

int lz_lanczos_max_eig(lz_matvec_fn mv, void *ctx, size_t dim, const double *v0,
                       const lz_lanczos_opts *opts, lz_lanczos_result *res, double *work) {
  lz_lanczos_run run;
  int more = lz_lanczos_start(&run, dim, v0, opts, res, work);
  while (more) {
    mv(ctx, run.in, run.w);
    more = lz_lanczos_next(&run);
  }
  return run.rc;
}
