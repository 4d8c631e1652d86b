/* analyze and its sub-maps: orbit, lyapunov, sharpness, modified_equation and
 * invariant_measure with its observable. */

#include "parser.h"
#include "schema.h"

#include <string.h>

/* iters and transient default to min(LYAPUNOV_STEPS, max_iter / 2): the window they make at
 * the end of a run then always fits in it, so even short runs average some steps. */
#define LYAPUNOV_STEPS 1000

/* Reads one sub-map of analyze (n may be NULL or null: all defaults). Its mark is where the
 * sub-map is written, else where analyze is (at), else 0:0. */
static void read_analysis(parser *p, const section *sec, const yaml_node_t *n, lz_mark at,
                          section_read *r, lz_mark *mark) {
  cfg_read_section(p, sec, cfg_unless_null(n), r);
  *mark = n ? cfg_mark_of(n) : at;
}

static void read_orbit(parser *p, const yaml_node_t *n, lz_mark at) {
  section_read r;
  read_analysis(p, &cfg_orbit_section, n, at, &r, &p->job->analyze.orbit.mark);
  const yaml_node_t *max_period = r.node[ORB_MAX_PERIOD];
  p->max_period_mark = max_period ? cfg_mark_of(max_period) : p->job->analyze.orbit.mark;
}

static void read_lyapunov(parser *p, const yaml_node_t *n, lz_mark at) {
  section_read r;
  read_analysis(p, &cfg_lyapunov_section, n, at, &r, &p->job->analyze.lyapunov.mark);
  /* run is read by now, wherever it is in the file. */
  int64_t max_iter = p->job->run.max_iter, half = max_iter / 2 > 1 ? max_iter / 2 : 1;
  int64_t steps = half < LYAPUNOV_STEPS ? half : LYAPUNOV_STEPS;
  if (!r.node[LYA_ITERS] || !r.ok[LYA_ITERS]) p->job->analyze.lyapunov.iters = steps;
  if (!r.node[LYA_TRANSIENT] || !r.ok[LYA_TRANSIENT]) p->job->analyze.lyapunov.transient = steps;
}

static void read_sharpness(parser *p, const yaml_node_t *n, lz_mark at) {
  section_read r;
  read_analysis(p, &cfg_sharpness_section, n, at, &r, &p->job->analyze.sharpness.mark);
  int64_t every = p->job->analyze.sharpness.every, max_iter = p->job->run.max_iter;
  if (r.node[SHP_EVERY] && r.ok[SHP_EVERY] && p->max_iter_ok && every > max_iter) {
    cfg_report(p, cfg_mark_of(r.node[SHP_EVERY]),
               "sharpness.every must be 0 (no sharpness trace) or at "
               "most max_iter (%lld), got %lld",
               (long long)max_iter, (long long)every);
  }
}

