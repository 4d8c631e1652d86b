/* Per-run results, the table that names them in the output file, and the tile runner.
 *
 * The field table is the single description of /runs: src/io creates one dataset per entry
 * (with its units and description), and writes each tile by walking the table. Adding a
 * result is one member in lz_run_result and one line in the table (src/core/results.c). */
#ifndef LRZOO_RESULTS_H
#define LRZOO_RESULTS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "lrzoo/error.h"
#include "lrzoo/job.h"
#include "lrzoo/problem.h"

typedef enum {
  LZ_STATUS_NOT_RUN = 0,
  LZ_STATUS_CONVERGED = 1,
  LZ_STATUS_PERIODIC = 2,
  LZ_STATUS_CHAOTIC = 3,
  LZ_STATUS_DIVERGED = 4,
  LZ_STATUS_UNDETERMINED = 5
} lz_status;
#define LZ_STATUS_COUNT 6
extern const char *const lz_status_names[LZ_STATUS_COUNT];

typedef struct lz_run_result {
  int8_t status;
  int64_t iterations;
  double h;               /* step size actually used */
  double loss;            /* f at the final state */
  double grad_norm;       /* ||grad f|| at the final state */
  double f0;              /* slow part at the final state (multiscale) */
  double sharpness_init;  /* L: largest Hessian eigenvalue at x0 */
  double norm_x, norm_y, balance, scalar_gap;
  int64_t trace_len;      /* valid entries in this run's trace rows */
} lz_run_result;

typedef enum { LZ_DT_INT8, LZ_DT_INT64, LZ_DT_DOUBLE } lz_dtype;

typedef struct lz_field {
  const char *name;        /* dataset name under /runs */
  lz_dtype type;
  size_t offset;           /* offsetof(lz_run_result, member) */
  const char *units;
  const char *description;
  unsigned kinds;          /* LZ_KIND_BIT mask of problem kinds that have it */
} lz_field;

/* The /runs fields, in output order. */
const lz_field *lz_run_fields(size_t *count);

/* Per-run traces under /runs/trace, each R x K with K = lz_job_trace_len. */
typedef enum { LZ_TRACE_LOSS = 0 } lz_trace_id;
#define LZ_TRACE_COUNT 1
typedef struct lz_trace_desc {
  const char *name, *units, *description;
} lz_trace_desc;
extern const lz_trace_desc lz_trace_descs[LZ_TRACE_COUNT];

/* The results of one tile, laid out as the file wants them. */
typedef struct lz_tile_result {
  int64_t tile;
  int64_t r0, count;              /* runs [r0, r0 + count) */
  int64_t trace_len;              /* K */
  lz_run_result *runs;            /* count */
  double *trace[LZ_TRACE_COUNT];  /* count x K each, row-major */
} lz_tile_result;

/* Allocates buffers for a tile of at most max_runs runs. Free with lz_tile_result_free. */
int lz_tile_result_alloc(lz_tile_result *tr, int64_t max_runs, int64_t trace_len, lz_err *err);
void lz_tile_result_free(lz_tile_result *tr);

/* What the caller of lz_run_tile may hook in. All fields may be NULL. */
typedef struct lz_tile_hooks {
  /* Called by the calling thread (never by other OpenMP threads) after each run it finishes,
   * so a scheduler can answer messages while it computes. */
  void (*between_runs)(void *ctx);
  void *ctx;
  /* Non-zero: drop the tile at once (LZ_ESTOPPED); see lz_gd_params.cancel. */
  const volatile sig_atomic_t *cancel;
} lz_tile_hooks;

/* Runs every run of tile t on problem instance p (which must be the tile's instance), with
 * OpenMP threads across runs for small problems and inside each run for large ones. The
 * results depend only on (job, run index), never on the thread count. hooks may be NULL. */
int lz_run_tile(const lz_job *job, const lz_problem *p, int64_t tile, const lz_tile_hooks *hooks,
                lz_tile_result *out, lz_err *err);

/* Runs run r alone (the unit lz_run_tile repeats). trace_rows: LZ_TRACE_COUNT rows of K.
 * cancel: see lz_tile_hooks (may be NULL). */
int lz_run_one(const lz_job *job, const lz_problem *p, int64_t r, lz_run_result *res,
               double *const *trace_rows, double *work, const volatile sig_atomic_t *cancel,
               lz_err *err);
/* Scratch doubles lz_run_one needs. */
size_t lz_run_work_len(const lz_problem *p);

#endif
