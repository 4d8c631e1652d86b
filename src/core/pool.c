/* Pooling the invariant measure of a sweep point's replicas (see lrzoo/pool.h). */
#include "lrzoo/pool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lrzoo/measure.h"

void lz_pool_buffers_free(lz_pool_buffers *b) {
  free(b->runs);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) free(b->in[a]), free(b->out[a]);
  memset(b, 0, sizeof *b);
}

int lz_pool_buffers_alloc(const lz_job *job, lz_pool_buffers *b) {
  memset(b, 0, sizeof *b);
  int64_t first, count, stride;
  lz_job_pooled_runs(job, 0, &first, &count, &stride);
  b->max_runs = count;
  b->runs = calloc((size_t)count, sizeof *b->runs);
  int ok = b->runs != NULL;
  for (int a = 0; a < LZ_ARRAY_COUNT && ok; ++a) {
    b->shape[a] = lz_job_array_shape(job, (lz_array_id)a);
    size_t per = (size_t)lz_array_shape_size(b->shape[a]);
    if (!lz_array_descs[a].pooled || per == 0) continue;
    b->in[a] = malloc((size_t)count * per * 8);
    b->out[a] = malloc(per * 8);
    ok = b->in[a] && b->out[a];
  }
  if (!ok) lz_pool_buffers_free(b);
  return ok ? LZ_OK : LZ_ENOMEM;
}

/* Counts are integers, so their sum is exact and independent of the order of the replicas. */
static void add_up_counts(lz_pool_buffers *b, lz_array_id a, int64_t count) {
  if (!b->out[a]) return;
  int64_t per = lz_array_shape_size(b->shape[a]);
  uint64_t *sum = b->out[a];
  const uint64_t *rows = b->in[a];
  memset(sum, 0, (size_t)per * sizeof *sum);
  for (int64_t r = 0; r < count; ++r)
    for (int64_t k = 0; k < per; ++k) sum[k] += rows[r * per + k];
}

static const double *row_of(const lz_pool_buffers *b, lz_array_id a, int64_t r) {
  return b->in[a] ? (const double *)b->in[a] + r * lz_array_shape_size(b->shape[a]) : NULL;
}

void lz_pool_point(const lz_job *job, const lz_problem *p, lz_pool_buffers *b, int64_t count,
                   lz_pooled_result *pr) {
  const lz_array_id counted[] = {LZ_ARRAY_HIST, LZ_ARRAY_HIST_HALF1, LZ_ARRAY_HIST2D,
                                 LZ_ARRAY_HIST_OBS};
  for (size_t i = 0; i < sizeof counted / sizeof counted[0]; ++i)
    add_up_counts(b, counted[i], count);
  lz_im_sums total, one;
  memset(&total, 0, sizeof total);
  double h = b->runs[0].h;
  for (int64_t r = 0; r < count; ++r) {
    lz_im_sums_from_result(job, &b->runs[r].im, row_of(b, LZ_ARRAY_WELLS, r),
                           row_of(b, LZ_ARRAY_MOMENTS, r), &one);
    lz_im_sums_add(&total, &one);
    if (b->runs[r].h != h) h = 0.0;
  }
  int64_t nwells = b->out[LZ_ARRAY_WELLS] ? lz_array_shape_size(b->shape[LZ_ARRAY_WELLS]) : 0;
  for (int64_t w = 0; w < nwells; ++w) ((double *)b->out[LZ_ARRAY_WELLS])[w] = NAN;
  lz_im_finish(job, p, h, &total, b->out[LZ_ARRAY_HIST], b->out[LZ_ARRAY_HIST_HALF1],
               b->out[LZ_ARRAY_HIST2D], &pr->im, b->out[LZ_ARRAY_GIBBS], b->out[LZ_ARRAY_GIBBS2D],
               b->out[LZ_ARRAY_WELLS], b->out[LZ_ARRAY_MOMENTS]);
}
