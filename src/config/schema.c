/* The schema: one table of keys per map of the job file, with each key's type, kinds,
 * constraint, default, axis slot and place in lz_job. The keys of the problem kinds are in
 * their own files (kinds/). */

#include "parser.h"
#include "schema.h"

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
const section cfg_top_section = {"the job file", "at top level", top_keys, TOP_COUNT, NULL};

/* The problem map's own key; each kind's keys are in its file in kinds/ (section_problem.c
 * puts them together). */
const key_spec cfg_problem_kind_key = {.name = "kind", .type = T_NAME, .flags = F_REQUIRED,
                                       .names = lz_problem_kind_names, .label = "problem kind"};

#define GAUSSIAN_INIT LZ_KIND_BIT(LZ_INIT_GAUSSIAN)
#define POINT_INIT LZ_KIND_BIT(LZ_INIT_POINT)
#define GRID_INIT LZ_KIND_BIT(LZ_INIT_GRID)

const key_spec cfg_init_keys[INI_COUNT] = {
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
const section cfg_init_section = {"init", "in init", cfg_init_keys, INI_COUNT, lz_init_kind_names};

static const char *const lr_relative_names[] = {"absolute", "two_over_L", NULL};

const key_spec cfg_lr_keys[LR_COUNT] = {
  [LR_VALUES] = {.name = "values", .type = T_SPECIAL, .flags = F_REQUIRED | F_ALWAYS_AXIS,
                 .check = C_POSITIVE, .slot = S_LR, .label = "lr value h",
                 .help = "the learning rates, a number, a list or {linspace: [a, b, num]}"},
  [LR_RELATIVE_TO] = {.name = "relative_to", .type = T_NAME, .dflt = LZ_LR_ABSOLUTE,
                      .names = lr_relative_names, .label = "lr relative_to"},
};
const section cfg_lr_section = {"lr", "in lr", cfg_lr_keys, LR_COUNT, NULL};

static const char *const run_engine_names[] = {"auto", "per_run", NULL};

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
const section cfg_run_section = {"run", "in run", run_keys, RUN_COUNT, NULL};

static const key_spec tiles_keys[TIL_COUNT] = {
  [TIL_RUNS] = {.name = "runs", .type = T_INT, .check = C_POSITIVE, .dflt = 64,
                .offset = OFF(tiles.runs), .label = "tiles.runs"},
  [TIL_RANKS_PER_RUN] = {.name = "ranks_per_run", .type = T_INT, .check = C_POSITIVE, .dflt = 1,
                         .offset = OFF(tiles.ranks_per_run), .label = "tiles.ranks_per_run",
                         .help = "ranks of a team that computes each run together (the rank "
                                 "count must be a multiple)"},
};
const section cfg_tiles_section = {"tiles", "in tiles", tiles_keys, TIL_COUNT, NULL};

/* analyze: one optional sub-map per analysis. Nothing here is swept. */
static const key_spec analyze_keys[ANA_COUNT] = {
  [ANA_ORBIT] = {.name = "orbit", .type = T_SPECIAL},
  [ANA_LYAPUNOV] = {.name = "lyapunov", .type = T_SPECIAL},
  [ANA_SHARPNESS] = {.name = "sharpness", .type = T_SPECIAL},
  [ANA_MODIFIED_EQUATION] = {.name = "modified_equation", .type = T_SPECIAL},
  [ANA_INVARIANT_MEASURE] = {.name = "invariant_measure", .type = T_SPECIAL},
};
const section cfg_analyze_section = {"analyze", "in analyze", analyze_keys, ANA_COUNT, NULL};

static const key_spec orbit_keys[ORB_COUNT] = {
  [ORB_MAX_PERIOD] = {.name = "max_period", .type = T_INT, .check = C_NONNEG, .dflt = 64,
                      .offset = OFF(analyze.orbit.max_period), .label = "orbit.max_period"},
  [ORB_TOL] = {.name = "tol", .type = T_NUMBER, .check = C_POSITIVE, .dflt = 1e-9,
               .offset = OFF(analyze.orbit.tol), .label = "orbit.tol"},
};
const section cfg_orbit_section = {"analyze.orbit", "in analyze.orbit", orbit_keys, ORB_COUNT,
                                   NULL};

static const key_spec lyapunov_keys[LYA_COUNT] = {
  [LYA_ITERS] = {.name = "iters", .type = T_INT, .flags = F_DEFAULT_LATER, .check = C_NONNEG,
                 .offset = OFF(analyze.lyapunov.iters), .label = "lyapunov.iters"},
  [LYA_TRANSIENT] = {.name = "transient", .type = T_INT, .flags = F_DEFAULT_LATER,
                     .check = C_NONNEG, .offset = OFF(analyze.lyapunov.transient),
                     .label = "lyapunov.transient"},
  [LYA_THRESHOLD] = {.name = "threshold", .type = T_NUMBER, .check = C_NONNEG, .dflt = 0.01,
                     .offset = OFF(analyze.lyapunov.threshold), .label = "lyapunov.threshold"},
};
const section cfg_lyapunov_section = {"analyze.lyapunov", "in analyze.lyapunov", lyapunov_keys,
                                      LYA_COUNT, NULL};

static const key_spec sharpness_keys[SHP_COUNT] = {
  [SHP_EVERY] = {.name = "every", .type = T_INT, .check = C_NONNEG, .dflt = 0,
                 .offset = OFF(analyze.sharpness.every), .label = "sharpness.every"},
};
const section cfg_sharpness_section = {"analyze.sharpness", "in analyze.sharpness", sharpness_keys,
                                       SHP_COUNT, NULL};

const key_spec cfg_modified_equation_keys[MEQ_COUNT] = {
  [MEQ_ORDERS] = {.name = "orders", .type = T_SPECIAL, .flags = F_INTEGER, .check = C_ORDER,
                  .label = "modified_equation.orders"},
  [MEQ_STEPS] = {.name = "steps", .type = T_INT, .check = C_POSITIVE, .max = 1000000, .dflt = 200,
                 .offset = OFF(analyze.modified_equation.steps),
                 .label = "modified_equation.steps"},
  [MEQ_SUBSTEPS] = {.name = "substeps", .type = T_INT, .check = C_POSITIVE, .max = 10000,
                    .dflt = 32, .offset = OFF(analyze.modified_equation.substeps),
                    .label = "modified_equation.substeps"},
};
const section cfg_modified_equation_section = {
    "analyze.modified_equation", "in analyze.modified_equation", cfg_modified_equation_keys,
    MEQ_COUNT, NULL};

/* invariant_measure is off unless its sub-map is written; then samples and range are required.
 * coords and joint default from the problem (see read_coords and read_joint of
 * section_analyze.c). */
#define IM_MAX_SAMPLES 1000000000000000LL  /* 1e15 */
#define IM_MAX_BINS 100000
/* Integers are read up to 2^53, so burn_in + samples (and max_iter on top) cannot overflow. */
_Static_assert((int64_t)MAX_WHOLE <= (INT64_MAX - IM_MAX_SAMPLES) / 2,
               "max_iter + burn_in + samples fits in an int64_t");
const key_spec cfg_invariant_measure_keys[IM_COUNT] = {
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
const section cfg_invariant_measure_section = {
    "analyze.invariant_measure", "in analyze.invariant_measure", cfg_invariant_measure_keys,
    IM_COUNT, NULL};

/* The observable's kinds as written: an absent observable is none, so "none" is not one of
 * them, and kind code c of this table is the lz_observable c + LZ_OBS_F0. */
#define OBSERVABLE_KINDS (lz_observable_names + LZ_OBS_F0)
#define X_ENTRY_OBSERVABLE LZ_KIND_BIT(LZ_OBS_X_ENTRY - LZ_OBS_F0)
const key_spec cfg_observable_keys[OBS_COUNT] = {
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
const section cfg_observable_section = {
    "analyze.invariant_measure.observable", "in analyze.invariant_measure.observable",
    cfg_observable_keys, OBS_COUNT, OBSERVABLE_KINDS};
