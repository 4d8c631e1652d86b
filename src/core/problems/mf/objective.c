/* The matrix-factorization objective: create, destroy, sizes, the evaluation paths' dispatch,
 * the state statistics and the layout the tests check. What the paths compute, and why the
 * results are reproducible, is said in mf.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lrzoo/env_switches.h"
#include "lrzoo/linalg.h"
#include "lrzoo/problem.h"
#include "lrzoo/sysinfo.h"
#include "../problems.h"
#include "mf.h"
#include "mf_internal.h"

/* BLAS must compute on the calling thread: see lz_blas_use_one_thread. */
static void use_single_threaded_blas(void) { lz_blas_use_one_thread(); }

static size_t chunk_count(size_t n) {
  size_t c = (n + LZ_MF_MIN_CHUNK_ROWS - 1) / LZ_MF_MIN_CHUNK_ROWS;
  size_t most = n >= LZ_MF_WIDE_ROWS ? LZ_MF_WIDE_CHUNKS : LZ_MF_CHUNKS;
  return c < most ? c : most;
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
    m->work_len = max3(lz__mf_lowrank_value_work_len(m), lz__mf_lowrank_value_grad_work_len(m),
                       lz__mf_lowrank_hvp_work_len(m));
  } else {
    m->path = MF_PATH_DENSE;
    double work = (double)m->n * (double)m->n * (double)m->d;
    m->chunks = work >= LZ_MF_PARALLEL_MIN_WORK ? chunk_count(m->n) : 1;
    m->chunk1 = m->chunks;
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
    m->work_len = lz__mf_batch_work_len_of(m, 1);
    if (m->hvp_expanded && lz__mf_hvp_batch_work_len_of(m, 1) > m->work_len)
      m->work_len = lz__mf_hvp_batch_work_len_of(m, 1);
  }
}

/* The shape fields create sets before building the target: all that choose_path reads. */
static void set_shape(mf *m, const lz_problem_params *pp) {
  m->team_size = 1;
  m->n = (size_t)pp->mf.n;
  m->row1 = m->n;
  m->d = (size_t)pp->mf.d;
  m->nd = m->n * m->d;
  m->ld = lz__mf_padded_row_length(m->n);
  m->act = pp->mf.activation;
  m->alpha = pp->mf.alpha;
  m->target = pp->mf.target;
  if (pp->mf.target == LZ_TARGET_LOWRANK && pp->mf.rank >= 1 && pp->mf.rank <= pp->mf.n) {
    m->k = (size_t)pp->mf.rank;
    m->qr_lwork = lz__mf_qr_workspace_len(m->n, m->d + m->k);
  }
}

/* Whether an n x n target keeps its transpose too (own products only; counted by mf_sizes
 * whatever the products, since the environment may differ between estimate and run). */
static int keeps_transpose(size_t n, size_t ld) {
  return 8.0 * (double)n * (double)ld <= LZ_MF_TRANSPOSE_BYTES;
}

/* Whether a team may share the instance: a stored dense target, split by rows into chunks. */
static int team_can_share(const mf *m) {
  return m->path == MF_PATH_DENSE && m->chunks > 1 &&
         (m->target == LZ_TARGET_GAUSSIAN || m->target == LZ_TARGET_FILE);
}

/* Member `member` of a team of `size`: its chunks, its rows and the stride of its transpose.
 * After choose_path, which resets the chunks to all of them. */
static void take_member_share(mf *m, size_t size, size_t member) {
  m->team_size = size;
  lz__mf_member_chunks(m, size, member, &m->chunk0, &m->chunk1);
  m->row0 = lz__mf_chunk_first_row(m, m->chunk0);
  m->row1 = lz__mf_chunk_first_row(m, m->chunk1);
  m->ldt = lz__mf_padded_row_length(m->row1 - m->row0);
}

