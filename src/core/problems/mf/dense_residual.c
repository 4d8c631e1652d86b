/* The dense path of matrix factorization in residual form: f alone and H v, streaming A once
 * without ever forming an n x n residual. */
#include <omp.h>
#include <string.h>

#include "lrzoo/linalg.h"
#include "mf.h"
#include "mf_internal.h"

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

/* A member of a team keeps the slices of its own chunks only (at most ceil(chunks / K)). */
static size_t chunks_held(const mf *m) {
  return (m->chunks + m->team_size - 1) / m->team_size;
}

size_t lz__mf_dense_work_len(const mf *m) {
  return 2 * m->d * m->ld + round_up_to_alignment(m->chunks) +
         chunks_held(m) * m->chunk_len;
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
  cs.g = ps->w.chunks + (c - m->chunk0) * m->chunk_len;
  cs.r = cs.g + m->d * m->ld;
  cs.dr = cs.r + round_up_to_alignment(m->block_rows * m->n);
  return cs;
}

size_t lz__mf_chunk_first_row(const mf *m, size_t c) { return c * m->n / m->chunks; }

/* -- row kernel -- */

/* Eight doubles along a row (a GCC vector extension). aligned(8) allows unaligned loads and
 * stores through it, and may_alias lets it view double arrays. The compiler maps it onto
 * whatever vector width the target has; the arithmetic of each lane stays the same. */
typedef double lanes __attribute__((vector_size(LANES * sizeof(double)), aligned(8), may_alias));

/* Without AVX-512, GCC warns that passing such vectors by value has no agreed ABI. The
 * functions that do so below are static and always inlined: no call ever crosses an ABI.
 * (GCC reports this at the end of the file, so the pragma cannot be popped.) */
#pragma GCC diagnostic ignored "-Wpsabi"

LZ_INLINE lanes lanes_at(const double *p) { return *(const lanes *)p; }

