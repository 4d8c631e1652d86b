/* Matrix factorization f(X, Y) = 1/2 ||A - X S^T||_F^2 with S = sigma(Y), X, Y in R^{n x d}.
 *
 * The state vector is [X row-major, Y row-major] (dim 2 n d). With R = X S^T - A:
 *   grad_X = R S,   grad_Y = sigma'(Y) o (R^T X)
 * and along a direction (dX, dY), with dS = sigma'(Y) o dY and dR = dX S^T + X dS^T:
 *   H_X = dR S + R dS,   H_Y = sigma'(Y) o (dR^T X + R^T dX).
 * sigma'' = 0 away from the kink at 0 for every activation here, so no sigma'' term appears.
 * Activations: none (sigma(t) = t), relu, leaky_relu (t for t > 0, alpha t otherwise). At the
 * kink we take the slope of the left piece: sigma'(0) = 0 for relu and alpha for leaky_relu.
 *
 * Evaluation paths, chosen at create time from the target and (n, d) only:
 *   scalar   n = d = 1, A = mu: closed forms, no loops or BLAS.
 *   dense    gaussian, identity and file targets: never an n x n residual. The gradient is
 *            in expanded form from A S and A^T X, batched over runs (see "the gradient in
 *            expanded form" below); f alone and H v stream A once, rows in a fixed number of
 *            chunks (see "dense targets" below).
 *   lowrank  A = U diag(s) V^T: Gram matrices only, O(n d (d + k)), never A itself.
 *
 * Reproducibility: every sum has an order fixed by (n, d) alone. BLAS runs on one thread (see
 * use_single_threaded_blas), and the only OpenMP parallelism splits rows into a fixed number
 * of chunks whose partial results are combined in chunk order. So results are bitwise the
 * same for any number of threads, and whether or not the call comes from a parallel region;
 * a run's gradient is also the same whatever runs share its batch (own_product_*, or a BLAS
 * that passed lz__mf_probe_products). */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lapack.h"
#include "lrzoo/sysinfo.h"
#include "lrzoo/linalg.h"
#include "lrzoo/problem.h"
#include "lrzoo/rng.h"
#include "mf_internal.h"
#include "mf_products.h"

enum {
  /* Large problems split their rows into this many chunks (at least LZ_MF_MIN_CHUNK_ROWS rows
   * each). The chunks fix the reduction order of R^T X, so this constant, not the thread
   * count, decides the rounding. */
  LZ_MF_CHUNKS = 16,
  LZ_MF_MIN_CHUNK_ROWS = 4,
  /* The dense path uses its own row kernel up to this d and BLAS row blocks beyond: measured
   * here, the row kernel beat OpenBLAS (Haswell kernel) at every d up to 32. */
  LZ_MF_ROW_KERNEL_MAX_D = 32,
  /* The row kernel sweeps columns in tiles of at most this many doubles per d x tile panel
   * (S^T, dS^T, G^T: 32 KiB each), so that however large n, the panels stay in L2. */
  LZ_MF_TILE_DOUBLES = 4096,
  /* BLAS row blocks: up to 64 rows, fewer for large n so that a residual block (rows x n)
   * stays within 256 KiB and is reused from cache. */
  LZ_MF_BLOCK_ROWS_MAX = 64,
  LZ_MF_BLOCK_ROWS_MIN = 8,
  LZ_MF_BLOCK_DOUBLES = 32768,
  /* Products with m n k at most this use plain loops: below it the BLAS call costs more than
   * the arithmetic. */
  LZ_MF_LOOP_MAX_MNK = 2048,
  /* A batched gradient takes up to this many runs, fewer where their packed factors and
   * products (4 n d doubles a run) would pass LZ_MF_BATCH_BYTES. 64 runs of d = 4 make GEMMs
   * 256 columns wide, where OpenBLAS is near its peak. */
  LZ_MF_BATCH_MAX = 64,
  /* A S_all and A^T X_all are computed in row chunks of at least this many rows (at most
   * LZ_MF_CHUNKS of them), which run in parallel outside a parallel region: one run alone, or
   * a tile of one batch, still takes every thread. */
  LZ_MF_PRODUCT_CHUNK_ROWS = 512,
  /* The row kernel works on 8 doubles at a time (one AVX-512 register, two AVX ones). Scratch
   * slices and padded rows are whole lanes, so chunks never share a 64-byte cache line. */
  LANES = 8
};
/* n * n * d from which the rows are split into LZ_MF_CHUNKS chunks that may run in parallel;
 * smaller problems use one chunk and are better served by parallelism across runs. */
#define LZ_MF_PARALLEL_MIN_WORK 262144.0
#define LZ_MF_BATCH_BYTES (64.0 * 1024 * 1024)
/* A dense target keeps its transpose up to this size (n <= 4096): A^T b then runs the A b
 * kernel, 1.6x faster than reading A by columns here. Beyond, a second copy of A would cost
 * the memory that large studies need. */
#define LZ_MF_TRANSPOSE_BYTES (128.0 * 1024 * 1024)
/* Up to this size of A (n <= 11585), H v is the expanded form of the batched engine for one
 * run as for many (dense_hvp_batch): every engine, tangent and Lanczos then rounds alike, and
 * the products run at the GEMM kernels' speed. Beyond, a run is alone in memory-bound passes
 * over A, and dense_hvp's single pass (the residual formed block by block) is twice as fast. */
#define LZ_MF_EXPANDED_HVP_BYTES (1024.0 * 1024 * 1024)
/* The expanded loss is kept when it is at least this fraction of the size of its terms;
 * below, cancellation could leave too few correct digits and the residual is formed instead
 * (see expanded_loss_is_accurate). */
#define LZ_MF_EXPANDED_LOSS_MIN_FRACTION 1.0e-3

typedef enum { MF_PATH_SCALAR, MF_PATH_DENSE, MF_PATH_LOWRANK } mf_path;

typedef struct mf {
  size_t n, d, nd;
  lz_activation act;
  double alpha;          /* leaky_relu slope */
  lz_target_kind target;
  mf_path path;
  double mu;             /* scalar target */
  double *at;            /* A^T, stored like A, for the own products where it fits
                            LZ_MF_TRANSPOSE_BYTES (A^T b is then the fast A b kernel); or NULL */
  double *a;             /* dense target n x n, rows of stride ld padded with zeros; NULL for
                          * the identity (never stored) */
  size_t ld;             /* row stride of A, S^T, G^T: n padded to lanes (padded_row_length) */
  /* lowrank target A = U diag(s) V^T */
  size_t k;
  double *u, *v;         /* n x k row-major, orthonormal columns */
  double *s;             /* k values */
  double norm_a2;        /* ||A||_F^2: sum s^2 (lowrank), summed row by row (dense) */
  size_t qr_lwork;       /* dgeqrf_ workspace for the accurate loss */
  /* dense path */
  size_t chunks, block_rows, chunk_len;
  size_t tile;           /* row kernel: columns per tile, a multiple of LANES */
  int row_kernel;        /* 1: the row kernel, 0: BLAS blocks (see the dense section) */
  size_t batch_max;      /* runs one batched gradient takes at most */
  int own_products;      /* 1: A S and A^T X by own_product_* (the default; see choose_products) */
  int hvp_expanded;      /* H v by dense_hvp_batch, alone or batched; else dense_hvp (see
                            LZ_MF_EXPANDED_HVP_BYTES) */
  size_t product_chunks; /* row chunks of A S and A^T X (see product_with_target) */
  size_t work_len;
} mf;

/* ---- BLAS ---------------------------------------------------------------------------- */

/* BLAS must compute on the calling thread: see lz_blas_use_one_thread. */
static void use_single_threaded_blas(void) { lz_blas_use_one_thread(); }

typedef enum { AS_IS = 0, TRANSPOSED = 1 } lz_op;

static void multiply_with_loops(lz_op ta, lz_op tb, size_t m, size_t n, size_t k, double alpha,
                                const double *a, size_t lda, const double *b, size_t ldb,
                                double beta, double *c, size_t ldc) {
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (size_t p = 0; p < k; ++p)
        acc += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
      /* beta = 0 must not read c: scratch may hold anything, NaN included. */
      c[i * ldc + j] = beta == 0.0 ? alpha * acc : alpha * acc + beta * c[i * ldc + j];
    }
}