/* The shape of pp's instance, as a rank alone holds it (no target, no team). */
static int shape_of(const lz_problem_params *pp, mf *m) {
  memset(m, 0, sizeof *m);
  if (pp->mf.n < 1 || pp->mf.d < 1 || (double)pp->mf.n * (double)pp->mf.d > 1e12) return 0;
  set_shape(m, pp);
  choose_path(m);
  return 1;
}

size_t lz__mf_team_chunks(const lz_problem_params *pp) {
  mf m;
  return shape_of(pp, &m) && team_can_share(&m) ? m.chunks : 0;
}

int lz__mf_team_rows(const lz_problem_params *pp, int size, int member, int64_t *row0,
                     int64_t *row1) {
  mf m;
  if (!shape_of(pp, &m) || !team_can_share(&m) || size < 2 || m.chunks < (size_t)size) return 0;
  take_member_share(&m, (size_t)size, (size_t)member);
  *row0 = (int64_t)m.row0;
  *row1 = (int64_t)m.row1;
  return 1;
}

/* The member of a team of `size` that holds the most rows (the memory estimate's rank). */
static size_t largest_member(mf *m, size_t size) {
  size_t best = 0, most = 0;
  for (size_t r = 0; r < size; ++r) {
    take_member_share(m, size, r);
    if (m->row1 - m->row0 > most) most = m->row1 - m->row0, best = r;
  }
  return best;
}

/* Mirrors lz__mf_build_target and choose_path without allocating: n and d may be far too large to
 * build, which is exactly when the estimate matters. */
static void mf_sizes(const lz_problem_params *pp, lz_problem_sizes *s) {
  if (pp->mf.n < 1 || pp->mf.d < 1) return;
  if ((double)pp->mf.n * (double)pp->mf.d > 1e12) {
    /* Beyond 16 TB of state the size_t counts below could wrap: say "far too large". */
    s->stored_bytes = 16.0 * (double)pp->mf.n * (double)pp->mf.d;
    return;
  }
  mf m;
  memset(&m, 0, sizeof m);
  set_shape(&m, pp);
  choose_path(&m);
  const size_t team = pp->ranks_per_run > 1 ? (size_t)pp->ranks_per_run : 1;
  const int shared = team > 1 && team_can_share(&m) && m.chunks >= team;
  if (shared) {
    m.team_size = team;
    choose_path(&m);
    take_member_share(&m, team, largest_member(&m, team));
  }
  double n = (double)m.n, k = (double)m.k;
  /* the rows this rank holds, and its block of the transpose (A^T whole, alone) */
  const double rows = (double)(m.row1 - m.row0);
  s->dim = 2 * m.nd;
  s->work_len = m.work_len;
  if (m.path == MF_PATH_DENSE) {
    s->batch_max = m.batch_max;
    s->batch_work_len = lz__mf_batch_work_len_of(&m, m.batch_max);
    s->hvp_batch_work_len = m.hvp_expanded ? lz__mf_hvp_batch_work_len_of(&m, 2 * m.batch_max)
                                           : m.work_len;
    /* the BLAS probe's four n x 2 batch_max d blocks, while the instance is built (only under
     * LRZOO_MF_PRODUCTS=blas; counted always, as the environment may differ between the
     * estimate and the run) */
    s->building_bytes = 64.0 * n * (double)m.d * (double)m.batch_max;
  }
  s->symmetry_work_len = lz__mf_symmetry_work_len_for(m.d);
  s->stored_bytes = (double)sizeof m;
  const double transpose =
      keeps_transpose(m.n, m.ld) ? 8.0 * n * (double)(shared ? m.ldt : m.ld) : 0.0;
  switch (m.target) {
    case LZ_TARGET_GAUSSIAN: s->stored_bytes += 8.0 * rows * (double)m.ld + transpose; break;
    case LZ_TARGET_FILE:
      s->stored_bytes += 8.0 * rows * (double)m.ld + transpose;
      /* the rows as read, held by the caller until create (and its probe) returns */
      s->building_bytes += 8.0 * rows * n;
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
  free(m->team_rows);
  free(m->team_chunks);
  free(m);
}

/* lrzoo's own products unless LRZOO_MF_PRODUCTS=blas asks for the BLAS and the BLAS passes
 * the probe. The own products matched or beat OpenBLAS's Haswell kernel on the batched shapes
 * and ran 3-5x faster than its generic Prescott kernel (bench/README.md), and they make a dense
 * run's rounding independent of which BLAS kernel a machine picks. */
/* Alone, A^T whole (stride ld); in a team, the transpose of this member's rows (n x rows,
 * stride ldt), which is all its share of A^T X reads. */
static int store_transpose(mf *m, lz_err *err) {
  if (!m->own_products || !m->a || !keeps_transpose(m->n, m->ld)) return LZ_OK;
  const size_t rows = m->row1 - m->row0, ld = m->team ? m->ldt : m->ld;
  m->at = calloc(m->n * ld, sizeof *m->at);
  if (!m->at)
    return lz_err_set(err, LZ_ENOMEM, "mf: out of memory for the transpose of a %zu x %zu target",
                      m->n, m->n);
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < m->n; ++j) m->at[j * ld + i] = m->a[i * m->ld + j];
  return LZ_OK;
}

