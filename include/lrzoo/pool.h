/* Pooling the invariant measure: the replicas of one sweep point (lz_job_pooled_runs) read back
 * as a block of runs, added up into the point's /pooled entry. Pure numerics: the caller reads
 * the runs (from the file, so that a resumed job pools the runs of every session alike) and
 * writes the result. No MPI, HDF5 or YAML. */
#ifndef LRZOO_POOL_H
#define LRZOO_POOL_H

#include <stdint.h>

#include "lrzoo/job.h"
#include "lrzoo/problem.h"
#include "lrzoo/results.h"

/* One sweep point's replicas and their sum. in[a] holds max_runs rows of array a, in the
 * layout lz_tile_result uses (NULL where the array is absent or not pooled); out[a] one row. */
typedef struct lz_pool_buffers {
  int64_t max_runs;
  lz_run_result *runs;
  void *in[LZ_ARRAY_COUNT];
  void *out[LZ_ARRAY_COUNT];
  lz_array_shape shape[LZ_ARRAY_COUNT];
} lz_pool_buffers;

/* Sized for the largest sweep point of job. Returns LZ_OK or LZ_ENOMEM (b is then empty). */
int lz_pool_buffers_alloc(const lz_job *job, lz_pool_buffers *b);
void lz_pool_buffers_free(lz_pool_buffers *b);

/* Pools the first `count` runs of b (the replicas of one point of instance p): every histogram
 * is the exact sum of the replicas' counts, the moments and the f0 mean come from the summed
 * raw sums, and the distances to the Gibbs density are those of the summed histograms. The
 * point keeps its step size only when every replica has the same h; otherwise (lr relative
 * to 2/L) no single Gibbs density applies and its comparisons are left out. Fills pr and the
 * out rows. */
void lz_pool_point(const lz_job *job, const lz_problem *p, lz_pool_buffers *b, int64_t count,
                   lz_pooled_result *pr);

#endif
