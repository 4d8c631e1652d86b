/* Private to src/core/problems/mf, the files of one objective: matrix factorization
 * f(X, Y) = 1/2 ||A - X S^T||_F^2 with S = sigma(Y), X, Y in R^{n x d}.
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
 *            in expanded form from A S and A^T X, batched over runs (dense_expanded.c); f
 *            alone and H v stream A once, rows in a fixed number of chunks
 *            (dense_residual.c).
 *   lowrank  A = U diag(s) V^T: Gram matrices only, O(n d (d + k)), never A itself.
 *
 * Reproducibility: every sum has an order fixed by (n, d) alone. BLAS runs on one thread (see
 * use_single_threaded_blas in objective.c), and the only OpenMP parallelism splits rows into a fixed number
 * of chunks whose partial results are combined in chunk order. So results are bitwise the
 * same for any number of threads, and whether or not the call comes from a parallel region;
 * a run's gradient is also the same whatever runs share its batch (lz__own_product*, or a BLAS
 * that passed lz__mf_probe_products). */
#ifndef LRZOO_MF_H
#define LRZOO_MF_H

#include <stddef.h>
#include <stdint.h>

#include "lrzoo/error.h"
#include "lrzoo/problem.h"
#include "lrzoo/team.h"

enum {
  /* Large problems split their rows into this many chunks (at least LZ_MF_MIN_CHUNK_ROWS rows
   * each). The chunks fix the reduction order of R^T X, so this constant, not the thread
   * count, decides the rounding. */
  LZ_MF_CHUNKS = 16,
  LZ_MF_MIN_CHUNK_ROWS = 4,
  /* From this n on, LZ_MF_WIDE_CHUNKS chunks: a team (tiles.ranks_per_run) holds whole chunks,
   * so the chunk count bounds its size, and the instances worth a team are the large ones.
   * Smaller n keep 16, and the roundings they always had. */
  LZ_MF_WIDE_ROWS = 16384,
  LZ_MF_WIDE_CHUNKS = 64,
  /* A team's A^T X passes each chain along the members in blocks of output rows, this many
   * blocks a member, so that member m + 1 starts on a block while m computes the next: the
   * pipeline idles (K - 1) / (LZ_MF_TEAM_BLOCKS K + K - 1) of the time. Blocks keep at least
   * LZ_MF_TEAM_BLOCK_ROWS rows, so that small products do not wait on a message per few
   * rows. The blocks change no result: each output row is its own chains. */
  LZ_MF_TEAM_BLOCKS = 8,
  LZ_MF_TEAM_BLOCK_ROWS = 128,
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
 * run as for many (lz__mf_dense_hvp_batch): every engine, tangent and Lanczos then rounds
 * alike, and the products run at the GEMM kernels' speed. Beyond, a run is alone in
 * memory-bound passes over A, and lz__mf_dense_hvp's single pass (the residual formed block by
 * block) is twice as fast. */
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
  size_t ld;             /* row stride of A, S^T, G^T: n padded to lanes
                            (lz__mf_padded_row_length) */
  /* lowrank target A = U diag(s) V^T */
  size_t k;
  double *u, *v;         /* n x k row-major, orthonormal columns */
  double *s;             /* k values */
  double norm_a2;        /* ||A||_F^2: sum s^2 (lowrank), summed row by row (dense) */
  size_t qr_lwork;       /* dgeqrf_ workspace for the accurate loss */
  /* dense path */
  size_t chunks, block_rows, chunk_len;
  size_t tile;           /* row kernel: columns per tile, a multiple of LANES */
  int row_kernel;        /* 1: the row kernel, 0: BLAS blocks (see dense_residual.c) */
  size_t batch_max;      /* runs one batched gradient takes at most */
  int own_products;      /* 1: A S and A^T X by own_product_* (the default; see choose_products) */
  int hvp_expanded;      /* H v by lz__mf_dense_hvp_batch, alone or batched; else
                            lz__mf_dense_hvp (see LZ_MF_EXPANDED_HVP_BYTES) */
  size_t product_chunks; /* row chunks of A S and A^T X (see lz__mf_product_with_target) */
  size_t work_len;
  /* A team shares the instance (tiles.ranks_per_run): this member holds rows [row0, row1) of
   * A, the rows of its chunks [chunk0, chunk1); at is then the transpose of those rows alone,
   * n x (row1 - row0) with stride ldt. Alone, row0 = 0, row1 = n and team is NULL. */
  const lz_team *team;
  size_t team_size;  /* K; 1 alone (the sizes of a member are known before its team is) */
  size_t row0, row1, chunk0, chunk1, ldt;
  size_t *team_rows, *team_chunks;  /* each member's first row and chunk (size + 1 entries) */
} mf;

/* Row i of the stored target (row0 <= i < row1). */
static inline const double *target_row(const mf *m, size_t i) {
  return m->a + (i - m->row0) * m->ld;
}

typedef enum { AS_IS = 0, TRANSPOSED = 1 } lz_op;

static inline size_t round_up_to_alignment(size_t len) { return (len + LANES - 1) / LANES * LANES; }

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
static inline const double *activated(const mf *m, const double *y, double *buf) {
  if (m->act == LZ_ACT_NONE) return y;
  for (size_t i = 0; i < m->nd; ++i) buf[i] = activation_of(m, y[i]);
  return buf;
}

/* dS = sigma'(Y) o dY written to buf; dY itself for the identity activation. */
static inline const double *activation_differential(const mf *m, const double *y,
                                                    const double *dy, double *buf) {
  if (m->act == LZ_ACT_NONE) return dy;
  for (size_t i = 0; i < m->nd; ++i) buf[i] = activation_slope(m, y[i]) * dy[i];
  return buf;
}

