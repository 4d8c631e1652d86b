/* The dense path of matrix factorization in expanded form: the gradient and H v of a batch
 * of runs from two products with the target. */
#include <math.h>
#include <string.h>

#include "lrzoo/linalg.h"
#include "mf.h"
#include "mf_internal.h"

/* ---- dense targets: the gradient in expanded form, for one run or a batch -------------
 *
 * With P = A S and Q = A^T X (n x d), never the residual:
 *   grad_X = X (S^T S) - P,   grad_S = S (X^T X) - Q,
 *   f = 1/2 ||A||^2 - <X, P> + 1/2 <X^T X, S^T S>.
 * All runs of a batch share A, so their factors are packed side by side, S_all = [S_1 ... S_B]
 * and X_all likewise (n x B d), and A S_all and A^T X_all are two GEMMs that stream A once
 * each for the whole batch. One run alone is a batch of one: the same code, the same sums.
 *
 * A run's result must not depend on which runs share its batch (threads, tiles, runs that
 * dropped out). So every entry of A S_all has to be computed the same way whatever the width
 * of S_all and wherever its column sits in it. own_product_* (the default) do so by
 * construction. OpenBLAS does so with the kernels measured here (one thread), but its choice of
 * kernel depends on the shape and the CPU, and some of its kernels do not (SkylakeX with 2
 * threads changed 1068 entries of a dgemm here); so under LRZOO_MF_PRODUCTS=blas,
 * lz__mf_probe_products checks it at create time on this instance's shapes, and where it fails
 * the own products take over (choose_products). */

/* Scratch of a batch of B runs: S_all, X_all, P_all, Q_all (n x B d each), a run's two Gram
 * matrices, then the row kernel's scratch, which the direct loss needs. */
typedef struct batch_scratch {
  double *s, *x, *p, *q, *gram_x, *gram_s, *direct;
} batch_scratch;

static size_t batch_block_len(const mf *m, size_t runs) {
  return round_up_to_alignment(m->n * runs * m->d);
}

static batch_scratch batch_scratch_in(const mf *m, size_t runs, double *work) {
  batch_scratch w;
  size_t len = batch_block_len(m, runs);
  w.s = work;
  w.x = w.s + len;
  w.p = w.x + len;
  w.q = w.p + len;
  w.gram_x = w.q + len;
  w.gram_s = w.gram_x + m->d * m->d;
  w.direct = w.gram_s + round_up_to_alignment(m->d * m->d);
  return w;
}

size_t lz__mf_batch_work_len_of(const mf *m, size_t runs) {
  return 4 * batch_block_len(m, runs) + m->d * m->d + round_up_to_alignment(m->d * m->d) +
         lz__mf_dense_work_len(m);
}

/* Run r's X and S = sigma(Y) into columns r d .. r d + d - 1 of the packed n x B d blocks. */
static void pack_run(const mf *m, const double *xy, size_t r, size_t runs, batch_scratch *w) {
  const size_t n = m->n, d = m->d, wd = runs * d;
  const double *x = xy, *y = xy + m->nd;
  for (size_t i = 0; i < n; ++i)
    for (size_t a = 0; a < d; ++a) {
      w->x[i * wd + r * d + a] = x[i * d + a];
      w->s[i * wd + r * d + a] = activation_of(m, y[i * d + a]);
    }
}

/* g (d x d) = B_r^T B_r for run r's columns of a packed block, each entry summed over rows
 * in order. Rows outer, so the block is read once; g is symmetric to the bit, since
 * x_ia x_ib and x_ib x_ia are the same product. */