LZ_INLINE double sum_of_lanes(lanes v) {
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

/* One row i of the residual over one column tile, and what it touches. Rows of A, S^T, dS^T
 * and G^T have stride ld (lz__mf_padded_row_length) and hold zeros past n, so every row is whole
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
  row_in in = {m->ld, i, j0, j1, m->a ? target_row(m, i) : NULL, ps->x + i * m->d,
               ps->dx ? ps->dx + i * m->d : NULL, ps->s, ps->ds};
  return in;
}

/* The chunk's rows sweep one column tile at a time, so the tiles of S^T and G^T stay in cache
 * while A streams past (see LZ_MF_TILE_DOUBLES). */
static void rows_chunk_value(const dense_pass *ps, size_t c) {
  const mf *m = ps->m;
  double loss = 0.0;
  for (size_t j0 = 0; j0 < m->ld; j0 += m->tile)
    for (size_t i = lz__mf_chunk_first_row(m, c); i < lz__mf_chunk_first_row(m, c + 1); ++i) {
      row_in in = row_of(ps, i, j0);
      loss += row_value(m->d, &in);
    }
  ps->w.chunk_loss[c] = loss;
}

static void rows_chunk_hvp(const dense_pass *ps, size_t c) {
  const mf *m = ps->m;
  size_t begin = lz__mf_chunk_first_row(m, c), end = lz__mf_chunk_first_row(m, c + 1);
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
  lz__mf_multiply(AS_IS, TRANSPOSED, rows, n, d, 1.0, x + i0 * d, d, s, d, 0.0, r, n);
  double loss = 0.0;
  for (size_t i = 0; i < rows; ++i) {
    if (m->a) {
      loss += subtract_and_square(r + i * n, target_row(m, i0 + i), n);
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
  size_t end = lz__mf_chunk_first_row(m, c + 1);
  double loss = 0.0;
  for (size_t i0 = lz__mf_chunk_first_row(m, c); i0 < end; i0 += m->block_rows)
    loss += residual_block(m, ps->x, ps->s, i0, block_height(m, i0, end), cs.r);
  ps->w.chunk_loss[c] = loss;
}

static void blocks_chunk_hvp(const dense_pass *ps, size_t c) {
  const mf *m = ps->m;
  size_t n = m->n, d = m->d;
  chunk_scratch cs = chunk_scratch_of(ps, c);
  size_t begin = lz__mf_chunk_first_row(m, c), end = lz__mf_chunk_first_row(m, c + 1);
  for (size_t i0 = begin; i0 < end; i0 += m->block_rows) {
    size_t rows = block_height(m, i0, end);
    const double *xb = ps->x + i0 * d, *dxb = ps->dx + i0 * d;
    double *hxb = ps->gx + i0 * d;
    residual_block(m, ps->x, ps->s, i0, rows, cs.r);
    /* dR_b = dX_b S^T + X_b dS^T */
    lz__mf_multiply(AS_IS, TRANSPOSED, rows, n, d, 1.0, dxb, d, ps->s, d, 0.0, cs.dr, n);
    lz__mf_multiply(AS_IS, TRANSPOSED, rows, n, d, 1.0, xb, d, ps->ds, d, 1.0, cs.dr, n);
    /* (H_X)_b = dR_b S + R_b dS */
    lz__mf_multiply(AS_IS, AS_IS, rows, d, n, 1.0, cs.dr, n, ps->s, d, 0.0, hxb, d);
    lz__mf_multiply(AS_IS, AS_IS, rows, d, n, 1.0, cs.r, n, ps->ds, d, 1.0, hxb, d);
    /* G_c += dR_b^T X_b + R_b^T dX_b */
    lz__mf_multiply(TRANSPOSED, AS_IS, n, d, rows, 1.0, cs.dr, n, xb, d, i0 == begin ? 0.0 : 1.0,
             cs.g, d);
    lz__mf_multiply(TRANSPOSED, AS_IS, n, d, rows, 1.0, cs.r, n, dxb, d, 1.0, cs.g, d);
  }
}

/* -- driving the chunks -- */

typedef void chunk_task(const dense_pass *ps, size_t c);

/* Runs task on every chunk this rank holds (all of them, outside a team). In parallel only
 * for large problems and only when not already inside an active parallel region (a GD tile
 * parallel over runs must not nest teams). The result is the same either way: the chunks, not
 * the threads, fix what is summed where. */
static void for_each_chunk(const dense_pass *ps, chunk_task *task) {
  const size_t c0 = ps->m->chunk0, c1 = ps->m->chunk1;
  if (c1 - c0 > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(static)
    for (size_t c = c0; c < c1; ++c) task(ps, c);
  } else {
    for (size_t c = c0; c < c1; ++c) task(ps, c);
  }
}

/* The chunks' losses added in chunk order; a team gathers them first. */
static double chunk_losses_in_order(const dense_pass *ps) {
  const mf *m = ps->m;
  if (m->team) m->team->gather_rows(m->team->ctx, ps->w.chunk_loss, 1, m->team_chunks);
  double loss = 0.0;
  for (size_t c = 0; c < m->chunks; ++c) loss += ps->w.chunk_loss[c];
  return loss;
}

/* out += the partials of the chunks this rank holds, in chunk order (chunk 0 sets it). */
static void add_own_chunk_partials(const dense_pass *ps, double *out) {
  const mf *m = ps->m;
  size_t n = m->n, d = m->d;
  for (size_t c = m->chunk0; c < m->chunk1; ++c) {
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

/* out (n x d) = sum_c G_c, adding the chunks in their fixed order; the row kernel's G_c^T are
 * transposed on the way. In a team the sum passes from member to member, each adding its own
 * chunks, and the last one hands it to all: the same additions in the same order. */
static void sum_chunk_partials(const dense_pass *ps, double *out) {
  const mf *m = ps->m;
  const lz_team *t = m->team;
  if (t && t->rank > 0) t->receive_from_previous(t->ctx, out, m->nd);
  add_own_chunk_partials(ps, out);
  if (t && t->rank < t->size - 1) t->send_to_next(t->ctx, out, m->nd);
  if (t) t->broadcast(t->ctx, t->size - 1, out, m->nd);
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

double lz__mf_dense_value(const mf *m, const double *xy, double *work) {
  dense_pass ps = dense_pass_at(m, xy, NULL, work);
  for_each_chunk(&ps, m->row_kernel ? rows_chunk_value : blocks_chunk_value);
  return 0.5 * chunk_losses_in_order(&ps);
}

void lz__mf_dense_hvp(const mf *m, const double *xy, const double *v, double *hv,
                      double *work) {
  dense_pass ps = dense_pass_at(m, xy, v, work);
  ps.gx = hv;
  for_each_chunk(&ps, m->row_kernel ? rows_chunk_hvp : blocks_chunk_hvp);
  if (m->team) m->team->gather_rows(m->team->ctx, hv, m->d, m->team_rows);
  sum_chunk_partials(&ps, hv + m->nd);
  apply_activation_slope(m, xy + m->nd, hv + m->nd);
}

void lz__mf_residual_hvp(const void *state, const double *x, const double *v, double *hv,
                         double *work) {
  lz__mf_dense_hvp(state, x, v, hv, work);
}
