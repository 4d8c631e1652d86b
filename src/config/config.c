/* Job files: YAML text -> a validated lz_job. The only module that calls libyaml.
 *
 * The whole document is loaded first (yaml_parser_load), then walked section by section against
 * the schema tables below. Each problem found is recorded with its position and the walk goes
 * on, so a user sees every mistake of a file in one run. Parameters that become sweep axes are
 * parked in "slots" while parsing, because the axis order is fixed by job.h and not by the order
 * of keys in the file; the slots are turned into job->axes only when the file had no error. */
#define _POSIX_C_SOURCE 200809L

#include "lrzoo/config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "lrzoo/error.h"
#include "lrzoo/hash.h"
#include "lrzoo/memory.h"
#include "lrzoo/results.h"

/* ------------------------------------------------------------------------------------------ */
/* Limits                                                                                     */

/* Beyond this many, errors are counted but not listed: a binary file would give thousands. */
#define MAX_DIAGNOSTICS 100
#define RECORD_X_MAX 16                /* coordinates of x_k in /runs/trace/x */
#define AXIS_MAX_LEN 10000000          /* points on one axis (keeps generated axes in memory) */
#define VECTOR_MAX_LEN 1000000         /* entries of one vector (eigenvalues, x, ...) */
#define AXIS_MAX_VALUES 10000000       /* len * width of a vector axis (aliases can multiply) */
#define MAX_RUNS 1000000000LL          /* one HDF5 row per run: more is certainly a typo */
#define MAX_WHOLE 9007199254740992.0   /* 2^53: larger integers are not exact in a double */
#define JOB_FILE_MAX_BYTES (64L << 20)
#define MAX_NESTING 64                 /* maps and lists inside each other (a job file needs 5) */
#define GOLDEN_RATIO 1.6180339887498949
#define GIB (1024.0 * 1024.0 * 1024.0)

/* ------------------------------------------------------------------------------------------ */
/* Axis slots: one per parameter that can be swept, in the axis order job.h prescribes.       */

typedef enum {
  S_NONE = 0,  /* 0 stays free so that a key_spec without .slot has none */
  S_EIGENVALUES, S_N, S_D, S_ACTIVATION, S_ALPHA, S_TARGET_SCALE, S_MU, S_SINGULAR_VALUES,
  S_F0, S_DIM, S_F1, S_EPS, S_AMPLITUDE, S_RATIO,
  S_INIT_SCALE, S_IMBALANCE, S_POINT, S_GRID0, S_GRID1, S_REPLICA,
  S_LR,
  SLOT_COUNT
} slot_id;

#ifdef LZ_MAX_AXES
_Static_assert(SLOT_COUNT - 1 <= LZ_MAX_AXES, "a job may use every slot at once");
#endif

typedef struct slot_spec {
  const char *name;
  lz_axis_type type;
  lz_axis_group group;
  bool is_integer;
  const char *const *labels;
  const char *units;
  const char *description;
} slot_spec;

#define PROBLEM_AXIS(nm, ty, integer, lab, desc) {nm, ty, LZ_AXIS_PROBLEM, integer, lab, "", desc}
#define INIT_AXIS(nm, ty, integer, desc) {nm, ty, LZ_AXIS_INIT, integer, NULL, "", desc}

static const slot_spec slot_specs[SLOT_COUNT] = {
  [S_EIGENVALUES] = PROBLEM_AXIS("eigenvalues", LZ_AXIS_VECTOR, false, NULL,
                                 "Hessian eigenvalues of the quadratic problem"),
  [S_N] = PROBLEM_AXIS("n", LZ_AXIS_NUMBER, true, NULL, "size of the n x n target matrix A"),
  [S_D] = PROBLEM_AXIS("d", LZ_AXIS_NUMBER, true, NULL,
                       "inner dimension of the n x d factors X, Y"),
  [S_ACTIVATION] = PROBLEM_AXIS("activation", LZ_AXIS_CHOICE, true, lz_activation_names,
                                "activation applied to Y^T"),
  [S_ALPHA] = PROBLEM_AXIS("alpha", LZ_AXIS_NUMBER, false, NULL,
                           "negative-side slope of leaky_relu"),
  [S_TARGET_SCALE] = PROBLEM_AXIS("target_scale", LZ_AXIS_NUMBER, false, NULL,
                                  "scale of the Gaussian target: entries N(0, scale^2 / n)"),
  [S_MU] = PROBLEM_AXIS("mu", LZ_AXIS_NUMBER, false, NULL,
                        "target of the scalar problem (mu - x y)^2 / 2"),
  [S_SINGULAR_VALUES] = PROBLEM_AXIS("singular_values", LZ_AXIS_VECTOR, false, NULL,
                                     "singular values of the low-rank target"),
  [S_F0] = PROBLEM_AXIS("f0", LZ_AXIS_CHOICE, true, lz_f0_names,
                        "slow part f0 of the multiscale objective"),
  [S_DIM] = PROBLEM_AXIS("dim", LZ_AXIS_NUMBER, true, NULL, "dimension of the multiscale problem"),
  [S_F1] = PROBLEM_AXIS("f1", LZ_AXIS_CHOICE, true, lz_f1_names,
                        "fast part f1 of the multiscale objective"),
  [S_EPS] = PROBLEM_AXIS("eps", LZ_AXIS_NUMBER, false, NULL,
                         "length scale of the fast oscillation f1"),
  [S_AMPLITUDE] = PROBLEM_AXIS("amplitude", LZ_AXIS_NUMBER, false, NULL,
                               "amplitude of the fast oscillation f1"),
  [S_RATIO] = PROBLEM_AXIS("ratio", LZ_AXIS_NUMBER, false, NULL,
                           "ratio of the two frequencies of the quasi-periodic f1"),
  [S_INIT_SCALE] = INIT_AXIS("init_scale", LZ_AXIS_NUMBER, false,
                             "standard deviation of the Gaussian initial entries"),
  [S_IMBALANCE] = INIT_AXIS("imbalance", LZ_AXIS_NUMBER, false,
                            "initial imbalance c: X0 scaled by sqrt(c), Y0 by 1/sqrt(c)"),
  [S_POINT] = INIT_AXIS("point", LZ_AXIS_VECTOR, false,
                        "initial point x0 (mf: X row-major, then Y)"),
  [S_GRID0] = INIT_AXIS("grid0", LZ_AXIS_NUMBER, false, "first coordinate of the initial point"),
  [S_GRID1] = INIT_AXIS("grid1", LZ_AXIS_NUMBER, false, "second coordinate of the initial point"),
  [S_REPLICA] = INIT_AXIS("replica", LZ_AXIS_NUMBER, true, "index of the random initial point"),
  [S_LR] = {"lr", LZ_AXIS_NUMBER, LZ_AXIS_LR, false, NULL, "",
            "learning rate: the step size h, or a multiple of 2/L"},
};

/* ------------------------------------------------------------------------------------------ */
/* The schema: one table of keys per map of the job file.                                     */

typedef enum {
  T_NAME,     /* one name out of spec.names, kept as a code (kind, relative_to) */
  T_STRING,   /* char * in the job */
  T_INT,      /* int64_t in the job */
  T_NUMBER,   /* double in the job */
  T_SWEEP,    /* lz_param: a number, a list of numbers or {linspace|logspace|geomspace: ...} */
  T_CHOICE,   /* lz_param: one name out of spec.names, or a list of them */
  T_VECTOR,   /* lz_vparam: a list of numbers, or a list of equal-length lists */
  T_SPECIAL   /* read by the section's own code (nested maps, grids, ...) */
} value_type;

typedef enum {
  C_FINITE,      /* any finite number */
  C_POSITIVE,    /* > 0; for integers >= 1 */
  C_NONNEG,      /* >= 0 */
  C_GT_ONE,      /* > 1 */
  C_OPEN_UNIT,   /* in (0, 1) */
  C_SMALL_DIM,   /* an integer from 1 to LZ_MULTISCALE_MAX_DIM */
  C_ORDER        /* 0, 1 or 2: an order of the modified equation */
} constraint;

enum {
  F_REQUIRED = 1u << 0,
  F_INTEGER = 1u << 1,
  F_ALWAYS_AXIS = 1u << 2,   /* an axis even when a single number is given */
  F_DEFAULT_LATER = 1u << 3  /* the default depends on other keys; set by the section's code */
};

typedef struct key_spec {
  const char *name;
  value_type type;
  unsigned kinds;             /* LZ_KIND_BIT of each section kind the key belongs to; 0 = all */
  unsigned flags;
  constraint check;
  double max;                 /* upper bound of a number, when > 0 */
  double dflt;
  slot_id slot;               /* axis of a sweep, choice or vector */
  size_t offset;              /* where the value goes in lz_job */
  const char *const *names;   /* allowed names of T_NAME and T_CHOICE */
  const char *label;          /* name in messages, when it differs from the key */
  const char *help;           /* what the key means, for "missing key" messages */
} key_spec;

typedef struct section {
  const char *name;           /* "problem.target": in "... must be a map" messages */
  const char *where;          /* "in problem.target": in key messages */
  const key_spec *keys;
  size_t nkeys;
  const char *const *kinds;   /* names of the section's kinds (keys[0] is then "kind"); or NULL */
} section;

#define OFF(member) offsetof(lz_job, member)
#define MAX_SECTION_KEYS 16

#define QUADRATIC_ONLY LZ_KIND_BIT(LZ_PROBLEM_QUADRATIC)
#define MF_ONLY LZ_KIND_BIT(LZ_PROBLEM_MF)
#define MULTISCALE_ONLY LZ_KIND_BIT(LZ_PROBLEM_MULTISCALE)
#define MLP_ONLY LZ_KIND_BIT(LZ_PROBLEM_MLP)

enum {
  TOP_NAME, TOP_SEED, TOP_OUTPUT, TOP_PROBLEM, TOP_INIT, TOP_LR, TOP_RUN, TOP_ANALYZE, TOP_TILES,
  TOP_COUNT
};
static const key_spec top_keys[TOP_COUNT] = {
  [TOP_NAME] = {.name = "name", .type = T_STRING, .flags = F_DEFAULT_LATER, .offset = OFF(name),
                .help = "the job's name"},
  [TOP_SEED] = {.name = "seed", .type = T_INT, .check = C_NONNEG, .offset = OFF(seed),
                .help = "seed of every random draw"},
  [TOP_OUTPUT] = {.name = "output", .type = T_STRING, .flags = F_DEFAULT_LATER,
                  .offset = OFF(output), .help = "the HDF5 output file"},
  [TOP_PROBLEM] = {.name = "problem", .type = T_SPECIAL, .flags = F_REQUIRED,
                   .help = "the objective, e.g. {kind: quadratic, eigenvalues: [1.0, 0.1]}"},
  [TOP_INIT] = {.name = "init", .type = T_SPECIAL, .flags = F_REQUIRED,
                .help = "the initial points, e.g. {kind: gaussian, scale: 0.1, replicas: 8}"},
  [TOP_LR] = {.name = "lr", .type = T_SPECIAL, .flags = F_REQUIRED,
              .help = "the learning rates, e.g. {values: {linspace: [0.1, 2.0, 40]}}"},
  [TOP_RUN] = {.name = "run", .type = T_SPECIAL, .help = "iteration limits"},
  [TOP_ANALYZE] = {.name = "analyze", .type = T_SPECIAL,
                   .help = "what is measured besides the run itself"},
  [TOP_TILES] = {.name = "tiles", .type = T_SPECIAL, .help = "how runs are grouped into tiles"},
};
static const section top_section = {"the job file", "at top level", top_keys, TOP_COUNT, NULL};

enum {
  PRB_KIND, PRB_EIGENVALUES, PRB_N, PRB_D, PRB_ACTIVATION, PRB_TARGET,
  PRB_F0, PRB_DIM, PRB_F1, PRB_EPS, PRB_AMPLITUDE, PRB_RATIO, PRB_WIDTH, PRB_DATA, PRB_COUNT
};
static const key_spec problem_keys[PRB_COUNT] = {
  [PRB_KIND] = {.name = "kind", .type = T_NAME, .flags = F_REQUIRED,
                .names = lz_problem_kind_names, .label = "problem kind"},
  [PRB_EIGENVALUES] = {.name = "eigenvalues", .type = T_VECTOR, .kinds = QUADRATIC_ONLY,
                       .flags = F_REQUIRED, .check = C_FINITE, .slot = S_EIGENVALUES,
                       .offset = OFF(problem.eigenvalues),
                       .help = "the Hessian eigenvalues, a list of numbers"},
  [PRB_N] = {.name = "n", .type = T_SWEEP, .kinds = MF_ONLY,
             .flags = F_REQUIRED | F_INTEGER | F_ALWAYS_AXIS, .check = C_POSITIVE, .slot = S_N,
             .offset = OFF(problem.n), .help = "the target matrix is n x n"},
  [PRB_D] = {.name = "d", .type = T_SWEEP, .kinds = MF_ONLY,
             .flags = F_REQUIRED | F_INTEGER | F_ALWAYS_AXIS, .check = C_POSITIVE, .slot = S_D,
             .offset = OFF(problem.d), .help = "the factors X and Y are n x d"},
  [PRB_ACTIVATION] = {.name = "activation", .type = T_SPECIAL, .kinds = MF_ONLY | MLP_ONLY},
  [PRB_TARGET] = {.name = "target", .type = T_SPECIAL, .kinds = MF_ONLY},
  [PRB_F0] = {.name = "f0", .type = T_CHOICE, .kinds = MULTISCALE_ONLY, .flags = F_REQUIRED,
              .names = lz_f0_names, .slot = S_F0, .offset = OFF(problem.f0),
              .help = "the slow part: quadratic, double_well or matyas"},
  [PRB_DIM] = {.name = "dim", .type = T_SWEEP, .kinds = MULTISCALE_ONLY, .flags = F_INTEGER,
               .check = C_SMALL_DIM, .dflt = 1, .slot = S_DIM, .offset = OFF(problem.dim)},
  [PRB_F1] = {.name = "f1", .type = T_CHOICE, .kinds = MULTISCALE_ONLY, .dflt = LZ_F1_SINE,
              .names = lz_f1_names, .slot = S_F1, .offset = OFF(problem.f1)},
  [PRB_EPS] = {.name = "eps", .type = T_SWEEP, .kinds = MULTISCALE_ONLY, .flags = F_REQUIRED,
               .check = C_POSITIVE, .slot = S_EPS, .offset = OFF(problem.eps),
               .help = "the length scale of the fast part f1"},
  [PRB_AMPLITUDE] = {.name = "amplitude", .type = T_SWEEP, .kinds = MULTISCALE_ONLY,
                     .flags = F_DEFAULT_LATER, .check = C_POSITIVE, .slot = S_AMPLITUDE,
                     .offset = OFF(problem.amplitude)},
  [PRB_RATIO] = {.name = "ratio", .type = T_SWEEP, .kinds = MULTISCALE_ONLY, .check = C_GT_ONE,
                 .dflt = GOLDEN_RATIO, .slot = S_RATIO, .offset = OFF(problem.ratio)},
  [PRB_WIDTH] = {.name = "width", .type = T_INT, .kinds = MLP_ONLY, .flags = F_REQUIRED,
                 .check = C_POSITIVE, .max = 100000, .offset = OFF(problem.width),
                 .help = "the number of hidden units W (the state has 3W + 1 weights)"},
  [PRB_DATA] = {.name = "data", .type = T_SPECIAL, .kinds = MLP_ONLY, .flags = F_REQUIRED,
                .help = "the points fitted, e.g. {points: 64, range: [-3, 3], eps: 0.05}"},
};
static const section problem_section = {"problem", "in problem", problem_keys, PRB_COUNT,
                                        lz_problem_kind_names};

enum { ACT_KIND, ACT_ALPHA, ACT_COUNT };
static const key_spec activation_keys[ACT_COUNT] = {
  [ACT_KIND] = {.name = "kind", .type = T_CHOICE, .flags = F_REQUIRED,
                .names = lz_activation_names, .slot = S_ACTIVATION,
                .offset = OFF(problem.activation), .label = "activation kind",
                .help = "none, relu or leaky_relu, or a list of them"},
  [ACT_ALPHA] = {.name = "alpha", .type = T_SWEEP, .check = C_OPEN_UNIT, .dflt = 0.01,
                 .slot = S_ALPHA, .offset = OFF(problem.alpha)},
};
/* mlp: the hidden layer's activation, a single name. */
static const key_spec mlp_activation_key = {
  .name = "activation", .type = T_NAME, .names = lz_mlp_activation_names, .dflt = LZ_MLP_TANH,
  .label = "mlp activation"};

