/* The targets of matrix factorization: checking the shape, building A (gaussian, scalar,
 * lowrank, copied from a file; the identity is never stored) and its squared norm. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../lapack.h"
#include "lrzoo/linalg.h"
#include "lrzoo/rng.h"
#include "mf.h"

/* ---- creating an instance ------------------------------------------------------------ */

static int invalid(lz_err *err, const char *what) {
  return lz_err_set(err, LZ_EINVAL, "mf: %s", what);
}

int lz__mf_check_shape_and_activation(const lz_problem_params *pp, lz_err *err) {
  if (pp->mf.n < 1 || pp->mf.d < 1)
    return lz_err_set(err, LZ_EINVAL, "mf: n and d must be >= 1 (got n = %lld, d = %lld)",
                      (long long)pp->mf.n, (long long)pp->mf.d);
  /* BLAS and LAPACK take int dimensions; n x n targets beyond that do not fit memory anyway. */
  if (pp->mf.n > INT_MAX / 2 || pp->mf.d > INT_MAX / 2)
    return lz_err_set(err, LZ_EINVAL, "mf: n = %lld, d = %lld is too large", (long long)pp->mf.n,
                      (long long)pp->mf.d);
  if (pp->mf.activation != LZ_ACT_NONE && pp->mf.activation != LZ_ACT_RELU &&
      pp->mf.activation != LZ_ACT_LEAKY_RELU)
    return invalid(err, "activation must be none, relu or leaky_relu");
  if (pp->mf.activation == LZ_ACT_LEAKY_RELU && !isfinite(pp->mf.alpha))
    return invalid(err, "the leaky_relu slope alpha must be finite");
  return LZ_OK;
}

/* n rounded up to whole lanes, plus one lane when the row would span a multiple of 512 bytes:
 * with such power-of-two strides the rows of S^T and G^T map onto the same cache sets and
 * 4 KiB alias each other, which cost the row kernel a factor of 3 at n = 512 and 2048. */
size_t lz__mf_padded_row_length(size_t n) {
  size_t ld = round_up_to_alignment(n);
  return ld % 64 == 0 ? ld + LANES : ld;
}

/* Zeroed, so the padding of each row past n holds zeros (see row_in). */
static int allocate_dense_target(mf *m, lz_err *err) {
  m->a = calloc((m->row1 - m->row0) * m->ld, sizeof *m->a);
  if (!m->a)
    return lz_err_set(err, LZ_ENOMEM, "mf: out of memory for a %zu x %zu target", m->n, m->n);
  return LZ_OK;
}

static int build_gaussian_target(mf *m, const lz_problem_params *pp, uint64_t seed,
                                 lz_err *err) {
  if (!isfinite(pp->mf.target_scale))
    return invalid(err, "the gaussian target scale must be finite");
  int rc = allocate_dense_target(m, err);
  if (rc != LZ_OK) return rc;
  /* The stream is named by n alone, so A depends on (seed, n, scale) only: every d and
   * activation of a sweep factorizes the same matrix. A member of a team draws its own rows,
   * starting where they start in the stream: A is the same for every team size. */
  lz_rng rng;
  lz_rng_init_at_normal(&rng, seed, LZ_RNG_TARGET, m->n, 0, (uint64_t)m->row0 * m->n);
  double c = pp->mf.target_scale / sqrt((double)m->n);
  for (size_t i = m->row0; i < m->row1; ++i)
    for (size_t j = 0; j < m->n; ++j) m->a[(i - m->row0) * m->ld + j] = c * lz_rng_normal(&rng);
  return LZ_OK;
}

/* target holds the rows [row0, row1) this rank keeps: all n of them alone. */
static int copy_file_target(mf *m, const double *target, lz_err *err) {
  if (!target) return invalid(err, "a file target needs its n x n matrix");
  int rc = allocate_dense_target(m, err);
  if (rc != LZ_OK) return rc;
  for (size_t i = 0; i < m->row1 - m->row0; ++i)
    memcpy(m->a + i * m->ld, target + i * m->n, m->n * sizeof *m->a);
  return LZ_OK;
}

