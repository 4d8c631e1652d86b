/* The job-file parser's state, the schema's types and the functions its files share.
 *
 * Private to src/config, whose files each read or check one part of a job file (config.c says
 * how the parse goes as a whole). Functions and tables shared between the files are named cfg_*;
 * everything else stays static in its file. */
#ifndef LRZOO_CONFIG_PARSER_H
#define LRZOO_CONFIG_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "lrzoo/config.h"

/* Limits */

/* Beyond this many, errors are counted but not listed: a binary file would give thousands. */
#define MAX_DIAGNOSTICS 100
#define RECORD_X_MAX 16                /* coordinates of x_k in /runs/trace/x */
#define AXIS_MAX_LEN 10000000          /* points on one axis (keeps generated axes in memory) */
#define VECTOR_MAX_LEN 1000000         /* entries of one vector (eigenvalues, x, ...) */
#define AXIS_MAX_VALUES 10000000       /* len * width of a vector axis (aliases can multiply) */
#define MAX_RUNS 1000000000LL          /* one HDF5 row per run: more is certainly a typo */
#define MAX_WHOLE 9007199254740992.0   /* 2^53: larger integers are not exact in a double */
#define MAX_NESTING 64                 /* maps and lists inside each other (a job file needs 5) */

/* Axis slots: one per parameter that can be swept, in the axis order job.h prescribes (the
 * order of this list is the order of /axes and of the run index, so it is part of the file
 * format). X(ID, name, axis type, group, integer, labels, description, form, member): form
 * PARAM means member is an lz_param of lz_job, VPARAM an lz_vparam, REF an int axis index. The
 * slot ids, the axis descriptions (axes.c) and the job's defaults and axis references
 * (build.c) all come from this one list. The problem kinds' slots come first, each kind's from
 * its header (LZ_PROBLEM_SLOTS, lrzoo/kinds.h). */
#define CFG_SLOTS(X)                                                                             \
  LZ_PROBLEM_SLOTS(X)                                                                            \
  X(INIT_SCALE, "init_scale", LZ_AXIS_NUMBER, LZ_AXIS_INIT, false, NULL,                         \
    "standard deviation of the Gaussian initial entries", PARAM, init.scale)                     \
  X(IMBALANCE, "imbalance", LZ_AXIS_NUMBER, LZ_AXIS_INIT, false, NULL,                           \
    "initial imbalance c: X0 scaled by sqrt(c), Y0 by 1/sqrt(c)", PARAM, init.imbalance)         \
  X(POINT, "point", LZ_AXIS_VECTOR, LZ_AXIS_INIT, false, NULL,                                   \
    "initial point x0 (mf: X row-major, then Y)", VPARAM, init.point)                            \
  X(GRID0, "grid0", LZ_AXIS_NUMBER, LZ_AXIS_INIT, false, NULL,                                   \
    "first coordinate of the initial point", REF, init.grid_axis[0])                             \
  X(GRID1, "grid1", LZ_AXIS_NUMBER, LZ_AXIS_INIT, false, NULL,                                   \
    "second coordinate of the initial point", REF, init.grid_axis[1])                            \
  X(REPLICA, "replica", LZ_AXIS_NUMBER, LZ_AXIS_INIT, true, NULL,                                \
    "index of the random initial point", REF, init.replica_axis)                                 \
  X(LR, "lr", LZ_AXIS_NUMBER, LZ_AXIS_LR, false, NULL,                                           \
    "learning rate: the step size h, or a multiple of 2/L", REF, lr.axis)

typedef enum {
  S_NONE = 0,  /* 0 stays free so that a key_spec without .slot has none */
#define CFG_SLOT_ID(id, name, type, group, integer, labels, description, form, member) S_##id,
  CFG_SLOTS(CFG_SLOT_ID)
#undef CFG_SLOT_ID
  SLOT_COUNT
} slot_id;

#ifdef LZ_MAX_AXES
_Static_assert(SLOT_COUNT - 1 <= LZ_MAX_AXES, "a job may use every slot at once");
#endif

/* The schema's types: a table of keys per map of the job file (the tables: schema.h). */

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
#define MAX_SECTION_KEYS 24

typedef enum { GEN_LINSPACE, GEN_LOGSPACE, GEN_GEOMSPACE } generator;

/* Parser state */

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
  struct diagnostic *diag;    /* its type is private to diagnostics.c */
  size_t ndiag, diag_cap, dropped;
  bool oom;
  bool read_root;             /* the document was a map and was read */
  lz_axis slot[SLOT_COUNT];   /* axes by slot; len 0 while unused */
  bool problem_known;         /* problem.kind was read */
  bool eigenvalues_ok;
  state_shape shape;
  bool max_iter_ok;           /* run.max_iter was read (it may be the default) */
  lz_mark top_mark, lr_mark, max_iter_mark, record_every_mark, tiles_runs_mark, max_period_mark;
  lz_mark ranks_per_run_mark;
  lz_mark im_bins_mark, im_joint_mark, im_obs_bins_mark;  /* where invariant_measure's memory is */
  const volatile sig_atomic_t *stop;  /* lz_config_limits.stop */
  bool stopped;               /* *stop was seen: the parse ended early, nothing else is wrong */
} parser;

/* The keys found in one map, indexed like the section's key table. */
typedef struct section_read {
  const yaml_node_t *map;
  int kind;  /* code of the kind key; -1 when the section has none or it is bad */
  const yaml_node_t *node[MAX_SECTION_KEYS];
  bool ok[MAX_SECTION_KEYS];
  int code[MAX_SECTION_KEYS];  /* T_NAME values */
} section_read;

