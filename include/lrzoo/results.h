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
/* Names of the codes, indexed by code and ended by NULL (like lz_activation_names). */
extern const char *const lz_status_names[LZ_STATUS_COUNT + 1];

/* Why a run is undetermined (status 5); LZ_REASON_NONE for every other status. */
typedef enum {
  LZ_REASON_NONE = 0,
  LZ_REASON_NOT_ANALYZED = 1,  /* max_iter reached with orbit and Lyapunov analysis off */
  LZ_REASON_STALLED = 2,       /* the iterates stopped moving (period 1) with grad >= tol_grad */
  LZ_REASON_NEITHER = 3,       /* not periodic within max_period, exponent <= threshold:
                                  quasi-periodic, or still converging slowly */
  LZ_REASON_NO_STEP = 4,       /* lr relative to 2/L, but L <= 0 at the start: no h defined */
  LZ_REASON_NO_EXPONENT = 5    /* not periodic, and no Lyapunov exponent was asked for */
} lz_reason;
#define LZ_REASON_COUNT 6
extern const char *const lz_reason_names[LZ_REASON_COUNT + 1];  /* ended by NULL */

/* Which engine took a run (/runs/engine). */
typedef enum {
  LZ_ENGINE_NONE = 0,      /* not run */
  LZ_ENGINE_LANES = 1,     /* small problems, 64 runs in SIMD lanes (gd_lanes.h) */
  LZ_ENGINE_BATCHED = 2,   /* dense matrix factorization, batched products (lz_gd_batch) */
  LZ_ENGINE_PER_RUN = 3    /* one run at a time (lz_gd_run): every other problem */
} lz_engine;
#define LZ_ENGINE_COUNT 4
extern const char *const lz_engine_names[LZ_ENGINE_COUNT + 1];  /* ended by NULL */

#define LZ_MODEQ_ORDERS 3

/* What the invariant-measure sampling of a run (or of a pooled sweep point) measured. Gibbs
 * quantities exist for multiscale problems only; f0-specific ones are NaN where they do not
 * apply (variance_linear: f0 quadratic; transitions and residence_mean: double_well). */
typedef struct lz_im_result {
  int64_t samples;          /* iterates counted (fewer than asked if the chain diverged) */
  double outside_fraction;  /* share of samples with a histogrammed coordinate out of range */
  double temperature;       /* T = h sigma^2 / 2 */
  double temperature_fit;   /* maximum-likelihood T of the Gibbs family of f0 */
  double f0_mean;           /* mean of f0 over the samples (what the fit matches) */
  double gibbs_tv;          /* first coordinate: total variation to the Gibbs bin probabilities */
  double gibbs_kl;          /* KL(empirical || Gibbs) over the bins with samples */
  double gibbs_w1;          /* Wasserstein-1 between the binned distributions */
  double halves_tv;         /* TV between the first and second half of the samples */
  double gibbs2d_tv, gibbs2d_kl;  /* the joint 2-D histogram against 2-D Gibbs */
  double sample_variance;   /* first coordinate */
  double variance_linear;   /* f0 = x^2/2: the linearized prediction h sigma^2 / (2 - h) */
  int64_t transitions;      /* double_well: changes of well (with hysteresis) */
  double residence_mean;    /* double_well: mean steps between transitions */
} lz_im_result;

typedef struct lz_run_result {
  int8_t status;
  int8_t reason;              /* lz_reason */
  int8_t engine;              /* lz_engine */
  int64_t iterations;
  int64_t period;             /* minimal period of a periodic run, else 0 */
  double h;                   /* step size actually used */
  double loss;                /* f at the final state */
  double grad_norm;           /* ||grad f|| at the final state */
  double f0;                  /* slow part at the final state (multiscale) */
  double sharpness_init;      /* L: largest Hessian eigenvalue at x0 */
  double sharpness_final;     /* largest Hessian eigenvalue at the final state */
  double sharpness_h;         /* sharpness_final * h: <= 2 at a linearly stable minimizer */
  double recurrence;          /* relative recurrence residual of the orbit (see orbit.h) */
  double lyapunov;            /* largest Lyapunov exponent (per step) */
  double lyapunov_transverse; /* mf: the same, transverse to the minimizers' symmetry orbit */
  int64_t lyapunov_steps;     /* steps averaged into the exponents */
  double drift[LZ_MODEQ_ORDERS]; /* max_k |x(kh) - x_k| against the modified flow of order k */
  double norm_x, norm_y, balance, scalar_gap;
  int64_t trace_len;          /* valid entries in this run's row of /runs/trace/loss */
  int64_t sharpness_len;      /* valid entries in this run's row of /runs/trace/sharpness */
  lz_im_result im;            /* invariant measure (analyze.invariant_measure) */
} lz_run_result;

/* A pooled sweep point: the invariant measure of all its replicas together (/pooled). */
typedef struct lz_pooled_result {
  lz_im_result im;
} lz_pooled_result;

typedef enum { LZ_DT_INT8, LZ_DT_INT64, LZ_DT_DOUBLE, LZ_DT_UINT64 } lz_dtype;

/* What a field needs from the job's analyze section to exist in the file. */
enum {
  LZ_NEEDS_NOTHING = 0,
  LZ_NEEDS_ORBIT = 1u << 0,
  LZ_NEEDS_LYAPUNOV = 1u << 1,
  LZ_NEEDS_SHARPNESS_TRACE = 1u << 2,
  LZ_NEEDS_MODEQ_0 = 1u << 3,      /* LZ_NEEDS_MODEQ_0 << k: order k */
  LZ_NEEDS_MODEQ_1 = 1u << 4,
  LZ_NEEDS_MODEQ_2 = 1u << 5,
  LZ_NEEDS_IM = 1u << 6,           /* analyze.invariant_measure */
  LZ_NEEDS_IM_JOINT = 1u << 7      /* ... with the 2-D joint histogram */
};