/* mlp: the data y = g0(x) + amplitude sin(x / eps) at `points` inputs on range. */
enum { DAT_POINTS, DAT_RANGE, DAT_SAMPLING, DAT_G0, DAT_AMPLITUDE, DAT_EPS, DAT_COUNT };
static const key_spec data_keys[DAT_COUNT] = {
  [DAT_POINTS] = {.name = "points", .type = T_INT, .flags = F_REQUIRED, .check = C_POSITIVE,
                  .max = 10000000, .offset = OFF(problem.data.points),
                  .help = "the number m of data points"},
  [DAT_RANGE] = {.name = "range", .type = T_SPECIAL, .flags = F_REQUIRED, .check = C_FINITE,
                 .label = "data.range", .help = "the input interval [lo, hi], lo < hi"},
  [DAT_SAMPLING] = {.name = "sampling", .type = T_NAME, .names = lz_data_sampling_names,
                    .dflt = LZ_DATA_GRID, .label = "data.sampling"},
  [DAT_G0] = {.name = "g0", .type = T_NAME, .names = lz_g0_names, .dflt = LZ_G0_SIN,
              .label = "data.g0"},
  [DAT_AMPLITUDE] = {.name = "amplitude", .type = T_NUMBER, .check = C_NONNEG, .dflt = 0.1,
                     .offset = OFF(problem.data.amplitude), .label = "data.amplitude"},
  [DAT_EPS] = {.name = "eps", .type = T_NUMBER, .flags = F_REQUIRED, .check = C_POSITIVE,
               .offset = OFF(problem.data.eps), .label = "data.eps",
               .help = "the period scale of the fast oscillation amplitude sin(x / eps)"},
};
static const section data_section = {"problem.data", "in problem.data", data_keys, DAT_COUNT,
                                     NULL};

static const section activation_section = {"problem.activation", "in problem.activation",
                                           activation_keys, ACT_COUNT, NULL};
/* The short form "activation: relu" (or a list) is the kind alone. */
static const key_spec activation_name_key = {
  .name = "activation", .type = T_CHOICE, .names = lz_activation_names, .slot = S_ACTIVATION,
  .offset = OFF(problem.activation)};

#define GAUSSIAN_TARGET LZ_KIND_BIT(LZ_TARGET_GAUSSIAN)
#define SCALAR_TARGET LZ_KIND_BIT(LZ_TARGET_SCALAR)
#define LOWRANK_TARGET LZ_KIND_BIT(LZ_TARGET_LOWRANK)
#define FILE_TARGET LZ_KIND_BIT(LZ_TARGET_FILE)

enum {
  TGT_KIND, TGT_SCALE, TGT_MU, TGT_SINGULAR_VALUES, TGT_RANK, TGT_PATH, TGT_DATASET, TGT_COUNT
};
static const key_spec target_keys[TGT_COUNT] = {
  [TGT_KIND] = {.name = "kind", .type = T_NAME, .flags = F_REQUIRED,
                .names = lz_target_kind_names, .label = "target kind"},
  [TGT_SCALE] = {.name = "scale", .type = T_SWEEP, .kinds = GAUSSIAN_TARGET, .check = C_POSITIVE,
                 .dflt = 1.0, .slot = S_TARGET_SCALE, .offset = OFF(problem.target.scale),
                 .label = "target scale"},
  [TGT_MU] = {.name = "mu", .type = T_SWEEP, .kinds = SCALAR_TARGET, .flags = F_REQUIRED,
              .check = C_FINITE, .slot = S_MU, .offset = OFF(problem.target.mu),
              .help = "the scalar target of (mu - x y)^2 / 2"},
  [TGT_SINGULAR_VALUES] = {.name = "singular_values", .type = T_VECTOR, .kinds = LOWRANK_TARGET,
                           .flags = F_REQUIRED, .check = C_POSITIVE, .slot = S_SINGULAR_VALUES,
                           .offset = OFF(problem.target.singular_values),
                           .help = "the target's nonzero singular values, a list of numbers > 0"},
  [TGT_RANK] = {.name = "rank", .type = T_SPECIAL, .kinds = LOWRANK_TARGET, .check = C_POSITIVE},
  [TGT_PATH] = {.name = "path", .type = T_STRING, .kinds = FILE_TARGET, .flags = F_REQUIRED,
                .offset = OFF(problem.target.path), .label = "target path",
                .help = "the HDF5 file holding the target matrix"},
  [TGT_DATASET] = {.name = "dataset", .type = T_STRING, .kinds = FILE_TARGET, .flags = F_REQUIRED,
                   .offset = OFF(problem.target.dataset), .label = "target dataset",
                   .help = "the n x n dataset inside the target file"},
};
static const section target_section = {"problem.target", "in problem.target", target_keys,
                                       TGT_COUNT, lz_target_kind_names};

#define GAUSSIAN_INIT LZ_KIND_BIT(LZ_INIT_GAUSSIAN)
#define POINT_INIT LZ_KIND_BIT(LZ_INIT_POINT)
#define GRID_INIT LZ_KIND_BIT(LZ_INIT_GRID)

enum {
  INI_KIND, INI_SCALE, INI_IMBALANCE, INI_REPLICAS, INI_X, INI_LO, INI_HI, INI_POINTS, INI_COUNT
};
static const key_spec init_keys[INI_COUNT] = {
  [INI_KIND] = {.name = "kind", .type = T_NAME, .flags = F_REQUIRED,
                .names = lz_init_kind_names, .label = "init kind"},
  [INI_SCALE] = {.name = "scale", .type = T_SWEEP, .kinds = GAUSSIAN_INIT, .check = C_POSITIVE,
                 .dflt = 1.0, .slot = S_INIT_SCALE, .offset = OFF(init.scale),
                 .label = "init scale"},
  [INI_IMBALANCE] = {.name = "imbalance", .type = T_SWEEP, .kinds = GAUSSIAN_INIT,
                     .check = C_POSITIVE, .dflt = 1.0, .slot = S_IMBALANCE,
                     .offset = OFF(init.imbalance)},
  [INI_REPLICAS] = {.name = "replicas", .type = T_INT, .kinds = GAUSSIAN_INIT, .check = C_POSITIVE,
                    .dflt = 1, .offset = OFF(init.replicas)},
  [INI_X] = {.name = "x", .type = T_VECTOR, .kinds = POINT_INIT, .flags = F_REQUIRED,
             .check = C_FINITE, .slot = S_POINT, .offset = OFF(init.point),
             .help = "the initial state vector (mf: X row-major, then Y)"},
  [INI_LO] = {.name = "lo", .type = T_SPECIAL, .kinds = GRID_INIT, .flags = F_REQUIRED,
              .check = C_FINITE, .help = "lower corner of the grid, 1 or 2 numbers"},
  [INI_HI] = {.name = "hi", .type = T_SPECIAL, .kinds = GRID_INIT, .flags = F_REQUIRED,
              .check = C_FINITE, .help = "upper corner of the grid, 1 or 2 numbers"},
  [INI_POINTS] = {.name = "points", .type = T_SPECIAL, .kinds = GRID_INIT,
                  .flags = F_REQUIRED | F_INTEGER, .check = C_POSITIVE,
                  .help = "grid points per coordinate, 1 or 2 integers >= 1"},
};
static const section init_section = {"init", "in init", init_keys, INI_COUNT, lz_init_kind_names};

static const char *const lr_relative_names[] = {"absolute", "two_over_L", NULL};

enum { LR_VALUES, LR_RELATIVE_TO, LR_COUNT };
static const key_spec lr_keys[LR_COUNT] = {
  [LR_VALUES] = {.name = "values", .type = T_SPECIAL, .flags = F_REQUIRED | F_ALWAYS_AXIS,
                 .check = C_POSITIVE, .slot = S_LR, .label = "lr value h",
                 .help = "the learning rates, a number, a list or {linspace: [a, b, num]}"},
  [LR_RELATIVE_TO] = {.name = "relative_to", .type = T_NAME, .dflt = LZ_LR_ABSOLUTE,
                      .names = lr_relative_names, .label = "lr relative_to"},
};
static const section lr_section = {"lr", "in lr", lr_keys, LR_COUNT, NULL};

static const char *const run_engine_names[] = {"auto", "per_run", NULL};

enum {
  RUN_MAX_ITER, RUN_TOL_GRAD, RUN_DIVERGE_ABOVE, RUN_RECORD_EVERY, RUN_RECORD_X, RUN_ENGINE,
  RUN_COUNT
};
static const key_spec run_keys[RUN_COUNT] = {
  [RUN_MAX_ITER] = {.name = "max_iter", .type = T_INT, .check = C_POSITIVE, .dflt = 10000,
                    .offset = OFF(run.max_iter)},
  [RUN_TOL_GRAD] = {.name = "tol_grad", .type = T_NUMBER, .check = C_NONNEG, .dflt = 1e-10,
                    .offset = OFF(run.tol_grad)},
  [RUN_DIVERGE_ABOVE] = {.name = "diverge_above", .type = T_NUMBER, .check = C_POSITIVE,
                         .dflt = 1e12, .offset = OFF(run.diverge_above)},
  [RUN_RECORD_EVERY] = {.name = "record_every", .type = T_INT, .flags = F_DEFAULT_LATER,
                        .check = C_POSITIVE, .offset = OFF(run.record_every)},
  [RUN_RECORD_X] = {.name = "record_x", .type = T_INT, .check = C_NONNEG, .dflt = 0,
                    .offset = OFF(run.record_x)},
  [RUN_ENGINE] = {.name = "engine", .type = T_NAME, .dflt = LZ_RUN_ENGINE_AUTO,
                  .names = run_engine_names, .label = "run.engine"},
};
static const section run_section = {"run", "in run", run_keys, RUN_COUNT, NULL};

enum { TIL_RUNS, TIL_COUNT };
static const key_spec tiles_keys[TIL_COUNT] = {
  [TIL_RUNS] = {.name = "runs", .type = T_INT, .check = C_POSITIVE, .dflt = 64,
                .offset = OFF(tiles.runs), .label = "tiles.runs"},
};
static const section tiles_section = {"tiles", "in tiles", tiles_keys, TIL_COUNT, NULL};

/* analyze: one optional sub-map per analysis. Nothing here is swept. */
enum {
  ANA_ORBIT, ANA_LYAPUNOV, ANA_SHARPNESS, ANA_MODIFIED_EQUATION, ANA_INVARIANT_MEASURE, ANA_COUNT
};
static const key_spec analyze_keys[ANA_COUNT] = {
  [ANA_ORBIT] = {.name = "orbit", .type = T_SPECIAL},
  [ANA_LYAPUNOV] = {.name = "lyapunov", .type = T_SPECIAL},
  [ANA_SHARPNESS] = {.name = "sharpness", .type = T_SPECIAL},
  [ANA_MODIFIED_EQUATION] = {.name = "modified_equation", .type = T_SPECIAL},
  [ANA_INVARIANT_MEASURE] = {.name = "invariant_measure", .type = T_SPECIAL},
};
static const section analyze_section = {"analyze", "in analyze", analyze_keys, ANA_COUNT, NULL};

enum { ORB_MAX_PERIOD, ORB_TOL, ORB_COUNT };
static const key_spec orbit_keys[ORB_COUNT] = {
  [ORB_MAX_PERIOD] = {.name = "max_period", .type = T_INT, .check = C_NONNEG, .dflt = 64,
                      .offset = OFF(analyze.orbit.max_period), .label = "orbit.max_period"},
  [ORB_TOL] = {.name = "tol", .type = T_NUMBER, .check = C_POSITIVE, .dflt = 1e-9,
               .offset = OFF(analyze.orbit.tol), .label = "orbit.tol"},
};
static const section orbit_section = {"analyze.orbit", "in analyze.orbit", orbit_keys, ORB_COUNT,
                                      NULL};

/* iters and transient default to min(LYAPUNOV_STEPS, max_iter / 2): the window they make at
 * the end of a run then always fits in it, so even short runs average some steps. */
#define LYAPUNOV_STEPS 1000
enum { LYA_ITERS, LYA_TRANSIENT, LYA_THRESHOLD, LYA_COUNT };
static const key_spec lyapunov_keys[LYA_COUNT] = {
  [LYA_ITERS] = {.name = "iters", .type = T_INT, .flags = F_DEFAULT_LATER, .check = C_NONNEG,
                 .offset = OFF(analyze.lyapunov.iters), .label = "lyapunov.iters"},
  [LYA_TRANSIENT] = {.name = "transient", .type = T_INT, .flags = F_DEFAULT_LATER,
                     .check = C_NONNEG, .offset = OFF(analyze.lyapunov.transient),
                     .label = "lyapunov.transient"},
  [LYA_THRESHOLD] = {.name = "threshold", .type = T_NUMBER, .check = C_NONNEG, .dflt = 0.01,
                     .offset = OFF(analyze.lyapunov.threshold), .label = "lyapunov.threshold"},
};
static const section lyapunov_section = {"analyze.lyapunov", "in analyze.lyapunov",
                                         lyapunov_keys, LYA_COUNT, NULL};

enum { SHP_EVERY, SHP_COUNT };
static const key_spec sharpness_keys[SHP_COUNT] = {
  [SHP_EVERY] = {.name = "every", .type = T_INT, .check = C_NONNEG, .dflt = 0,
                 .offset = OFF(analyze.sharpness.every), .label = "sharpness.every"},
};
static const section sharpness_section = {"analyze.sharpness", "in analyze.sharpness",
                                          sharpness_keys, SHP_COUNT, NULL};

enum { MEQ_ORDERS, MEQ_STEPS, MEQ_SUBSTEPS, MEQ_COUNT };
static const key_spec modified_equation_keys[MEQ_COUNT] = {
  [MEQ_ORDERS] = {.name = "orders", .type = T_SPECIAL, .flags = F_INTEGER, .check = C_ORDER,
                  .label = "modified_equation.orders"},
  [MEQ_STEPS] = {.name = "steps", .type = T_INT, .check = C_POSITIVE, .max = 1000000, .dflt = 200,
                 .offset = OFF(analyze.modified_equation.steps),
                 .label = "modified_equation.steps"},
  [MEQ_SUBSTEPS] = {.name = "substeps", .type = T_INT, .check = C_POSITIVE, .max = 10000,
                    .dflt = 32, .offset = OFF(analyze.modified_equation.substeps),
                    .label = "modified_equation.substeps"},
};
static const section modified_equation_section = {
    "analyze.modified_equation", "in analyze.modified_equation", modified_equation_keys,
    MEQ_COUNT, NULL};

/* invariant_measure is off unless its sub-map is written; then samples and range are required.
 * coords and joint default from the problem (see read_coords and read_joint). */
#define IM_MAX_SAMPLES 1000000000000000LL  /* 1e15 */
#define IM_MAX_BINS 100000
/* Integers are read up to 2^53, so burn_in + samples (and max_iter on top) cannot overflow. */
_Static_assert((int64_t)MAX_WHOLE <= (INT64_MAX - IM_MAX_SAMPLES) / 2,
               "max_iter + burn_in + samples fits in an int64_t");
enum { IM_SAMPLES, IM_BURN_IN, IM_COORDS, IM_BINS, IM_RANGE, IM_JOINT, IM_OBSERVABLE, IM_COUNT };
static const key_spec invariant_measure_keys[IM_COUNT] = {
  [IM_SAMPLES] = {.name = "samples", .type = T_INT, .flags = F_REQUIRED, .check = C_POSITIVE,
                  .max = (double)IM_MAX_SAMPLES, .offset = OFF(analyze.invariant_measure.samples),
                  .label = "invariant_measure.samples",
                  .help = "the number of iterates counted after burn_in, an integer >= 1"},
  [IM_BURN_IN] = {.name = "burn_in", .type = T_INT, .check = C_NONNEG, .dflt = 10000,
                  .offset = OFF(analyze.invariant_measure.burn_in),
                  .label = "invariant_measure.burn_in"},
  [IM_COORDS] = {.name = "coords", .type = T_SPECIAL, .flags = F_INTEGER | F_DEFAULT_LATER,
                 .check = C_NONNEG, .label = "invariant_measure.coords"},
  [IM_BINS] = {.name = "bins", .type = T_INT, .check = C_POSITIVE, .max = IM_MAX_BINS,
               .dflt = 200, .offset = OFF(analyze.invariant_measure.bins),
               .label = "invariant_measure.bins"},
  [IM_RANGE] = {.name = "range", .type = T_SPECIAL, .flags = F_REQUIRED, .check = C_FINITE,
                .label = "invariant_measure.range",
                .help = "the histogram range [lo, hi], two finite numbers with lo < hi"},
  [IM_JOINT] = {.name = "joint", .type = T_SPECIAL, .flags = F_DEFAULT_LATER,
                .label = "invariant_measure.joint"},
  [IM_OBSERVABLE] = {.name = "observable", .type = T_SPECIAL,
                     .label = "invariant_measure.observable"},
};
static const section invariant_measure_section = {
    "analyze.invariant_measure", "in analyze.invariant_measure", invariant_measure_keys,
    IM_COUNT, NULL};

