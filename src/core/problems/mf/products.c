/* The products of matrix factorization with its dense target: lrzoo's own GEMM micro-kernels
 * (see mf.h), the BLAS or plain loops behind them, and the probe that decides whether the BLAS
 * may serve.
 *
 * The chains are cut into chunks of KC values of k (the partial sum waits in c), which keeps a
 * panel of b in L2 and the rows of L a chunk touches in the TLB; that changes nothing in a
 * chain; so do passes over NC columns of b at a time, which keep a KC x NC panel of b in L2.
 * Register blocks, on AVX-512: for L b, 8 rows of L by 24 columns of b (24 accumulators, 8
 * broadcasts and 3 loads a k), the last columns in a masked vector; for L^T b read by columns,
 * 8 columns of b by 24 columns of L (L's columns are contiguous in its rows). Measured here (n = 512, 256 columns, one core):
 * L b 113 GFLOP/s against 73 for the 6 x 16 blocks gcc vectorized before; L^T b by columns
 * 70 against 29 for 4-column blocks. Without AVX-512, gcc vectorizes portable blocks of 6 x 8
 * and 12-column strips. Block shapes and tails change no result: every entry is its own chain,
 * fma after fma in k order. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lrzoo/rng.h"
#include "mf.h"
#include "mf_internal.h"

enum { KC = 256 };

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Entry (i, q) of L^T b over [k0, k1): its chain, continuing what c holds past the first
 * chunk. */
ALWAYS_INLINE void column_chain(const double *l, size_t ld, size_t i, size_t k0, size_t k1, int fresh,
                                const double *b, size_t w, size_t q, double *c) {
  double acc = k0 == 0 && fresh ? 0.0 : *c;
  for (size_t k = k0; k < k1; ++k) acc = fma(l[k * ld + i], b[k * w + q], acc);
  *c = acc;
}

#if defined(__AVX512F__)
#include <immintrin.h>

/* Columns of b a pass covers, so that its KC x NC panel stays in L2. */
enum { NC = 240 };

/* The first `cols` (1..8) lanes: where a block's last vector runs past the columns. */
ALWAYS_INLINE __mmask8 lanes_mask(size_t cols) { return (__mmask8)((1u << cols) - 1u); }

/* c[i..i+RB) x [j..j+8 CBV) (the last vector masked to `last` columns) += L[i.., k] b[k, j..]
 * over the chunk. */
