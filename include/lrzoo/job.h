/* The job: a parsed, validated job file as plain data, and the sweep it describes.
 *
 * src/config builds an lz_job from YAML; everything else only reads it. The job owns all of
 * its memory (strings, axes, vectors); lz_job_destroy frees it. Functions here are pure and
 * thread-safe on a const job.
 *
 * The sweep. Every list-valued parameter of the job file becomes an axis. Axes are ordered:
 * problem axes first (they define the problem instance), then init axes, then lr last. The run
 * index r is the mixed-radix number of the axis indices, with the last axis varying fastest.
 * So the runs of one problem instance are contiguous, and a tile is a contiguous range of
 * them: tile t covers runs [r0, r1) of instance t / tiles_per_instance. */
#ifndef LRZOO_JOB_H
#define LRZOO_JOB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lrzoo/kinds.h"
#include "lrzoo/param.h"

typedef enum {
#define LZ_PROBLEM_KIND_ENUM(suffix, name) LZ_PROBLEM_##suffix,
  LZ_PROBLEM_KINDS(LZ_PROBLEM_KIND_ENUM)
#undef LZ_PROBLEM_KIND_ENUM
} lz_problem_kind;
/* Outside the enum, so that a switch over the kinds need not name it. */
#define LZ_PROBLEM_KIND_ONE(suffix, name) +1
#define LZ_PROBLEM_KIND_COUNT (0 LZ_PROBLEM_KINDS(LZ_PROBLEM_KIND_ONE))
/* Bit of a problem kind in a mask of kinds. */
#define LZ_KIND_BIT(k) (1u << (unsigned)(k))

typedef enum { LZ_INIT_GAUSSIAN = 0, LZ_INIT_POINT = 1, LZ_INIT_GRID = 2 } lz_init_kind;
typedef enum { LZ_LR_ABSOLUTE = 0, LZ_LR_TWO_OVER_L = 1 } lz_lr_relative;
/* run.engine: the fastest engine that takes the problem, or the per-run engine (the reference
 * the others are tested against) for every run. */
typedef enum { LZ_RUN_ENGINE_AUTO = 0, LZ_RUN_ENGINE_PER_RUN = 1 } lz_run_engine;

/* Names used in job files, indexed by the enums above (e.g. lz_init_kind_names[LZ_INIT_GRID]
 * is "grid"); each kind's own are in its header. */
extern const char *const lz_problem_kind_names[];
extern const char *const lz_init_kind_names[];

#define LZ_AXIS_NAME_MAX 32
/* At most this many coordinates are histogrammed in an invariant measure. */
#define LZ_IM_MAX_COORDS 8

/* Histogrammed observable of an invariant measure. */
typedef enum { LZ_OBS_NONE = 0, LZ_OBS_F0 = 1, LZ_OBS_LOSS = 2, LZ_OBS_X_ENTRY = 3 } lz_observable;
extern const char *const lz_observable_names[];

/* Upper bound on the number of axes a job can have (every sweepable key at once). */
#define LZ_MAX_AXES 32

typedef struct lz_axis {
  char name[LZ_AXIS_NAME_MAX];  /* HDF5 name under /axes and /runs, e.g. "lr", "n" */
  lz_axis_type type;
  lz_axis_group group;
  size_t len;                    /* number of points on the axis, >= 1 */
  size_t width;                  /* 1, or the vector length for LZ_AXIS_VECTOR */
  double *values;                /* len * width, row-major; CHOICE: the enum code as a double */
  const char *const *labels;     /* CHOICE: names indexed by enum code (static); else NULL */
  int is_integer;                /* values are whole numbers (n, d, replica, ...) */
  const char *units;             /* static string, "" if none */
  const char *description;       /* static string */
  lz_mark mark;                  /* where the axis was written in the job file */
} lz_axis;

#define LZ_GRID_MAX_DIM 2

