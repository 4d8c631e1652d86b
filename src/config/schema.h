/* The key tables of schema.c, and the index of each key in its table (r.node[INI_SCALE], ...).
 * Private to src/config. */
#ifndef LRZOO_CONFIG_SCHEMA_H
#define LRZOO_CONFIG_SCHEMA_H

#include "parser.h"

enum {
  TOP_NAME, TOP_SEED, TOP_OUTPUT, TOP_PROBLEM, TOP_INIT, TOP_LR, TOP_RUN, TOP_ANALYZE, TOP_TILES,
  TOP_COUNT
};
enum {
  INI_KIND, INI_SCALE, INI_IMBALANCE, INI_REPLICAS, INI_X, INI_LO, INI_HI, INI_POINTS, INI_COUNT
};
enum { LR_VALUES, LR_RELATIVE_TO, LR_COUNT };
enum {
  RUN_MAX_ITER, RUN_TOL_GRAD, RUN_DIVERGE_ABOVE, RUN_RECORD_EVERY, RUN_RECORD_X, RUN_ENGINE,
  RUN_COUNT
};
enum { TIL_RUNS, TIL_RANKS_PER_RUN, TIL_COUNT };
enum {
  ANA_ORBIT, ANA_LYAPUNOV, ANA_SHARPNESS, ANA_MODIFIED_EQUATION, ANA_INVARIANT_MEASURE, ANA_COUNT
};
enum { ORB_MAX_PERIOD, ORB_TOL, ORB_COUNT };
enum { LYA_ITERS, LYA_TRANSIENT, LYA_THRESHOLD, LYA_COUNT };
enum { SHP_EVERY, SHP_COUNT };
enum { MEQ_ORDERS, MEQ_STEPS, MEQ_SUBSTEPS, MEQ_COUNT };
enum { IM_SAMPLES, IM_BURN_IN, IM_COORDS, IM_BINS, IM_RANGE, IM_JOINT, IM_OBSERVABLE, IM_COUNT };
enum { OBS_KIND, OBS_ENTRY, OBS_BINS, OBS_RANGE, OBS_COUNT };
_Static_assert(TOP_COUNT <= MAX_SECTION_KEYS && INI_COUNT <= MAX_SECTION_KEYS &&
                   ANA_COUNT <= MAX_SECTION_KEYS && LYA_COUNT <= MAX_SECTION_KEYS &&
                   MEQ_COUNT <= MAX_SECTION_KEYS && IM_COUNT <= MAX_SECTION_KEYS &&
                   OBS_COUNT <= MAX_SECTION_KEYS,
               "section_read holds MAX_SECTION_KEYS keys");

extern const section cfg_top_section;

extern const key_spec cfg_problem_kind_key;  /* the kinds' keys: kinds/ */

extern const section cfg_init_section;
extern const key_spec cfg_init_keys[INI_COUNT];

extern const section cfg_lr_section;
extern const key_spec cfg_lr_keys[LR_COUNT];
extern const section cfg_run_section;
extern const section cfg_tiles_section;

extern const section cfg_analyze_section;
extern const section cfg_orbit_section;
extern const section cfg_lyapunov_section;
extern const section cfg_sharpness_section;
extern const section cfg_modified_equation_section;
extern const key_spec cfg_modified_equation_keys[MEQ_COUNT];
extern const section cfg_invariant_measure_section;
extern const key_spec cfg_invariant_measure_keys[IM_COUNT];
extern const section cfg_observable_section;
extern const key_spec cfg_observable_keys[OBS_COUNT];

#endif