ALWAYS_INLINE void block_ab(const double *l, size_t ld, size_t k0, size_t k1, int fresh, const double *b,
                            size_t w, size_t i, size_t j, double *c, const int RB,
                            const int CBV, __mmask8 last) {
  __m512d acc[8][3];
  for (int r = 0; r < RB; ++r)
    for (int v = 0; v < CBV; ++v) {
      const __mmask8 mk = v == CBV - 1 ? last : (__mmask8)0xff;
      acc[r][v] = k0 == 0 && fresh ? _mm512_setzero_pd()
                          : _mm512_maskz_loadu_pd(mk, c + (i + r) * w + j + 8 * v);
    }
  for (size_t k = k0; k < k1; ++k) {
    const double *bk = b + k * w + j;
    __m512d bv[3];
    for (int v = 0; v < CBV; ++v)
      bv[v] = _mm512_maskz_loadu_pd(v == CBV - 1 ? last : (__mmask8)0xff, bk + 8 * v);
    for (int r = 0; r < RB; ++r) {
      const __m512d lr = _mm512_set1_pd(l[(i + r) * ld + k]);
      for (int v = 0; v < CBV; ++v) acc[r][v] = _mm512_fmadd_pd(lr, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < RB; ++r)
    for (int v = 0; v < CBV; ++v)
      _mm512_mask_storeu_pd(c + (i + r) * w + j + 8 * v, v == CBV - 1 ? last : (__mmask8)0xff,
                            acc[r][v]);
}

/* Rows i..i+RB, columns [j0, j1) of c = L b over the chunk: blocks of 24 columns, then one
 * of 16 or 8, then a masked one for the rest. */
ALWAYS_INLINE void rows_ab(const double *l, size_t ld, size_t k0, size_t k1, int fresh, const double *b,
                           size_t w, size_t i, size_t j0, size_t j1, double *c, const int RB) {
  size_t j = j0;
  for (; j + 24 <= j1; j += 24) block_ab(l, ld, k0, k1, fresh, b, w, i, j, c, RB, 3, 0xff);
  if (j + 16 <= j1) block_ab(l, ld, k0, k1, fresh, b, w, i, j, c, RB, 2, 0xff), j += 16;
  if (j + 8 <= j1) block_ab(l, ld, k0, k1, fresh, b, w, i, j, c, RB, 1, 0xff), j += 8;
  if (j < j1) block_ab(l, ld, k0, k1, fresh, b, w, i, j, c, RB, 1, lanes_mask(j1 - j));
}

void lz__own_product(const double *l, size_t ld, size_t n, const double *b, size_t w,
                     size_t i0, size_t i1, double *c, int fresh) {
  for (size_t k0 = 0; k0 < n; k0 += KC) {
    const size_t k1 = n - k0 < KC ? n : k0 + KC;
    for (size_t j0 = 0; j0 < w; j0 += NC) {
      const size_t j1 = w - j0 < NC ? w : j0 + NC;
      size_t i = i0;
      for (; i + 8 <= i1; i += 8) rows_ab(l, ld, k0, k1, fresh, b, w, i, j0, j1, c, 8);
      for (; i < i1; ++i) rows_ab(l, ld, k0, k1, fresh, b, w, i, j0, j1, c, 1);
    }
  }
}

/* c[i..i+8 IBV) x [q..q+QB) += L[k, i..]^T b[k, q..] over the chunk: vectors down L's row k
 * (output rows), broadcasts of b's row k (output columns); stored transposed. */
ALWAYS_INLINE void block_atb(const double *l, size_t ld, size_t k0, size_t k1, int fresh,
                             const double *b, size_t w, size_t i, size_t q, double *c,
                             const int QB, const int IBV) {
  __m512d acc[8][3];
  for (int s = 0; s < QB; ++s)
    for (int v = 0; v < IBV; ++v) {
      double t[8];
      for (int r = 0; r < 8; ++r) t[r] = k0 == 0 && fresh ? 0.0 : c[(i + 8 * v + r) * w + q + s];
      acc[s][v] = _mm512_loadu_pd(t);
    }
  for (size_t k = k0; k < k1; ++k) {
    const double *lk = l + k * ld + i, *bk = b + k * w + q;
    __m512d lv[3];
    for (int v = 0; v < IBV; ++v) lv[v] = _mm512_loadu_pd(lk + 8 * v);
    for (int s = 0; s < QB; ++s) {
      const __m512d bs = _mm512_set1_pd(bk[s]);
      for (int v = 0; v < IBV; ++v) acc[s][v] = _mm512_fmadd_pd(lv[v], bs, acc[s][v]);
    }
  }
  for (int s = 0; s < QB; ++s)
    for (int v = 0; v < IBV; ++v) {
      double t[8];
      _mm512_storeu_pd(t, acc[s][v]);
      for (int r = 0; r < 8; ++r) c[(i + 8 * v + r) * w + q + s] = t[r];
    }
}

ALWAYS_INLINE void strip_atb(const double *l, size_t ld, size_t k0, size_t k1, int fresh, const double *b,
                             size_t w, size_t i, size_t q0, size_t q1, double *c,
                             const int IBV) {
  size_t q = q0;
  for (; q + 8 <= q1; q += 8) block_atb(l, ld, k0, k1, fresh, b, w, i, q, c, 8, IBV);
  if (q + 4 <= q1) block_atb(l, ld, k0, k1, fresh, b, w, i, q, c, 4, IBV), q += 4;
  for (; q < q1; ++q) block_atb(l, ld, k0, k1, fresh, b, w, i, q, c, 1, IBV);
}

void lz__own_product_transposed(const double *l, size_t ld, size_t n, const double *b,
                                size_t w, size_t i0, size_t i1, double *c, int fresh) {
  for (size_t k0 = 0; k0 < n; k0 += KC) {
    const size_t k1 = n - k0 < KC ? n : k0 + KC;
    for (size_t q0 = 0; q0 < w; q0 += NC) {
      const size_t q1 = w - q0 < NC ? w : q0 + NC;
      size_t i = i0;
      for (; i + 24 <= i1; i += 24) strip_atb(l, ld, k0, k1, fresh, b, w, i, q0, q1, c, 3);
      for (; i + 8 <= i1; i += 8) strip_atb(l, ld, k0, k1, fresh, b, w, i, q0, q1, c, 1);
      for (; i < i1; ++i)
        for (size_t q = q0; q < q1; ++q) column_chain(l, ld, i, k0, k1, fresh, b, w, q, c + i * w + q);
    }
  }
}

#else /* portable blocks, vectorized by gcc: 6 x 8 for L b, 12-column strips for L^T b */

#define BLOCK_AB(RB, CB)                                                                     \
  ALWAYS_INLINE void block_ab_##RB##_##CB(const double *l, size_t ld, size_t k0, size_t k1, int fresh,   \
                                          const double *b, size_t w, size_t i, size_t j,      \
                                          double *c) {                                        \
    double acc[RB][CB];                                                                      \
    for (int r = 0; r < RB; ++r)                                                             \
      for (int q = 0; q < CB; ++q) acc[r][q] = k0 == 0 && fresh ? 0.0 : c[(i + r) * w + j + q];       \
    for (size_t k = k0; k < k1; ++k) {                                                       \
      const double *bk = b + k * w + j;                                                      \
      _Pragma("GCC unroll 8") for (int r = 0; r < RB; ++r) {                                 \
        const double lr = l[(i + r) * ld + k];                                               \
        _Pragma("GCC unroll 16") for (int q = 0; q < CB; ++q)                                \
          acc[r][q] = fma(lr, bk[q], acc[r][q]);                                             \
      }                                                                                      \
    }                                                                                        \
    for (int r = 0; r < RB; ++r) memcpy(c + (i + r) * w + j, acc[r], sizeof acc[r]);         \
  }
BLOCK_AB(6, 8) BLOCK_AB(6, 4) BLOCK_AB(6, 1) BLOCK_AB(1, 8) BLOCK_AB(1, 4) BLOCK_AB(1, 1)

#define ROWS_AB(RB)                                                                          \
  ALWAYS_INLINE void rows_ab_##RB(const double *l, size_t ld, size_t k0, size_t k1, int fresh,           \
                                  const double *b, size_t w, size_t i, double *c) {           \
    size_t j = 0;                                                                            \
    for (; j + 8 <= w; j += 8) block_ab_##RB##_8(l, ld, k0, k1, fresh, b, w, i, j, c);              \
    if (j + 4 <= w) block_ab_##RB##_4(l, ld, k0, k1, fresh, b, w, i, j, c), j += 4;                 \
    for (; j < w; ++j) block_ab_##RB##_1(l, ld, k0, k1, fresh, b, w, i, j, c);                      \
  }