typedef struct lz_job {
  char *path;          /* job file path as given */
  char *text;          /* the job file's bytes, NUL-terminated */
  size_t text_len;
  char sha256[65];     /* hex digest of text */

  char *name;
  uint64_t seed;
  char *output;        /* default output path; -o overrides */

  struct {
    lz_problem_kind kind;
    lz_mark mark;
    /* the kind's part, as the job file gives it (lrzoo/kinds/<name>.h); the other kinds'
     * parts stay zero */
#define LZ_PROBLEM_KIND_JOB_PART(suffix, name) lz_##name##_job name;
    LZ_PROBLEM_KINDS(LZ_PROBLEM_KIND_JOB_PART)
#undef LZ_PROBLEM_KIND_JOB_PART
  } problem;

  struct {
    lz_init_kind kind;
    lz_mark mark;
    lz_param scale;           /* gaussian: entries N(0, scale^2) */
    lz_param imbalance;       /* gaussian, mf only: X0 *= sqrt(c), Y0 /= sqrt(c) */
    int64_t replicas;         /* gaussian: size of the "replica" axis */
    lz_vparam point;          /* point: the state vector (mf: X row-major, then Y) */
    size_t grid_dim;          /* grid: 1 or 2 axes "grid0", "grid1" */
    double grid_lo[LZ_GRID_MAX_DIM], grid_hi[LZ_GRID_MAX_DIM];
    int64_t grid_points[LZ_GRID_MAX_DIM];
    int grid_axis[LZ_GRID_MAX_DIM];
    int replica_axis;         /* -1 unless gaussian */
  } init;

  struct {
    int axis;                 /* always an axis, named "lr" */
    lz_lr_relative relative_to;
    lz_mark mark;
  } lr;

  struct {
    int64_t max_iter;
    double tol_grad;
    double diverge_above;
    int64_t record_every;
    int64_t record_x;         /* leading coordinates of x_k recorded with the loss (0: none) */
    lz_run_engine engine;
  } run;

  struct {
    int64_t runs;             /* runs per tile (at most) */
    int64_t ranks_per_run;    /* ranks of a team that takes a tile together (1: one rank) */
  } tiles;

  /* What is measured besides the GD run itself (the job file's `analyze:` section). */
  struct {
    /* Minimal period p <= max_period of a run that neither converged nor diverged: the orbit
     * repeats, over a whole period, to tol * max(1, |x|). Default on: max_period 64,
     * tol 1e-9; max_period 0 turns it off. */
    struct {
      int64_t max_period;
      double tol;
      lz_mark mark;
    } orbit;
    /* Largest Lyapunov exponent from the tangent map v <- (I - h H(x_k)) v over the last
     * transient + iters steps of the run (continued at the final point of a converged run);
     * the first transient steps only align v, the last iters are averaged. A run that is
     * bounded, not periodic and has an exponent > threshold is chaotic. Default on: iters and
     * transient min(1000, max_iter / 2), threshold 0.01; iters 0 turns it off. */
    struct {
      int64_t iters, transient;
      double threshold;
      lz_mark mark;
    } lyapunov;
    /* Sharpness trace: Lanczos every `every` steps into /runs/trace/sharpness. Default off
     * (every 0). sharpness_init and sharpness_final are always computed. */
    struct {
      int64_t every;
      lz_mark mark;
    } sharpness;
    /* Drift from gradient flow (order 0) and the modified equations of order 1 and 2 over the
     * first `steps` GD steps, integrated by RK4 with `substeps` steps per GD step. Default off
     * (orders 0). */
    struct {
      unsigned orders;        /* bit k set: order k (k = 0, 1, 2) */
      int64_t steps, substeps;
      lz_mark mark;
    } modified_equation;
    /* Empirical invariant measure: GD continues from each run's final state for burn_in steps,
     * then `samples` more iterates are counted into `bins` equal bins over [lo, hi] for each
     * coordinate in coords (and the 2-D joint histogram of coords 0 and 1 when joint). Off
     * when samples is 0 (the default). */
    struct {
      int64_t samples, burn_in;       /* default burn_in 10000 */
      size_t ncoords;
      int64_t coords[LZ_IM_MAX_COORDS]; /* state indices; default [0] (dim 1) or [0, 1] (dim 2) */
      int64_t bins;                   /* default 200 */
      double lo, hi;                  /* the `range`, required when samples > 0 */
      int joint;                      /* 2-D joint histogram of coords[0], coords[1] (default:
                                         on when ncoords >= 2) */
      struct {
        int kind;                     /* lz_observable: LZ_OBS_NONE (default) ... */
        int64_t entry[2];             /* LZ_OBS_X_ENTRY: row and column of X (mf) */
        int64_t bins;                 /* default 100 */
        double lo, hi;                /* required when kind != none */
      } observable;
      lz_mark mark;
    } invariant_measure;
  } analyze;

  /* The sweep, derived from the above by src/config. */
  size_t naxes;
  lz_axis *axes;
  int64_t nruns;
  int64_t ninstances;         /* product of the problem axes' lengths */
  int64_t runs_per_instance;  /* product of the init and lr axes' lengths */
  int64_t tiles_per_instance; /* ceil(runs_per_instance / tiles.runs) */
  int64_t ntiles;
  double memory_estimate;     /* peak bytes per rank (lrzoo/memory.h), set by the parser */
} lz_job;

/* The fully resolved parameters of one problem instance: the kind, and the part of that kind
 * (the others stay zero, so that no field means two things). Vectors and strings point into
 * the job and live as long as it. */
typedef struct lz_problem_params {
  lz_problem_kind kind;
  /* The ranks of the team that shares the instance where its kind can split it
   * (tiles.ranks_per_run; lrzoo/problem.h, "Teams"), else 1: what the sizes count per rank. */
  int ranks_per_run;
#define LZ_PROBLEM_KIND_PARAMS_PART(suffix, name) lz_##name##_params name;
  LZ_PROBLEM_KINDS(LZ_PROBLEM_KIND_PARAMS_PART)
#undef LZ_PROBLEM_KIND_PARAMS_PART
} lz_problem_params;

