/* init: gaussian replicas, a given point or a grid, and the state dimension they must match. */

#include "parser.h"
#include "schema.h"

static void check_state_dimension(parser *p, const yaml_node_t *at, const char *what, size_t len) {
  if (!p->shape.known) return;
  const char *kind = lz_init_kind_names[p->job->init.kind];
  if (!p->shape.fixed) {
    cfg_report(p, cfg_mark_of(at),
               "init kind %s needs one state dimension for the whole sweep, but %s; "
               "give it a single value or use init kind gaussian",
               kind, p->shape.how);
  } else if ((double)len != p->shape.dim) {
    cfg_report(p, cfg_mark_of(at),
               "%s has %zu entries, but the state of this problem has %.0f (%s)", what, len,
               p->shape.dim, p->shape.how);
  }
}

static void add_replica_axis(parser *p, const section_read *r) {
  lz_job *job = p->job;
  if (job->init.replicas > AXIS_MAX_LEN) {
    cfg_report(p, cfg_mark_of(r->node[INI_REPLICAS]),
               "replicas must be at most %d (points on one axis), got %lld", AXIS_MAX_LEN,
               (long long)job->init.replicas);
    return;
  }
  size_t len = (size_t)job->init.replicas;
  lz_mark mark = r->node[INI_REPLICAS] ? cfg_mark_of(r->node[INI_REPLICAS]) : (lz_mark){0, 0};
  if (!cfg_sweep_has_room(p, S_REPLICA, len, mark)) return;
  double *v = cfg_alloc_doubles(p, len);
  if (!v) return;
  for (size_t i = 0; i < len; ++i) v[i] = (double)i;
  cfg_add_axis(p, S_REPLICA, v, len, 1, mark);
  job->init.replica_axis = S_REPLICA;
}

static void read_gaussian_init(parser *p, const section_read *r) {
  if (r->ok[INI_REPLICAS]) add_replica_axis(p, r);
  const yaml_node_t *imbalance = r->node[INI_IMBALANCE];
  if (imbalance && p->problem_known && p->job->problem.kind != LZ_PROBLEM_MF) {
    cfg_report(p, cfg_mark_of(imbalance),
               "imbalance scales the mf factors X and Y, so it is only allowed "
               "for problem kind mf, not %s",
               lz_problem_kind_names[p->job->problem.kind]);
  }
}

/* lo, hi and points: lists of 1 or 2 numbers. */
static bool read_corner(parser *p, const yaml_node_t *n, const key_spec *k, double out[2],
                        size_t *count) {
  char got[96];
  *count = 0;
  if (!n) return false;
  if (!cfg_is_list(n) || cfg_list_size(n) < 1 || cfg_list_size(n) > LZ_GRID_MAX_DIM) {
    cfg_report(p, cfg_mark_of(n), "%s must be a list of 1 or 2 %s; got %s", k->name,
               (k->flags & F_INTEGER) ? "integers" : "numbers",
               cfg_is_list(n) ? (cfg_list_size(n) ? "a list of more than 2" : "an empty list")
                              : cfg_describe(n, got, sizeof got));
    return false;
  }
  rule r = cfg_rule_of(k);
  bool ok = true;
  *count = cfg_list_size(n);
  for (size_t i = 0; i < *count; ++i)
    if (!cfg_check_number(p, cfg_list_item(p, n, i), &r, &out[i])) ok = false;
  return ok;
}

static bool check_grid_corners(parser *p, const section_read *r, const double lo[2], size_t nlo,
                               const double hi[2], size_t nhi, const double points[2],
                               size_t npoints) {
  bool ok = true;
  if (nhi != nlo) {
    cfg_report(p, cfg_mark_of(r->node[INI_HI]), "hi must have as many entries as lo (%zu), got %zu",
               nlo, nhi);
    ok = false;
  }
  if (npoints != nlo) {
    cfg_report(p, cfg_mark_of(r->node[INI_POINTS]),
               "points must have as many entries as lo (%zu), got %zu", nlo, npoints);
    ok = false;
  }
  for (size_t i = 0; ok && i < nlo; ++i) {
    if (!(lo[i] < hi[i])) {
      cfg_report(p, cfg_mark_of(r->node[INI_HI]),
                 "a grid needs lo < hi in every coordinate; coordinate %zu "
                 "has lo %g and hi %g",
                 i, lo[i], hi[i]);
      ok = false;
    }
    if (points[i] > AXIS_MAX_LEN) {
      cfg_report(p, cfg_mark_of(r->node[INI_POINTS]),
                 "points must be at most %d per coordinate, got %.0f", AXIS_MAX_LEN, points[i]);
      ok = false;
    }
  }
  return ok;
}

static void read_grid_init(parser *p, const section_read *r) {
  double lo[2] = {0}, hi[2] = {0}, points[2] = {0};
  size_t nlo = 0, nhi = 0, npoints = 0;
  bool ok = read_corner(p, r->node[INI_LO], &cfg_init_keys[INI_LO], lo, &nlo);
  ok = read_corner(p, r->node[INI_HI], &cfg_init_keys[INI_HI], hi, &nhi) && ok;
  ok = read_corner(p, r->node[INI_POINTS], &cfg_init_keys[INI_POINTS], points, &npoints) && ok;
  if (!ok || !check_grid_corners(p, r, lo, nlo, hi, nhi, points, npoints)) return;
  lz_job *job = p->job;
  job->init.grid_dim = nlo;
  for (size_t i = 0; i < nlo; ++i) {
    size_t len = (size_t)points[i];
    slot_id s = i == 0 ? S_GRID0 : S_GRID1;
    if (!cfg_sweep_has_room(p, s, len, cfg_mark_of(r->node[INI_POINTS]))) return;
    double *v = cfg_alloc_doubles(p, len);
    if (!v) return;
    cfg_generate(GEN_LINSPACE, lo[i], hi[i], len, v);
    job->init.grid_lo[i] = lo[i];
    job->init.grid_hi[i] = hi[i];
    job->init.grid_points[i] = (int64_t)len;
    cfg_add_axis(p, s, v, len, 1, cfg_mark_of(r->node[INI_POINTS]));
    job->init.grid_axis[i] = (int)s;
  }
  check_state_dimension(p, r->node[INI_LO], "the grid (lo, hi, points)", nlo);
}

void cfg_read_init(parser *p, const yaml_node_t *n) {
  section_read r;
  if (!cfg_read_section(p, &cfg_init_section, n, &r)) return;
  p->job->init.kind = (lz_init_kind)r.kind;
  p->job->init.mark = cfg_mark_of(r.node[INI_KIND]);
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