LZ_INLINE void gram_of_run_d(size_t d, size_t n, const double *packed, size_t r, size_t runs,
                             double *g) {
  const size_t wd = runs * d;
  /* Up to d = 8 the sums live in a local array the compiler keeps in registers; through g
   * itself every update would wait for the previous store. */
  double local[64];
  double *acc = d * d <= 64 ? local : g;
  for (size_t e = 0; e < d * d; ++e) acc[e] = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double *row = packed + i * wd + r * d;
    for (size_t a = 0; a < d; ++a)
      for (size_t b = a; b < d; ++b) acc[a * d + b] += row[a] * row[b];
  }
  for (size_t a = 0; a < d; ++a)
    for (size_t b = 0; b < d; ++b) g[a * d + b] = a <= b ? acc[a * d + b] : acc[b * d + a];
}

static void gram_of_run(const mf *m, const double *packed, size_t r, size_t runs, double *g) {
#define CALL_WITH_D(k) gram_of_run_d(k, m->n, packed, r, runs, g)
  LZ_DISPATCH_ON_SMALL_D(m->d)
#undef CALL_WITH_D
}

/* out = B_r G - C_r for run r's columns of the packed blocks B and C, G d x d: the two
 * gradients, grad_X = X (S^T S) - P and grad_S = S (X^T X) - Q. */
LZ_INLINE void gram_term_minus_d(size_t d, size_t n, const double *b, const double *gram,
                                 const double *c, size_t r, size_t runs, double *out) {
  const size_t wd = runs * d;
  for (size_t i = 0; i < n; ++i)
    for (size_t a = 0; a < d; ++a) {
      double acc = 0.0;
      for (size_t q = 0; q < d; ++q) acc += b[i * wd + r * d + q] * gram[q * d + a];
      out[i * d + a] = acc - c[i * wd + r * d + a];
    }
}

static void gram_term_minus(const mf *m, const double *b, const double *gram, const double *c,
                            size_t r, size_t runs, double *out) {
#define CALL_WITH_D(k) gram_term_minus_d(k, m->n, b, gram, c, r, runs, out)
  LZ_DISPATCH_ON_SMALL_D(m->d)
#undef CALL_WITH_D
}

/* <B_r, C_r> over run r's columns of two packed blocks, summed row by row. */
static double run_inner_product(const mf *m, const double *b, const double *c, size_t r,
                                size_t runs) {
  const size_t n = m->n, d = m->d, wd = runs * d;
  double acc = 0.0;
  for (size_t i = 0; i < n; ++i)
    for (size_t a = 0; a < d; ++a) acc += b[i * wd + r * d + a] * c[i * wd + r * d + a];
  return acc;
}

/* The expanded loss subtracts terms that may be far larger than itself, each with a rounding
 * error of some eps times its size, so its relative error grows like eps size / loss. It is
 * kept where it is at least LZ_MF_EXPANDED_LOSS_MIN_FRACTION of their sum: measured at
 * n = 300 (test_objectives), kept losses agree with the residual's to 2.4e-13, and the test
 * allows 1e-9. Closer to a zero-loss factorization the residual is formed, once per run. */
int lz__mf_expanded_loss_is_accurate(double loss, double norm_a2, double cross, double grams) {
  double size = 0.5 * norm_a2 + fabs(cross) + 0.5 * fabs(grams);
  return loss >= LZ_MF_EXPANDED_LOSS_MIN_FRACTION * size;
}

/* f and g of runs states at once; each run's result is that of a batch of one (see above). */
void lz__mf_dense_value_grad_batch(const mf *m, size_t runs, const double *const *xy,
                                   double *const *g, double *f, double *work) {
  const size_t d = m->d, wd = runs * d;
  batch_scratch w = batch_scratch_in(m, runs, work);
  for (size_t r = 0; r < runs; ++r) pack_run(m, xy[r], r, runs, &w);
  lz__mf_product_with_target(m, AS_IS, w.s, wd, w.p);
  lz__mf_product_with_target(m, TRANSPOSED, w.x, wd, w.q);
  for (size_t r = 0; r < runs; ++r) {
    double *gram_x = w.gram_x, *gram_s = w.gram_s;
    gram_of_run(m, w.x, r, runs, gram_x);
    gram_of_run(m, w.s, r, runs, gram_s);
    gram_term_minus(m, w.x, gram_s, w.p, r, runs, g[r]);
    gram_term_minus(m, w.s, gram_x, w.q, r, runs, g[r] + m->nd);
    apply_activation_slope(m, xy[r] + m->nd, g[r] + m->nd);
    double cross = run_inner_product(m, w.x, w.p, r, runs);
    double grams = lz_dot(gram_x, gram_s, d * d);
    double loss = 0.5 * m->norm_a2 - cross + 0.5 * grams;
    f[r] = lz__mf_expanded_loss_is_accurate(loss, m->norm_a2, cross, grams)
               ? loss
               : lz__mf_dense_value(m, xy[r], w.direct);
  }
}