/* The observable's kinds as written: an absent observable is none, so "none" is not one of
 * them, and kind code c of this table is the lz_observable c + LZ_OBS_F0. */
#define OBSERVABLE_KINDS (lz_observable_names + LZ_OBS_F0)
#define X_ENTRY_OBSERVABLE LZ_KIND_BIT(LZ_OBS_X_ENTRY - LZ_OBS_F0)
enum { OBS_KIND, OBS_ENTRY, OBS_BINS, OBS_RANGE, OBS_COUNT };
static const key_spec observable_keys[OBS_COUNT] = {
  [OBS_KIND] = {.name = "kind", .type = T_NAME, .flags = F_REQUIRED, .names = OBSERVABLE_KINDS,
                .label = "observable kind"},
  [OBS_ENTRY] = {.name = "entry", .type = T_SPECIAL, .kinds = X_ENTRY_OBSERVABLE,
                 .flags = F_REQUIRED | F_INTEGER, .check = C_NONNEG, .label = "observable.entry",
                 .help = "[i, j], the row and column of the entry of X (0 <= i < n, 0 <= j < d)"},
  [OBS_BINS] = {.name = "bins", .type = T_INT, .check = C_POSITIVE, .max = IM_MAX_BINS,
                .dflt = 100, .offset = OFF(analyze.invariant_measure.observable.bins),
                .label = "observable.bins"},
  [OBS_RANGE] = {.name = "range", .type = T_SPECIAL, .flags = F_REQUIRED, .check = C_FINITE,
                 .label = "observable.range",
                 .help = "the histogram range [lo, hi] of the observable, with lo < hi"},
};
static const section observable_section = {
    "analyze.invariant_measure.observable", "in analyze.invariant_measure.observable",
    observable_keys, OBS_COUNT, OBSERVABLE_KINDS};

_Static_assert(DAT_COUNT <= MAX_SECTION_KEYS &&
               TOP_COUNT <= MAX_SECTION_KEYS && PRB_COUNT <= MAX_SECTION_KEYS &&
                   TGT_COUNT <= MAX_SECTION_KEYS && INI_COUNT <= MAX_SECTION_KEYS &&
                   ANA_COUNT <= MAX_SECTION_KEYS && LYA_COUNT <= MAX_SECTION_KEYS &&
                   MEQ_COUNT <= MAX_SECTION_KEYS && IM_COUNT <= MAX_SECTION_KEYS &&
                   OBS_COUNT <= MAX_SECTION_KEYS,
               "section_read holds MAX_SECTION_KEYS keys");

typedef enum { GEN_LINSPACE, GEN_LOGSPACE, GEN_GEOMSPACE } generator;
static const char *const generator_names[] = {"linspace", "logspace", "geomspace", NULL};

/* ------------------------------------------------------------------------------------------ */
/* Parser state                                                                               */

typedef struct diagnostic {
  lz_mark at;
  size_t order;  /* discovery order: keeps the sort by position stable */
  char *msg;
} diagnostic;

/* What the init section needs to know about the problem's state vector. */
typedef struct state_shape {
  bool known;      /* the problem was read well enough to tell its dimension */
  bool fixed;      /* every problem instance has the same dimension */
  double dim;
  char how[128];   /* where the dimension comes from, or which key sweeps it */
} state_shape;

typedef struct parser {
  const char *path;
  yaml_document_t *doc;
  lz_job *job;
  diagnostic *diag;
  size_t ndiag, diag_cap, dropped;
  bool oom;
  bool read_root;             /* the document was a map and was read */
  lz_axis slot[SLOT_COUNT];   /* axes by slot; len 0 while unused */
  bool problem_known;         /* problem.kind was read */
  bool eigenvalues_ok;
  state_shape shape;
  bool max_iter_ok;           /* run.max_iter was read (it may be the default) */
  lz_mark top_mark, lr_mark, max_iter_mark, record_every_mark, tiles_runs_mark, max_period_mark;
  lz_mark im_bins_mark, im_joint_mark, im_obs_bins_mark;  /* where invariant_measure's memory is */
} parser;

/* The keys found in one map, indexed like the section's key table. */
typedef struct section_read {
  const yaml_node_t *map;
  int kind;  /* code of the kind key; -1 when the section has none or it is bad */
  const yaml_node_t *node[MAX_SECTION_KEYS];
  bool ok[MAX_SECTION_KEYS];
  int code[MAX_SECTION_KEYS];  /* T_NAME values */
} section_read;

/* A list of numbers read for one key: a single number is fixed, anything else an axis. */
typedef struct numbers {
  double *v;
  size_t len;
  bool is_axis;
} numbers;

/* How to check one number, and how to name it in messages. */
typedef struct rule {
  const char *label;
  constraint check;
  bool whole;
  const char *forms;  /* other accepted forms, appended to type errors */
  double max;         /* upper bound, when > 0 */
} rule;

/* ------------------------------------------------------------------------------------------ */
/* Diagnostics                                                                                */