/* How to check one number, and how to name it in messages. */
typedef struct rule {
  const char *label;
  constraint check;
  bool whole;
  const char *forms;  /* other accepted forms, appended to type errors */
  double max;         /* upper bound, when > 0 */
} rule;

/* diagnostics.c */
void cfg_report(parser *p, lz_mark at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool cfg_has_errors(const parser *p);
char *cfg_join_diagnostics(parser *p);
void cfg_free_diagnostics(parser *p);
const char *cfg_join_names(const char *const *names, char *buf, size_t size);
const char *cfg_format_values(const double *v, size_t len, char *buf, size_t size);

/* yaml_walk.c */
void cfg_parse_text(parser *p, const char *text, size_t len);
/* Whether a stop was asked for; once it has, the parse ends as soon as it can. */
bool cfg_stop_is_requested(parser *p);
lz_mark cfg_mark_of(const yaml_node_t *node);
bool cfg_is_map(const yaml_node_t *n);
bool cfg_is_list(const yaml_node_t *n);
bool cfg_is_scalar(const yaml_node_t *n);
size_t cfg_map_size(const yaml_node_t *map);
size_t cfg_list_size(const yaml_node_t *list);
const yaml_node_t *cfg_list_item(const parser *p, const yaml_node_t *list, size_t i);
const yaml_node_t *cfg_pair_key(const parser *p, const yaml_node_t *map, size_t i);
const yaml_node_t *cfg_pair_value(const parser *p, const yaml_node_t *map, size_t i);
const char *cfg_text_of(const yaml_node_t *scalar);
bool cfg_is_plain(const yaml_node_t *n);
bool cfg_plain_text_is_one_of(const yaml_node_t *n, const char *const *words);
bool cfg_is_null(const yaml_node_t *n);
bool cfg_is_bool(const yaml_node_t *n);
const char *cfg_printable(const yaml_node_t *n, char *buf, size_t size);
const char *cfg_describe(const yaml_node_t *n, char *buf, size_t size);
const char *cfg_describe_sized(const yaml_node_t *n, char *buf, size_t size);
int cfg_find_name(const char *const *names, const yaml_node_t *n);

/* numbers.c */
bool cfg_check_number(parser *p, const yaml_node_t *n, const rule *r, double *out);
bool cfg_meets(constraint c, double v);
const char *cfg_constraint_text(constraint c, bool whole);
const char *cfg_label_of(const key_spec *k);
rule cfg_rule_of(const key_spec *k);

/* axes.c */
void cfg_add_axis(parser *p, slot_id s, double *values, size_t len, size_t width, lz_mark mark);
bool cfg_sweep_has_room(parser *p, slot_id s, size_t len, lz_mark mark);
const double *cfg_param_values(const parser *p, const lz_param *param, size_t *len);
bool cfg_param_is_single(const parser *p, const lz_param *param);
double cfg_param_min(const parser *p, const lz_param *param);
bool cfg_param_takes(const parser *p, const lz_param *param, double value);
const char *cfg_param_text(const parser *p, const lz_param *param, char *buf, size_t size);

/* values.c */
void *cfg_alloc_doubles(parser *p, size_t n);
void cfg_generate(generator gen, double a, double b, size_t num, double *v);
bool cfg_read_sweep(parser *p, const yaml_node_t *n, const key_spec *k, lz_param *param);
bool cfg_read_name(parser *p, const yaml_node_t *n, const key_spec *k, int *code);
bool cfg_read_choice(parser *p, const yaml_node_t *n, const key_spec *k, lz_param *param);
bool cfg_read_vector(parser *p, const yaml_node_t *n, const key_spec *k, lz_vparam *vp);
bool cfg_read_fixed_list(parser *p, const yaml_node_t *n, const key_spec *k, lz_vparam *vp);
bool cfg_read_bool(parser *p, const yaml_node_t *n, const key_spec *k, int *dst);
void cfg_resolve_next_to_job(parser *p, char **path);
bool cfg_read_string(parser *p, const yaml_node_t *n, const key_spec *k, char **dst);
bool cfg_read_int(parser *p, const yaml_node_t *n, const key_spec *k, int64_t *dst);
bool cfg_read_number(parser *p, const yaml_node_t *n, const key_spec *k, double *dst);
bool cfg_read_range(parser *p, const yaml_node_t *n, const key_spec *k, double *lo, double *hi);

/* sections.c */
bool cfg_read_section(parser *p, const section *sec, const yaml_node_t *map, section_read *r);
void cfg_apply_defaults(parser *p, const section *sec, section_read *r);
const char *cfg_allowed_keys(const section *sec, int kind, char *buf, size_t size);
const yaml_node_t *cfg_unless_null(const yaml_node_t *n);

/* section_job.c, and the sections it reads in this order */
void cfg_read_job(parser *p, const yaml_node_t *root);
void cfg_read_problem(parser *p, const yaml_node_t *n);   /* section_problem.c */
void cfg_read_init(parser *p, const yaml_node_t *n);      /* section_init.c */
void cfg_read_lr(parser *p, const yaml_node_t *n);        /* section_run.c */
void cfg_read_run(parser *p, const yaml_node_t *n);       /* section_run.c */
void cfg_read_analyze(parser *p, const yaml_node_t *n);   /* section_analyze.c */
void cfg_read_tiles(parser *p, const yaml_node_t *n);     /* section_run.c */

/* section_problem.c: the problem's state dimension, for analyze's coords */
double cfg_min_state_dim(const parser *p);

/* estimate.c */
void cfg_check_run_count(parser *p);
void cfg_check_memory(parser *p, const lz_config_limits *lim);
void cfg_check_teams(parser *p);

/* build.c */
void cfg_set_job_defaults(lz_job *job);
int cfg_finish_job(parser *p, const char *text, size_t len);

#endif