/* C = alpha op(A) op(B) + beta C, all row-major, C m x n. The loop/BLAS choice depends on
 * the shape only, so a given product is always computed the same way. */
static void multiply(lz_op ta, lz_op tb, size_t m, size_t n, size_t k, double alpha,
                     const double *a, size_t lda, const double *b, size_t ldb, double beta,
                     double *c, size_t ldc) {
  if (m * n * k <= LZ_MF_LOOP_MAX_MNK) {
    multiply_with_loops(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

static size_t round_up_to_alignment(size_t len) { return (len + LANES - 1) / LANES * LANES; }

/* ---- activation ---------------------------------------------------------------------- */

static inline double activation_of(const mf *m, double t) {
  switch (m->act) {
    case LZ_ACT_RELU: return t > 0.0 ? t : 0.0;
    case LZ_ACT_LEAKY_RELU: return t > 0.0 ? t : m->alpha * t;
    default: return t;
  }
}

static inline double activation_slope(const mf *m, double t) {
  switch (m->act) {
    case LZ_ACT_RELU: return t > 0.0 ? 1.0 : 0.0;
    case LZ_ACT_LEAKY_RELU: return t > 0.0 ? 1.0 : m->alpha;
    default: return 1.0;
  }
}

/* S = sigma(Y) written to buf; for the identity activation Y itself, without a copy. */
static const double *activated(const mf *m, const double *y, double *buf) {
  if (m->act == LZ_ACT_NONE) return y;
  for (size_t i = 0; i < m->nd; ++i) buf[i] = activation_of(m, y[i]);
  return buf;
}

/* dS = sigma'(Y) o dY written to buf; dY itself for the identity activation. */
static const double *activation_differential(const mf *m, const double *y, const double *dy,
                                             double *buf) {
  if (m->act == LZ_ACT_NONE) return dy;
  for (size_t i = 0; i < m->nd; ++i) buf[i] = activation_slope(m, y[i]) * dy[i];
  return buf;
}

/* g <- sigma'(Y) o g: the chain rule from S back to Y. */
static void apply_activation_slope(const mf *m, const double *y, double *g) {
  if (m->act == LZ_ACT_NONE) return;
  for (size_t i = 0; i < m->nd; ++i) g[i] *= activation_slope(m, y[i]);
}

/* ---- scalar target: f = (x sigma(y) - mu)^2 / 2 ------------------------------------- */

/* r = x sigma(y) - mu rounded once: exact cancellation near a minimizer, and the arithmetic the
 * lanes engine repeats per lane (gd_lanes.c). */
static double scalar_residual(const mf *m, double x, double s) { return fma(x, s, -m->mu); }

static double scalar_value(const mf *m, const double *xy) {
  double r = scalar_residual(m, xy[0], activation_of(m, xy[1]));
  return 0.5 * r * r;
}

static double scalar_value_grad(const mf *m, const double *xy, double *g) {
  double x = xy[0], s = activation_of(m, xy[1]);
  double r = scalar_residual(m, x, s);
  g[0] = r * s;
  g[1] = activation_slope(m, xy[1]) * r * x;
  return 0.5 * r * r;
}

static void scalar_hvp(const mf *m, const double *xy, const double *v, double *hv) {
  double x = xy[0], s = activation_of(m, xy[1]), slope = activation_slope(m, xy[1]);
  double r = scalar_residual(m, x, s);
  double ds = slope * v[1];
  double dr = v[0] * s + x * ds;
  hv[0] = dr * s + r * ds;
  hv[1] = slope * (dr * x + r * v[0]);
}

/* ---- dense targets: f and H v ----------------------------------------------------------
 *
 * The direct loss (value, and value_grad where the expanded loss would lose accuracy) and the
 * Hessian-vector products. A is streamed once per evaluation and no n x n residual ever
 * exists. Rows are split into `chunks` contiguous chunks (16 for large problems, else 1;
 * boundaries depend on n and d only). For H v, chunk c adds up its partial G_c = sum over its
 * rows i of dr_i^T x_i + r_i^T dx_i and writes its own rows of H_X; then H_S = sum_c G_c in
 * chunk order. For f, each chunk adds up its own loss_c. The chunks are independent, so they
 * may run on any threads without changing a bit.
 *
 * Two kernels compute a chunk, chosen by d:
 *   rows    (d <= LZ_MF_ROW_KERNEL_MAX_D) one row at a time, along the row in 8 fixed lanes,
 *           with S^T and G_c^T stored d x ld so that every access is contiguous and the
 *           residual never leaves registers. Products whose inner dimension is d are a poor
 *           fit for BLAS's packed kernels: at d = 8 and n = 512-2048 this one ran 1.6-1.9x
 *           faster than OpenBLAS (Haswell kernel) on one thread, 1.6-2.7x on two.
 *   blocks  (larger d) row blocks of at most block_rows rows through cblas_dgemm:
 *           R_b = X_b S^T - A_b, loss_c += ||R_b||^2, dR_b = dX_b S^T + X_b dS^T,
 *           (H_X)_b = dR_b S + R_b dS, G_c += dR_b^T X_b + R_b^T dX_b. */

/* Scratch of a dense evaluation: S (or S^T), dS (or dS^T), a loss per chunk, then one slice
 * of chunk_len doubles per chunk: G_c (or G_c^T) and, for the block kernel, R_b and dR_b.
 * S, dS and G_c get d x ld doubles each, enough for either layout. */
typedef struct dense_scratch {
  double *s, *ds, *chunk_loss, *chunks;
} dense_scratch;

static dense_scratch dense_scratch_in(const mf *m, double *work) {
  dense_scratch w;
  w.s = work;
  w.ds = w.s + m->d * m->ld;
  w.chunk_loss = w.ds + m->d * m->ld;
  w.chunks = w.chunk_loss + round_up_to_alignment(m->chunks);
  return w;
}

static size_t dense_work_len(const mf *m) {
  return 2 * m->d * m->ld + round_up_to_alignment(m->chunks) +
         m->chunks * m->chunk_len;
}

/* What the chunks of one evaluation share. Each chunk writes only its own rows of gx, its own
 * scratch slice and its own chunk_loss entry. */
typedef struct dense_pass {
  const mf *m;
  const double *x, *dx;  /* X and the direction dX (hvp only) */
  const double *s, *ds;  /* S = sigma(Y) and dS (hvp only); transposed for the row kernel */
  double *gx;            /* grad_X or H_X (value_grad, hvp) */
  dense_scratch w;
} dense_pass;

typedef struct chunk_scratch {
  double *g, *r, *dr;
} chunk_scratch;

static chunk_scratch chunk_scratch_of(const dense_pass *ps, size_t c) {
  const mf *m = ps->m;
  chunk_scratch cs;
  cs.g = ps->w.chunks + c * m->chunk_len;
  cs.r = cs.g + m->d * m->ld;
  cs.dr = cs.r + round_up_to_alignment(m->block_rows * m->n);
  return cs;
}

static size_t chunk_first_row(const mf *m, size_t c) { return c * m->n / m->chunks; }

/* -- row kernel -- */

/* Eight doubles along a row (a GCC vector extension). aligned(8) allows unaligned loads and
 * stores through it, and may_alias lets it view double arrays. The compiler maps it onto
 * whatever vector width the target has; the arithmetic of each lane stays the same. */
typedef double lanes __attribute__((vector_size(LANES * sizeof(double)), aligned(8), may_alias));

/* Without AVX-512, GCC warns that passing such vectors by value has no agreed ABI. The
 * functions that do so below are static and always inlined: no call ever crosses an ABI.
 * (GCC reports this at the end of the file, so the pragma cannot be popped.) */
#pragma GCC diagnostic ignored "-Wpsabi"

#define LZ_INLINE static inline __attribute__((always_inline))

LZ_INLINE lanes lanes_at(const double *p) { return *(const lanes *)p; }

LZ_INLINE double sum_of_lanes(lanes v) {
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

/* One row i of the residual over one column tile, and what it touches. Rows of A, S^T, dS^T
 * and G^T have stride ld (padded_row_length) and hold zeros past n, so every row is whole
 * lanes: the padded residual entries are exactly 0 and add nothing. */
typedef struct row_in {
  size_t ld, i;
  size_t j0, j1;           /* the column tile: multiples of LANES */
  const double *a;         /* row i of A; NULL for the identity target */
  const double *x, *dx;    /* row i of X and of dX */
  const double *st, *dst;  /* S^T and dS^T, d x ld */
} row_in;

/* The kernels copy what they read from row_in into locals first: stores through the
 * may_alias lanes type could otherwise alias anything, and the compiler would reload every
 * field and x_a after each store. */
typedef struct row_regs {
  size_t ld, i, j0, j1;
  const double *a, *st, *dst;
  double x[LZ_MF_ROW_KERNEL_MAX_D], dx[LZ_MF_ROW_KERNEL_MAX_D];
} row_regs;

LZ_INLINE row_regs row_regs_of(size_t d, const row_in *in) {
  row_regs k;
  k.ld = in->ld;
  k.i = in->i;
  k.j0 = in->j0;
  k.j1 = in->j1;
  k.a = in->a;
  k.st = in->st;
  k.dst = in->dst;
  for (size_t a = 0; a < d; ++a) {
    k.x[a] = in->x[a];
    k.dx[a] = in->dx ? in->dx[a] : 0.0;
  }
  return k;
}

/* r_l = x_i . s_{j+l} - A_{i, j+l} for the lanes from column j. */
LZ_INLINE lanes residual_lanes(size_t d, const row_regs *k, size_t j) {
  lanes r = {0.0};
  if (k->a)
    r = -lanes_at(k->a + j);
  else if (k->i - j < LANES)  /* identity; unsigned, so false when i < j */
    r[k->i - j] = -1.0;
  for (size_t a = 0; a < d; ++a) r += k->x[a] * lanes_at(k->st + a * k->ld + j);
  return r;
}

LZ_INLINE double row_value_d(size_t d, const row_in *in) {
  const row_regs k = row_regs_of(d, in);
  lanes loss = {0.0};
  for (size_t j = k.j0; j < k.j1; j += LANES) {
    lanes r = residual_lanes(d, &k, j);
    loss += r * r;
  }
  return sum_of_lanes(loss);
}

/* Over the tile: dr = dx_i S^T + x_i dS^T;  (H_X)_i += dr S + r dS;  G^T += dx_i^T r + x_i^T dr. */
LZ_INLINE void row_hvp_d(size_t d, const row_in *in, double *hx, double *gt) {
  const row_regs k = row_regs_of(d, in);
  lanes hacc[LZ_MF_ROW_KERNEL_MAX_D];
  for (size_t a = 0; a < d; ++a) hacc[a] = (lanes){0.0};
  for (size_t j = k.j0; j < k.j1; j += LANES) {
    lanes r = residual_lanes(d, &k, j), dr = {0.0};
    for (size_t a = 0; a < d; ++a)
      dr += k.dx[a] * lanes_at(k.st + a * k.ld + j) + k.x[a] * lanes_at(k.dst + a * k.ld + j);
    for (size_t a = 0; a < d; ++a) {
      hacc[a] += dr * lanes_at(k.st + a * k.ld + j) + r * lanes_at(k.dst + a * k.ld + j);
      lanes *ga = (lanes *)(gt + a * k.ld + j);
      *ga += k.x[a] * dr + k.dx[a] * r;
    }
  }
  for (size_t a = 0; a < d; ++a) hx[a] += sum_of_lanes(hacc[a]);
}

/* Copies of the row functions for d = 1..8, where the compiler keeps all lane accumulators in
 * registers. A given d always takes the same copy, so results stay deterministic.
 * CALL_WITH_D(k) is defined by each user as the call with the constant k in place of d. */
#define LZ_DISPATCH_ON_SMALL_D(d) \
  switch (d) {                    \
    case 1: CALL_WITH_D(1); break; \
    case 2: CALL_WITH_D(2); break; \
    case 3: CALL_WITH_D(3); break; \
    case 4: CALL_WITH_D(4); break; \
    case 5: CALL_WITH_D(5); break; \
    case 6: CALL_WITH_D(6); break; \
    case 7: CALL_WITH_D(7); break; \
    case 8: CALL_WITH_D(8); break; \
    default: CALL_WITH_D(d);      \
  }

static double row_value(size_t d, const row_in *in) {
  double loss = 0.0;
#define CALL_WITH_D(k) loss = row_value_d(k, in)
  LZ_DISPATCH_ON_SMALL_D(d)
#undef CALL_WITH_D
  return loss;
}

static void row_hvp(size_t d, const row_in *in, double *hx, double *gt) {
#define CALL_WITH_D(k) row_hvp_d(k, in, hx, gt)
  LZ_DISPATCH_ON_SMALL_D(d)
#undef CALL_WITH_D
}

static row_in row_of(const dense_pass *ps, size_t i, size_t j0) {
  const mf *m = ps->m;
  size_t j1 = j0 + m->tile < m->ld ? j0 + m->tile : m->ld;
  row_in in = {m->ld, i, j0, j1, m->a ? m->a + i * m->ld : NULL, ps->x + i * m->d,
               ps->dx ? ps->dx + i * m->d : NULL, ps->s, ps->ds};
  return in;
}

/* The chunk's rows sweep one column tile at a time, so the tiles of S^T and G^T stay in cache
 * while A streams past (see LZ_MF_TILE_DOUBLES). */
static void rows_chunk_value(const dense_pass *ps, size_t c) {
  const mf *m = ps->m;
  double loss = 0.0;
  for (size_t j0 = 0; j0 < m->ld; j0 += m->tile)
    for (size_t i = chunk_first_row(m, c); i < chunk_first_row(m, c + 1); ++i) {
      row_in in = row_of(ps, i, j0);
      loss += row_value(m->d, &in);
    }
  ps->w.chunk_loss[c] = loss;
}

static void rows_chunk_hvp(const dense_pass *ps, size_t c) {
  const mf *m = ps->m;
  size_t begin = chunk_first_row(m, c), end = chunk_first_row(m, c + 1);
  double *gt = chunk_scratch_of(ps, c).g;
  memset(gt, 0, m->d * m->ld * sizeof *gt);
  memset(ps->gx + begin * m->d, 0, (end - begin) * m->d * sizeof *ps->gx);
  for (size_t j0 = 0; j0 < m->ld; j0 += m->tile)
    for (size_t i = begin; i < end; ++i) {
      row_in in = row_of(ps, i, j0);
      row_hvp(m->d, &in, ps->gx + i * m->d, gt);
    }
}

/* -- block kernel -- */

static size_t block_height(const mf *m, size_t i0, size_t end) {
  return end - i0 < m->block_rows ? end - i0 : m->block_rows;
}

/* r <- r - a over len entries; returns the sum of the squared results (fixed order). */
static double subtract_and_square(double *r, const double *a, size_t len) {
  double acc[4] = {0.0, 0.0, 0.0, 0.0};
  size_t i = 0;
  for (; i + 4 <= len; i += 4)
    for (size_t l = 0; l < 4; ++l) {
      double t = r[i + l] - a[i + l];
      r[i + l] = t;
      acc[l] += t * t;
    }
  for (; i < len; ++i) {
    double t = r[i] - a[i];
    r[i] = t;
    acc[0] += t * t;
  }
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

/* R = X_b S^T - A_b for the rows [i0, i0 + rows); returns ||R||_F^2. */
static double residual_block(const mf *m, const double *x, const double *s, size_t i0,
                             size_t rows, double *r) {
  size_t n = m->n, d = m->d;
  multiply(AS_IS, TRANSPOSED, rows, n, d, 1.0, x + i0 * d, d, s, d, 0.0, r, n);
  double loss = 0.0;
  for (size_t i = 0; i < rows; ++i) {
    if (m->a) {
      loss += subtract_and_square(r + i * n, m->a + (i0 + i) * m->ld, n);
    } else {
      r[i * n + i0 + i] -= 1.0;  /* identity target */
      loss += lz_dot(r + i * n, r + i * n, n);
    }
  }
  return loss;
}

static void blocks_chunk_value(const dense_pass *ps, size_t c) {
  const mf *m = ps->m;
  chunk_scratch cs = chunk_scratch_of(ps, c);
  size_t end = chunk_first_row(m, c + 1);
  double loss = 0.0;
  for (size_t i0 = chunk_first_row(m, c); i0 < end; i0 += m->block_rows)
    loss += residual_block(m, ps->x, ps->s, i0, block_height(m, i0, end), cs.r);
  ps->w.chunk_loss[c] = loss;
}

static void blocks_chunk_hvp(const dense_pass *ps, size_t c) {
  const mf *m = ps->m;
  size_t n = m->n, d = m->d;
  chunk_scratch cs = chunk_scratch_of(ps, c);
  size_t begin = chunk_first_row(m, c), end = chunk_first_row(m, c + 1);
  for (size_t i0 = begin; i0 < end; i0 += m->block_rows) {
    size_t rows = block_height(m, i0, end);
    const double *xb = ps->x + i0 * d, *dxb = ps->dx + i0 * d;
    double *hxb = ps->gx + i0 * d;
    residual_block(m, ps->x, ps->s, i0, rows, cs.r);
    /* dR_b = dX_b S^T + X_b dS^T */
    multiply(AS_IS, TRANSPOSED, rows, n, d, 1.0, dxb, d, ps->s, d, 0.0, cs.dr, n);
    multiply(AS_IS, TRANSPOSED, rows, n, d, 1.0, xb, d, ps->ds, d, 1.0, cs.dr, n);
    /* (H_X)_b = dR_b S + R_b dS */
    multiply(AS_IS, AS_IS, rows, d, n, 1.0, cs.dr, n, ps->s, d, 0.0, hxb, d);
    multiply(AS_IS, AS_IS, rows, d, n, 1.0, cs.r, n, ps->ds, d, 1.0, hxb, d);
    /* G_c += dR_b^T X_b + R_b^T dX_b */
    multiply(TRANSPOSED, AS_IS, n, d, rows, 1.0, cs.dr, n, xb, d, i0 == begin ? 0.0 : 1.0,
             cs.g, d);
    multiply(TRANSPOSED, AS_IS, n, d, rows, 1.0, cs.r, n, dxb, d, 1.0, cs.g, d);
  }
}

/* -- driving the chunks -- */

typedef void chunk_task(const dense_pass *ps, size_t c);

/* Runs task on every chunk. In parallel only for large problems and only when not already
 * inside an active parallel region (a GD tile parallel over runs must not nest teams). The
 * result is the same either way: the chunks, not the threads, fix what is summed where. */
static void for_each_chunk(const dense_pass *ps, chunk_task *task) {
  size_t chunks = ps->m->chunks;
  if (chunks > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < chunks; ++c) task(ps, c);
  } else {
    for (size_t c = 0; c < chunks; ++c) task(ps, c);
  }
}

static double chunk_losses_in_order(const dense_pass *ps) {
  double loss = 0.0;
  for (size_t c = 0; c < ps->m->chunks; ++c) loss += ps->w.chunk_loss[c];
  return loss;
}

/* out (n x d) = sum_c G_c, adding the chunks in their fixed order; the row kernel's G_c^T are
 * transposed on the way. */
static void sum_chunk_partials(const dense_pass *ps, double *out) {
  const mf *m = ps->m;
  size_t n = m->n, d = m->d;
  for (size_t c = 0; c < m->chunks; ++c) {
    const double *g = chunk_scratch_of(ps, c).g;
    if (m->row_kernel) {
      for (size_t j = 0; j < n; ++j)
        for (size_t a = 0; a < d; ++a)
          out[j * d + a] = c == 0 ? g[a * m->ld + j] : out[j * d + a] + g[a * m->ld + j];
    } else {
      for (size_t i = 0; i < m->nd; ++i) out[i] = c == 0 ? g[i] : out[i] + g[i];
    }
  }
}

/* S = sigma(Y), or dS = sigma'(Y) o dY when dy is given, laid out for the kernel: n x d for
 * blocks (Y or dY itself for the identity activation), d x ld with zero padding for rows. */
static const double *laid_out_activation(const mf *m, const double *y, const double *dy,
                                         double *buf) {
  size_t n = m->n, d = m->d, ld = m->ld;
  if (!m->row_kernel)
    return dy ? activation_differential(m, y, dy, buf) : activated(m, y, buf);
  for (size_t j = 0; j < n; ++j)
    for (size_t a = 0; a < d; ++a) {
      double t = y[j * d + a];
      buf[a * ld + j] = dy ? activation_slope(m, t) * dy[j * d + a] : activation_of(m, t);
    }
  for (size_t a = 0; a < d; ++a)
    for (size_t j = n; j < ld; ++j) buf[a * ld + j] = 0.0;
  return buf;
}

static dense_pass dense_pass_at(const mf *m, const double *xy, const double *v, double *work) {
  dense_pass ps = {0};
  ps.m = m;
  ps.w = dense_scratch_in(m, work);
  ps.x = xy;
  ps.s = laid_out_activation(m, xy + m->nd, NULL, ps.w.s);
  if (v) {
    ps.dx = v;
    ps.ds = laid_out_activation(m, xy + m->nd, v + m->nd, ps.w.ds);
  }
  return ps;
}

static double dense_value(const mf *m, const double *xy, double *work) {
  dense_pass ps = dense_pass_at(m, xy, NULL, work);
  for_each_chunk(&ps, m->row_kernel ? rows_chunk_value : blocks_chunk_value);
  return 0.5 * chunk_losses_in_order(&ps);
}

static void dense_hvp(const mf *m, const double *xy, const double *v, double *hv,
                      double *work) {
  dense_pass ps = dense_pass_at(m, xy, v, work);
  ps.gx = hv;
  for_each_chunk(&ps, m->row_kernel ? rows_chunk_hvp : blocks_chunk_hvp);
  sum_chunk_partials(&ps, hv + m->nd);
  apply_activation_slope(m, xy + m->nd, hv + m->nd);
}

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

static double sum_of_squares_by_rows(const mf *m) {
  if (!m->a) return (double)m->n;  /* identity */
  double sum = 0.0;
  for (size_t i = 0; i < m->n; ++i) sum += lz_dot(m->a + i * m->ld, m->a + i * m->ld, m->n);
  return sum;
}

/* Rows [i0, i1) of c = op(A) b. */
static void product_rows(const mf *m, lz_op op, const double *b, size_t w, size_t i0,
                         size_t i1, double *c) {
  const size_t n = m->n;
  if (m->own_products) {
    if (op == AS_IS) lz__own_product(m->a, m->ld, n, b, w, i0, i1, c);
    else if (m->at) lz__own_product(m->at, m->ld, n, b, w, i0, i1, c);
    else lz__own_product_transposed(m->a, m->ld, n, b, w, i0, i1, c);
    return;
  }
  /* rows i of A^T are columns i of A: the block starts at column i0 */
  const double *a = op == TRANSPOSED ? m->a + i0 : m->a + i0 * m->ld;
  cblas_dgemm(CblasRowMajor, op == TRANSPOSED ? CblasTrans : CblasNoTrans, CblasNoTrans,
              (int)(i1 - i0), (int)w, (int)n, 1.0, a, (int)m->ld, b, (int)w, 0.0, c + i0 * w,
              (int)w);
}

static size_t product_chunk_row(const mf *m, size_t c) { return c * m->n / m->product_chunks; }

/* c (n x w) = op(A) b for op(A) = A or A^T; the identity target returns b itself. The row
 * chunks depend on n alone and each is the same product whichever thread computes it, so
 * running them in parallel changes nothing. */
static void product_with_target(const mf *m, lz_op op, const double *b, size_t w, double *c) {
  const size_t chunks = m->product_chunks;
  if (!m->a) {
    memcpy(c, b, m->n * w * sizeof *c);
  } else if (chunks > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < chunks; ++k)
      product_rows(m, op, b, w, product_chunk_row(m, k), product_chunk_row(m, k + 1), c);
  } else {
    for (size_t k = 0; k < chunks; ++k)
      product_rows(m, op, b, w, product_chunk_row(m, k), product_chunk_row(m, k + 1), c);
  }
}

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

static size_t batch_work_len_of(const mf *m, size_t runs) {
  return 4 * batch_block_len(m, runs) + m->d * m->d + round_up_to_alignment(m->d * m->d) +
         dense_work_len(m);
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
static void dense_value_grad_batch(const mf *m, size_t runs, const double *const *xy,
                                   double *const *g, double *f, double *work) {
  const size_t d = m->d, wd = runs * d;
  batch_scratch w = batch_scratch_in(m, runs, work);
  for (size_t r = 0; r < runs; ++r) pack_run(m, xy[r], r, runs, &w);
  product_with_target(m, AS_IS, w.s, wd, w.p);
  product_with_target(m, TRANSPOSED, w.x, wd, w.q);
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
               : dense_value(m, xy[r], w.direct);
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
 * the residual form (dense_hvp) serves alone and batched. */

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

static size_t hvp_batch_work_len_of(const mf *m, size_t count) {
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

static void dense_hvp_batch(const mf *m, size_t count, const double *const *xy,
                            const double *const *v, double *const *hv, double *work) {
  const size_t d = m->d, wd = count * d;
  hvp_scratch w = hvp_scratch_in(m, count, work);
  for (size_t j = 0; j < count; ++j) pack_direction(m, xy[j], v[j], j, count, &w);
  product_with_target(m, AS_IS, w.ds, wd, w.p);
  product_with_target(m, TRANSPOSED, w.u, wd, w.q);
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

static double dense_value_grad(const mf *m, const double *xy, double *g, double *work) {
  double f = 0.0;
  dense_value_grad_batch(m, 1, &xy, &g, &f, work);
  return f;
}

void lz__mf_residual_hvp(const void *state, const double *x, const double *v, double *hv,
                         double *work) {
  dense_hvp(state, x, v, hv, work);
}

/* The products as the gradient computes them, and as create probes them. */
void lz__mf_target_product(const void *state, int transposed, const double *b, size_t w,
                           double *c) {
  product_with_target(state, transposed ? TRANSPOSED : AS_IS, b, w, c);
}

/* Whether `product` computes each entry of A B and A^T B the same way at every width this
 * instance uses and in every column position: one run alone, the widest product (the two
 * tangent directions of a full batch), half of it. The shapes, not the numbers, select a BLAS
 * kernel, so a random B of those shapes answers. */
int lz__mf_probe_products(const void *state, lz_mf_product_fn *product, int *ok,
                          lz_err *err) {
  const mf *m = state;
  const size_t n = m->n, d = m->d, full = 2 * m->batch_max, half = (full + 1) / 2;
  *ok = 1;
  if (!m->a || m->batch_max < 2) return LZ_OK;
  const size_t len = n * full * d;
  double *b = malloc(len * sizeof *b), *wide = malloc(len * sizeof *wide);
  double *part = malloc(len * sizeof *part), *narrow = malloc(len * sizeof *narrow);
  if (!b || !wide || !part || !narrow) {
    free(b), free(wide), free(part), free(narrow);
    return lz_err_set(err, LZ_ENOMEM, "mf: out of memory probing the BLAS");
  }
  lz_rng rng;
  lz_rng_init(&rng, 0, LZ_RNG_TEST, n, d);
  for (size_t i = 0; i < len; ++i) b[i] = lz_rng_normal(&rng);
  const size_t runs_alone[3] = {0, half, full - 1};
  for (int t = 0; t < 2 && *ok; ++t) {
    product(m, t, b, full * d, wide);
    /* the first half of the batch alone: the same columns, a narrower product */
    for (size_t i = 0; i < n; ++i) memcpy(part + i * half * d, b + i * full * d, half * d * sizeof *b);
    product(m, t, part, half * d, narrow);
    for (size_t i = 0; i < n && *ok; ++i)
      *ok = memcmp(narrow + i * half * d, wide + i * full * d, half * d * sizeof *b) == 0;
    for (int s = 0; s < 3 && *ok; ++s) {
      size_t r = runs_alone[s];
      for (size_t i = 0; i < n; ++i) memcpy(part + i * d, b + i * full * d + r * d, d * sizeof *b);
      product(m, t, part, d, narrow);
      for (size_t i = 0; i < n && *ok; ++i)
        *ok = memcmp(narrow + i * d, wide + i * full * d + r * d, d * sizeof *b) == 0;
    }
  }
  free(b), free(wide), free(part), free(narrow);
  return LZ_OK;
}

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
 *   f = 1/2 ||A||^2 - <U^T X, W_S> + 1/2 <X^T X, S^T S>   (the cheap loss, see lowrank_value). */
static double lowrank_value_grad(const mf *m, const double *xy, double *g, double *work) {
  size_t n = m->n, d = m->d, k = m->k;
  const double *x = xy, *y = xy + m->nd;
  double *sbuf = work, *sts = sbuf + round_up_to_alignment(m->nd);
  double *xtx = sts + d * d, *ws = xtx + d * d, *wx = ws + k * d;
  const double *s = activated(m, y, sbuf);
  multiply(TRANSPOSED, AS_IS, d, d, n, 1.0, s, d, s, d, 0.0, sts, d);
  multiply(TRANSPOSED, AS_IS, d, d, n, 1.0, x, d, x, d, 0.0, xtx, d);
  multiply(TRANSPOSED, AS_IS, k, d, n, 1.0, m->v, k, s, d, 0.0, ws, d);
  multiply(TRANSPOSED, AS_IS, k, d, n, 1.0, m->u, k, x, d, 0.0, wx, d);
  scale_rows(ws, k, d, m->s);
  double f = 0.5 * m->norm_a2 - frobenius_inner(wx, ws, k * d) +
             0.5 * frobenius_inner(xtx, sts, d * d);
  scale_rows(wx, k, d, m->s);
  double *gx = g, *gy = g + m->nd;
  multiply(AS_IS, AS_IS, n, d, d, 1.0, x, d, sts, d, 0.0, gx, d);
  multiply(AS_IS, AS_IS, n, d, k, -1.0, m->u, k, ws, d, 1.0, gx, d);
  multiply(AS_IS, AS_IS, n, d, d, 1.0, s, d, xtx, d, 0.0, gy, d);
  multiply(AS_IS, AS_IS, n, d, k, -1.0, m->v, k, wx, d, 1.0, gy, d);
  apply_activation_slope(m, y, gy);
  return f;
}

static size_t lowrank_value_grad_work_len(const mf *m) {
  return round_up_to_alignment(m->nd) + 2 * m->d * m->d + 2 * m->k * m->d;
}

/* Expanding H_X = dR S + R dS and H_S = dR^T X + R^T dX with R = X S^T - U diag(s) V^T:
 *   H_X = dX (S^T S) + X (dS^T S + S^T dS) - U diag(s) (V^T dS)
 *   H_S = S (dX^T X + X^T dX) + dS (X^T X) - V diag(s) (U^T dX). */
static void lowrank_hvp(const mf *m, const double *xy, const double *v, double *hv,
                        double *work) {
  size_t n = m->n, d = m->d, k = m->k, dd = d * d;
  const double *x = xy, *y = xy + m->nd, *dx = v;
  double *sbuf = work, *dsbuf = sbuf + round_up_to_alignment(m->nd);
  double *sts = dsbuf + round_up_to_alignment(m->nd), *xtx = sts + dd;
  double *sym_s = xtx + dd, *sym_x = sym_s + dd, *wds = sym_x + dd, *wdx = wds + k * d;
  const double *s = activated(m, y, sbuf);
  const double *ds = activation_differential(m, y, v + m->nd, dsbuf);
  multiply(TRANSPOSED, AS_IS, d, d, n, 1.0, s, d, s, d, 0.0, sts, d);
  multiply(TRANSPOSED, AS_IS, d, d, n, 1.0, x, d, x, d, 0.0, xtx, d);
  multiply(TRANSPOSED, AS_IS, d, d, n, 1.0, s, d, ds, d, 0.0, sym_s, d);
  add_transpose(sym_s, d);
  multiply(TRANSPOSED, AS_IS, d, d, n, 1.0, x, d, dx, d, 0.0, sym_x, d);
  add_transpose(sym_x, d);
  multiply(TRANSPOSED, AS_IS, k, d, n, 1.0, m->v, k, ds, d, 0.0, wds, d);
  multiply(TRANSPOSED, AS_IS, k, d, n, 1.0, m->u, k, dx, d, 0.0, wdx, d);
  scale_rows(wds, k, d, m->s);
  scale_rows(wdx, k, d, m->s);
  double *hx = hv, *hy = hv + m->nd;
  multiply(AS_IS, AS_IS, n, d, d, 1.0, dx, d, sts, d, 0.0, hx, d);
  multiply(AS_IS, AS_IS, n, d, d, 1.0, x, d, sym_s, d, 1.0, hx, d);
  multiply(AS_IS, AS_IS, n, d, k, -1.0, m->u, k, wds, d, 1.0, hx, d);
  multiply(AS_IS, AS_IS, n, d, d, 1.0, s, d, sym_x, d, 0.0, hy, d);
  multiply(AS_IS, AS_IS, n, d, d, 1.0, ds, d, xtx, d, 1.0, hy, d);
  multiply(AS_IS, AS_IS, n, d, k, -1.0, m->v, k, wdx, d, 1.0, hy, d);
  apply_activation_slope(m, y, hy);
}

static size_t lowrank_hvp_work_len(const mf *m) {
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
static double lowrank_value(const mf *m, const double *xy, double *work) {
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

static size_t lowrank_value_work_len(const mf *m) {
  size_t cols = m->d + m->k, r = m->n < cols ? m->n : cols;
  return 2 * round_up_to_alignment(m->n * cols) + round_up_to_alignment(r) +
         round_up_to_alignment(m->qr_lwork) + r * r;
}

/* ---- creating an instance ------------------------------------------------------------ */

static int invalid(lz_err *err, const char *what) {
  return lz_err_set(err, LZ_EINVAL, "mf: %s", what);
}

static int check_shape_and_activation(const lz_problem_params *pp, lz_err *err) {
  if (pp->n < 1 || pp->d < 1)
    return lz_err_set(err, LZ_EINVAL, "mf: n and d must be >= 1 (got n = %lld, d = %lld)",
                      (long long)pp->n, (long long)pp->d);
  /* BLAS and LAPACK take int dimensions; n x n targets beyond that do not fit memory anyway. */
  if (pp->n > INT_MAX / 2 || pp->d > INT_MAX / 2)
    return lz_err_set(err, LZ_EINVAL, "mf: n = %lld, d = %lld is too large", (long long)pp->n,
                      (long long)pp->d);
  if (pp->activation != LZ_ACT_NONE && pp->activation != LZ_ACT_RELU &&
      pp->activation != LZ_ACT_LEAKY_RELU)
    return invalid(err, "activation must be none, relu or leaky_relu");
  if (pp->activation == LZ_ACT_LEAKY_RELU && !isfinite(pp->alpha))
    return invalid(err, "the leaky_relu slope alpha must be finite");
  return LZ_OK;
}

/* n rounded up to whole lanes, plus one lane when the row would span a multiple of 512 bytes:
 * with such power-of-two strides the rows of S^T and G^T map onto the same cache sets and
 * 4 KiB alias each other, which cost the row kernel a factor of 3 at n = 512 and 2048. */
static size_t padded_row_length(size_t n) {
  size_t ld = round_up_to_alignment(n);
  return ld % 64 == 0 ? ld + LANES : ld;
}

/* Zeroed, so the padding of each row past n holds zeros (see row_in). */
static int allocate_dense_target(mf *m, lz_err *err) {
  m->a = calloc(m->n * m->ld, sizeof *m->a);
  if (!m->a)
    return lz_err_set(err, LZ_ENOMEM, "mf: out of memory for a %zu x %zu target", m->n, m->n);
  return LZ_OK;
}

static int build_gaussian_target(mf *m, const lz_problem_params *pp, uint64_t seed,
                                 lz_err *err) {
  if (!isfinite(pp->target_scale)) return invalid(err, "the gaussian target scale must be finite");
  int rc = allocate_dense_target(m, err);
  if (rc != LZ_OK) return rc;
  /* The stream is named by n alone, so A depends on (seed, n, scale) only: every d and
   * activation of a sweep factorizes the same matrix. */
  lz_rng rng;
  lz_rng_init(&rng, seed, LZ_RNG_TARGET, m->n, 0);
  double c = pp->target_scale / sqrt((double)m->n);
  for (size_t i = 0; i < m->n; ++i)
    for (size_t j = 0; j < m->n; ++j) m->a[i * m->ld + j] = c * lz_rng_normal(&rng);
  return LZ_OK;
}

static int copy_file_target(mf *m, const double *target, lz_err *err) {
  if (!target) return invalid(err, "a file target needs its n x n matrix");
  int rc = allocate_dense_target(m, err);
  if (rc != LZ_OK) return rc;
  for (size_t i = 0; i < m->n; ++i)
    memcpy(m->a + i * m->ld, target + i * m->n, m->n * sizeof *m->a);
  return LZ_OK;
}

static int build_scalar_target(mf *m, const lz_problem_params *pp, lz_err *err) {
  if (m->n != 1 || m->d != 1)
    return lz_err_set(err, LZ_EINVAL,
                      "mf: the scalar target is the case n = d = 1 (got n = %zu, d = %zu)", m->n,
                      m->d);
  if (!isfinite(pp->mu)) return invalid(err, "the scalar target mu must be finite");
  m->mu = pp->mu;
  return LZ_OK;
}

/* An n x k matrix with orthonormal columns: Q of the QR factors of a Gaussian matrix drawn
 * row-major from the stream (seed, LZ_RNG_TARGET, n, which). Returned row-major. */
static int draw_orthonormal(size_t n, size_t k, uint64_t seed, uint64_t which, double **out,
                            lz_err *err) {
  *out = NULL;
  int rows = (int)n, cols = (int)k, info = 0, lwork = -1;
  double query = 0.0;
  dgeqrf_(&rows, &cols, &query, &rows, &query, &query, &lwork, &info);
  double optimal = query;
  dorgqr_(&rows, &cols, &cols, &query, &rows, &query, &query, &lwork, &info);
  if (query > optimal) optimal = query;
  lwork = (int)optimal;
  if (lwork < cols) lwork = cols;
  double *a = malloc(n * k * sizeof *a), *tau = malloc(k * sizeof *tau);
  double *work = malloc((size_t)lwork * sizeof *work), *q = malloc(n * k * sizeof *q);
  if (!a || !tau || !work || !q) {
    free(a);
    free(tau);
    free(work);
    free(q);
    return lz_err_set(err, LZ_ENOMEM, "mf: out of memory for lowrank factors");
  }
  lz_rng rng;
  lz_rng_init(&rng, seed, LZ_RNG_TARGET, n, which);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < k; ++j) a[i + j * n] = lz_rng_normal(&rng);
  dgeqrf_(&rows, &cols, a, &rows, tau, work, &lwork, &info);
  if (info == 0) dorgqr_(&rows, &cols, &cols, a, &rows, tau, work, &lwork, &info);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < k; ++j) q[i * k + j] = a[i + j * n];
  free(a);
  free(tau);
  free(work);
  if (info != 0) {
    free(q);
    return lz_err_set(err, LZ_ENUMERIC, "mf: QR of the lowrank factor failed (info %d)", info);
  }
  *out = q;
  return LZ_OK;
}

static size_t qr_workspace_len(size_t rows, size_t cols) {
  int m = (int)rows, n = (int)cols, lwork = -1, info = 0;
  double query = 0.0;
  dgeqrf_(&m, &n, &query, &m, &query, &query, &lwork, &info);
  size_t len = (size_t)query;
  return len < cols ? cols : len;
}

static int build_lowrank_target(mf *m, const lz_problem_params *pp, uint64_t seed,
                                lz_err *err) {
  if (pp->rank < 1 || pp->rank > pp->n)
    return lz_err_set(err, LZ_EINVAL, "mf: lowrank rank %lld must be between 1 and n = %lld",
                      (long long)pp->rank, (long long)pp->n);
  if (!pp->singular_values || pp->n_singular_values != (size_t)pp->rank)
    return lz_err_set(err, LZ_EINVAL,
                      "mf: lowrank rank %lld must equal the number of singular values (%zu)",
                      (long long)pp->rank, pp->n_singular_values);
  m->s = malloc(m->k * sizeof *m->s);
  if (!m->s) return lz_err_set(err, LZ_ENOMEM, "mf: out of memory");
  m->norm_a2 = 0.0;
  for (size_t l = 0; l < m->k; ++l) {
    double s = pp->singular_values[l];
    if (!isfinite(s) || s < 0.0)
      return lz_err_set(err, LZ_EINVAL, "mf: singular value %zu (%g) must be finite and >= 0",
                        l, s);
    m->s[l] = s;
    m->norm_a2 += s * s;
  }
  int rc = draw_orthonormal(m->n, m->k, seed, 1, &m->u, err);
  if (rc == LZ_OK) rc = draw_orthonormal(m->n, m->k, seed, 2, &m->v, err);
  return rc;
}

static int build_target(mf *m, const lz_problem_params *pp, uint64_t seed,
                        const double *target, lz_err *err) {
  switch (pp->target) {
    case LZ_TARGET_GAUSSIAN: return build_gaussian_target(m, pp, seed, err);
    case LZ_TARGET_IDENTITY: return LZ_OK;  /* A = I is applied on the fly, never stored */
    case LZ_TARGET_SCALAR: return build_scalar_target(m, pp, err);
    case LZ_TARGET_LOWRANK: return build_lowrank_target(m, pp, seed, err);
    case LZ_TARGET_FILE: return copy_file_target(m, target, err);
  }
  return invalid(err, "target must be gaussian, identity, scalar, lowrank or file");
}

static size_t chunk_count(size_t n) {
  size_t c = (n + LZ_MF_MIN_CHUNK_ROWS - 1) / LZ_MF_MIN_CHUNK_ROWS;
  return c < LZ_MF_CHUNKS ? c : LZ_MF_CHUNKS;
}

static size_t block_rows_for(size_t n) {
  size_t b = LZ_MF_BLOCK_DOUBLES / n;
  if (b > LZ_MF_BLOCK_ROWS_MAX) b = LZ_MF_BLOCK_ROWS_MAX;
  if (b < LZ_MF_BLOCK_ROWS_MIN) b = LZ_MF_BLOCK_ROWS_MIN;
  return b;
}

static size_t tile_columns_for(size_t d) {
  size_t t = LZ_MF_TILE_DOUBLES / d / LANES * LANES;
  return t < LANES ? LANES : t;
}

static size_t max3(size_t a, size_t b, size_t c) {
  size_t m = a > b ? a : b;
  return m > c ? m : c;
}

/* Everything here depends on (target, n, d, k) only, never on threads. */
static void choose_path(mf *m) {
  if (m->target == LZ_TARGET_SCALAR) {
    m->path = MF_PATH_SCALAR;
    m->work_len = 0;
  } else if (m->target == LZ_TARGET_LOWRANK) {
    m->path = MF_PATH_LOWRANK;
    m->work_len = max3(lowrank_value_work_len(m), lowrank_value_grad_work_len(m),
                       lowrank_hvp_work_len(m));
  } else {
    m->path = MF_PATH_DENSE;
    double work = (double)m->n * (double)m->n * (double)m->d;
    m->chunks = work >= LZ_MF_PARALLEL_MIN_WORK ? chunk_count(m->n) : 1;
    m->row_kernel = m->d <= LZ_MF_ROW_KERNEL_MAX_D;
    m->block_rows = m->row_kernel ? 0 : block_rows_for(m->n);
    m->tile = tile_columns_for(m->d);
    m->chunk_len = m->d * m->ld +
                   2 * round_up_to_alignment(m->block_rows * m->n);
    size_t pc = m->n / LZ_MF_PRODUCT_CHUNK_ROWS;
    m->product_chunks = pc < 1 ? 1 : pc > LZ_MF_CHUNKS ? LZ_MF_CHUNKS : pc;
    double run_bytes = 4.0 * 8.0 * (double)m->n * (double)m->d;
    double fit = floor(LZ_MF_BATCH_BYTES / run_bytes);
    m->batch_max = fit >= LZ_MF_BATCH_MAX ? LZ_MF_BATCH_MAX : fit >= 1.0 ? (size_t)fit : 1;
    m->hvp_expanded =
        m->batch_max > 1 && 8.0 * (double)m->n * (double)m->ld <= LZ_MF_EXPANDED_HVP_BYTES;
    m->work_len = batch_work_len_of(m, 1);
    if (m->hvp_expanded && hvp_batch_work_len_of(m, 1) > m->work_len)
      m->work_len = hvp_batch_work_len_of(m, 1);
  }
}

/* Two d x d Gram matrices, their eigenvectors and the Sylvester solve's right-hand side. */
static size_t symmetry_work_len_for(size_t d) { return 6 * d * d + 12 * d + 64; }

/* The shape fields create sets before building the target: all that choose_path reads. */
static void set_shape(mf *m, const lz_problem_params *pp) {
  m->n = (size_t)pp->n;
  m->d = (size_t)pp->d;
  m->nd = m->n * m->d;
  m->ld = padded_row_length(m->n);
  m->act = pp->activation;
  m->alpha = pp->alpha;
  m->target = pp->target;
  if (pp->target == LZ_TARGET_LOWRANK && pp->rank >= 1 && pp->rank <= pp->n) {
    m->k = (size_t)pp->rank;
    m->qr_lwork = qr_workspace_len(m->n, m->d + m->k);
  }
}

/* Whether an n x n target keeps its transpose too (own products only; counted by mf_sizes
 * whatever the products, since the environment may differ between estimate and run). */
static int keeps_transpose(size_t n, size_t ld) {
  return 8.0 * (double)n * (double)ld <= LZ_MF_TRANSPOSE_BYTES;
}

/* Mirrors build_target and choose_path without allocating: n and d may be far too large to
 * build, which is exactly when the estimate matters. */
static void mf_sizes(const lz_problem_params *pp, lz_problem_sizes *s) {
  if (pp->n < 1 || pp->d < 1) return;
  if ((double)pp->n * (double)pp->d > 1e12) {
    /* Beyond 16 TB of state the size_t counts below could wrap: say "far too large". */
    s->stored_bytes = 16.0 * (double)pp->n * (double)pp->d;
    return;
  }
  mf m;
  memset(&m, 0, sizeof m);
  set_shape(&m, pp);
  choose_path(&m);
  double n = (double)m.n, k = (double)m.k;
  s->dim = 2 * m.nd;
  s->work_len = m.work_len;
  if (m.path == MF_PATH_DENSE) {
    s->batch_max = m.batch_max;
    s->batch_work_len = batch_work_len_of(&m, m.batch_max);
    s->hvp_batch_work_len = m.hvp_expanded ? hvp_batch_work_len_of(&m, 2 * m.batch_max)
                                           : m.work_len;
    /* the BLAS probe's four n x 2 batch_max d blocks, while the instance is built (only under
     * LRZOO_MF_PRODUCTS=blas; counted always, as the environment may differ between the
     * estimate and the run) */
    s->building_bytes = 64.0 * n * (double)m.d * (double)m.batch_max;
  }
  s->symmetry_work_len = symmetry_work_len_for(m.d);
  s->stored_bytes = (double)sizeof m;
  const double transpose = keeps_transpose(m.n, m.ld) ? 8.0 * n * (double)m.ld : 0.0;
  switch (m.target) {
    case LZ_TARGET_GAUSSIAN: s->stored_bytes += 8.0 * n * (double)m.ld + transpose; break;
    case LZ_TARGET_FILE:
      s->stored_bytes += 8.0 * n * (double)m.ld + transpose;
      /* the matrix as read, held by the caller until create (and its probe) returns */
      s->building_bytes += 8.0 * n * n;
      break;
    case LZ_TARGET_LOWRANK:
      s->stored_bytes += 8.0 * (2.0 * n * k + k);
      /* drawing V: U is kept while V's Gaussian matrix, its Q and the QR workspace live */
      s->building_bytes = 8.0 * (2.0 * n * k + 64.0 * k);
      break;
    default: break;
  }
}

static void mf_destroy(void *state) {
  mf *m = state;
  if (!m) return;
  free(m->a);
  free(m->at);
  free(m->u);
  free(m->v);
  free(m->s);
  free(m);
}

/* lrzoo's own products unless LRZOO_MF_PRODUCTS=blas asks for the BLAS and the BLAS passes
 * the probe. The own products matched or beat OpenBLAS's Haswell kernel on the batched shapes
 * and ran 3-5x faster than its generic Prescott kernel (bench/README.md), and they make a dense
 * run's rounding independent of which BLAS kernel a machine picks. */
static int store_transpose(mf *m, lz_err *err) {
  if (!m->own_products || !m->a || !keeps_transpose(m->n, m->ld)) return LZ_OK;
  m->at = calloc(m->n * m->ld, sizeof *m->at);
  if (!m->at)
    return lz_err_set(err, LZ_ENOMEM, "mf: out of memory for the transpose of a %zu x %zu target",
                      m->n, m->n);
  for (size_t i = 0; i < m->n; ++i)
    for (size_t j = 0; j < m->n; ++j) m->at[j * m->ld + i] = m->a[i * m->ld + j];
  return LZ_OK;
}

static int choose_products(mf *m, lz_err *err) {
  const char *want = getenv("LRZOO_MF_PRODUCTS");
  m->own_products = 1;
  if (!want || !*want || strcmp(want, "own") == 0) return LZ_OK;
  if (strcmp(want, "blas") != 0)
    return lz_err_set(err, LZ_EINVAL, "mf: the environment variable LRZOO_MF_PRODUCTS is \"%s\"; "
                      "allowed: own (the default) or blas", want);
  int independent = 1;
  m->own_products = 0;  /* the probe must see the BLAS */
  int rc = lz__mf_probe_products(m, lz__mf_target_product, &independent, err);
  m->own_products = rc != LZ_OK || !independent;
  return rc;
}

static int mf_create(const lz_problem_params *pp, uint64_t seed, const double *target,
                     void **state, lz_err *err) {
  *state = NULL;
  int rc = check_shape_and_activation(pp, err);
  if (rc != LZ_OK) return rc;
  mf *m = calloc(1, sizeof *m);
  if (!m) return lz_err_set(err, LZ_ENOMEM, "mf: out of memory");
  set_shape(m, pp);
  rc = build_target(m, pp, seed, target, err);
  if (rc != LZ_OK) {
    mf_destroy(m);
    return rc;
  }
  choose_path(m);
  use_single_threaded_blas();
  if (m->path == MF_PATH_DENSE) {
    m->norm_a2 = sum_of_squares_by_rows(m);
    rc = choose_products(m, err);
    if (rc == LZ_OK) rc = store_transpose(m, err);
    if (rc != LZ_OK) {
      mf_destroy(m);
      return rc;
    }
  }
  *state = m;
  return LZ_OK;
}

/* ---- the objective ------------------------------------------------------------------- */

static size_t mf_dim(const void *state) { return 2 * ((const mf *)state)->nd; }

static size_t mf_work_len(const void *state) { return ((const mf *)state)->work_len; }

static double mf_value(const void *state, const double *x, double *work) {
  const mf *m = state;
  switch (m->path) {
    case MF_PATH_SCALAR: return scalar_value(m, x);
    case MF_PATH_LOWRANK: return lowrank_value(m, x, work);
    default: return dense_value(m, x, work);
  }
}

static size_t mf_batch_max(const void *state) {
  const mf *m = state;
  return m->path == MF_PATH_DENSE ? m->batch_max : 1;
}

/* Called only where mf_batch_max is above 1: the dense path. */
static size_t mf_batch_work_len(const void *state, size_t runs) {
  return batch_work_len_of(state, runs);
}

static void mf_value_grad_batch(const void *state, size_t runs, const double *const *x,
                                double *const *g, double *f, double *work) {
  dense_value_grad_batch(state, runs, x, g, f, work);
}

/* Called only where mf_batch_max is above 1: the dense path. */
static size_t mf_hvp_batch_work_len(const void *state, size_t count) {
  const mf *m = state;
  return m->hvp_expanded ? hvp_batch_work_len_of(m, count) : m->work_len;
}

static void mf_hvp_batch(const void *state, size_t count, const double *const *x,
                         const double *const *v, double *const *hv, double *work) {
  const mf *m = state;
  if (m->hvp_expanded) {
    dense_hvp_batch(m, count, x, v, hv, work);
    return;
  }
  for (size_t j = 0; j < count; ++j) dense_hvp(m, x[j], v[j], hv[j], work);
}

static double mf_value_grad(const void *state, const double *x, double *g, double *work) {
  const mf *m = state;
  switch (m->path) {
    case MF_PATH_SCALAR: return scalar_value_grad(m, x, g);
    case MF_PATH_LOWRANK: return lowrank_value_grad(m, x, g, work);
    default: return dense_value_grad(m, x, g, work);
  }
}

static void mf_hvp(const void *state, const double *x, const double *v, double *hv,
                   double *work) {
  const mf *m = state;
  switch (m->path) {
    case MF_PATH_SCALAR: scalar_hvp(m, x, v, hv); return;
    case MF_PATH_LOWRANK: lowrank_hvp(m, x, v, hv, work); return;
    default:
      if (m->hvp_expanded) dense_hvp_batch(m, 1, &x, &v, &hv, work);
      else dense_hvp(m, x, v, hv, work);
      return;
  }
}

/* ||X^T X - Y^T Y||_F entry by entry, so no scratch is needed. */
static double gram_difference_norm(const mf *m, const double *x, const double *y) {
  size_t n = m->n, d = m->d;
  double sum = 0.0;
  for (size_t a = 0; a < d; ++a)
    for (size_t b = 0; b < d; ++b) {
      double gx = 0.0, gy = 0.0;
      for (size_t i = 0; i < n; ++i) {
        gx += x[i * d + a] * x[i * d + b];
        gy += y[i * d + a] * y[i * d + b];
      }
      sum += (gx - gy) * (gx - gy);
    }
  return sqrt(sum);
}

void lz__mf_state_stats(const void *state, const double *xy, lz_state_stats *st) {
  const mf *m = state;
  const double *x = xy, *y = xy + m->nd;
  st->norm_x = lz_norm2(x, m->nd);
  st->norm_y = lz_norm2(y, m->nd);
  st->balance = gram_difference_norm(m, x, y);
  st->scalar_gap = m->n == 1 && m->d == 1 ? fabs(x[0] - y[0]) : 0.0;
}

const double *lz__mf_dense_target(const void *state, size_t *ld) {
  *ld = ((const mf *)state)->ld;
  return ((const mf *)state)->a;
}

size_t lz__mf_lowrank_factors(const void *state, const double **u, const double **s,
                              const double **v) {
  const mf *m = state;
  *u = m->u;
  *s = m->s;
  *v = m->v;
  return m->path == MF_PATH_LOWRANK ? m->k : 0;
}

int lz__mf_scalar(const void *state, double *mu, lz_activation *act, double *alpha) {
  const mf *m = state;
  if (m->path != MF_PATH_SCALAR) return 0;
  *mu = m->mu;
  *act = m->act;
  *alpha = m->alpha;
  return 1;
}

lz_mf_layout lz__mf_layout(const void *state) {
  const mf *m = state;
  lz_mf_layout l = {0};
  l.scalar = m->path == MF_PATH_SCALAR;
  l.lowrank = m->path == MF_PATH_LOWRANK;
  if (m->path != MF_PATH_DENSE) return l;
  l.row_kernel = m->row_kernel;
  l.chunks = m->chunks;
  l.batch_max = m->batch_max;
  l.own_products = m->own_products;
  l.product_chunks = m->product_chunks;
  if (m->row_kernel) {
    l.tiles = (m->ld + m->tile - 1) / m->tile;
  } else {
    size_t rows = chunk_first_row(m, 1);
    l.blocks = (rows + m->block_rows - 1) / m->block_rows;
  }
  return l;
}

/* ---- the symmetry of the factorization -------------------------------------------------- */

/* X sigma(Y)^T does not change along (X A, -Y A^T): for any d x d matrix A without activation
 * (the action of GL(d) on the factors), for diagonal A with relu and leaky_relu (rescaling a
 * column by a positive number commutes with them). These directions span the tangent of the
 * set of minimizers, where GD is neutral; removing them leaves the transverse dynamics. */

static size_t mf_symmetry_work_len(const void *state) {
  return symmetry_work_len_for(((const mf *)state)->d);
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

static void mf_project_symmetries(const void *state, const double *xy, double *w, double *work) {
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

const lz_objective lz__objective_mf = {
    .name = "mf",
    .create = mf_create,
    .destroy = mf_destroy,
    .dim = mf_dim,
    .work_len = mf_work_len,
    .sizes = mf_sizes,
    .value = mf_value,
    .value_grad = mf_value_grad,
    .value_grad_batch = mf_value_grad_batch,
    .batch_max = mf_batch_max,
    .batch_work_len = mf_batch_work_len,
    .hvp_batch = mf_hvp_batch,
    .hvp_batch_work_len = mf_hvp_batch_work_len,
    .hvp = mf_hvp,
    .f0 = NULL,
    .sigma2 = NULL,
    .project_symmetries = mf_project_symmetries,
    .symmetry_work_len = mf_symmetry_work_len,
};