typedef struct lz_field {
  const char *name;        /* dataset name under /runs */
  lz_dtype type;
  size_t offset;           /* offsetof(lz_run_result, member) */
  const char *units;
  const char *description;
  unsigned traits;         /* LZ_KIND_HAS_* a problem kind needs to have it (0: every kind) */
  unsigned needs;          /* LZ_NEEDS_* the job must ask for */
  const char *const *labels; /* names of the codes of an int8 code field, ended by NULL;
                                NULL for other fields */
} lz_field;

/* The /runs fields, in output order. */
const lz_field *lz_run_fields(size_t *count);
/* The /pooled fields (offsets into lz_pooled_result), in output order. */
const lz_field *lz_pooled_fields(size_t *count);

/* 1 if the job's output file has this field (its problem kind and analyze section). */
int lz_field_applies(const lz_field *f, const lz_job *job);

/* Per-run arrays: /runs/<group>/<name>, of shape R x len[0] (x len[1] when len[1] > 1). The
 * pooled ones also exist as /pooled/<name>, of shape P x len[0] (x len[1]). */
typedef enum {
  LZ_ARRAY_LOSS = 0, LZ_ARRAY_SHARPNESS, LZ_ARRAY_ORBIT,
  LZ_ARRAY_HIST,         /* ncoords x bins visit counts (uint64) */
  LZ_ARRAY_HIST_HALF1,   /* the same for the first half of the samples */
  LZ_ARRAY_GIBBS,        /* ncoords x bins Gibbs bin probabilities (multiscale) */
  LZ_ARRAY_HIST2D,       /* bins x bins joint counts of coords 0 and 1 (uint64) */
  LZ_ARRAY_GIBBS2D,      /* bins x bins joint Gibbs probabilities */
  LZ_ARRAY_HIST_OBS,     /* observable bins counts (uint64) */
  LZ_ARRAY_WELLS,        /* 2^dim occupation fractions of the wells (double_well, dim <= 4) */
  LZ_ARRAY_MOMENTS,      /* ncoords x 2: mean and mean square of each coordinate */
  LZ_ARRAY_X             /* records x run.record_x: leading coordinates of x_k, with the loss */
} lz_array_id;
#define LZ_ARRAY_COUNT 12

typedef struct lz_array_desc {
  const char *group;       /* "trace" (under /runs), or "" for /runs itself */
  const char *name;
  const char *units, *description;
  const char *dims[2];     /* labels of the per-run dimensions ({"record", NULL} for traces) */
  lz_dtype type;           /* LZ_DT_DOUBLE (fill NaN) or LZ_DT_UINT64 (fill 0) */
  int pooled;              /* also written per sweep point under /pooled */
} lz_array_desc;
extern const lz_array_desc lz_array_descs[LZ_ARRAY_COUNT];

typedef struct lz_array_shape {
  int64_t len[2];          /* per run; len[0] == 0 when the job has no such array */
  int64_t record_every;    /* traces: entry k belongs to GD step k * record_every; else 0 */
} lz_array_shape;

/* The shape of array a in job's output (len[0] == 0: absent). Entries not written hold NaN. */
lz_array_shape lz_job_array_shape(const lz_job *job, lz_array_id a);
/* Doubles per run: len[0] * len[1]. */
int64_t lz_array_shape_size(lz_array_shape s);

/* The results of one tile, laid out as the file wants them. Every array element is 8 bytes:
 * a double, or a uint64_t for LZ_DT_UINT64 arrays. */
typedef struct lz_tile_result {
  int64_t tile;
  int64_t r0, count;                  /* runs [r0, r0 + count) */
  lz_run_result *runs;                /* count */
  lz_array_shape shape[LZ_ARRAY_COUNT];
  void *array[LZ_ARRAY_COUNT];        /* count x lz_array_shape_size(shape[a]); NULL if absent */
} lz_tile_result;

/* Row r (within the tile) of array a, as doubles or as counts. */
double *lz_tile_row(const lz_tile_result *tr, lz_array_id a, int64_t r);
uint64_t *lz_tile_counts(const lz_tile_result *tr, lz_array_id a, int64_t r);

/* Allocates buffers for a tile of job (at most job->tiles.runs runs). Free with
 * lz_tile_result_free. */
int lz_tile_result_alloc(lz_tile_result *tr, const lz_job *job, lz_err *err);
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

/* Runs run r alone (the unit lz_run_tile repeats). rows[a]: this run's row of array a (NULL
 * where the job has no such array). final_state, if non-NULL, receives the state the run ended
 * in (dimension doubles). cancel: see lz_tile_hooks (may be NULL). */
int lz_run_one(const lz_job *job, const lz_problem *p, int64_t r, lz_run_result *res,
               void *const *rows, double *final_state, double *work,
               const volatile sig_atomic_t *cancel, lz_err *err);
/* Scratch doubles lz_run_one needs for job's analysis of instance p. */
size_t lz_run_work_len(const lz_job *job, const lz_problem *p);
/* Bytes the runs of a tile hold at once on `threads` threads for an instance with parameters
 * pp (run scratch, or batches of runs with the batched engine); *ring_bytes: the orbit rings
 * among them. */
double lz_tile_work_bytes(const lz_job *job, const lz_problem_params *pp, int threads,
                          double *ring_bytes);

#endif