static int choose_products(mf *m, lz_err *err) {
  const char *want = getenv(lz_env_switches[LZ_ENV_MF_PRODUCTS].name);
  m->own_products = 1;
  if (m->team) return LZ_OK;  /* a BLAS cannot continue another member's chains */
  if (!want || !*want || strcmp(want, "own") == 0) return LZ_OK;
  /* main refuses a bad value up front; a caller that did not check gets the same words */
  if (strcmp(want, "blas") != 0 && lz_env_switches_check(err) != LZ_OK) {
    if (!err) return LZ_EINVAL;
    err->code = LZ_EINVAL;
    return lz_err_prefix(err, "mf: ");
  }
  int independent = 1;
  m->own_products = 0;  /* the probe must see the BLAS */
  int rc = lz__mf_probe_products(m, lz__mf_target_product, &independent, err);
  m->own_products = rc != LZ_OK || !independent;
  return rc;
}

/* Each member's first row and first chunk, for the gathers. */
static int note_team_layout(mf *m, lz_err *err) {
  const size_t size = (size_t)m->team->size;
  m->team_rows = malloc((size + 1) * sizeof *m->team_rows);
  m->team_chunks = malloc((size + 1) * sizeof *m->team_chunks);
  if (!m->team_rows || !m->team_chunks) return lz_err_set(err, LZ_ENOMEM, "mf: out of memory");
  size_t last;
  for (size_t r = 0; r < size; ++r) lz__mf_member_chunks(m, size, r, &m->team_chunks[r], &last);
  m->team_chunks[size] = m->chunks;
  for (size_t r = 0; r <= size; ++r) m->team_rows[r] = lz__mf_chunk_first_row(m, m->team_chunks[r]);
  return LZ_OK;
}

/* team: NULL alone, or the team that shares the instance; target: the rows this rank keeps of
 * a file target. */
static int create_instance(const lz_problem_params *pp, uint64_t seed, const double *target,
                           const lz_team *team, void **state, lz_err *err) {
  *state = NULL;
  int rc = lz__mf_check_shape_and_activation(pp, err);
  if (rc != LZ_OK) return rc;
  mf *m = calloc(1, sizeof *m);
  if (!m) return lz_err_set(err, LZ_ENOMEM, "mf: out of memory");
  set_shape(m, pp);
  choose_path(m);
  if (team) {  /* lz_problem_create_in_team has checked that the team can share it */
    m->team = team;
    m->team_size = (size_t)team->size;
    choose_path(m);
    take_member_share(m, (size_t)team->size, (size_t)team->rank);
    rc = note_team_layout(m, err);
  }
  if (rc == LZ_OK) rc = lz__mf_build_target(m, pp, seed, target, err);
  use_single_threaded_blas();
  if (rc == LZ_OK && m->path == MF_PATH_DENSE) {
    rc = lz__mf_sum_of_squares_by_rows(m, err);
    if (rc == LZ_OK) rc = choose_products(m, err);
    if (rc == LZ_OK) rc = store_transpose(m, err);
  }
  if (rc != LZ_OK) {
    mf_destroy(m);
    return rc;
  }
  *state = m;
  return LZ_OK;
}