static void report(parser *p, lz_mark at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(parser *p, lz_mark at, const char *fmt, ...) {
  if (p->ndiag == MAX_DIAGNOSTICS) {
    p->dropped++;
    return;
  }
  if (p->ndiag == p->diag_cap) {
    size_t cap = p->diag_cap ? 2 * p->diag_cap : 16;
    diagnostic *grown = realloc(p->diag, cap * sizeof *grown);
    if (!grown) {
      p->oom = true;
      return;
    }
    p->diag = grown;
    p->diag_cap = cap;
  }
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char *copy = strdup(msg);
  if (!copy) {
    p->oom = true;
    return;
  }
  /* Positions outside the file (defaults) still need a LINE:COL for tools that parse them. */
  if (at.line <= 0) at = (lz_mark){1, 1};
  p->diag[p->ndiag] = (diagnostic){at, p->ndiag, copy};
  p->ndiag++;
}

static bool has_errors(const parser *p) { return p->ndiag > 0 || p->dropped > 0 || p->oom; }

static int by_position(const void *a, const void *b) {
  const diagnostic *x = a, *y = b;
  if (x->at.line != y->at.line) return x->at.line < y->at.line ? -1 : 1;
  if (x->at.col != y->at.col) return x->at.col < y->at.col ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* All diagnostics as "PATH:LINE:COL: message" lines, in file order. */
static char *join_diagnostics(parser *p) {
  qsort(p->diag, p->ndiag, sizeof *p->diag, by_position);
  size_t size = 128 + strlen(p->path);
  for (size_t i = 0; i < p->ndiag; ++i) size += strlen(p->path) + strlen(p->diag[i].msg) + 48;
  char *out = malloc(size);
  if (!out) return NULL;
  size_t used = 0;
  for (size_t i = 0; i < p->ndiag; ++i)
    used += (size_t)snprintf(out + used, size - used, "%s%s:%d:%d: %s", i ? "\n" : "", p->path,
                             p->diag[i].at.line, p->diag[i].at.col, p->diag[i].msg);
  if (p->dropped)
    used += (size_t)snprintf(out + used, size - used, "%s%s: %zu more errors not listed",
                             used ? "\n" : "", p->path, p->dropped);
  if (p->oom && !p->ndiag)
    snprintf(out + used, size - used, "%s: out of memory while reading the job file", p->path);
  return out;
}

static void free_diagnostics(parser *p) {
  for (size_t i = 0; i < p->ndiag; ++i) free(p->diag[i].msg);
  free(p->diag);
  p->diag = NULL;
  p->ndiag = 0;
}

static void *alloc_doubles(parser *p, size_t n) {
  double *v = n <= SIZE_MAX / sizeof *v ? malloc((n ? n : 1) * sizeof *v) : NULL;
  if (!v) p->oom = true;
  return v;
}

/* ------------------------------------------------------------------------------------------ */
/* YAML nodes                                                                                 */

static lz_mark mark_from_yaml(yaml_mark_t m) {
  lz_mark out = {m.line < INT32_MAX ? (int)m.line + 1 : INT32_MAX,
                 m.column < INT32_MAX ? (int)m.column + 1 : INT32_MAX};
  return out;
}

static lz_mark mark_of(const yaml_node_t *node) {
  return node ? mark_from_yaml(node->start_mark) : (lz_mark){1, 1};
}

static const yaml_node_t *node_at(const parser *p, int id) {
  return yaml_document_get_node(p->doc, id);
}

static bool is_map(const yaml_node_t *n) { return n && n->type == YAML_MAPPING_NODE; }
static bool is_list(const yaml_node_t *n) { return n && n->type == YAML_SEQUENCE_NODE; }
static bool is_scalar(const yaml_node_t *n) { return n && n->type == YAML_SCALAR_NODE; }

static size_t map_size(const yaml_node_t *map) {
  return (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
}

static size_t list_size(const yaml_node_t *list) {
  return (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
}

static const yaml_node_t *list_item(const parser *p, const yaml_node_t *list, size_t i) {
  return node_at(p, list->data.sequence.items.start[i]);
}

static const yaml_node_t *pair_key(const parser *p, const yaml_node_t *map, size_t i) {
  return node_at(p, map->data.mapping.pairs.start[i].key);
}

static const yaml_node_t *pair_value(const parser *p, const yaml_node_t *map, size_t i) {
  return node_at(p, map->data.mapping.pairs.start[i].value);
}

static const char *text_of(const yaml_node_t *scalar) {
  return (const char *)scalar->data.scalar.value;
}

static bool is_plain(const yaml_node_t *n) {
  return is_scalar(n) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool plain_text_is_one_of(const yaml_node_t *n, const char *const *words) {
  if (!is_plain(n)) return false;
  for (; *words; ++words)
    if (strcmp(text_of(n), *words) == 0) return true;
  return false;
}

static bool is_null(const yaml_node_t *n) {
  static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
  return plain_text_is_one_of(n, nulls);
}

static bool is_bool(const yaml_node_t *n) {
  /* YAML 1.1, which libyaml implements, reads all of these as booleans. */
  static const char *const bools[] = {"true", "True", "TRUE", "false", "False", "FALSE",
                                      "yes", "Yes", "YES", "no", "No", "NO",
                                      "on", "On", "ON", "off", "Off", "OFF", NULL};
  return plain_text_is_one_of(n, bools);
}

/* Scalar text the way a user wrote it, made safe to print: control bytes (binary files) are
 * replaced and long text is cut on a UTF-8 character boundary. */
static const char *printable(const yaml_node_t *n, char *buf, size_t size) {
  const unsigned char *s = n->data.scalar.value;
  size_t len = n->data.scalar.length, limit = size > 8 ? size - 4 : 0, j = 0;
  for (size_t i = 0; i < len && j < limit; ++i)
    buf[j++] = (s[i] < 0x20 || s[i] == 0x7f) ? '?' : (char)s[i];
  if (j < len) {
    while (j > 0 && (s[j] & 0xC0) == 0x80) --j;
    if (size > 8) {
      memcpy(buf + j, "...", 3);
      j += 3;
    }
  }
  buf[j < size ? j : size - 1] = '\0';
  return buf;
}

/* "a map", "null", "bool 'yes'", "string '4'", "'abc'": what a "got ..." names. */
static const char *describe(const yaml_node_t *n, char *buf, size_t size) {
  if (!n) return "nothing";
  if (n->type == YAML_MAPPING_NODE) return map_size(n) ? "a map" : "an empty map";
  if (n->type == YAML_SEQUENCE_NODE) return list_size(n) ? "a list" : "an empty list";
  if (n->type != YAML_SCALAR_NODE) return "nothing";
  if (is_null(n)) return "null";
  char text[64];
  printable(n, text, sizeof text);
  const char *what = is_bool(n) ? "bool " : is_plain(n) ? "" : "string ";
  snprintf(buf, size, "%s'%s'", what, text);
  return buf;
}

static int find_name(const char *const *names, const yaml_node_t *n) {
  if (!is_scalar(n) || is_null(n) || strlen(text_of(n)) != n->data.scalar.length) return -1;
  for (int i = 0; names[i]; ++i)
    if (strcmp(text_of(n), names[i]) == 0) return i;
  return -1;
}

static const char *join_names(const char *const *names, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; names[i] && used < size; ++i)
    used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
  return buf;
}

/* "4" or "[1, 2, 4, ...]" for messages. */
static const char *format_values(const double *v, size_t len, char *buf, size_t size) {
  if (len == 1) {
    snprintf(buf, size, "%.6g", v[0]);
    return buf;
  }
  size_t used = (size_t)snprintf(buf, size, "[");
  for (size_t i = 0; i < len && i < 6 && used < size; ++i)
    used += (size_t)snprintf(buf + used, size - used, "%s%.6g", i ? ", " : "", v[i]);
  if (used < size) snprintf(buf + used, size - used, "%s]", len > 6 ? ", ..." : "");
  return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* Numbers                                                                                    */

typedef enum { NUM_OK, NUM_NOT_A_NUMBER, NUM_NOT_FINITE, NUM_NOT_WHOLE, NUM_TOO_LARGE } num_status;

static bool looks_like_yaml_infinity_or_nan(const char *s) {
  static const char *const specials[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
                                         "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN", NULL};
  for (size_t i = 0; specials[i]; ++i)
    if (strcmp(s, specials[i]) == 0) return true;
  return false;
}

/* Quoted scalars are strings in YAML, so "4" is not accepted where a number is expected. */
static num_status parse_number(const yaml_node_t *n, bool whole, double *out) {
  if (!is_plain(n) || is_null(n) || is_bool(n)) return NUM_NOT_A_NUMBER;
  const char *s = text_of(n);
  size_t len = n->data.scalar.length;
  if (strlen(s) != len ||
      !(s[0] == '+' || s[0] == '-' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9')))
    return looks_like_yaml_infinity_or_nan(s) ? NUM_NOT_FINITE : NUM_NOT_A_NUMBER;
  if (looks_like_yaml_infinity_or_nan(s)) return NUM_NOT_FINITE;
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (end != s + len) return NUM_NOT_A_NUMBER;
  if (!isfinite(v)) return NUM_NOT_FINITE;
  if (whole) {
    /* strtoll for integer text: strtod would round 2^53 + 1 to 2^53 without a word. */
    errno = 0;
    long long i = strtoll(s, &end, 10);
    bool integer_text = end == s + len;
    if (integer_text && (errno == ERANGE || i > (long long)MAX_WHOLE || i < -(long long)MAX_WHOLE))
      return NUM_TOO_LARGE;
    if (integer_text) v = (double)i;
    if (v != floor(v)) return NUM_NOT_WHOLE;
    if (fabs(v) > MAX_WHOLE) return NUM_TOO_LARGE;
  }
  *out = v;
  return NUM_OK;
}

static bool meets(constraint c, double v) {
  switch (c) {
    case C_FINITE: return isfinite(v);
    case C_POSITIVE: return v > 0;
    case C_NONNEG: return v >= 0;
    case C_GT_ONE: return v > 1;
    case C_OPEN_UNIT: return v > 0 && v < 1;
    case C_SMALL_DIM: return v >= 1 && v <= LZ_MULTISCALE_MAX_DIM;
    case C_ORDER: return v == 0 || v == 1 || v == 2;
  }
  return false;
}

static const char *constraint_text(constraint c, bool whole) {
  switch (c) {
    case C_FINITE: return "";
    case C_POSITIVE: return whole ? ">= 1" : "> 0";
    case C_NONNEG: return ">= 0";
    case C_GT_ONE: return "> 1";
    case C_OPEN_UNIT: return "in (0, 1)";
    case C_SMALL_DIM: return "from 1 to 16";
    case C_ORDER: return "0, 1 or 2";
  }
  return "";
}

/* ">= 1", or ">= 1 and <= 10000" with an upper bound. */
static const char *range_text(const rule *r, char *buf, size_t size) {
  const char *c = constraint_text(r->check, r->whole);
  if (r->max > 0) snprintf(buf, size, "%s%s<= %.15g", c, *c ? " and " : "", r->max);
  else snprintf(buf, size, "%s", c);
  return buf;
}

/* "an integer >= 1", "a number in (0, 1)". */
static const char *expected_text(const rule *r, char *buf, size_t size) {
  char range[64];
  const char *c = range_text(r, range, sizeof range);
  snprintf(buf, size, "%s%s%s", r->whole ? "an integer" : "a number", *c ? " " : "", c);
  return buf;
}

static bool check_number(parser *p, const yaml_node_t *n, const rule *r, double *out) {
  char expected[64], got[96];
  double v = 0;
  switch (parse_number(n, r->whole, &v)) {
    case NUM_OK: break;
    case NUM_NOT_A_NUMBER:
      report(p, mark_of(n), "%s must be %s%s; got %s", r->label,
             expected_text(r, expected, sizeof expected), r->forms, describe(n, got, sizeof got));
      return false;
    case NUM_NOT_FINITE:
      report(p, mark_of(n), "%s must be a finite number; got %s", r->label,
             describe(n, got, sizeof got));
      return false;
    case NUM_NOT_WHOLE:
      report(p, mark_of(n), "%s must be %s; got %s, which is not an integer", r->label,
             expected_text(r, expected, sizeof expected), describe(n, got, sizeof got));
      return false;
    case NUM_TOO_LARGE:
      report(p, mark_of(n), "%s must be an integer of at most 2^53 = %.0f in magnitude; got %s",
             r->label, MAX_WHOLE, describe(n, got, sizeof got));
      return false;
  }
  if (!meets(r->check, v) || (r->max > 0 && v > r->max)) {
    report(p, mark_of(n), "%s must be %s, got %s", r->label,
           range_text(r, expected, sizeof expected), printable(n, got, sizeof got));
    return false;
  }
  *out = v;
  return true;
}

static const char *label_of(const key_spec *k) { return k->label ? k->label : k->name; }

static rule rule_of(const key_spec *k) {
  rule r = {label_of(k), k->check, (k->flags & F_INTEGER) || k->type == T_INT, "", k->max};
  return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Axes                                                                                       */

/* Takes ownership of values. */
static void add_axis(parser *p, slot_id s, double *values, size_t len, size_t width, lz_mark mark) {
  lz_axis *ax = &p->slot[s];
  const slot_spec *spec = &slot_specs[s];
  free(ax->values);  /* a slot is filled once; this only keeps a surprise from leaking */
  memset(ax, 0, sizeof *ax);
  snprintf(ax->name, sizeof ax->name, "%s", spec->name);
  ax->type = spec->type;
  ax->group = spec->group;
  ax->len = len;
  ax->width = width;
  ax->values = values;
  ax->labels = spec->labels;
  ax->is_integer = spec->is_integer;
  ax->units = spec->units;
  ax->description = spec->description;
  ax->mark = mark;
}

/* Whether an axis of len points still fits in the sweep: the product of the axes read so far
 * times len is at most MAX_RUNS. If not, the slot only records the axis' name, length and
 * place (values NULL) for check_run_count's message, and the caller must not make the values:
 * a few bytes of {linspace: [1, 2, 10000000]} on every key would otherwise have every rank
 * allocate and fill 80 MB per key before the sweep is refused. The caller then fails the key,
 * so that no parameter refers to the slot. */
static bool sweep_has_room(parser *p, slot_id s, size_t len, lz_mark mark) {
  int64_t runs = 1;
  bool over = false;
  for (int t = 1; t < SLOT_COUNT && !over; ++t) {
    size_t other = p->slot[t].len;
    if (t == (int)s || other == 0) continue;
    if (runs > MAX_RUNS / (int64_t)other) over = true;
    else runs *= (int64_t)other;
  }
  if (len <= 1 || (!over && runs <= MAX_RUNS / (int64_t)len)) return true;
  add_axis(p, s, NULL, len, 1, mark);
  return false;
}

/* The values a parameter takes over the sweep (one when fixed). While parsing, axis holds a
 * slot id. */
static const double *param_values(const parser *p, const lz_param *param, size_t *len) {
  if (param->axis > 0) {
    *len = p->slot[param->axis].len;
    return p->slot[param->axis].values;
  }
  *len = 1;
  return &param->value;
}

static bool param_is_single(const parser *p, const lz_param *param) {
  size_t len;
  param_values(p, param, &len);
  return len == 1;
}

static double param_min(const parser *p, const lz_param *param) {
  size_t len;
  const double *v = param_values(p, param, &len);
  double m = v[0];
  for (size_t i = 1; i < len; ++i) m = v[i] < m ? v[i] : m;
  return m;
}

static bool param_takes(const parser *p, const lz_param *param, double value) {
  size_t len;
  const double *v = param_values(p, param, &len);
  for (size_t i = 0; i < len; ++i)
    if (v[i] == value) return true;
  return false;
}

static const char *param_text(const parser *p, const lz_param *param, char *buf, size_t size) {
  size_t len;
  const double *v = param_values(p, param, &len);
  return format_values(v, len, buf, size);
}

/* ------------------------------------------------------------------------------------------ */
/* Values: sweeps, generators, choices, vectors, strings                                      */

static bool read_one_number(parser *p, const yaml_node_t *n, const key_spec *k, numbers *out) {
  rule r = rule_of(k);
  r.forms = ", a list of them, or {linspace|logspace|geomspace: [start, stop, num]}";
  out->v = alloc_doubles(p, 1);
  out->len = 1;
  out->is_axis = false;
  return out->v && check_number(p, n, &r, &out->v[0]);
}

static bool read_number_list(parser *p, const yaml_node_t *list, const key_spec *k, numbers *out) {
  size_t len = list_size(list);
  if (len == 0) {
    report(p, mark_of(list), "%s is an empty list; give at least one value", label_of(k));
    return false;
  }
  if (len > AXIS_MAX_LEN) {
    report(p, mark_of(list), "%s has %zu values; an axis has at most %d", label_of(k), len,
           AXIS_MAX_LEN);
    return false;
  }
  if (!sweep_has_room(p, k->slot, len, mark_of(list))) return false;
  out->v = alloc_doubles(p, len);
  out->len = len;
  out->is_axis = true;
  if (!out->v) return false;
  rule r = rule_of(k);
  bool ok = true;
  for (size_t i = 0; i < len; ++i)
    if (!check_number(p, list_item(p, list, i), &r, &out->v[i])) ok = false;
  return ok;
}

static bool read_generator_args(parser *p, const yaml_node_t *args, const key_spec *k,
                                const char *gen, double *a, double *b, double *num) {
  char got[96], label[96];
  if (!is_list(args) || list_size(args) != 3) {
    report(p, mark_of(args), "%s: %s takes [start, stop, num]; got %s", label_of(k), gen,
           is_list(args) ? "a list of the wrong length" : describe(args, got, sizeof got));
    return false;
  }
  snprintf(label, sizeof label, "%s: %s start", label_of(k), gen);
  rule start = {label, C_FINITE, false, "", 0};
  bool ok = check_number(p, list_item(p, args, 0), &start, a);
  snprintf(label, sizeof label, "%s: %s stop", label_of(k), gen);
  rule stop = {label, C_FINITE, false, "", 0};
  ok = check_number(p, list_item(p, args, 1), &stop, b) && ok;
  snprintf(label, sizeof label, "%s: %s num", label_of(k), gen);
  rule count = {label, C_POSITIVE, true, "", 0};
  ok = check_number(p, list_item(p, args, 2), &count, num) && ok;
  if (ok && *num > AXIS_MAX_LEN) {
    report(p, mark_of(list_item(p, args, 2)),
           "%s must be at most %d (points on one axis), got %.0f", label, AXIS_MAX_LEN, *num);
    ok = false;
  }
  return ok;
}

/* Like numpy.linspace / logspace / geomspace, ends included. */
static void generate(generator gen, double a, double b, size_t num, double *v) {
  double step = num > 1 ? (b - a) / (double)(num - 1) : 0.0;
  if (gen == GEN_GEOMSPACE) {
    double sign = a < 0 ? -1.0 : 1.0, la = log10(fabs(a)), lb = log10(fabs(b));
    step = num > 1 ? (lb - la) / (double)(num - 1) : 0.0;
    for (size_t i = 0; i < num; ++i) v[i] = sign * pow(10.0, la + (double)i * step);
    v[0] = a;
    if (num > 1) v[num - 1] = b;
    return;
  }
  for (size_t i = 0; i < num; ++i) v[i] = a + (double)i * step;
  if (num > 1) v[num - 1] = b;
  if (gen == GEN_LOGSPACE)
    for (size_t i = 0; i < num; ++i) v[i] = pow(10.0, v[i]);
}

/* Generated values are checked one by one; the error points at start or stop when that end is
 * the culprit. Integer keys accept values within rounding of an integer. */
static bool check_generated(parser *p, const key_spec *k, const yaml_node_t *args, const char *gen,
                            numbers *nums) {
  rule r = rule_of(k);
  for (size_t i = 0; i < nums->len; ++i) {
    double v = nums->v[i];
    const yaml_node_t *at = i == 0 ? list_item(p, args, 0)
                          : i == nums->len - 1 ? list_item(p, args, 1) : args;
    if (!isfinite(v)) {
      report(p, mark_of(at), "%s: %s gives %g at value %zu of %zu; every value must be finite",
             r.label, gen, v, i + 1, nums->len);
      return false;
    }
    if (r.whole) {
      double whole = nearbyint(v);
      if (fabs(v - whole) > 1e-9 * fmax(1.0, fabs(whole)) || fabs(whole) > MAX_WHOLE) {
        report(p, mark_of(at), "%s must be integers, but %s gives %.6g at value %zu of %zu",
               r.label, gen, v, i + 1, nums->len);
        return false;
      }
      nums->v[i] = v = whole;
    }
    if (!meets(r.check, v)) {
      report(p, mark_of(at), "%s must be %s, got %.6g (value %zu of %zu from %s)", r.label,
             constraint_text(r.check, r.whole), v, i + 1, nums->len, gen);
      return false;
    }
  }
  return true;
}

static bool read_generated(parser *p, const yaml_node_t *map, const key_spec *k, numbers *out) {
  char got[96];
  if (map_size(map) != 1) {
    report(p, mark_of(map), "%s: a generated axis is a map with exactly one of linspace, logspace, "
           "geomspace; got %zu keys", label_of(k), map_size(map));
    return false;
  }
  const yaml_node_t *key = pair_key(p, map, 0), *args = pair_value(p, map, 0);
  int gen = find_name(generator_names, key);
  if (gen < 0) {
    report(p, mark_of(key), "%s: unknown generator %s; allowed: linspace, logspace, geomspace",
           label_of(k), describe(key, got, sizeof got));
    return false;
  }
  double a = 0, b = 0, num = 0;
  if (!read_generator_args(p, args, k, generator_names[gen], &a, &b, &num)) return false;
  if (gen == GEN_GEOMSPACE && !((a > 0 && b > 0) || (a < 0 && b < 0))) {
    report(p, mark_of(args), "%s: geomspace needs start and stop nonzero and of the same sign, "
           "got %g and %g", label_of(k), a, b);
    return false;
  }
  if (!sweep_has_room(p, k->slot, (size_t)num, mark_of(map))) return false;
  out->len = (size_t)num;
  out->is_axis = true;
  out->v = alloc_doubles(p, out->len);
  if (!out->v) return false;
  generate((generator)gen, a, b, out->len, out->v);
  return check_generated(p, k, args, generator_names[gen], out);
}

static bool read_sweep_values(parser *p, const yaml_node_t *n, const key_spec *k, numbers *out) {
  if (is_list(n)) return read_number_list(p, n, k, out);
  if (is_map(n)) return read_generated(p, n, k, out);
  return read_one_number(p, n, k, out);
}

static bool read_sweep(parser *p, const yaml_node_t *n, const key_spec *k, lz_param *param) {
  numbers nums = {0};
  if (!read_sweep_values(p, n, k, &nums)) {
    free(nums.v);
    return false;
  }
  param->mark = mark_of(n);
  param->value = nums.v[0];
  param->axis = -1;
  if (nums.is_axis || (k->flags & F_ALWAYS_AXIS)) {
    add_axis(p, k->slot, nums.v, nums.len, 1, param->mark);
    param->axis = (int)k->slot;
  } else {
    free(nums.v);
  }
  return true;
}

static bool read_name(parser *p, const yaml_node_t *n, const key_spec *k, int *code) {
  char got[96], allowed[256];
  *code = find_name(k->names, n);
  if (*code >= 0) return true;
  report(p, mark_of(n), "%s must be one of %s; got %s", label_of(k),
         join_names(k->names, allowed, sizeof allowed), describe(n, got, sizeof got));
  return false;
}

static bool read_choice_list(parser *p, const yaml_node_t *list, const key_spec *k,
                             lz_param *param) {
  size_t len = list_size(list);
  if (len == 0) {
    report(p, mark_of(list), "%s is an empty list; give at least one value", label_of(k));
    return false;
  }
  double *codes = alloc_doubles(p, len);
  if (!codes) return false;
  bool ok = true;
  for (size_t i = 0; i < len; ++i) {
    int code = 0;
    if (read_name(p, list_item(p, list, i), k, &code)) codes[i] = code;
    else ok = false;
  }
  if (!ok) {
    free(codes);
    return false;
  }
  param->value = codes[0];
  add_axis(p, k->slot, codes, len, 1, param->mark);
  param->axis = (int)k->slot;
  return true;
}

static bool read_choice(parser *p, const yaml_node_t *n, const key_spec *k, lz_param *param) {
  param->mark = mark_of(n);
  param->axis = -1;
  if (is_list(n)) return read_choice_list(p, n, k, param);
  if (is_map(n)) {
    char allowed[256];
    report(p, mark_of(n), "%s must be one of %s, or a list of them; got a map", label_of(k),
           join_names(k->names, allowed, sizeof allowed));
    return false;
  }
  int code = 0;
  if (!read_name(p, n, k, &code)) return false;
  param->value = code;
  return true;
}

static bool read_fixed_vector(parser *p, const yaml_node_t *list, const key_spec *k,
                              lz_vparam *vp) {
  size_t len = list_size(list);
  if (len > VECTOR_MAX_LEN) {
    report(p, mark_of(list), "%s has %zu entries; at most %d are allowed", label_of(k), len,
           VECTOR_MAX_LEN);
    return false;
  }
  double *v = alloc_doubles(p, len);
  if (!v) return false;
  rule r = rule_of(k);
  bool ok = true;
  for (size_t i = 0; i < len; ++i)
    if (!check_number(p, list_item(p, list, i), &r, &v[i])) ok = false;
  if (!ok) {
    free(v);
    return false;
  }
  vp->axis = -1;
  vp->len = len;
  vp->value = v;
  return true;
}

/* Every row of a vector axis is a list of the same length as the first. */
static bool check_vector_rows(parser *p, const yaml_node_t *list, const key_spec *k,
                              size_t *width) {
  char got[96];
  size_t rows = list_size(list);
  bool ok = true;
  *width = 0;
  for (size_t i = 0; i < rows; ++i) {
    const yaml_node_t *row = list_item(p, list, i);
    if (!is_list(row)) {
      report(p, mark_of(row), "%s: a vector axis is a list of lists of numbers; vector %zu is %s",
             label_of(k), i + 1, describe(row, got, sizeof got));
      ok = false;
    } else if (i == 0) {
      *width = list_size(row);
      if (*width == 0 || *width > VECTOR_MAX_LEN) {
        report(p, mark_of(row), "%s: a vector has 1 to %d entries; vector 1 has %zu", label_of(k),
               VECTOR_MAX_LEN, *width);
        return false;
      }
    } else if (list_size(row) != *width) {
      report(p, mark_of(row), "%s: all vectors on an axis must have the same length; vector %zu "
             "has %zu entries, vector 1 has %zu", label_of(k), i + 1, list_size(row), *width);
      ok = false;
    }
  }
  if (ok && rows > AXIS_MAX_VALUES / *width) {
    report(p, mark_of(list), "%s: %zu vectors of %zu entries are too many (at most %d numbers)",
           label_of(k), rows, *width, AXIS_MAX_VALUES);
    ok = false;
  }
  return ok;
}

static bool read_vector_axis(parser *p, const yaml_node_t *list, const key_spec *k, lz_vparam *vp) {
  size_t rows = list_size(list), width = 0;
  if (rows > AXIS_MAX_LEN) {
    report(p, mark_of(list), "%s has %zu vectors; an axis has at most %d", label_of(k), rows,
           AXIS_MAX_LEN);
    return false;
  }
  if (!check_vector_rows(p, list, k, &width)) return false;
  if (!sweep_has_room(p, k->slot, rows, vp->mark)) return false;
  double *v = alloc_doubles(p, rows * width);
  if (!v) return false;
  rule r = rule_of(k);
  bool ok = true;
  for (size_t i = 0; i < rows; ++i) {
    const yaml_node_t *row = list_item(p, list, i);
    for (size_t j = 0; j < width; ++j)
      if (!check_number(p, list_item(p, row, j), &r, &v[i * width + j])) ok = false;
  }
  if (!ok) {
    free(v);
    return false;
  }
  add_axis(p, k->slot, v, rows, width, vp->mark);
  vp->axis = (int)k->slot;
  vp->len = width;
  vp->value = NULL;
  return true;
}

static bool read_vector(parser *p, const yaml_node_t *n, const key_spec *k, lz_vparam *vp) {
  char got[96];
  vp->mark = mark_of(n);
  if (!is_list(n)) {
    report(p, mark_of(n), "%s must be a list of numbers, or a list of equal-length lists to sweep "
           "it; got %s", label_of(k), describe(n, got, sizeof got));
    return false;
  }
  if (list_size(n) == 0) {
    report(p, mark_of(n), "%s is an empty list; give at least one number", label_of(k));
    return false;
  }
  if (is_list(list_item(p, n, 0))) return read_vector_axis(p, n, k, vp);
  return read_fixed_vector(p, n, k, vp);
}

static bool read_string(parser *p, const yaml_node_t *n, const key_spec *k, char **dst) {
  char got[96];
  if (!is_scalar(n) || is_null(n)) {
    report(p, mark_of(n), "%s must be a string; got %s", label_of(k), describe(n, got, sizeof got));
    return false;
  }
  if (strlen(text_of(n)) != n->data.scalar.length) {
    report(p, mark_of(n), "%s must not contain NUL characters", label_of(k));
    return false;
  }
  if (n->data.scalar.length == 0) {
    report(p, mark_of(n), "%s must not be empty", label_of(k));
    return false;
  }
  /* Strings reach the terminal and file names: control characters could rewrite the screen. */
  for (const unsigned char *c = (const unsigned char *)text_of(n); *c; ++c)
    if (*c < 0x20 || *c == 0x7f) {
      report(p, mark_of(n), "%s must not contain control characters (found 0x%02x)",
             label_of(k), (unsigned)*c);
      return false;
    }
  /* The name makes the default output results/<name>.h5 and names the job in messages. */
  if (k->offset == OFF(name) && (strchr(text_of(n), '/') || text_of(n)[0] == '.')) {
    report(p, mark_of(n), "name must not contain '/' or start with '.' (it names the default "
           "output results/<name>.h5); got '%s'; set output for another place", text_of(n));
    return false;
  }
  free(*dst);
  *dst = strdup(text_of(n));
  if (!*dst) p->oom = true;
  return *dst != NULL;
}

static bool read_int(parser *p, const yaml_node_t *n, const key_spec *k, int64_t *dst) {
  rule r = rule_of(k);
  r.whole = true;
  double v = 0;
  if (!check_number(p, n, &r, &v)) return false;
  *dst = (int64_t)v;
  return true;
}

static bool read_number(parser *p, const yaml_node_t *n, const key_spec *k, double *dst) {
  rule r = rule_of(k);
  return check_number(p, n, &r, dst);
}

/* ------------------------------------------------------------------------------------------ */
/* Sections: keys, duplicates, kinds, required keys and defaults                              */

static bool key_applies(const key_spec *k, int kind) {
  return k->kinds == 0 || kind < 0 || (k->kinds & LZ_KIND_BIT(kind));
}

static int find_key(const section *sec, const yaml_node_t *key) {
  if (!is_scalar(key) || strlen(text_of(key)) != key->data.scalar.length) return -1;
  for (size_t i = 0; i < sec->nkeys; ++i)
    if (strcmp(text_of(key), sec->keys[i].name) == 0) return (int)i;
  return -1;
}

/* Keys allowed in a section for one of its kinds (or all kinds when kind < 0). */
static const char *allowed_keys(const section *sec, int kind, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < sec->nkeys && used < size; ++i)
    if (key_applies(&sec->keys[i], kind))
      used +=
          (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "", sec->keys[i].name);
  return buf;
}

static void read_kind(parser *p, const section *sec, const yaml_node_t *map, section_read *r) {
  for (size_t i = 0; i < map_size(map); ++i)
    if (find_key(sec, pair_key(p, map, i)) == 0) {
      const yaml_node_t *value = pair_value(p, map, i);
      r->node[0] = value;
      r->ok[0] = read_name(p, value, &sec->keys[0], &r->kind);
      if (!r->ok[0]) r->kind = -1;
      return;
    }
  char names[256];
  report(p, mark_of(map), "missing required key 'kind' %s; allowed kinds: %s", sec->where,
         join_names(sec->kinds, names, sizeof names));
}

static void report_unknown_key(parser *p, const section *sec, const yaml_node_t *key, int kind) {
  char got[96], allowed[512];
  if (!is_scalar(key)) {
    report(p, mark_of(key), "keys %s must be plain names; got %s", sec->where,
           describe(key, got, sizeof got));
    return;
  }
  report(p, mark_of(key), "unknown key '%s' %s; allowed: %s", printable(key, got, sizeof got),
         sec->where, allowed_keys(sec, kind, allowed, sizeof allowed));
}

static void report_key_of_other_kind(parser *p, const section *sec, const yaml_node_t *key,
                                     int kind) {
  char allowed[512];
  const char *kind_name = sec->kinds[kind];
  report(p, mark_of(key), "key '%s' does not apply to %s kind %s; allowed for %s: %s", text_of(key),
         sec->name, kind_name, kind_name, allowed_keys(sec, kind, allowed, sizeof allowed));
}

/* Finds each key's value node; reports unknown, duplicate and other-kind keys. */
static void collect_keys(parser *p, const section *sec, const yaml_node_t *map, section_read *r) {
  const yaml_node_t *seen[MAX_SECTION_KEYS] = {0};
  for (size_t i = 0; i < map_size(map); ++i) {
    const yaml_node_t *key = pair_key(p, map, i);
    int k = find_key(sec, key);
    if (k < 0) {
      report_unknown_key(p, sec, key, r->kind);
    } else if (seen[k]) {
      report(p, mark_of(key), "duplicate key '%s' %s (first given at line %d)", sec->keys[k].name,
             sec->where, mark_of(seen[k]).line);
    } else {
      seen[k] = key;
      if (!key_applies(&sec->keys[k], r->kind)) report_key_of_other_kind(p, sec, key, r->kind);
      else if (!(sec->kinds && k == 0)) r->node[k] = pair_value(p, map, i);
    }
  }
}

static void apply_default(parser *p, const key_spec *k, section_read *r, size_t i) {
  if (k->flags & F_DEFAULT_LATER) return;
  void *dst = (char *)p->job + k->offset;
  switch (k->type) {
    case T_NAME: r->code[i] = (int)k->dflt; break;
    /* seed is a uint64_t: writing it through int64_t is allowed (same size, signedness only). */
    case T_INT: *(int64_t *)dst = (int64_t)k->dflt; break;
    case T_NUMBER: *(double *)dst = k->dflt; break;
    case T_SWEEP:
    case T_CHOICE: *(lz_param *)dst = (lz_param){-1, k->dflt, {0, 0}}; break;
    default: break;
  }
}

/* Every key's default, as for an absent optional map. */
static void apply_defaults(parser *p, const section *sec, section_read *r) {
  for (size_t i = sec->kinds ? 1 : 0; i < sec->nkeys; ++i) apply_default(p, &sec->keys[i], r, i);
}

static bool read_value(parser *p, const key_spec *k, const yaml_node_t *n, section_read *r,
                       size_t i) {
  void *dst = (char *)p->job + k->offset;
  switch (k->type) {
    case T_NAME: return read_name(p, n, k, &r->code[i]);
    case T_STRING: return read_string(p, n, k, (char **)dst);
    case T_INT: return read_int(p, n, k, (int64_t *)dst);
    case T_NUMBER: return read_number(p, n, k, (double *)dst);
    case T_SWEEP: return read_sweep(p, n, k, (lz_param *)dst);
    case T_CHOICE: return read_choice(p, n, k, (lz_param *)dst);
    case T_VECTOR: return read_vector(p, n, k, (lz_vparam *)dst);
    case T_SPECIAL: return true;
  }
  return false;
}

static void report_missing_key(parser *p, const section *sec, const key_spec *k, int kind,
                               lz_mark at) {
  char for_kind[64] = "";
  if (sec->kinds && k->kinds) snprintf(for_kind, sizeof for_kind, " for kind %s", sec->kinds[kind]);
  report(p, at, "missing required key '%s' %s%s%s%s", k->name, sec->where, for_kind,
         k->help ? ": " : "", k->help ? k->help : "");
}

static void read_keys(parser *p, const section *sec, section_read *r) {
  lz_mark at = r->map ? mark_of(r->map) : p->top_mark;
  for (size_t i = sec->kinds ? 1 : 0; i < sec->nkeys; ++i) {
    const key_spec *k = &sec->keys[i];
    if (!key_applies(k, r->kind)) continue;
    if (r->node[i]) {
      r->ok[i] = read_value(p, k, r->node[i], r, i);
      if (!r->ok[i]) apply_default(p, k, r, i);  /* keeps later checks on sane values */
    } else if (k->flags & F_REQUIRED) {
      report_missing_key(p, sec, k, r->kind, at);
    } else {
      apply_default(p, k, r, i);
      r->ok[i] = true;
    }
  }
}

/* Reads a map against its table. map may be NULL for an absent optional section (defaults
 * only). Returns false when the kind-specific keys could not be read. */
static bool read_section(parser *p, const section *sec, const yaml_node_t *map, section_read *r) {
  memset(r, 0, sizeof *r);
  r->kind = -1;
  if (map && !is_map(map)) {
    char got[96], allowed[512];
    report(p, mark_of(map), "%s must be a map with keys %s; got %s", sec->name,
           allowed_keys(sec, -1, allowed, sizeof allowed), describe(map, got, sizeof got));
    /* Later checks read run and tiles values even when their section was unreadable. */
    if (!sec->kinds) apply_defaults(p, sec, r);
    return false;
  }
  r->map = map;
  if (map && sec->kinds) read_kind(p, sec, map, r);
  if (map) collect_keys(p, sec, map, r);
  if (sec->kinds && r->kind < 0) return false;
  read_keys(p, sec, r);
  return true;
}

/* ------------------------------------------------------------------------------------------ */
/* problem                                                                                    */

static void read_activation(parser *p, const yaml_node_t *n) {
  lz_job *job = p->job;
  job->problem.activation = (lz_param){-1, LZ_ACT_NONE, {0, 0}};
  job->problem.alpha = (lz_param){-1, 0.01, {0, 0}};
  if (!n) return;
  if (!is_map(n)) {
    read_choice(p, n, &activation_name_key, &job->problem.activation);
    return;
  }
  section_read r;
  read_section(p, &activation_section, n, &r);
  if (r.node[ACT_ALPHA] && r.ok[ACT_ALPHA] && r.ok[ACT_KIND] &&
      !param_takes(p, &job->problem.activation, LZ_ACT_LEAKY_RELU)) {
    report(p, job->problem.alpha.mark, "alpha is the slope of leaky_relu, but activation kind has "
           "no leaky_relu; remove alpha or use kind leaky_relu");
  }
}

/* The 1 x 1 problem (mu - x y)^2 / 2 has n = d = 1 by definition. */
static void check_scalar_target_shape(parser *p, const section_read *prob) {
  const lz_param *dims[2] = {&p->job->problem.n, &p->job->problem.d};
  const char *names[2] = {"n", "d"};
  for (int i = 0; i < 2; ++i) {
    char got[128];
    if (!prob->ok[i == 0 ? PRB_N : PRB_D]) continue;
    if (param_is_single(p, dims[i]) && dims[i]->value == 1) continue;
    report(p, dims[i]->mark,
           "a scalar target is the 1 x 1 problem (mu - x y)^2 / 2, so %s must be 1; "
           "got %s = %s",
           names[i], names[i], param_text(p, dims[i], got, sizeof got));
  }
}

static void read_rank(parser *p, const section_read *r, const section_read *prob) {
  lz_job *job = p->job;
  lz_vparam *sv = &job->problem.target.singular_values;
  const yaml_node_t *rank_node = r->node[TGT_RANK];
  int64_t rank = (int64_t)sv->len;
  bool ok = r->ok[TGT_SINGULAR_VALUES];
  if (rank_node) {
    ok = read_int(p, rank_node, &target_keys[TGT_RANK], &rank) && ok;
    if (ok && rank != (int64_t)sv->len) {
      report(p, mark_of(rank_node), "rank must equal the number of singular_values (%zu), got %lld",
             sv->len, (long long)rank);
      ok = false;
    }
  }
  lz_mark at = rank_node ? mark_of(rank_node) : sv->mark;
  job->problem.target.rank = (lz_param){-1, (double)rank, at};
  if (!ok || !prob->ok[PRB_N]) return;
  size_t len;
  const double *n = param_values(p, &job->problem.n, &len);
  for (size_t i = 0; i < len; ++i)
    if ((double)rank > n[i]) {
      report(p, at, "a lowrank target needs rank <= n for every n, but rank is %lld and n can be "
             "%.0f", (long long)rank, n[i]);
      return;
    }
}

static bool is_absolute_path(const char *path) { return path[0] == '/'; }

/* A relative target path means "next to the job file", wherever lrzoo is started from. */
static void resolve_target_path(parser *p) {
  char **path = &p->job->problem.target.path;
  const char *slash = strrchr(p->path, '/');
  if (!*path || is_absolute_path(*path) || !slash) return;
  size_t dir_len = (size_t)(slash - p->path) + 1, len = strlen(*path);
  char *full = malloc(dir_len + len + 1);
  if (!full) {
    p->oom = true;
    return;
  }
  memcpy(full, p->path, dir_len);
  memcpy(full + dir_len, *path, len + 1);
  free(*path);
  *path = full;
}

static void read_file_target(parser *p, const section_read *r, const section_read *prob) {
  lz_param *n = &p->job->problem.n;
  if (r->ok[TGT_PATH]) resolve_target_path(p);
  if (prob->ok[PRB_N] && !param_is_single(p, n)) {
    char got[128];
    report(p, n->mark,
           "a file target is one fixed n x n matrix, so n must be a single value; got %s",
           param_text(p, n, got, sizeof got));
  }
}

static void read_target(parser *p, const yaml_node_t *n, const section_read *prob) {
  lz_job *job = p->job;
  job->problem.target.kind = LZ_TARGET_GAUSSIAN;
  job->problem.target.scale = (lz_param){-1, 1.0, {0, 0}};
  job->problem.target.mark = n ? mark_of(n) : job->problem.mark;
  if (!n) return;
  section_read r;
  if (!read_section(p, &target_section, n, &r)) return;
  job->problem.target.kind = (lz_target_kind)r.kind;
  switch (job->problem.target.kind) {
    case LZ_TARGET_SCALAR: check_scalar_target_shape(p, prob); break;
    case LZ_TARGET_LOWRANK: read_rank(p, &r, prob); break;
    case LZ_TARGET_FILE: read_file_target(p, &r, prob); break;
    default: break;
  }
}

static void settle_quadratic(parser *p, const section_read *r) {
  p->eigenvalues_ok = r->ok[PRB_EIGENVALUES];
  if (!p->eigenvalues_ok) return;
  p->shape = (state_shape){.known = true, .fixed = true,
                           .dim = (double)p->job->problem.eigenvalues.len};
  snprintf(p->shape.how, sizeof p->shape.how, "quadratic: one entry per eigenvalue");
}

static void settle_mf(parser *p, const section_read *r) {
  lz_job *job = p->job;
  read_activation(p, r->node[PRB_ACTIVATION]);
  read_target(p, r->node[PRB_TARGET], r);
  if (!r->ok[PRB_N] || !r->ok[PRB_D]) return;
  p->shape.known = true;
  p->shape.fixed = param_is_single(p, &job->problem.n) && param_is_single(p, &job->problem.d);
  char vals[96];
  if (p->shape.fixed) {
    p->shape.dim = 2.0 * job->problem.n.value * job->problem.d.value;
    snprintf(p->shape.how, sizeof p->shape.how, "mf: 2*n*d = 2*%.0f*%.0f, X row-major then Y",
             job->problem.n.value, job->problem.d.value);
  } else {
    const lz_param *swept = param_is_single(p, &job->problem.n) ? &job->problem.d : &job->problem.n;
    snprintf(p->shape.how, sizeof p->shape.how, "%s is swept (%s at line %d), so 2*n*d varies",
             swept == &job->problem.n ? "n" : "d", param_text(p, swept, vals, sizeof vals),
             swept->mark.line);
  }
}

static void settle_multiscale(parser *p, const section_read *r) {
  lz_job *job = p->job;
  char vals[96];
  if (r->ok[PRB_F0] && r->ok[PRB_DIM] && param_takes(p, &job->problem.f0, LZ_F0_MATYAS) &&
      param_takes(p, &job->problem.dim, 1)) {
    report(p, job->problem.f0.mark, "f0 matyas is two-dimensional, but dim can be 1 (dim = %s%s); "
           "set dim: 2", param_text(p, &job->problem.dim, vals, sizeof vals),
           r->node[PRB_DIM] ? "" : ", the default");
  }
  if (r->node[PRB_RATIO] && r->ok[PRB_F1] &&
      !param_takes(p, &job->problem.f1, LZ_F1_QUASIPERIODIC)) {
    report(p, mark_of(r->node[PRB_RATIO]),
           "ratio is only used by f1 quasiperiodic, but f1 is sine; "
           "remove ratio or set f1: quasiperiodic");
  }
  /* Without an amplitude, f1 = eps sin(x / eps): its gradient stays of order one. */
  if (!r->node[PRB_AMPLITUDE] && r->ok[PRB_EPS]) {
    job->problem.amplitude = job->problem.eps;
    job->problem.amplitude.mark = (lz_mark){0, 0};
  }
  if (!r->ok[PRB_DIM]) return;
  p->shape.known = true;
  p->shape.fixed = param_is_single(p, &job->problem.dim);
  p->shape.dim = job->problem.dim.value;
  if (p->shape.fixed)
    snprintf(p->shape.how, sizeof p->shape.how, "multiscale: dim");
  else
    snprintf(p->shape.how, sizeof p->shape.how, "dim is swept (%s at line %d)",
             param_text(p, &job->problem.dim, vals, sizeof vals), job->problem.dim.mark.line);
}

static bool read_range(parser *p, const yaml_node_t *n, const key_spec *k, double *lo,
                       double *hi);

static void read_mlp_data(parser *p, const yaml_node_t *n) {
  lz_job *job = p->job;
  section_read r;
  job->problem.data.mark = mark_of(n);
  if (!read_section(p, &data_section, n, &r)) return;
  job->problem.data.sampling = (lz_data_sampling)r.code[DAT_SAMPLING];
  job->problem.data.g0 = (lz_g0_kind)r.code[DAT_G0];
  if (r.node[DAT_RANGE])
    read_range(p, r.node[DAT_RANGE], &data_keys[DAT_RANGE], &job->problem.data.lo,
               &job->problem.data.hi);
}

static void settle_mlp(parser *p, const section_read *r) {
  lz_job *job = p->job;
  job->problem.mlp_activation = LZ_MLP_TANH;
  const yaml_node_t *act = r->node[PRB_ACTIVATION];
  int code = LZ_MLP_TANH;
  if (act && read_name(p, act, &mlp_activation_key, &code))
    job->problem.mlp_activation = (lz_mlp_activation)code;
  if (r->node[PRB_DATA]) read_mlp_data(p, r->node[PRB_DATA]);
  if (!r->ok[PRB_WIDTH]) return;
  p->shape.known = true;
  p->shape.fixed = true;
  p->shape.dim = 3.0 * (double)job->problem.width + 1.0;
  snprintf(p->shape.how, sizeof p->shape.how, "mlp: 3*width + 1 = [W1 | b1 | w2 | b2]");
}

static void read_problem(parser *p, const yaml_node_t *n) {
  section_read r;
  if (!read_section(p, &problem_section, n, &r)) return;
  p->problem_known = true;
  p->job->problem.kind = (lz_problem_kind)r.kind;
  p->job->problem.mark = mark_of(r.node[PRB_KIND]);
  switch (p->job->problem.kind) {
    case LZ_PROBLEM_QUADRATIC: settle_quadratic(p, &r); break;
    case LZ_PROBLEM_MF: settle_mf(p, &r); break;
    case LZ_PROBLEM_MULTISCALE: settle_multiscale(p, &r); break;
    case LZ_PROBLEM_MLP: settle_mlp(p, &r); break;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* init                                                                                       */

static void check_state_dimension(parser *p, const yaml_node_t *at, const char *what, size_t len) {
  if (!p->shape.known) return;
  const char *kind = lz_init_kind_names[p->job->init.kind];
  if (!p->shape.fixed) {
    report(p, mark_of(at), "init kind %s needs one state dimension for the whole sweep, but %s; "
           "give it a single value or use init kind gaussian", kind, p->shape.how);
  } else if ((double)len != p->shape.dim) {
    report(p, mark_of(at), "%s has %zu entries, but the state of this problem has %.0f (%s)", what,
           len, p->shape.dim, p->shape.how);
  }
}

static void add_replica_axis(parser *p, const section_read *r) {
  lz_job *job = p->job;
  if (job->init.replicas > AXIS_MAX_LEN) {
    report(p, mark_of(r->node[INI_REPLICAS]),
           "replicas must be at most %d (points on one axis), got %lld", AXIS_MAX_LEN,
           (long long)job->init.replicas);
    return;
  }
  size_t len = (size_t)job->init.replicas;
  lz_mark mark = r->node[INI_REPLICAS] ? mark_of(r->node[INI_REPLICAS]) : (lz_mark){0, 0};
  if (!sweep_has_room(p, S_REPLICA, len, mark)) return;
  double *v = alloc_doubles(p, len);
  if (!v) return;
  for (size_t i = 0; i < len; ++i) v[i] = (double)i;
  add_axis(p, S_REPLICA, v, len, 1, mark);
  job->init.replica_axis = S_REPLICA;
}

static void read_gaussian_init(parser *p, const section_read *r) {
  if (r->ok[INI_REPLICAS]) add_replica_axis(p, r);
  const yaml_node_t *imbalance = r->node[INI_IMBALANCE];
  if (imbalance && p->problem_known && p->job->problem.kind != LZ_PROBLEM_MF) {
    report(p, mark_of(imbalance), "imbalance scales the mf factors X and Y, so it is only allowed "
           "for problem kind mf, not %s", lz_problem_kind_names[p->job->problem.kind]);
  }
}

/* lo, hi and points: lists of 1 or 2 numbers. */
static bool read_corner(parser *p, const yaml_node_t *n, const key_spec *k, double out[2],
                        size_t *count) {
  char got[96];
  *count = 0;
  if (!n) return false;
  if (!is_list(n) || list_size(n) < 1 || list_size(n) > LZ_GRID_MAX_DIM) {
    report(p, mark_of(n), "%s must be a list of 1 or 2 %s; got %s", k->name,
           (k->flags & F_INTEGER) ? "integers" : "numbers",
           is_list(n) ? (list_size(n) ? "a list of more than 2" : "an empty list")
                      : describe(n, got, sizeof got));
    return false;
  }
  rule r = rule_of(k);
  bool ok = true;
  *count = list_size(n);
  for (size_t i = 0; i < *count; ++i)
    if (!check_number(p, list_item(p, n, i), &r, &out[i])) ok = false;
  return ok;
}

static bool check_grid_corners(parser *p, const section_read *r, const double lo[2], size_t nlo,
                               const double hi[2], size_t nhi, const double points[2],
                               size_t npoints) {
  bool ok = true;
  if (nhi != nlo) {
    report(p, mark_of(r->node[INI_HI]), "hi must have as many entries as lo (%zu), got %zu", nlo,
           nhi);
    ok = false;
  }
  if (npoints != nlo) {
    report(p, mark_of(r->node[INI_POINTS]), "points must have as many entries as lo (%zu), got %zu",
           nlo, npoints);
    ok = false;
  }
  for (size_t i = 0; ok && i < nlo; ++i) {
    if (!(lo[i] < hi[i])) {
      report(p, mark_of(r->node[INI_HI]),
             "a grid needs lo < hi in every coordinate; coordinate %zu "
             "has lo %g and hi %g",
             i, lo[i], hi[i]);
      ok = false;
    }
    if (points[i] > AXIS_MAX_LEN) {
      report(p, mark_of(r->node[INI_POINTS]), "points must be at most %d per coordinate, got %.0f",
             AXIS_MAX_LEN, points[i]);
      ok = false;
    }
  }
  return ok;
}

static void read_grid_init(parser *p, const section_read *r) {
  double lo[2] = {0}, hi[2] = {0}, points[2] = {0};
  size_t nlo = 0, nhi = 0, npoints = 0;
  bool ok = read_corner(p, r->node[INI_LO], &init_keys[INI_LO], lo, &nlo);
  ok = read_corner(p, r->node[INI_HI], &init_keys[INI_HI], hi, &nhi) && ok;
  ok = read_corner(p, r->node[INI_POINTS], &init_keys[INI_POINTS], points, &npoints) && ok;
  if (!ok || !check_grid_corners(p, r, lo, nlo, hi, nhi, points, npoints)) return;
  lz_job *job = p->job;
  job->init.grid_dim = nlo;
  for (size_t i = 0; i < nlo; ++i) {
    size_t len = (size_t)points[i];
    slot_id s = i == 0 ? S_GRID0 : S_GRID1;
    if (!sweep_has_room(p, s, len, mark_of(r->node[INI_POINTS]))) return;
    double *v = alloc_doubles(p, len);
    if (!v) return;
    generate(GEN_LINSPACE, lo[i], hi[i], len, v);
    job->init.grid_lo[i] = lo[i];
    job->init.grid_hi[i] = hi[i];
    job->init.grid_points[i] = (int64_t)len;
    add_axis(p, s, v, len, 1, mark_of(r->node[INI_POINTS]));
    job->init.grid_axis[i] = (int)s;
  }
  check_state_dimension(p, r->node[INI_LO], "the grid (lo, hi, points)", nlo);
}

static void read_init(parser *p, const yaml_node_t *n) {
  section_read r;
  if (!read_section(p, &init_section, n, &r)) return;
  p->job->init.kind = (lz_init_kind)r.kind;
  p->job->init.mark = mark_of(r.node[INI_KIND]);
  switch (p->job->init.kind) {
    case LZ_INIT_GAUSSIAN:
      read_gaussian_init(p, &r);
      break;
    case LZ_INIT_POINT:
      if (r.ok[INI_X]) check_state_dimension(p, r.node[INI_X], "x", p->job->init.point.len);
      break;
    case LZ_INIT_GRID: read_grid_init(p, &r); break;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* lr, run, tiles                                                                             */

/* 2/L needs a positive largest eigenvalue L. */
static void check_two_over_l(parser *p) {
  const lz_vparam *ev = &p->job->problem.eigenvalues;
  if (!p->eigenvalues_ok || p->job->problem.kind != LZ_PROBLEM_QUADRATIC) return;
  size_t rows = ev->axis > 0 ? p->slot[ev->axis].len : 1;
  const double *v = ev->axis > 0 ? p->slot[ev->axis].values : ev->value;
  for (size_t i = 0; i < rows; ++i) {
    double top = v[i * ev->len];
    for (size_t j = 1; j < ev->len; ++j) top = fmax(top, v[i * ev->len + j]);
    if (top <= 0) {
      report(p, ev->mark,
             "lr relative_to two_over_L needs a largest eigenvalue L > 0, but %s has "
             "max %g; use relative_to: absolute",
             rows > 1 ? "an eigenvalue vector" : "eigenvalues", top);
      return;
    }
  }
}

static void read_lr(parser *p, const yaml_node_t *n) {
  section_read r;
  if (!read_section(p, &lr_section, n, &r)) return;
  lz_job *job = p->job;
  job->lr.relative_to = (lz_lr_relative)r.code[LR_RELATIVE_TO];
  const yaml_node_t *values = r.node[LR_VALUES];
  if (values) {
    lz_param lr = {-1, 0, {0, 0}};
    if (read_sweep(p, values, &lr_keys[LR_VALUES], &lr)) job->lr.axis = lr.axis;
    job->lr.mark = p->lr_mark = mark_of(values);
  }
  if (r.ok[LR_RELATIVE_TO] && job->lr.relative_to == LZ_LR_TWO_OVER_L) check_two_over_l(p);
}

static void read_run(parser *p, const yaml_node_t *n) {
  section_read r;
  read_section(p, &run_section, n, &r);
  lz_job *job = p->job;
  job->run.engine = (lz_run_engine)r.code[RUN_ENGINE];
  p->max_iter_ok = r.ok[RUN_MAX_ITER];
  p->max_iter_mark = r.node[RUN_MAX_ITER] ? mark_of(r.node[RUN_MAX_ITER]) : (lz_mark){0, 0};
  p->record_every_mark =
      r.node[RUN_RECORD_EVERY] ? mark_of(r.node[RUN_RECORD_EVERY]) : (lz_mark){0, 0};
  if (!r.node[RUN_RECORD_EVERY] || !r.ok[RUN_RECORD_EVERY]) {
    job->run.record_every = job->run.max_iter / 100 > 1 ? job->run.max_iter / 100 : 1;
  } else if (r.ok[RUN_MAX_ITER] && job->run.record_every > job->run.max_iter) {
    report(p, p->record_every_mark, "record_every must be <= max_iter (%lld), got %lld",
           (long long)job->run.max_iter, (long long)job->run.record_every);
  }
  if (r.ok[RUN_RECORD_X] && job->run.record_x > RECORD_X_MAX)
    report(p, mark_of(r.node[RUN_RECORD_X]), "record_x (leading coordinates of x_k recorded in "
           "/runs/trace/x) must be from 0 to %d, got %lld", RECORD_X_MAX,
           (long long)job->run.record_x);
}

static void read_tiles(parser *p, const yaml_node_t *n) {
  section_read r;
  read_section(p, &tiles_section, n, &r);
  p->tiles_runs_mark = r.node[TIL_RUNS] ? mark_of(r.node[TIL_RUNS]) : (lz_mark){0, 0};
}

/* ------------------------------------------------------------------------------------------ */
/* analyze                                                                                    */

/* Optional sections written as "run:" with nothing after are the same as absent ones. */
static const yaml_node_t *unless_null(const yaml_node_t *n) { return is_null(n) ? NULL : n; }

/* Reads one sub-map of analyze (n may be NULL or null: all defaults). Its mark is where the
 * sub-map is written, else where analyze is (at), else 0:0. */
static void read_analysis(parser *p, const section *sec, const yaml_node_t *n, lz_mark at,
                          section_read *r, lz_mark *mark) {
  read_section(p, sec, unless_null(n), r);
  *mark = n ? mark_of(n) : at;
}

static void read_orbit(parser *p, const yaml_node_t *n, lz_mark at) {
  section_read r;
  read_analysis(p, &orbit_section, n, at, &r, &p->job->analyze.orbit.mark);
  const yaml_node_t *max_period = r.node[ORB_MAX_PERIOD];
  p->max_period_mark = max_period ? mark_of(max_period) : p->job->analyze.orbit.mark;
}

static void read_lyapunov(parser *p, const yaml_node_t *n, lz_mark at) {
  section_read r;
  read_analysis(p, &lyapunov_section, n, at, &r, &p->job->analyze.lyapunov.mark);
  /* run is read by now, wherever it is in the file. */
  int64_t max_iter = p->job->run.max_iter, half = max_iter / 2 > 1 ? max_iter / 2 : 1;
  int64_t steps = half < LYAPUNOV_STEPS ? half : LYAPUNOV_STEPS;
  if (!r.node[LYA_ITERS] || !r.ok[LYA_ITERS]) p->job->analyze.lyapunov.iters = steps;
  if (!r.node[LYA_TRANSIENT] || !r.ok[LYA_TRANSIENT]) p->job->analyze.lyapunov.transient = steps;
}

static void read_sharpness(parser *p, const yaml_node_t *n, lz_mark at) {
  section_read r;
  read_analysis(p, &sharpness_section, n, at, &r, &p->job->analyze.sharpness.mark);
  int64_t every = p->job->analyze.sharpness.every, max_iter = p->job->run.max_iter;
  if (r.node[SHP_EVERY] && r.ok[SHP_EVERY] && p->max_iter_ok && every > max_iter) {
    report(p, mark_of(r.node[SHP_EVERY]), "sharpness.every must be 0 (no sharpness trace) or at "
           "most max_iter (%lld), got %lld", (long long)max_iter, (long long)every);
  }
}

/* orders: a list of distinct orders out of 0, 1, 2, kept as a bit mask. */
static void read_orders(parser *p, const yaml_node_t *n, unsigned *orders) {
  const key_spec *k = &modified_equation_keys[MEQ_ORDERS];
  char got[96];
  *orders = 0;
  if (!is_list(n)) {
    report(p, mark_of(n), "%s must be a list of distinct orders out of 0, 1, 2, e.g. [0, 1, 2] "
           "([] for none); got %s", label_of(k), describe(n, got, sizeof got));
    return;
  }
  rule r = rule_of(k);
  const yaml_node_t *first[3] = {NULL, NULL, NULL};
  unsigned mask = 0;
  bool ok = true;
  for (size_t i = 0; i < list_size(n); ++i) {
    const yaml_node_t *item = list_item(p, n, i);
    double v = 0;
    if (!check_number(p, item, &r, &v)) {
      ok = false;
      continue;
    }
    int order = (int)v;
    if (first[order]) {
      lz_mark was = mark_of(first[order]);
      report(p, mark_of(item), "%s lists order %d twice (first at line %d, column %d); give each "
             "of 0, 1, 2 at most once", label_of(k), order, was.line, was.col);
      ok = false;
      continue;
    }
    first[order] = item;
    mask |= 1u << order;
  }
  if (ok) *orders = mask;
}

static void read_modified_equation(parser *p, const yaml_node_t *n, lz_mark at) {
  section_read r;
  read_analysis(p, &modified_equation_section, n, at, &r,
                &p->job->analyze.modified_equation.mark);
  p->job->analyze.modified_equation.orders = 0;
  if (r.node[MEQ_ORDERS])
    read_orders(p, r.node[MEQ_ORDERS], &p->job->analyze.modified_equation.orders);
}

/* describe(), with the length of a non-empty list: what a "must be [lo, hi]" message got. */
static const char *describe_sized(const yaml_node_t *n, char *buf, size_t size) {
  if (!is_list(n) || list_size(n) == 0) return describe(n, buf, size);
  snprintf(buf, size, "a list of %zu", list_size(n));
  return buf;
}

/* Smallest state dimension over the sweep, from what was read (0 when it is not known). */
static double min_state_dim(const parser *p) {
  const lz_job *job = p->job;
  if (!p->shape.known) return 0.0;
  switch (job->problem.kind) {
    case LZ_PROBLEM_QUADRATIC: return (double)job->problem.eigenvalues.len;
    case LZ_PROBLEM_MF:
      return 2.0 * param_min(p, &job->problem.n) * param_min(p, &job->problem.d);
    case LZ_PROBLEM_MULTISCALE: return param_min(p, &job->problem.dim);
    case LZ_PROBLEM_MLP: return 3.0 * (double)job->problem.width + 1.0;
  }
  return 0.0;
}

/* [lo, hi]: two finite numbers with lo < hi. */
static bool read_range(parser *p, const yaml_node_t *n, const key_spec *k, double *lo,
                       double *hi) {
  char got[96], label[96];
  if (!is_list(n) || list_size(n) != 2) {
    report(p, mark_of(n), "%s must be [lo, hi], two finite numbers with lo < hi; got %s",
           label_of(k), describe_sized(n, got, sizeof got));
    return false;
  }
  double v[2] = {0.0, 0.0};
  bool ok = true;
  for (size_t i = 0; i < 2; ++i) {
    snprintf(label, sizeof label, "%s %s", label_of(k), i ? "hi" : "lo");
    rule r = {label, C_FINITE, false, "", 0};
    if (!check_number(p, list_item(p, n, i), &r, &v[i])) ok = false;
  }
  if (ok && !(v[0] < v[1])) {
    report(p, mark_of(n), "%s must be [lo, hi] with lo < hi; got %s", label_of(k),
           format_values(v, 2, got, sizeof got));
    ok = false;
  }
  if (ok) {
    *lo = v[0];
    *hi = v[1];
  }
  return ok;
}

/* coords: 1 to LZ_IM_MAX_COORDS distinct state indices, each below the state dimension of every
 * problem instance. Absent: the first coordinate, and the second too for a multiscale problem
 * whose every instance is 2-D (its joint histogram is the one compared with 2-D Gibbs). Returns
 * false when coords was given and is wrong. */
static bool read_coords(parser *p, const yaml_node_t *n) {
  const key_spec *k = &invariant_measure_keys[IM_COORDS];
  lz_job *job = p->job;
  int64_t *coords = job->analyze.invariant_measure.coords;
  double dim = min_state_dim(p);
  bool two = dim >= 2 && job->problem.kind == LZ_PROBLEM_MULTISCALE;
  memset(job->analyze.invariant_measure.coords, 0, sizeof job->analyze.invariant_measure.coords);
  coords[1] = two ? 1 : 0;
  job->analyze.invariant_measure.ncoords = two ? 2 : 1;
  if (!n) return true;
  char got[96];
  size_t len = is_list(n) ? list_size(n) : 0;
  if (len < 1 || len > LZ_IM_MAX_COORDS) {
    report(p, mark_of(n), "%s must be a list of 1 to %d distinct state indices, e.g. [0] or "
           "[0, 1]; got %s", label_of(k), LZ_IM_MAX_COORDS, describe_sized(n, got, sizeof got));
    return false;
  }
  rule r = rule_of(k);
  int64_t v[LZ_IM_MAX_COORDS];
  bool ok = true;
  for (size_t i = 0; i < len; ++i) {
    const yaml_node_t *item = list_item(p, n, i);
    double x = 0;
    v[i] = -1;  /* no coordinate: a bad item matches none */
    if (!check_number(p, item, &r, &x)) {
      ok = false;
      continue;
    }
    v[i] = (int64_t)x;
    size_t first = 0;
    while (first < i && v[first] != v[i]) ++first;
    if (first < i) {
      lz_mark was = mark_of(list_item(p, n, first));
      report(p, mark_of(item), "%s lists coordinate %lld twice (first at line %d, column %d); "
             "give each coordinate at most once", label_of(k), (long long)v[i], was.line,
             was.col);
      ok = false;
    } else if (dim > 0 && x >= dim) {
      report(p, mark_of(item), "%s must be < %.0f, the %s (%s); got %lld", label_of(k), dim,
             p->shape.fixed ? "state dimension" : "smallest state dimension of the sweep",
             p->shape.how, (long long)v[i]);
      ok = false;
    }
  }
  if (!ok) return false;
  memcpy(coords, v, len * sizeof *v);
  job->analyze.invariant_measure.ncoords = len;
  return true;
}

/* joint: true or false, the YAML 1.2 spellings (YAML 1.1's yes, no, on, off are not taken).
 * Default: on when there are 2 coordinates or more. */
static void read_joint(parser *p, const yaml_node_t *n, bool coords_given, bool coords_ok) {
  static const char *const yes[] = {"true", "True", "TRUE", NULL};
  static const char *const no[] = {"false", "False", "FALSE", NULL};
  const key_spec *k = &invariant_measure_keys[IM_JOINT];
  lz_job *job = p->job;
  size_t ncoords = job->analyze.invariant_measure.ncoords;
  char got[96];
  job->analyze.invariant_measure.joint = ncoords >= 2;
  if (!n) return;
  if (plain_text_is_one_of(n, yes)) {
    job->analyze.invariant_measure.joint = 1;
  } else if (plain_text_is_one_of(n, no)) {
    job->analyze.invariant_measure.joint = 0;
  } else {
    report(p, mark_of(n), "%s must be true or false; got %s", label_of(k),
           describe(n, got, sizeof got));
    return;
  }
  if (job->analyze.invariant_measure.joint && coords_ok && ncoords < 2) {
    report(p, mark_of(n), "%s: true is the 2-D histogram of coords[0] and coords[1], so it needs "
           "2 or more coords, but coords is [%lld]%s; add a coordinate or set joint: false",
           label_of(k), (long long)job->analyze.invariant_measure.coords[0],
           coords_given ? "" : " (the default)");
  }
}

/* x_entry: the entry X[i][j] of an mf problem, which every instance must have. */
static void read_x_entry(parser *p, const section_read *r) {
  const key_spec *k = &observable_keys[OBS_ENTRY];
  lz_job *job = p->job;
  const yaml_node_t *n = r->node[OBS_ENTRY];
  bool mf = p->problem_known && job->problem.kind == LZ_PROBLEM_MF;
  char got[96];
  if (p->problem_known && !mf) {
    report(p, mark_of(r->node[OBS_KIND]), "observable kind x_entry is an entry of the mf factor "
           "X, so it is only allowed for problem kind mf, not %s; use f0 or loss",
           lz_problem_kind_names[job->problem.kind]);
  }
  if (!n) return;  /* reported as missing */
  if (!is_list(n) || list_size(n) != 2) {
    report(p, mark_of(n), "%s must be [i, j], the row and column of an entry of the n x d factor "
           "X; got %s", label_of(k), describe_sized(n, got, sizeof got));
    return;
  }
  const lz_param *sizes[2] = {&job->problem.n, &job->problem.d};
  const char *const what[2] = {"row", "column"}, *const size_name[2] = {"n", "d"};
  rule rl = rule_of(k);
  for (size_t i = 0; i < 2; ++i) {
    const yaml_node_t *item = list_item(p, n, i);
    double v = 0;
    if (!check_number(p, item, &rl, &v)) continue;
    job->analyze.invariant_measure.observable.entry[i] = (int64_t)v;
    if (!mf || !p->shape.known || v < param_min(p, sizes[i])) continue;
    report(p, mark_of(item), "%s %s must be < %s for every instance (X is n x d, %s = %s); got "
           "%.0f", label_of(k), what[i], size_name[i], size_name[i],
           param_text(p, sizes[i], got, sizeof got), v);
  }
}

/* Absent or null: no observable (kind none). */
static void read_observable(parser *p, const yaml_node_t *n) {
  lz_job *job = p->job;
  section_read r;
  memset(&r, 0, sizeof r);
  apply_defaults(p, &observable_section, &r);
  job->analyze.invariant_measure.observable.kind = LZ_OBS_NONE;
  n = unless_null(n);
  p->im_obs_bins_mark = n ? mark_of(n) : p->im_bins_mark;
  if (!n || !read_section(p, &observable_section, n, &r)) return;
  job->analyze.invariant_measure.observable.kind = r.kind + LZ_OBS_F0;
  if (r.node[OBS_BINS]) p->im_obs_bins_mark = mark_of(r.node[OBS_BINS]);
  if (r.node[OBS_RANGE])
    read_range(p, r.node[OBS_RANGE], &observable_keys[OBS_RANGE],
               &job->analyze.invariant_measure.observable.lo,
               &job->analyze.invariant_measure.observable.hi);
  if (r.kind + LZ_OBS_F0 == LZ_OBS_X_ENTRY) read_x_entry(p, &r);
}

/* Off (samples 0) when the sub-map is absent or null; its other keys then hold their defaults. */
static void read_invariant_measure(parser *p, const yaml_node_t *n, lz_mark at) {
  lz_job *job = p->job;
  section_read r;
  if (unless_null(n)) {
    read_analysis(p, &invariant_measure_section, n, at, &r,
                  &job->analyze.invariant_measure.mark);
  } else {
    memset(&r, 0, sizeof r);
    apply_defaults(p, &invariant_measure_section, &r);
    job->analyze.invariant_measure.mark = n ? mark_of(n) : at;
  }
  lz_mark self = job->analyze.invariant_measure.mark;
  p->im_bins_mark = r.node[IM_BINS] ? mark_of(r.node[IM_BINS]) : self;
  p->im_joint_mark = r.node[IM_JOINT] ? mark_of(r.node[IM_JOINT]) : p->im_bins_mark;
  bool coords_ok = read_coords(p, r.node[IM_COORDS]);
  if (r.node[IM_RANGE])
    read_range(p, r.node[IM_RANGE], &invariant_measure_keys[IM_RANGE],
               &job->analyze.invariant_measure.lo, &job->analyze.invariant_measure.hi);
  read_joint(p, r.node[IM_JOINT], r.node[IM_COORDS] != NULL, coords_ok);
  read_observable(p, r.node[IM_OBSERVABLE]);
}

/* Absent, "analyze:" with nothing, and every absent sub-map all mean the defaults (for
 * invariant_measure: off). */
static void read_analyze(parser *p, const yaml_node_t *n) {
  section_read r;
  read_section(p, &analyze_section, unless_null(n), &r);
  lz_mark at = n ? mark_of(n) : (lz_mark){0, 0};
  read_orbit(p, r.node[ANA_ORBIT], at);
  read_lyapunov(p, r.node[ANA_LYAPUNOV], at);
  read_sharpness(p, r.node[ANA_SHARPNESS], at);
  read_modified_equation(p, r.node[ANA_MODIFIED_EQUATION], at);
  read_invariant_measure(p, r.node[ANA_INVARIANT_MEASURE], at);
}

/* ------------------------------------------------------------------------------------------ */
/* The whole file                                                                             */

/* "jobs/balancing.yaml" -> "balancing". */
static char *name_from_path(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t len = strlen(base);
  if (len > 5 && strcmp(base + len - 5, ".yaml") == 0) len -= 5;
  else if (len > 4 && strcmp(base + len - 4, ".yml") == 0) len -= 4;
  if (len == 0) {
    base = "job";
    len = 3;
  }
  char *name = malloc(len + 1);
  if (name) {
    memcpy(name, base, len);
    name[len] = '\0';
  }
  return name;
}

static void set_default_names(parser *p) {
  lz_job *job = p->job;
  if (!job->name) job->name = name_from_path(p->path);
  if (!job->name) {
    p->oom = true;
    return;
  }
  if (!job->output) {
    size_t size = strlen(job->name) + sizeof "results/.h5";
    job->output = malloc(size);
    if (job->output) snprintf(job->output, size, "results/%s.h5", job->name);
    else p->oom = true;
  }
}

static void read_job(parser *p, const yaml_node_t *root) {
  char got[96], allowed[512];
  p->top_mark = mark_of(root);
  if (!is_map(root)) {
    report(p, mark_of(root), "a job file is a map with keys %s; got %s",
           allowed_keys(&top_section, -1, allowed, sizeof allowed),
           describe(root, got, sizeof got));
    return;
  }
  section_read r;
  p->read_root = true;
  read_section(p, &top_section, root, &r);
  if (r.node[TOP_PROBLEM]) read_problem(p, r.node[TOP_PROBLEM]);
  if (r.node[TOP_INIT]) read_init(p, r.node[TOP_INIT]);
  if (r.node[TOP_LR]) read_lr(p, r.node[TOP_LR]);
  read_run(p, unless_null(r.node[TOP_RUN]));
  read_analyze(p, r.node[TOP_ANALYZE]);  /* after run: its defaults follow max_iter */
  read_tiles(p, unless_null(r.node[TOP_TILES]));
  set_default_names(p);
}

/* ------------------------------------------------------------------------------------------ */
/* Sweep size                                                                                 */

static void describe_product(const parser *p, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int s = 1; s < SLOT_COUNT && used < size; ++s)
    if (p->slot[s].len > 1)
      used += (size_t)snprintf(buf + used, size - used, "%s%s %zu", used ? " x " : "",
                               p->slot[s].name, p->slot[s].len);
}

static void check_run_count(parser *p) {
  int64_t runs = 1;
  double approx = 1.0;
  bool too_many = false;
  int longest = 0;
  for (int s = 1; s < SLOT_COUNT; ++s) {
    size_t len = p->slot[s].len;
    if (len == 0) continue;
    approx *= (double)len;
    if (!longest || len >= p->slot[longest].len) longest = s;  /* ties: the later axis, lr last */
    if (too_many || runs > MAX_RUNS / (int64_t)len) too_many = true;
    else runs *= (int64_t)len;
  }
  if (!too_many) return;
  char product[256], count[64];
  describe_product(p, product, sizeof product);
  snprintf(count, sizeof count, approx < 1e15 ? "%.0f" : "about %.3g", approx);
  lz_mark at = p->slot[longest].mark.line > 0 ? p->slot[longest].mark : p->lr_mark;
  report(p, at, "sweep too large: %s runs (%s) exceed the limit of %lld; shorten %s (%zu values) "
         "or split the job", count, product, MAX_RUNS, p->slot[longest].name, p->slot[longest].len);
}

/* The tile's results: named by the per-run array that dominates them. */
static void report_results_memory(parser *p, const lz_memory_estimate *est, lz_mark *at,
                                  char *what, size_t len, const char **advice) {
  const lz_job *job = p->job;
  const lz_mark tiles_or_top = p->tiles_runs_mark.line ? p->tiles_runs_mark : p->top_mark;
  double gib = est->largest_array_bytes / GIB;
  long long runs = (long long)lz_job_tile_capacity(job);
  const char *plural = runs == 1 ? "" : "s";
  switch ((lz_array_id)est->largest_array) {
    case LZ_ARRAY_LOSS:
    case LZ_ARRAY_SHARPNESS:
    case LZ_ARRAY_X:
      *at = p->record_every_mark.line ? p->record_every_mark
          : p->tiles_runs_mark.line ? p->tiles_runs_mark
          : p->max_iter_mark.line ? p->max_iter_mark : p->lr_mark;
      snprintf(what, len, "one tile's traces (%lld run%s x %lld records, %.2f GiB)", runs, plural,
               (long long)lz_job_trace_len(job), gib);
      *advice = "raise run.record_every or lower tiles.runs";
      return;
    case LZ_ARRAY_ORBIT:
      *at = p->max_period_mark.line ? p->max_period_mark : tiles_or_top;
      snprintf(what, len, "one tile's orbit points (%lld run%s x max_period %lld states, %.2f GiB)",
               runs, plural, (long long)job->analyze.orbit.max_period, gib);
      *advice = "lower orbit.max_period (0 turns orbit detection off)";
      return;
    case LZ_ARRAY_HIST2D:
    case LZ_ARRAY_GIBBS2D:
      *at = p->im_joint_mark.line ? p->im_joint_mark : p->im_bins_mark.line ? p->im_bins_mark : tiles_or_top;
      snprintf(what, len, "one tile's joint histograms of invariant_measure (%lld run%s x %lld x "
               "%lld bins, %.2f GiB)", runs, plural, (long long)job->analyze.invariant_measure.bins,
               (long long)job->analyze.invariant_measure.bins, gib);
      *advice = "lower invariant_measure.bins or set joint: false";
      return;
    case LZ_ARRAY_HIST_OBS:
      *at = p->im_obs_bins_mark.line ? p->im_obs_bins_mark : tiles_or_top;
      snprintf(what, len, "one tile's observable histograms (%lld run%s x %lld bins, %.2f GiB)",
               runs, plural, (long long)job->analyze.invariant_measure.observable.bins, gib);
      *advice = "lower observable.bins or tiles.runs";
      return;
    default:
      *at = p->im_bins_mark.line ? p->im_bins_mark : tiles_or_top;
      snprintf(what, len, "one tile's results (%lld run%s, %.2f GiB)", runs, plural,
               est->part[LZ_MEM_RESULTS] / GIB);
      *advice = "lower tiles.runs or invariant_measure.bins";
      return;
  }
}

/* Where the job file sets the part of the estimate that dominates, and what lowers it. */
static void report_memory(parser *p, const lz_config_limits *lim, const lz_memory_estimate *est) {
  const lz_job *job = p->job;
  lz_memory_part part = lz_memory_largest_part(est);
  lz_mark at = job->problem.mark;
  const char *advice = "split the job or give the rank more memory";
  char what[256];
  snprintf(what, sizeof what, "the %s (%.2f GiB)", lz_memory_part_names[part], est->part[part] / GIB);
  switch (part) {
    case LZ_MEM_PROBLEM:
    case LZ_MEM_RUNS:
      if (part == LZ_MEM_RUNS && est->orbit_ring > 0.5 * est->part[LZ_MEM_RUNS]) {
        at = p->max_period_mark.line ? p->max_period_mark : job->problem.mark;
        snprintf(what, sizeof what, "the orbit rings (2 x max_period %lld states for each run "
                 "held at once on %d threads, %.2f GiB)", (long long)job->analyze.orbit.max_period,
                 est->threads, est->orbit_ring / GIB);
        advice = "lower orbit.max_period (0 turns orbit detection off)";
      } else if (job->problem.kind == LZ_PROBLEM_MF) {
        at = job->problem.n.mark.line ? job->problem.n.mark : job->problem.mark;
        int dense = job->problem.target.kind == LZ_TARGET_GAUSSIAN ||
                    job->problem.target.kind == LZ_TARGET_FILE;
        advice = part == LZ_MEM_PROBLEM && dense
                     ? "reduce n (a dense target takes 8 n^2 bytes, twice that up to n = 4096), "
                       "or use a lowrank target"
                     : "reduce n or d";
      }
      break;
    case LZ_MEM_RESULTS:
      report_results_memory(p, est, &at, what, sizeof what, &advice);
      break;
    case LZ_MEM_SAMPLER:
      snprintf(what, sizeof what, "the invariant-measure sampler's histograms (%lld bins per "
               "coordinate%s, for the chains of %d threads; %.2f GiB)",
               (long long)job->analyze.invariant_measure.bins,
               job->analyze.invariant_measure.joint ? ", and bins squared jointly" : "",
               est->threads, est->part[part] / GIB);
      at = job->analyze.invariant_measure.joint && p->im_joint_mark.line ? p->im_joint_mark
         : p->im_bins_mark.line ? p->im_bins_mark : job->analyze.invariant_measure.mark;
      advice = job->analyze.invariant_measure.joint
                   ? "lower invariant_measure.bins or set joint: false"
                   : "lower invariant_measure.bins or observable.bins";
      break;
    default: break;
  }
  report(p, at, "sweep too large for memory: %s brings the peak to about %.2f GiB per rank, above "
         "the limit of %.2f GiB (%s); %s", what, est->total / GIB, lim->memory_bytes / GIB,
         lim->origin ? lim->origin : "--memory-limit", advice);
}

/* Runs on the finished job: the estimate walks its instances. */
static void check_memory(parser *p, const lz_config_limits *lim) {
  lz_memory_estimate est;
  lz_job_memory_estimate(p->job, lim->threads, &est);
  p->job->memory_estimate = est.total;
  if (lim->memory_bytes > 0 && est.total > lim->memory_bytes) report_memory(p, lim, &est);
}

/* ------------------------------------------------------------------------------------------ */
/* Building the job                                                                           */

static void set_job_defaults(lz_job *job) {
  lz_param fixed = {-1, 0.0, {0, 0}};
  lz_param *params[] = {&job->problem.n, &job->problem.d, &job->problem.activation,
                        &job->problem.alpha, &job->problem.target.scale, &job->problem.target.mu,
                        &job->problem.target.rank, &job->problem.f0, &job->problem.dim,
                        &job->problem.f1, &job->problem.eps, &job->problem.amplitude,
                        &job->problem.ratio, &job->init.scale, &job->init.imbalance};
  for (size_t i = 0; i < sizeof params / sizeof *params; ++i) *params[i] = fixed;
  job->problem.eigenvalues.axis = -1;
  job->problem.target.singular_values.axis = -1;
  job->init.point.axis = -1;
  job->init.grid_axis[0] = job->init.grid_axis[1] = -1;
  job->init.replica_axis = -1;
  job->lr.axis = -1;
}

/* While parsing, every axis reference holds a slot id; these are all of them. */
static void renumber_axis_refs(lz_job *job, const int *index_of_slot) {
  int *refs[] = {&job->problem.eigenvalues.axis, &job->problem.n.axis, &job->problem.d.axis,
                 &job->problem.activation.axis, &job->problem.alpha.axis,
                 &job->problem.target.scale.axis, &job->problem.target.mu.axis,
                 &job->problem.target.rank.axis, &job->problem.target.singular_values.axis,
                 &job->problem.f0.axis, &job->problem.dim.axis, &job->problem.f1.axis,
                 &job->problem.eps.axis, &job->problem.amplitude.axis, &job->problem.ratio.axis,
                 &job->init.scale.axis, &job->init.imbalance.axis, &job->init.point.axis,
                 &job->init.grid_axis[0], &job->init.grid_axis[1], &job->init.replica_axis,
                 &job->lr.axis};
  for (size_t i = 0; i < sizeof refs / sizeof *refs; ++i)
    if (*refs[i] > 0) *refs[i] = index_of_slot[*refs[i]];
}

static int move_slots_into_axes(parser *p) {
  lz_job *job = p->job;
  int index_of_slot[SLOT_COUNT];
  size_t count = 0;
  for (int s = 1; s < SLOT_COUNT; ++s) count += p->slot[s].len > 0;
  job->axes = calloc(count ? count : 1, sizeof *job->axes);
  if (!job->axes) return LZ_ENOMEM;
  for (int s = 1; s < SLOT_COUNT; ++s) {
    index_of_slot[s] = -1;
    if (p->slot[s].len == 0) continue;
    index_of_slot[s] = (int)job->naxes;
    job->axes[job->naxes++] = p->slot[s];
    memset(&p->slot[s], 0, sizeof p->slot[s]);
  }
  renumber_axis_refs(job, index_of_slot);
  return LZ_OK;
}

static void count_runs_and_tiles(lz_job *job) {
  job->nruns = job->ninstances = 1;
  for (size_t a = 0; a < job->naxes; ++a) {
    job->nruns *= (int64_t)job->axes[a].len;
    if (job->axes[a].group == LZ_AXIS_PROBLEM) job->ninstances *= (int64_t)job->axes[a].len;
  }
  job->runs_per_instance = job->nruns / job->ninstances;
  job->tiles_per_instance = (job->runs_per_instance + job->tiles.runs - 1) / job->tiles.runs;
  job->ntiles = job->ninstances * job->tiles_per_instance;
}

static int keep_source(lz_job *job, const char *path, const char *text, size_t len) {
  job->path = strdup(path);
  job->text = malloc(len + 1);
  if (!job->path || !job->text) return LZ_ENOMEM;
  if (len) memcpy(job->text, text, len);
  job->text[len] = '\0';
  job->text_len = len;
  return lz_sha256_hex(job->text, len, job->sha256);
}

static int finish_job(parser *p, const char *text, size_t len) {
  int rc = move_slots_into_axes(p);
  if (rc == LZ_OK) count_runs_and_tiles(p->job);
  if (rc == LZ_OK) rc = keep_source(p->job, p->path, text, len);
  return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* libyaml                                                                                    */

static lz_mark mark_at_offset(const char *text, size_t len, size_t offset) {
  lz_mark m = {1, 1};
  for (size_t i = 0; i < offset && i < len; ++i) {
    if (text[i] == '\n') m.line++, m.col = 1;
    else m.col++;
  }
  return m;
}

/* Tabs are the most common cause of "cannot start any token"; the column counts characters, but
 * indentation before a tab is ASCII, so it is also the byte offset within the line. */
static bool is_tab_at(const char *text, size_t len, yaml_mark_t m) {
  size_t i = 0;
  for (size_t line = 0; line < m.line && i < len; ++i)
    if (text[i] == '\n') ++line;
  return i + m.column < len && text[i + m.column] == '\t';
}

static void report_syntax_error(parser *p, const yaml_parser_t *yp, const char *text, size_t len) {
  if (yp->error == YAML_MEMORY_ERROR) {
    p->oom = true;
    return;
  }
  const char *problem = yp->problem ? yp->problem : "unreadable YAML";
  if (yp->error == YAML_READER_ERROR) {
    lz_mark at = mark_at_offset(text, len, yp->problem_offset);
    if (yp->problem_value >= 0)
      report(p, at, "YAML syntax error: %s (byte 0x%02x); a job file is UTF-8 text", problem,
             (unsigned)yp->problem_value);
    else
      report(p, at, "YAML syntax error: %s; a job file is UTF-8 text", problem);
    return;
  }
  lz_mark at = mark_from_yaml(yp->problem_mark);
  const char *hint = is_tab_at(text, len, yp->problem_mark)
                         ? "; indent with spaces, YAML does not allow tabs there" : "";
  if (yp->context) {
    lz_mark ctx = mark_from_yaml(yp->context_mark);
    report(p, at, "YAML syntax error: %s (%s that starts at line %d, column %d)%s", problem,
           yp->context, ctx.line, ctx.col, hint);
  } else {
    report(p, at, "YAML syntax error: %s%s", problem, hint);
  }
}

/* A second document after "---" would be silently ignored, so it is an error. */
static void check_single_document(parser *p, yaml_parser_t *yp, const char *text, size_t len) {
  yaml_document_t next;
  if (!yaml_parser_load(yp, &next)) {
    report_syntax_error(p, yp, text, len);
    return;
  }
  yaml_node_t *root = yaml_document_get_root_node(&next);
  if (root)
    report(p, mark_from_yaml(root->start_mark), "a job file holds one YAML document, but a second "
           "one starts here; remove it or split the file");
  yaml_document_delete(&next);
}

/* libyaml's scanner takes time quadratic in the depth of nested flow collections: 20000 levels
 * of [ or { (40 kB) take 5 to 9 s, 80000 levels 86 s. A job file needs 5 levels, so its events
 * are read once first, which stops at the first collection nested too deep (the scanner only
 * looks ahead about 1024 characters for a simple key). Syntax errors are left to the load. */
static bool check_nesting(parser *p, const char *text, size_t len) {
  yaml_parser_t yp;
  yaml_event_t ev;
  if (!yaml_parser_initialize(&yp)) {
    p->oom = true;
    return false;
  }
  yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
  int depth = 0;
  bool ok = true, done = false;
  while (!done && yaml_parser_parse(&yp, &ev)) {
    if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
      if (++depth > MAX_NESTING) {
        report(p, mark_from_yaml(ev.start_mark), "maps and lists are nested more than %d deep "
               "here; a job file needs at most 5 levels", MAX_NESTING);
        ok = false;
        done = true;
      }
    } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
      --depth;
    } else if (ev.type == YAML_STREAM_END_EVENT) {
      done = true;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&yp);
  return ok;
}

static void parse_text(parser *p, const char *text, size_t len) {
  yaml_parser_t yp;
  yaml_document_t doc;
  if (!check_nesting(p, text, len)) return;
  if (!yaml_parser_initialize(&yp)) {
    p->oom = true;
    return;
  }
  yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
  if (!yaml_parser_load(&yp, &doc)) {
    report_syntax_error(p, &yp, text, len);
  } else {
    p->doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
      char allowed[512];
      report(p, (lz_mark){1, 1}, "empty job file; expected a map with keys %s",
             allowed_keys(&top_section, -1, allowed, sizeof allowed));
    } else {
      read_job(p, root);
      check_single_document(p, &yp, text, len);
    }
    p->doc = NULL;
    yaml_document_delete(&doc);
  }
  yaml_parser_delete(&yp);
}

/* ------------------------------------------------------------------------------------------ */
/* Public API                                                                                 */

static void free_slots(parser *p) {
  for (int s = 0; s < SLOT_COUNT; ++s) free(p->slot[s].values);
}

static int online_cores(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 && cores < 1 << 20 ? (int)cores : 1;
}

void lz_config_default_limits(lz_config_limits *lim) {
  lim->memory_bytes = lz_memory_available();
  lim->threads = online_cores();
  lim->origin = "this machine's memory";
}

static int error_code(const parser *p) { return p->oom && !p->ndiag ? LZ_ENOMEM : LZ_EJOB; }

int lz_config_parse_with(const char *path, const char *text, size_t len,
                         const lz_config_limits *limits, lz_job **out, char **diagnostics) {
  if (out) *out = NULL;
  if (diagnostics) *diagnostics = NULL;
  lz_config_limits lim;
  if (limits) lim = *limits;
  else lz_config_default_limits(&lim);
  parser p = {.path = path ? path : "<job>"};
  p.job = calloc(1, sizeof *p.job);
  if (!p.job) return LZ_ENOMEM;
  set_job_defaults(p.job);
  parse_text(&p, text ? text : "", text ? len : 0);
  if (p.read_root) check_run_count(&p);
  int rc = LZ_OK;
  if (has_errors(&p)) rc = error_code(&p);
  else rc = finish_job(&p, text ? text : "", text ? len : 0);
  if (rc == LZ_OK) {
    check_memory(&p, &lim);
    if (has_errors(&p)) rc = error_code(&p);
  }
  if (rc != LZ_OK) {
    if (diagnostics) *diagnostics = join_diagnostics(&p);
    lz_job_destroy(&p.job);
  }
  free_slots(&p);
  free_diagnostics(&p);
  if (out) *out = p.job;
  else lz_job_destroy(&p.job);
  return rc;
}

int lz_config_parse(const char *path, const char *text, size_t len, lz_job **out,
                    char **diagnostics) {
  return lz_config_parse_with(path, text, len, NULL, out, diagnostics);
}

static int read_file(const char *path, char **text, size_t *len, char **diagnostics) {
  char msg[512];
  FILE *f = fopen(path, "rb");
  *text = NULL;
  *len = 0;
  if (!f) {
    snprintf(msg, sizeof msg, "%s: cannot open the job file: %s", path, strerror(errno));
  } else {
    size_t cap = 0;
    msg[0] = '\0';
    for (;;) {
      if (*len == cap) {
        cap = cap ? 2 * cap : 4096;
        char *grown = cap <= (size_t)JOB_FILE_MAX_BYTES + 1 ? realloc(*text, cap + 1) : NULL;
        if (!grown) {
          snprintf(msg, sizeof msg, "%s: the job file is too large (more than %ld MiB) or memory "
                   "ran out", path, JOB_FILE_MAX_BYTES >> 20);
          break;
        }
        *text = grown;
      }
      size_t got = fread(*text + *len, 1, cap - *len, f);
      *len += got;
      if (got == 0) {
        if (ferror(f))
          snprintf(msg, sizeof msg, "%s: cannot read the job file: %s", path, strerror(errno));
        break;
      }
    }
    fclose(f);
  }
  if (!msg[0]) return LZ_OK;
  free(*text);
  *text = NULL;
  if (diagnostics) *diagnostics = strdup(msg);
  return LZ_EJOB;
}

int lz_config_load(const char *path, lz_job **out, char **diagnostics) {
  return lz_config_load_with(path, NULL, out, diagnostics);
}

int lz_config_load_with(const char *path, const lz_config_limits *limits, lz_job **out,
                        char **diagnostics) {
  if (out) *out = NULL;
  if (diagnostics) *diagnostics = NULL;
  if (!path) return LZ_EINVAL;
  char *text = NULL;
  size_t len = 0;
  int rc = read_file(path, &text, &len, diagnostics);
  if (rc != LZ_OK) return rc;
  rc = lz_config_parse_with(path, text, len, limits, out, diagnostics);
  free(text);
  return rc;
}