/* Frees the job and everything it owns, and sets *job to NULL. Accepts NULL and *job == NULL. */
void lz_job_destroy(lz_job **job);

/* Fills idx[0..naxes) with run r's index on each axis. */
void lz_job_run_coords(const lz_job *job, int64_t r, size_t *idx);

/* The value of a scalar parameter at axis indices idx. */
double lz_param_at(const lz_job *job, const lz_param *p, const size_t *idx);

/* The vector of a vector parameter at idx (len entries, owned by the job). */
const double *lz_vparam_at(const lz_job *job, const lz_vparam *p, const size_t *idx);

/* Problem instance index of run r, and the first run of tile t with its run count. */
int64_t lz_job_instance_of_run(const lz_job *job, int64_t r);
void lz_job_tile_runs(const lz_job *job, int64_t tile, int64_t *r0, int64_t *count);

/* Resolves the problem parameters at axis indices idx. */
void lz_job_problem_params(const lz_job *job, const size_t *idx, lz_problem_params *out);
/* The problem parameters of problem instance i (those of its first run). */
void lz_job_instance_params(const lz_job *job, int64_t instance, lz_problem_params *out);

/* Whether the runs sample an invariant measure (analyze.invariant_measure.samples > 0). */
int lz_job_samples_invariant_measure(const lz_job *job);

/* State dimension of a problem (quadratic: #eigenvalues; mf: 2 n d; multiscale: dim). */
size_t lz_problem_params_dim(const lz_problem_params *pp);

/* The file of data points the job names (an mlp's data.path), with its place in the job file
 * in *at; NULL when it names none. After parsing, the caller reads the file and gives the
 * points to the job with lz_job_take_data_points, which owns them from then on (x, y and
 * weight malloc'ed, weight may be NULL), before the job is used. */
const char *lz_job_data_file(const lz_job *job, lz_mark *at);
void lz_job_take_data_points(lz_job *job, double *x, double *y, double *weight, int64_t points);

/* Number of loss-trace records per run: max_iter / record_every + 1. */
int64_t lz_job_trace_len(const lz_job *job);

/* Most runs a tile can hold: tiles.runs, or fewer when an instance has fewer runs. Buffers are
 * sized by this, so tiles: {runs: 10^8} on a small sweep costs nothing. */
int64_t lz_job_tile_capacity(const lz_job *job);

/* The learning-rate axis value of the run at idx (absolute h, or a multiple of 2/L). */
double lz_job_lr_value(const lz_job *job, const size_t *idx);

/* Writes run r's initial point into x0 (length = the instance's dimension). Gaussian inits draw
 * from the stream (seed, LZ_RNG_INIT, replica, shape): runs that differ only in lr, imbalance or
 * init scale start from the same direction, scaled. Returns LZ_OK, or LZ_EINVAL if the point's
 * length does not match the problem. */
int lz_job_initial_point(const lz_job *job, const size_t *idx, const lz_problem_params *pp,
                         double *x0);

/* Sweep points of the pooled invariant measure: every init axis (replica, point, grid, init
 * scale, imbalance) is pooled, so a point is (problem instance, lr value). Its runs are
 * first + k * stride for k < count. */
int64_t lz_job_npooled(const lz_job *job);
void lz_job_pooled_runs(const lz_job *job, int64_t point, int64_t *first, int64_t *count,
                        int64_t *stride);
/* Edges of the invariant-measure bins (bins + 1 values, lo to hi) and of the observable's. */
void lz_job_hist_edges(const lz_job *job, double *edges);
void lz_job_observable_edges(const lz_job *job, double *edges);

/* Calls visit once per combination of the values of the axes that change an instance's sizes
 * and step cost (n, d, lowrank rank, multiscale dim), the other problem axes at their first
 * value; weight is how many instances share the combination. Returns 0, or -1 (and visits
 * nothing) when there are more than max_visits combinations. */
typedef void lz_size_visit(const lz_problem_params *pp, double weight, void *ctx);
int lz_job_visit_sizes(const lz_job *job, int64_t max_visits, lz_size_visit *visit, void *ctx);
/* The instance with every size parameter at its largest value (the largest dimension). */
void lz_job_largest_params(const lz_job *job, lz_problem_params *pp);

/* Largest state dimension over the job's problem instances. */
size_t lz_job_max_dim(const lz_job *job);

/* Rough cost of the whole sweep in GD steps (runs x max_iter, upper bound). */
double lz_job_cost_steps(const lz_job *job);

/* Rough relative cost of one GD step of a problem instance (flops); used to order tiles. */
double lz_problem_params_step_cost(const lz_problem_params *pp);

/* Prints the resolved sweep for `lrzoo validate`: axes, run and tile counts, cost. */
void lz_job_print_summary(const lz_job *job, FILE *out);

#endif