/* g <- sigma'(Y) o g: the chain rule from S back to Y. */
static inline void apply_activation_slope(const mf *m, const double *y, double *g) {
  if (m->act == LZ_ACT_NONE) return;
  for (size_t i = 0; i < m->nd; ++i) g[i] *= activation_slope(m, y[i]);
}

#define LZ_INLINE static inline __attribute__((always_inline))

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

extern const lz_objective lz__objective_mf;

/* The team hooks of the kind (lz_problem_kind_desc.team_chunks, team_rows). */
size_t lz__mf_team_chunks(const lz_problem_params *pp);
int lz__mf_team_rows(const lz_problem_params *pp, int size, int member, int64_t *row0,
                     int64_t *row1);

/* ---- products (products.c) ---------------------------------------------------------------
 *
 * lrzoo's own products of a dense target with a block of columns, for the batched gradient and
 * Hessian-vector products. Every entry c_iq = sum_k L_ik b_kq is one chain of fma over
 * k = 0, 1, ..., n - 1, whatever the block it falls in, the width of b or the rows asked for:
 * the products are column and row independent by construction, so a run's result never
 * depends on which runs share its batch, and L^T b through a stored transpose is bitwise L^T b
 * read by columns. */

/* Rows [i0, i1) of c (rows x w, row-major) = L b: L has rows of stride ld and n columns, b is
 * n x w. fresh = 0 continues each chain from the value c holds (a chain over k split into
 * consecutive ranges of k, computed one after the other, is bitwise the chain over all k). */
void lz__own_product(const double *l, size_t ld, size_t n, const double *b, size_t w,
                     size_t i0, size_t i1, double *c, int fresh);

/* Rows [i0, i1) of c = L^T b, reading L by columns: L has n rows of stride ld. Where the
 * memory allows, keeping L^T and calling lz__own_product is faster (the same chains). */
void lz__own_product_transposed(const double *l, size_t ld, size_t n, const double *b,
                                size_t w, size_t i0, size_t i1, double *c, int fresh);

/* C = alpha op(A) op(B) + beta C, all row-major, C m x n. The loop/BLAS choice depends on
 * the shape only, so a given product is always computed the same way. */
void lz__mf_multiply(lz_op ta, lz_op tb, size_t m, size_t n, size_t k, double alpha,
                     const double *a, size_t lda, const double *b, size_t ldb, double beta,
                     double *c, size_t ldc);

/* c (n x w) = op(A) b for the dense target (the identity: b itself), in row chunks; for a
 * team, every member gets all of c. */
void lz__mf_product_with_target(const mf *m, lz_op op, const double *b, size_t w, double *c);

/* ---- the target (targets.c) --------------------------------------------------------------- */

/* The chunks [*c0, *c1) member `member` of a team of `size` holds: whole chunks, as evenly as
 * they go, and its rows are theirs. */
void lz__mf_member_chunks(const mf *m, size_t size, size_t member, size_t *c0, size_t *c1);

int lz__mf_check_shape_and_activation(const lz_problem_params *pp, lz_err *err);
size_t lz__mf_padded_row_length(size_t n);
size_t lz__mf_qr_workspace_len(size_t rows, size_t cols);
int lz__mf_build_target(mf *m, const lz_problem_params *pp, uint64_t seed, const double *target,
                        lz_err *err);
/* ||A||_F^2 summed row by row (the identity: n); a team gathers the rows' sums and adds them
 * in row order like a rank alone. */
int lz__mf_sum_of_squares_by_rows(mf *m, lz_err *err);

/* ---- the scalar path (scalar.c) ------------------------------------------------------------ */

double lz__mf_scalar_value(const mf *m, const double *xy);
double lz__mf_scalar_value_grad(const mf *m, const double *xy, double *g);
void lz__mf_scalar_hvp(const mf *m, const double *xy, const double *v, double *hv);

/* ---- the dense path, residual form (dense_residual.c) -------------------------------------- */

size_t lz__mf_dense_work_len(const mf *m);
size_t lz__mf_chunk_first_row(const mf *m, size_t c);
double lz__mf_dense_value(const mf *m, const double *xy, double *work);
void lz__mf_dense_hvp(const mf *m, const double *xy, const double *v, double *hv, double *work);

/* ---- the dense path, expanded form (dense_expanded.c) -------------------------------------- */

size_t lz__mf_batch_work_len_of(const mf *m, size_t runs);
size_t lz__mf_hvp_batch_work_len_of(const mf *m, size_t count);
void lz__mf_dense_value_grad_batch(const mf *m, size_t runs, const double *const *xy,
                                   double *const *g, double *f, double *work);
void lz__mf_dense_hvp_batch(const mf *m, size_t count, const double *const *xy,
                            const double *const *v, double *const *hv, double *work);
double lz__mf_dense_value_grad(const mf *m, const double *xy, double *g, double *work);

/* ---- the lowrank path (lowrank.c) ----------------------------------------------------------- */

double lz__mf_lowrank_value(const mf *m, const double *xy, double *work);
size_t lz__mf_lowrank_value_work_len(const mf *m);
double lz__mf_lowrank_value_grad(const mf *m, const double *xy, double *g, double *work);
size_t lz__mf_lowrank_value_grad_work_len(const mf *m);
void lz__mf_lowrank_hvp(const mf *m, const double *xy, const double *v, double *hv,
                        double *work);
size_t lz__mf_lowrank_hvp_work_len(const mf *m);

/* ---- the symmetries (symmetries.c) ---------------------------------------------------------- */

size_t lz__mf_symmetry_work_len_for(size_t d);
size_t lz__mf_symmetry_work_len(const void *state);
void lz__mf_project_symmetries(const void *state, const double *xy, double *w, double *work);

#endif