ROWS_AB(6) ROWS_AB(1)

void lz__own_product(const double *l, size_t ld, size_t n, const double *b, size_t w,
                     size_t i0, size_t i1, double *c, int fresh) {
  for (size_t k0 = 0; k0 < n; k0 += KC) {
    const size_t k1 = n - k0 < KC ? n : k0 + KC;
    size_t i = i0;
    for (; i + 6 <= i1; i += 6) rows_ab_6(l, ld, k0, k1, fresh, b, w, i, c);
    for (; i < i1; ++i) rows_ab_1(l, ld, k0, k1, fresh, b, w, i, c);
  }
}

#define BLOCK_ATB(IB, QB)                                                                    \
  ALWAYS_INLINE void block_atb_##IB##_##QB(const double *l, size_t ld, size_t k0, size_t k1, int fresh,  \
                                           const double *b, size_t w, size_t i, size_t q0,    \
                                           double *c) {                                       \
    double acc[QB][IB];                                                                      \
    for (int q = 0; q < QB; ++q)                                                             \
      for (int r = 0; r < IB; ++r) acc[q][r] = k0 == 0 && fresh ? 0.0 : c[(i + r) * w + q0 + q];      \
    for (size_t k = k0; k < k1; ++k) {                                                       \
      const double *lk = l + k * ld + i, *bk = b + k * w + q0;                               \
      _Pragma("GCC unroll 4") for (int q = 0; q < QB; ++q) {                                 \
        const double v = bk[q];                                                              \
        _Pragma("GCC unroll 12") for (int r = 0; r < IB; ++r)                                \
          acc[q][r] = fma(lk[r], v, acc[q][r]);                                              \
      }                                                                                      \
    }                                                                                        \
    for (int q = 0; q < QB; ++q)                                                             \
      for (int r = 0; r < IB; ++r) c[(i + r) * w + q0 + q] = acc[q][r];                      \
  }