/* ---- dense targets: Hessian-vector products in expanded form, batched -------------------
 *
 * For the tangents of the batched engine: with R = X S^T - A never formed, the derivative of
 * the gradient along (U, V), dS = sigma'(Y) o V, is
 *   H_X = U (S^T S) + X (dS^T S + S^T dS) - A dS,
 *   H_S = dS (X^T X) + S (U^T X + X^T U) - A^T U,   H_Y = sigma'(Y) o H_S
 * (relu and leaky_relu have sigma'' = 0). The products A dS_all and A^T U_all of all the
 * directions are the two GEMMs of the gradient again, one more pair per step, with the same
 * column-independent kernels: a direction's result does not depend on its batch, and one run
 * alone is a batch of one (mf_hvp), so every engine rounds alike. Near a zero-loss
 * factorization X (S^T dS) and A dS nearly cancel; the error stays of the order of eps |A| |dS|,
 * far below the curvature the tangents and Lanczos measure. Beyond LZ_MF_EXPANDED_HVP_BYTES
 * the residual form (lz__mf_dense_hvp) serves alone and batched. */

/* Scratch of `count` directions: X, S, U and dS packed (n x count d each), A dS and A^T U,
 * and four d x d Gram matrices per direction: linear in count (up to the blocks' alignment),
 * which the memory estimate counts on. */
typedef struct hvp_scratch {
  double *x, *s, *u, *ds, *p, *q, *grams;
} hvp_scratch;

static hvp_scratch hvp_scratch_in(const mf *m, size_t count, double *work) {
  const size_t len = batch_block_len(m, count);
  hvp_scratch w = {work,           work + len,     work + 2 * len, work + 3 * len,
                   work + 4 * len, work + 5 * len, work + 6 * len};
  return w;
}

size_t lz__mf_hvp_batch_work_len_of(const mf *m, size_t count) {
  return 6 * batch_block_len(m, count) + 4 * m->d * m->d * count;
}

/* g = B1_r^T B2_r + B2_r^T B1_r for run r's columns of two packed blocks (symmetric). The
 * sums live in a local array up to d = 8, as in gram_of_run_d. */
LZ_INLINE void cross_gram_of_run_d(size_t d, size_t n, const double *b1, const double *b2,
                                   size_t r, size_t runs, double *g) {
  const size_t wd = runs * d;
  double local[64];
  double *acc = d * d <= 64 ? local : g;
  for (size_t e = 0; e < d * d; ++e) acc[e] = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double *p1 = b1 + i * wd + r * d, *p2 = b2 + i * wd + r * d;
    for (size_t a = 0; a < d; ++a)
      for (size_t b = a; b < d; ++b) acc[a * d + b] += p1[a] * p2[b] + p2[a] * p1[b];
  }
  for (size_t a = 0; a < d; ++a)
    for (size_t b = 0; b < d; ++b) g[a * d + b] = a <= b ? acc[a * d + b] : acc[b * d + a];
}

static void cross_gram_of_run(const mf *m, const double *b1, const double *b2, size_t r,
                              size_t runs, double *g) {
#define CALL_WITH_D(k) cross_gram_of_run_d(k, m->n, b1, b2, r, runs, g)
  LZ_DISPATCH_ON_SMALL_D(m->d)
#undef CALL_WITH_D
}

