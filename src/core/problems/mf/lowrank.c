/* The lowrank path of matrix factorization, A = U diag(s) V^T: Gram matrices only,
 * O(n d (d + k)), never A itself. */
#include <string.h>

#include "../../lapack.h"
#include "lrzoo/linalg.h"
#include "mf.h"

/* ---- lowrank target: Gram matrices only -------------------------------------------- */

/* b <- diag(s) b for a rows x cols block b. */
static void scale_rows(double *b, size_t rows, size_t cols, const double *s) {
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < cols; ++j) b[i * cols + j] *= s[i];
}

/* c <- c + c^T for a square c (exactly symmetric result). */
static void add_transpose(double *c, size_t d) {
  for (size_t i = 0; i < d; ++i) {
    c[i * d + i] *= 2.0;
    for (size_t j = i + 1; j < d; ++j) {
      double t = c[i * d + j] + c[j * d + i];
      c[i * d + j] = t;
      c[j * d + i] = t;
    }
  }
}

/* sum_ij a_ij b_ij in a fixed order. */
static double frobenius_inner(const double *a, const double *b, size_t len) {
  return lz_dot(a, b, len);
}

/* With W_X = diag(s) U^T X and W_S = diag(s) V^T S (k x d):
 *   grad_X = X (S^T S) - U W_S,   grad_S = S (X^T X) - V W_X,
 *   f = 1/2 ||A||^2 - <U^T X, W_S> + 1/2 <X^T X, S^T S>
 * (the cheap loss, see lz__mf_lowrank_value). */
double lz__mf_lowrank_value_grad(const mf *m, const double *xy, double *g, double *work) {
  size_t n = m->n, d = m->d, k = m->k;
  const double *x = xy, *y = xy + m->nd;
  double *sbuf = work, *sts = sbuf + round_up_to_alignment(m->nd);
  double *xtx = sts + d * d, *ws = xtx + d * d, *wx = ws + k * d;
  const double *s = activated(m, y, sbuf);
  lz__mf_multiply(TRANSPOSED, AS_IS, d, d, n, 1.0, s, d, s, d, 0.0, sts, d);
  lz__mf_multiply(TRANSPOSED, AS_IS, d, d, n, 1.0, x, d, x, d, 0.0, xtx, d);
  lz__mf_multiply(TRANSPOSED, AS_IS, k, d, n, 1.0, m->v, k, s, d, 0.0, ws, d);
  lz__mf_multiply(TRANSPOSED, AS_IS, k, d, n, 1.0, m->u, k, x, d, 0.0, wx, d);
  scale_rows(ws, k, d, m->s);
  double f = 0.5 * m->norm_a2 - frobenius_inner(wx, ws, k * d) +
             0.5 * frobenius_inner(xtx, sts, d * d);
  scale_rows(wx, k, d, m->s);
  double *gx = g, *gy = g + m->nd;
  lz__mf_multiply(AS_IS, AS_IS, n, d, d, 1.0, x, d, sts, d, 0.0, gx, d);
  lz__mf_multiply(AS_IS, AS_IS, n, d, k, -1.0, m->u, k, ws, d, 1.0, gx, d);
  lz__mf_multiply(AS_IS, AS_IS, n, d, d, 1.0, s, d, xtx, d, 0.0, gy, d);
  lz__mf_multiply(AS_IS, AS_IS, n, d, k, -1.0, m->v, k, wx, d, 1.0, gy, d);
  apply_activation_slope(m, y, gy);
  return f;
}

size_t lz__mf_lowrank_value_grad_work_len(const mf *m) {
  return round_up_to_alignment(m->nd) + 2 * m->d * m->d + 2 * m->k * m->d;
}

/* Expanding H_X = dR S + R dS and H_S = dR^T X + R^T dX with R = X S^T - U diag(s) V^T:
 *   H_X = dX (S^T S) + X (dS^T S + S^T dS) - U diag(s) (V^T dS)
 *   H_S = S (dX^T X + X^T dX) + dS (X^T X) - V diag(s) (U^T dX). */