/* orders: a list of distinct orders out of 0, 1, 2, kept as a bit mask. */
static void read_orders(parser *p, const yaml_node_t *n, unsigned *orders) {
  const key_spec *k = &cfg_modified_equation_keys[MEQ_ORDERS];
  char got[96];
  *orders = 0;
  if (!cfg_is_list(n)) {
    cfg_report(p, cfg_mark_of(n),
               "%s must be a list of distinct orders out of 0, 1, 2, e.g. [0, 1, 2] "
               "([] for none); got %s",
               cfg_label_of(k), cfg_describe(n, got, sizeof got));
    return;
  }
  rule r = cfg_rule_of(k);
  const yaml_node_t *first[3] = {NULL, NULL, NULL};
  unsigned mask = 0;
  bool ok = true;
  for (size_t i = 0; i < cfg_list_size(n); ++i) {
    const yaml_node_t *item = cfg_list_item(p, n, i);
    double v = 0;
    if (!cfg_check_number(p, item, &r, &v)) {
      ok = false;
      continue;
    }
    int order = (int)v;
    if (first[order]) {
      lz_mark was = cfg_mark_of(first[order]);
      cfg_report(p, cfg_mark_of(item),
                 "%s lists order %d twice (first at line %d, column %d); give each "
                 "of 0, 1, 2 at most once",
                 cfg_label_of(k), order, was.line, was.col);
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
  read_analysis(p, &cfg_modified_equation_section, n, at, &r,
                &p->job->analyze.modified_equation.mark);
  p->job->analyze.modified_equation.orders = 0;
  if (r.node[MEQ_ORDERS])
    read_orders(p, r.node[MEQ_ORDERS], &p->job->analyze.modified_equation.orders);
}

/* coords: 1 to LZ_IM_MAX_COORDS distinct state indices, each below the state dimension of every
 * problem instance. Absent: the first coordinate, and the second too for a multiscale problem
 * whose every instance is 2-D (its joint histogram is the one compared with 2-D Gibbs). Returns
 * false when coords was given and is wrong. */
static bool read_coords(parser *p, const yaml_node_t *n) {
  const key_spec *k = &cfg_invariant_measure_keys[IM_COORDS];
  lz_job *job = p->job;
  int64_t *coords = job->analyze.invariant_measure.coords;
  double dim = cfg_min_state_dim(p);
  bool two = dim >= 2 && job->problem.kind == LZ_PROBLEM_MULTISCALE;
  memset(job->analyze.invariant_measure.coords, 0, sizeof job->analyze.invariant_measure.coords);
  coords[1] = two ? 1 : 0;
  job->analyze.invariant_measure.ncoords = two ? 2 : 1;
  if (!n) return true;
  char got[96];
  size_t len = cfg_is_list(n) ? cfg_list_size(n) : 0;
  if (len < 1 || len > LZ_IM_MAX_COORDS) {
    cfg_report(p, cfg_mark_of(n),
               "%s must be a list of 1 to %d distinct state indices, e.g. [0] or "
               "[0, 1]; got %s",
               cfg_label_of(k), LZ_IM_MAX_COORDS, cfg_describe_sized(n, got, sizeof got));
    return false;
  }
  rule r = cfg_rule_of(k);
  int64_t v[LZ_IM_MAX_COORDS];
  bool ok = true;
  for (size_t i = 0; i < len; ++i) {
    const yaml_node_t *item = cfg_list_item(p, n, i);
    double x = 0;
    v[i] = -1;  /* no coordinate: a bad item matches none */
    if (!cfg_check_number(p, item, &r, &x)) {
      ok = false;
      continue;
    }
    v[i] = (int64_t)x;
    size_t first = 0;
    while (first < i && v[first] != v[i]) ++first;
    if (first < i) {
      lz_mark was = cfg_mark_of(cfg_list_item(p, n, first));
      cfg_report(p, cfg_mark_of(item),
                 "%s lists coordinate %lld twice (first at line %d, column %d); "
                 "give each coordinate at most once",
                 cfg_label_of(k), (long long)v[i], was.line, was.col);
      ok = false;
    } else if (dim > 0 && x >= dim) {
      cfg_report(p, cfg_mark_of(item), "%s must be < %.0f, the %s (%s); got %lld", cfg_label_of(k),
                 dim, p->shape.fixed ? "state dimension" : "smallest state dimension of the sweep",
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
  const key_spec *k = &cfg_invariant_measure_keys[IM_JOINT];
  lz_job *job = p->job;
  size_t ncoords = job->analyze.invariant_measure.ncoords;
  job->analyze.invariant_measure.joint = ncoords >= 2;
  if (!n || !cfg_read_bool(p, n, k, &job->analyze.invariant_measure.joint)) return;
  if (job->analyze.invariant_measure.joint && coords_ok && ncoords < 2) {
    cfg_report(p, cfg_mark_of(n),
               "%s: true is the 2-D histogram of coords[0] and coords[1], so it needs "
               "2 or more coords, but coords is [%lld]%s; add a coordinate or set joint: false",
               cfg_label_of(k), (long long)job->analyze.invariant_measure.coords[0],
               coords_given ? "" : " (the default)");
  }
}

/* x_entry: the entry X[i][j] of an mf problem, which every instance must have. */
static void read_x_entry(parser *p, const section_read *r) {
  const key_spec *k = &cfg_observable_keys[OBS_ENTRY];
  lz_job *job = p->job;
  const yaml_node_t *n = r->node[OBS_ENTRY];
  bool mf = p->problem_known && job->problem.kind == LZ_PROBLEM_MF;
  char got[96];
  if (p->problem_known && !mf) {
    cfg_report(p, cfg_mark_of(r->node[OBS_KIND]),
               "observable kind x_entry is an entry of the mf factor "
               "X, so it is only allowed for problem kind mf, not %s; use f0 or loss",
               lz_problem_kind_names[job->problem.kind]);
  }
  if (!n) return;  /* reported as missing */
  if (!cfg_is_list(n) || cfg_list_size(n) != 2) {
    cfg_report(p, cfg_mark_of(n),
               "%s must be [i, j], the row and column of an entry of the n x d factor "
               "X; got %s",
               cfg_label_of(k), cfg_describe_sized(n, got, sizeof got));
    return;
  }
  const lz_param *sizes[2] = {&job->problem.mf.n, &job->problem.mf.d};
  const char *const what[2] = {"row", "column"}, *const size_name[2] = {"n", "d"};
  rule rl = cfg_rule_of(k);
  for (size_t i = 0; i < 2; ++i) {
    const yaml_node_t *item = cfg_list_item(p, n, i);
    double v = 0;
    if (!cfg_check_number(p, item, &rl, &v)) continue;
    job->analyze.invariant_measure.observable.entry[i] = (int64_t)v;
    if (!mf || !p->shape.known || v < cfg_param_min(p, sizes[i])) continue;
    cfg_report(p, cfg_mark_of(item),
               "%s %s must be < %s for every instance (X is n x d, %s = %s); got "
               "%.0f",
               cfg_label_of(k), what[i], size_name[i], size_name[i],
               cfg_param_text(p, sizes[i], got, sizeof got), v);
  }
}

/* Absent or null: no observable (kind none). */
static void read_observable(parser *p, const yaml_node_t *n) {
  lz_job *job = p->job;
  section_read r;
  memset(&r, 0, sizeof r);
  cfg_apply_defaults(p, &cfg_observable_section, &r);
  job->analyze.invariant_measure.observable.kind = LZ_OBS_NONE;
  n = cfg_unless_null(n);
  p->im_obs_bins_mark = n ? cfg_mark_of(n) : p->im_bins_mark;
  if (!n || !cfg_read_section(p, &cfg_observable_section, n, &r)) return;
  job->analyze.invariant_measure.observable.kind = r.kind + LZ_OBS_F0;
  if (r.node[OBS_BINS]) p->im_obs_bins_mark = cfg_mark_of(r.node[OBS_BINS]);
  if (r.node[OBS_RANGE])
    cfg_read_range(p, r.node[OBS_RANGE], &cfg_observable_keys[OBS_RANGE],
                   &job->analyze.invariant_measure.observable.lo,
                   &job->analyze.invariant_measure.observable.hi);
  if (r.kind + LZ_OBS_F0 == LZ_OBS_X_ENTRY) read_x_entry(p, &r);
}

/* Off (samples 0) when the sub-map is absent or null; its other keys then hold their defaults. */
static void read_invariant_measure(parser *p, const yaml_node_t *n, lz_mark at) {
  lz_job *job = p->job;
  section_read r;
  if (cfg_unless_null(n)) {
    read_analysis(p, &cfg_invariant_measure_section, n, at, &r,
                  &job->analyze.invariant_measure.mark);
  } else {
    memset(&r, 0, sizeof r);
    cfg_apply_defaults(p, &cfg_invariant_measure_section, &r);
    job->analyze.invariant_measure.mark = n ? cfg_mark_of(n) : at;
  }
  lz_mark self = job->analyze.invariant_measure.mark;
  p->im_bins_mark = r.node[IM_BINS] ? cfg_mark_of(r.node[IM_BINS]) : self;
  p->im_joint_mark = r.node[IM_JOINT] ? cfg_mark_of(r.node[IM_JOINT]) : p->im_bins_mark;
  bool coords_ok = read_coords(p, r.node[IM_COORDS]);
  if (r.node[IM_RANGE])
    cfg_read_range(p, r.node[IM_RANGE], &cfg_invariant_measure_keys[IM_RANGE],
                   &job->analyze.invariant_measure.lo, &job->analyze.invariant_measure.hi);
  read_joint(p, r.node[IM_JOINT], r.node[IM_COORDS] != NULL, coords_ok);
  read_observable(p, r.node[IM_OBSERVABLE]);
}

/* Absent, "analyze:" with nothing, and every absent sub-map all mean the defaults (for
 * invariant_measure: off). */
void cfg_read_analyze(parser *p, const yaml_node_t *n) {
  section_read r;
  cfg_read_section(p, &cfg_analyze_section, cfg_unless_null(n), &r);
  lz_mark at = n ? cfg_mark_of(n) : (lz_mark){0, 0};
  read_orbit(p, r.node[ANA_ORBIT], at);
  read_lyapunov(p, r.node[ANA_LYAPUNOV], at);
  read_sharpness(p, r.node[ANA_SHARPNESS], at);
  read_modified_equation(p, r.node[ANA_MODIFIED_EQUATION], at);
  read_invariant_measure(p, r.node[ANA_INVARIANT_MEASURE], at);
}