static int build_scalar_target(mf *m, const lz_problem_params *pp, lz_err *err) {
  if (m->n != 1 || m->d != 1)
    return lz_err_set(err, LZ_EINVAL,
                      "mf: the scalar target is the case n = d = 1 (got n = %zu, d = %zu)", m->n,
                      m->d);
  if (!isfinite(pp->mf.mu)) return invalid(err, "the scalar target mu must be finite");
  m->mu = pp->mf.mu;
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

size_t lz__mf_qr_workspace_len(size_t rows, size_t cols) {
  int m = (int)rows, n = (int)cols, lwork = -1, info = 0;
  double query = 0.0;
  dgeqrf_(&m, &n, &query, &m, &query, &query, &lwork, &info);
  size_t len = (size_t)query;
  return len < cols ? cols : len;
}

static int build_lowrank_target(mf *m, const lz_problem_params *pp, uint64_t seed,
                                lz_err *err) {
  if (pp->mf.rank < 1 || pp->mf.rank > pp->mf.n)
    return lz_err_set(err, LZ_EINVAL, "mf: lowrank rank %lld must be between 1 and n = %lld",
                      (long long)pp->mf.rank, (long long)pp->mf.n);
  if (!pp->mf.singular_values || pp->mf.n_singular_values != (size_t)pp->mf.rank)
    return lz_err_set(err, LZ_EINVAL,
                      "mf: lowrank rank %lld must equal the number of singular values (%zu)",
                      (long long)pp->mf.rank, pp->mf.n_singular_values);
  m->s = malloc(m->k * sizeof *m->s);
  if (!m->s) return lz_err_set(err, LZ_ENOMEM, "mf: out of memory");
  m->norm_a2 = 0.0;
  for (size_t l = 0; l < m->k; ++l) {
    double s = pp->mf.singular_values[l];
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

int lz__mf_build_target(mf *m, const lz_problem_params *pp, uint64_t seed,
                        const double *target, lz_err *err) {
  switch (pp->mf.target) {
    case LZ_TARGET_GAUSSIAN: return build_gaussian_target(m, pp, seed, err);
    case LZ_TARGET_IDENTITY: return LZ_OK;  /* A = I is applied on the fly, never stored */
    case LZ_TARGET_SCALAR: return build_scalar_target(m, pp, err);
    case LZ_TARGET_LOWRANK: return build_lowrank_target(m, pp, seed, err);
    case LZ_TARGET_FILE: return copy_file_target(m, target, err);
  }
  return invalid(err, "target must be gaussian, identity, scalar, lowrank or file");
}

int lz__mf_sum_of_squares_by_rows(mf *m, lz_err *err) {
  if (!m->a) {
    m->norm_a2 = (double)m->n;  /* identity */
    return LZ_OK;
  }
  double sum = 0.0;
  if (!m->team) {
    for (size_t i = 0; i < m->n; ++i) sum += lz_dot(target_row(m, i), target_row(m, i), m->n);
    m->norm_a2 = sum;
    return LZ_OK;
  }
  double *rows = malloc(m->n * sizeof *rows);
  if (!rows) return lz_err_set(err, LZ_ENOMEM, "mf: out of memory");
  for (size_t i = m->row0; i < m->row1; ++i)
    rows[i] = lz_dot(target_row(m, i), target_row(m, i), m->n);
  m->team->gather_rows(m->team->ctx, rows, 1, m->team_rows);
  for (size_t i = 0; i < m->n; ++i) sum += rows[i];
  free(rows);
  m->norm_a2 = sum;
  return LZ_OK;
}

void lz__mf_member_chunks(const mf *m, size_t size, size_t member, size_t *c0, size_t *c1) {
  *c0 = member * m->chunks / size;
  *c1 = (member + 1) * m->chunks / size;
}