BLOCK_ATB(12, 4) BLOCK_ATB(12, 1) BLOCK_ATB(1, 4) BLOCK_ATB(1, 1)

void lz__own_product_transposed(const double *l, size_t ld, size_t n, const double *b,
                                size_t w, size_t i0, size_t i1, double *c, int fresh) {
  for (size_t k0 = 0; k0 < n; k0 += KC) {
    const size_t k1 = n - k0 < KC ? n : k0 + KC;
    for (size_t i = i0; i < i1;) {
      const int strip = i + 12 <= i1;
      size_t q = 0;
      for (; q + 4 <= w; q += 4)
        strip ? block_atb_12_4(l, ld, k0, k1, fresh, b, w, i, q, c)
              : block_atb_1_4(l, ld, k0, k1, fresh, b, w, i, q, c);
      for (; q < w; ++q)
        strip ? block_atb_12_1(l, ld, k0, k1, fresh, b, w, i, q, c)
              : block_atb_1_1(l, ld, k0, k1, fresh, b, w, i, q, c);
      i += strip ? 12 : 1;
    }
  }
}

#endif

/* ---- the products of the objective --------------------------------------------------- */

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
void lz__mf_multiply(lz_op ta, lz_op tb, size_t m, size_t n, size_t k, double alpha,
                     const double *a, size_t lda, const double *b, size_t ldb, double beta,
                     double *c, size_t ldc) {
  if (m * n * k <= LZ_MF_LOOP_MAX_MNK) {
    multiply_with_loops(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* Rows [i0, i1) of c = op(A) b, for an instance held whole. */
static void product_rows(const mf *m, lz_op op, const double *b, size_t w, size_t i0,
                         size_t i1, double *c) {
  const size_t n = m->n;
  if (m->own_products) {
    if (op == AS_IS) lz__own_product(m->a, m->ld, n, b, w, i0, i1, c, 1);
    else if (m->at) lz__own_product(m->at, m->ld, n, b, w, i0, i1, c, 1);
    else lz__own_product_transposed(m->a, m->ld, n, b, w, i0, i1, c, 1);
    return;
  }
  /* rows i of A^T are columns i of A: the block starts at column i0 */
  const double *a = op == TRANSPOSED ? m->a + i0 : m->a + i0 * m->ld;
  cblas_dgemm(CblasRowMajor, op == TRANSPOSED ? CblasTrans : CblasNoTrans, CblasNoTrans,
              (int)(i1 - i0), (int)w, (int)n, 1.0, a, (int)m->ld, b, (int)w, 0.0, c + i0 * w,
              (int)w);
}

static size_t product_chunk_row(const mf *m, size_t c) { return c * m->n / m->product_chunks; }

/* Splits rows [i0, i1) into `parts` ranges that run in parallel outside a parallel region.
 * Each row is its own chains whichever range holds it, so the split changes no bit. */
typedef void rows_task(const mf *m, const double *b, size_t w, size_t i0, size_t i1, double *c);

static void for_row_ranges(const mf *m, rows_task *task, const double *b, size_t w, size_t i0,
                           size_t i1, size_t parts, double *c) {
  if (parts > i1 - i0) parts = i1 - i0 > 0 ? i1 - i0 : 1;
  if (parts > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < parts; ++k)
      task(m, b, w, i0 + k * (i1 - i0) / parts, i0 + (k + 1) * (i1 - i0) / parts, c);
  } else {
    task(m, b, w, i0, i1, c);
  }
}

/* Rows [i0, i1) of A b, from this member's rows of A. */
static void member_rows_of_ab(const mf *m, const double *b, size_t w, size_t i0, size_t i1,
                              double *c) {
  lz__own_product(target_row(m, i0), m->ld, m->n, b, w, 0, i1 - i0, c + i0 * w, 1);
}

/* Rows [i0, i1) of A^T b, the chains over this member's k = row0 .. row1 - 1 only: the first
 * member starts them, the others continue what c holds. */
static void member_part_of_atb(const mf *m, const double *b, size_t w, size_t i0, size_t i1,
                               double *c) {
  const size_t k_count = m->row1 - m->row0;
  const int fresh = m->team->rank == 0;
  const double *bk = b + m->row0 * w;
  if (m->at)
    lz__own_product(m->at + i0 * m->ldt, m->ldt, k_count, bk, w, 0, i1 - i0, c + i0 * w, fresh);
  else
    lz__own_product_transposed(m->a, m->ld, k_count, bk, w, i0, i1, c, fresh);
}

/* A member splits rows x inner x w multiply-adds among all its threads, no fewer than
 * LZ_MF_TEAM_PART_FMAS a thread: no split changes a bit, a node of many cores should not idle
 * beyond the 16 product chunks of a rank alone, and small products are not worth a fork. */
enum { LZ_MF_TEAM_PART_FMAS = 1 << 17 };

static size_t threads_for(size_t rows, size_t inner, size_t w) {
  double parts = (double)rows * (double)inner * (double)w / LZ_MF_TEAM_PART_FMAS;
  size_t t = (size_t)omp_get_max_threads();
  return parts < 1.0 ? 1 : parts < (double)t ? (size_t)parts : t;
}

/* c = A^T b for a team. Entry c_iq is one chain over k = 0 .. n - 1, and member m holds the
 * rows k of its chunks: member 0 starts every chain, each member continues it over its rows and
 * passes it on, and the last one ends it. The output rows go in LZ_MF_TEAM_BLOCKS blocks a
 * member, so that the members work on different blocks at once; the chains, and so every bit,
 * are those of a rank that holds A whole. */
static void team_product_transposed(const mf *m, const double *b, size_t w, double *c) {
  const lz_team *t = m->team;
  size_t blocks = LZ_MF_TEAM_BLOCKS * (size_t)t->size;
  if (blocks > m->n / LZ_MF_TEAM_BLOCK_ROWS) blocks = m->n / LZ_MF_TEAM_BLOCK_ROWS;
  if (blocks < 1) blocks = 1;
  for (size_t k = 0; k < blocks; ++k) {
    size_t i0 = k * m->n / blocks, i1 = (k + 1) * m->n / blocks;
    if (t->rank > 0) t->receive_from_previous(t->ctx, c + i0 * w, (i1 - i0) * w);
    for_row_ranges(m, member_part_of_atb, b, w, i0, i1,
                   threads_for(i1 - i0, m->row1 - m->row0, w), c);
    if (t->rank < t->size - 1) t->send_to_next(t->ctx, c + i0 * w, (i1 - i0) * w);
  }
  t->broadcast(t->ctx, t->size - 1, c, m->n * w);
}

/* c (n x w) = op(A) b for op(A) = A or A^T; the identity target returns b itself. The row
 * chunks depend on n alone and each is the same product whichever thread computes it, so
 * running them in parallel changes nothing. A team's members compute A b for their own rows
 * and gather the rest. */
void lz__mf_product_with_target(const mf *m, lz_op op, const double *b, size_t w, double *c) {
  const size_t chunks = m->product_chunks;
  if (!m->a) {
    memcpy(c, b, m->n * w * sizeof *c);
  } else if (m->team && op == AS_IS) {
    for_row_ranges(m, member_rows_of_ab, b, w, m->row0, m->row1,
                   threads_for(m->row1 - m->row0, m->n, w), c);
    m->team->gather_rows(m->team->ctx, c, w, m->team_rows);
  } else if (m->team) {
    team_product_transposed(m, b, w, c);
  } else if (chunks > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < chunks; ++k)
      product_rows(m, op, b, w, product_chunk_row(m, k), product_chunk_row(m, k + 1), c);
  } else {
    for (size_t k = 0; k < chunks; ++k)
      product_rows(m, op, b, w, product_chunk_row(m, k), product_chunk_row(m, k + 1), c);
  }
}

/* The products as the gradient computes them, and as create probes them. */
void lz__mf_target_product(const void *state, int transposed, const double *b, size_t w,
                           double *c) {
  lz__mf_product_with_target(state, transposed ? TRANSPOSED : AS_IS, b, w, c);
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
