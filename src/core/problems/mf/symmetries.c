/* The continuous symmetries of matrix factorization, removed from a direction by a
 * least-squares projection. */
#include <math.h>
#include <string.h>

#include "../../lapack.h"
#include "lrzoo/linalg.h"
#include "mf.h"

/* ---- the symmetry of the factorization -------------------------------------------------- */

/* X sigma(Y)^T does not change along (X A, -Y A^T): for any d x d matrix A without activation
 * (the action of GL(d) on the factors), for diagonal A with relu and leaky_relu (rescaling a
 * column by a positive number commutes with them). These directions span the tangent of the
 * set of minimizers, where GD is neutral; removing them leaves the transverse dynamics. */
/* Two d x d Gram matrices, their eigenvectors and the Sylvester solve's right-hand side. */
size_t lz__mf_symmetry_work_len_for(size_t d) { return 6 * d * d + 12 * d + 64; }

size_t lz__mf_symmetry_work_len(const void *state) {
  return lz__mf_symmetry_work_len_for(((const mf *)state)->d);
}

/* Least-squares A of |U - X A|^2 + |V + Y A^T|^2: X^T X A + A Y^T Y = X^T U - V^T Y, a
 * Sylvester equation solved in the eigenbases of the two Gram matrices. */
static void remove_gl_directions(const mf *m, const double *x, const double *y, double *u,
                                 double *v, double *work) {
  const size_t n = m->n, d = m->d;
  const int di = (int)d, lwork = (int)(8 * d + 16);
  double *p = work, *q = p + d * d, *c = q + d * d, *t = c + d * d, *a = t + d * d;
  double *lp = a + d * d, *lq = lp + d, *lw = lq + d;
  for (size_t r = 0; r < d; ++r)
    for (size_t s = 0; s < d; ++s) {
      double pp = 0, qq = 0, cc = 0;
      for (size_t i = 0; i < n; ++i) {
        pp += x[i * d + r] * x[i * d + s];
        qq += y[i * d + r] * y[i * d + s];
        cc += x[i * d + r] * u[i * d + s] - v[i * d + r] * y[i * d + s];
      }
      p[r * d + s] = pp, q[r * d + s] = qq, c[r * d + s] = cc;
    }
  int info = 0;
  /* Symmetric, so row-major is column-major: columns of p and q become eigenvectors. */
  dsyev_("V", "U", &di, p, &di, lp, lw, &lwork, &info, 1, 1);
  if (info == 0) dsyev_("V", "U", &di, q, &di, lq, lw, &lwork, &info, 1, 1);
  if (info != 0) return;
  double floor = 1e-12 * (lp[d - 1] + lq[d - 1]);
  /* t = E1^T C E2 (E stored column-major: E[r + k d] is component r of eigenvector k) */
  for (size_t i = 0; i < d; ++i)
    for (size_t j = 0; j < d; ++j) {
      double sum = 0;
      for (size_t r = 0; r < d; ++r)
        for (size_t s = 0; s < d; ++s) sum += p[r + i * d] * c[r * d + s] * q[s + j * d];
      double den = lp[i] + lq[j];
      t[i * d + j] = den > floor ? sum / den : 0.0;  /* no such direction where X, Y vanish */
    }
  for (size_t r = 0; r < d; ++r)  /* a = E1 t E2^T */
    for (size_t s = 0; s < d; ++s) {
      double sum = 0;
      for (size_t i = 0; i < d; ++i)
        for (size_t j = 0; j < d; ++j) sum += p[r + i * d] * t[i * d + j] * q[s + j * d];
      a[r * d + s] = sum;
    }
  for (size_t i = 0; i < n; ++i)
    for (size_t s = 0; s < d; ++s) {
      double xa = 0, ya = 0;
      for (size_t r = 0; r < d; ++r) {
        xa += x[i * d + r] * a[r * d + s];
        ya += y[i * d + r] * a[s * d + r];
      }
      u[i * d + s] -= xa;
      v[i * d + s] += ya;
    }
}

/* With relu or leaky_relu only column rescalings are symmetries: one direction per column,
 * and the directions of different columns are orthogonal. */
static void remove_column_scalings(const mf *m, const double *x, const double *y, double *u,
                                   double *v) {
  const size_t n = m->n, d = m->d;
  for (size_t s = 0; s < d; ++s) {
    double along = 0, norm2 = 0;
    for (size_t i = 0; i < n; ++i) {
      along += x[i * d + s] * u[i * d + s] - y[i * d + s] * v[i * d + s];
      norm2 += x[i * d + s] * x[i * d + s] + y[i * d + s] * y[i * d + s];
    }
    if (!(norm2 > 0)) continue;
    double coef = along / norm2;
    for (size_t i = 0; i < n; ++i) {
      u[i * d + s] -= coef * x[i * d + s];
      v[i * d + s] += coef * y[i * d + s];
    }
  }
}

void lz__mf_project_symmetries(const void *state, const double *xy, double *w, double *work) {
  const mf *m = state;
  const double *x = xy, *y = xy + m->nd;
  double *u = w, *v = w + m->nd;
  /* For d = 1 both symmetries are the same single direction (x, -y): the column-scaling code
   * handles it without the eigendecompositions. */
  if (m->act == LZ_ACT_NONE && m->d > 1)
    remove_gl_directions(m, x, y, u, v, work);
  else
    remove_column_scalings(m, x, y, u, v);
}