/* out = B1_r G1 + B2_r G2 - C_r, G1 and G2 d x d. */
LZ_INLINE void two_gram_terms_minus_d(size_t d, size_t n, const double *b1, const double *g1,
                                      const double *b2, const double *g2, const double *c,
                                      size_t r, size_t runs, double *out) {
  const size_t wd = runs * d;
  for (size_t i = 0; i < n; ++i)
    for (size_t a = 0; a < d; ++a) {
      double acc = 0.0;
      for (size_t q = 0; q < d; ++q) acc += b1[i * wd + r * d + q] * g1[q * d + a];
      for (size_t q = 0; q < d; ++q) acc += b2[i * wd + r * d + q] * g2[q * d + a];
      out[i * d + a] = acc - c[i * wd + r * d + a];
    }
}

static void two_gram_terms_minus(const mf *m, const double *b1, const double *g1,
                                 const double *b2, const double *g2, const double *c, size_t r,
                                 size_t runs, double *out) {
#define CALL_WITH_D(k) two_gram_terms_minus_d(k, m->n, b1, g1, b2, g2, c, r, runs, out)
  LZ_DISPATCH_ON_SMALL_D(m->d)
#undef CALL_WITH_D
}

static void pack_direction(const mf *m, const double *xy, const double *v, size_t j,
                           size_t count, hvp_scratch *w) {
  const size_t n = m->n, d = m->d, wd = count * d;
  const double *x = xy, *y = xy + m->nd, *u = v, *dy = v + m->nd;
  for (size_t i = 0; i < n; ++i)
    for (size_t a = 0; a < d; ++a) {
      const size_t at = i * wd + j * d + a, e = i * d + a;
      w->x[at] = x[e];
      w->s[at] = activation_of(m, y[e]);
      w->u[at] = u[e];
      w->ds[at] = activation_slope(m, y[e]) * dy[e];
    }
}

void lz__mf_dense_hvp_batch(const mf *m, size_t count, const double *const *xy,
                            const double *const *v, double *const *hv, double *work) {
  const size_t d = m->d, wd = count * d;
  hvp_scratch w = hvp_scratch_in(m, count, work);
  for (size_t j = 0; j < count; ++j) pack_direction(m, xy[j], v[j], j, count, &w);
  lz__mf_product_with_target(m, AS_IS, w.ds, wd, w.p);
  lz__mf_product_with_target(m, TRANSPOSED, w.u, wd, w.q);
  for (size_t j = 0; j < count; ++j) {
    double *gram_s = w.grams + 4 * d * d * j, *gram_x = gram_s + d * d;
    double *cross_s = gram_x + d * d, *cross_x = cross_s + d * d;
    if (j > 0 && xy[j] == xy[j - 1]) {
      /* the same state as the direction before (a run's two tangents): its Gram matrices */
      memcpy(gram_s, gram_s - 4 * d * d, 2 * d * d * sizeof *gram_s);
    } else {
      gram_of_run(m, w.s, j, count, gram_s);
      gram_of_run(m, w.x, j, count, gram_x);
    }
    cross_gram_of_run(m, w.ds, w.s, j, count, cross_s);
    cross_gram_of_run(m, w.u, w.x, j, count, cross_x);
    two_gram_terms_minus(m, w.u, gram_s, w.x, cross_s, w.p, j, count, hv[j]);
    two_gram_terms_minus(m, w.ds, gram_x, w.s, cross_x, w.q, j, count, hv[j] + m->nd);
    apply_activation_slope(m, xy[j] + m->nd, hv[j] + m->nd);
  }
}

double lz__mf_dense_value_grad(const mf *m, const double *xy, double *g, double *work) {
  double f = 0.0;
  lz__mf_dense_value_grad_batch(m, 1, &xy, &g, &f, work);
  return f;
}