void lz__mf_lowrank_hvp(const mf *m, const double *xy, const double *v, double *hv,
                        double *work) {
  size_t n = m->n, d = m->d, k = m->k, dd = d * d;
  const double *x = xy, *y = xy + m->nd, *dx = v;
  double *sbuf = work, *dsbuf = sbuf + round_up_to_alignment(m->nd);
  double *sts = dsbuf + round_up_to_alignment(m->nd), *xtx = sts + dd;
  double *sym_s = xtx + dd, *sym_x = sym_s + dd, *wds = sym_x + dd, *wdx = wds + k * d;
  const double *s = activated(m, y, sbuf);
  const double *ds = activation_differential(m, y, v + m->nd, dsbuf);
  lz__mf_multiply(TRANSPOSED, AS_IS, d, d, n, 1.0, s, d, s, d, 0.0, sts, d);
  lz__mf_multiply(TRANSPOSED, AS_IS, d, d, n, 1.0, x, d, x, d, 0.0, xtx, d);
  lz__mf_multiply(TRANSPOSED, AS_IS, d, d, n, 1.0, s, d, ds, d, 0.0, sym_s, d);
  add_transpose(sym_s, d);
  lz__mf_multiply(TRANSPOSED, AS_IS, d, d, n, 1.0, x, d, dx, d, 0.0, sym_x, d);
  add_transpose(sym_x, d);
  lz__mf_multiply(TRANSPOSED, AS_IS, k, d, n, 1.0, m->v, k, ds, d, 0.0, wds, d);
  lz__mf_multiply(TRANSPOSED, AS_IS, k, d, n, 1.0, m->u, k, dx, d, 0.0, wdx, d);
  scale_rows(wds, k, d, m->s);
  scale_rows(wdx, k, d, m->s);
  double *hx = hv, *hy = hv + m->nd;
  lz__mf_multiply(AS_IS, AS_IS, n, d, d, 1.0, dx, d, sts, d, 0.0, hx, d);
  lz__mf_multiply(AS_IS, AS_IS, n, d, d, 1.0, x, d, sym_s, d, 1.0, hx, d);
  lz__mf_multiply(AS_IS, AS_IS, n, d, k, -1.0, m->u, k, wds, d, 1.0, hx, d);
  lz__mf_multiply(AS_IS, AS_IS, n, d, d, 1.0, s, d, sym_x, d, 0.0, hy, d);
  lz__mf_multiply(AS_IS, AS_IS, n, d, d, 1.0, ds, d, xtx, d, 1.0, hy, d);
  lz__mf_multiply(AS_IS, AS_IS, n, d, k, -1.0, m->v, k, wdx, d, 1.0, hy, d);
  apply_activation_slope(m, y, hy);
}

size_t lz__mf_lowrank_hvp_work_len(const mf *m) {
  return 2 * round_up_to_alignment(m->nd) + 4 * m->d * m->d + 2 * m->k * m->d;
}

/* Householder QR in place of the rows x cols column-major a; R ends up in its upper part. */
static void qr_in_place(size_t rows, size_t cols, double *a, double *tau, double *work,
                        size_t lwork) {
  int m = (int)rows, n = (int)cols, lw = (int)lwork, info = 0;
  dgeqrf_(&m, &n, a, &m, tau, work, &lw, &info);
}

/* The accurate loss. The Gram form of value_grad subtracts quantities of size ||A||^2, so near
 * a zero-loss factorization it keeps an absolute error of about eps ||A||^2 and can even come
 * out negative. Instead write R = X S^T - U diag(s) V^T = P Q^T with P = [X, -U diag(s)] and
 * Q = [S, V] (n x (d + k)). With thin QR factors P = Q_P R_P and Q = Q_Q R_Q,
 * ||R||_F = ||R_P R_Q^T||_F since Q_P and Q_Q have orthonormal columns. Householder QR is
 * backward stable, so this is the exact loss of factors within eps of P and Q: an error of
 * about eps ||A|| in ||R||, as if the n x n residual had been formed, at O(n (d + k)^2) cost. */
double lz__mf_lowrank_value(const mf *m, const double *xy, double *work) {
  size_t n = m->n, d = m->d, k = m->k, cols = d + k, r = n < cols ? n : cols;
  const double *x = xy, *y = xy + m->nd;
  double *p = work, *q = p + round_up_to_alignment(n * cols);
  double *tau = q + round_up_to_alignment(n * cols), *qr_work = tau + round_up_to_alignment(r);
  double *rr = qr_work + round_up_to_alignment(m->qr_lwork);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < d; ++j) {
      p[i + j * n] = x[i * d + j];
      q[i + j * n] = activation_of(m, y[i * d + j]);
    }
    for (size_t l = 0; l < k; ++l) {
      p[i + (d + l) * n] = -m->s[l] * m->u[i * k + l];
      q[i + (d + l) * n] = m->v[i * k + l];
    }
  }
  qr_in_place(n, cols, p, tau, qr_work, m->qr_lwork);
  qr_in_place(n, cols, q, tau, qr_work, m->qr_lwork);
  /* R_P and R_Q are upper trapezoidal (r x cols): row a is zero left of column a. */
  for (size_t a = 0; a < r; ++a)
    for (size_t b = 0; b < r; ++b) {
      double acc = 0.0;
      for (size_t j = a > b ? a : b; j < cols; ++j) acc += p[a + j * n] * q[b + j * n];
      rr[a * r + b] = acc;
    }
  double norm = lz_norm2(rr, r * r);
  return 0.5 * norm * norm;
}

size_t lz__mf_lowrank_value_work_len(const mf *m) {
  size_t cols = m->d + m->k, r = m->n < cols ? m->n : cols;
  return 2 * round_up_to_alignment(m->n * cols) + round_up_to_alignment(r) +
         round_up_to_alignment(m->qr_lwork) + r * r;
}