static int mf_create(const lz_problem_params *pp, uint64_t seed, const double *target,
                     void **state, lz_err *err) {
  return create_instance(pp, seed, target, NULL, state, err);
}

static int mf_create_in_team(const lz_problem_params *pp, uint64_t seed,
                             const double *target_rows, const lz_team *team, void **state,
                             lz_err *err) {
  return create_instance(pp, seed, target_rows, team, state, err);
}

/* ---- the objective ------------------------------------------------------------------- */

static size_t mf_dim(const void *state) { return 2 * ((const mf *)state)->nd; }

static size_t mf_work_len(const void *state) { return ((const mf *)state)->work_len; }

static double mf_value(const void *state, const double *x, double *work) {
  const mf *m = state;
  switch (m->path) {
    case MF_PATH_SCALAR: return lz__mf_scalar_value(m, x);
    case MF_PATH_LOWRANK: return lz__mf_lowrank_value(m, x, work);
    default: return lz__mf_dense_value(m, x, work);
  }
}

static size_t mf_batch_max(const void *state) {
  const mf *m = state;
  return m->path == MF_PATH_DENSE ? m->batch_max : 1;
}

/* Called only where mf_batch_max is above 1: the dense path. */
static size_t mf_batch_work_len(const void *state, size_t runs) {
  return lz__mf_batch_work_len_of(state, runs);
}

static void mf_value_grad_batch(const void *state, size_t runs, const double *const *x,
                                double *const *g, double *f, double *work) {
  lz__mf_dense_value_grad_batch(state, runs, x, g, f, work);
}

/* Called only where mf_batch_max is above 1: the dense path. */
static size_t mf_hvp_batch_work_len(const void *state, size_t count) {
  const mf *m = state;
  return m->hvp_expanded ? lz__mf_hvp_batch_work_len_of(m, count) : m->work_len;
}

static void mf_hvp_batch(const void *state, size_t count, const double *const *x,
                         const double *const *v, double *const *hv, double *work) {
  const mf *m = state;
  if (m->hvp_expanded) {
    lz__mf_dense_hvp_batch(m, count, x, v, hv, work);
    return;
  }
  for (size_t j = 0; j < count; ++j) lz__mf_dense_hvp(m, x[j], v[j], hv[j], work);
}

static double mf_value_grad(const void *state, const double *x, double *g, double *work) {
  const mf *m = state;
  switch (m->path) {
    case MF_PATH_SCALAR: return lz__mf_scalar_value_grad(m, x, g);
    case MF_PATH_LOWRANK: return lz__mf_lowrank_value_grad(m, x, g, work);
    default: return lz__mf_dense_value_grad(m, x, g, work);
  }
}

static void mf_hvp(const void *state, const double *x, const double *v, double *hv,
                   double *work) {
  const mf *m = state;
  switch (m->path) {
    case MF_PATH_SCALAR: lz__mf_scalar_hvp(m, x, v, hv); return;
    case MF_PATH_LOWRANK: lz__mf_lowrank_hvp(m, x, v, hv, work); return;
    default:
      if (m->hvp_expanded) lz__mf_dense_hvp_batch(m, 1, &x, &v, &hv, work);
      else lz__mf_dense_hvp(m, x, v, hv, work);
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
    size_t rows = lz__mf_chunk_first_row(m, 1);
    l.blocks = (rows + m->block_rows - 1) / m->block_rows;
  }
  return l;
}

const lz_objective lz__objective_mf = {
    .name = "mf",
    .create = mf_create,
    .create_in_team = mf_create_in_team,
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
    .project_symmetries = lz__mf_project_symmetries,
    .symmetry_work_len = lz__mf_symmetry_work_len,
};
