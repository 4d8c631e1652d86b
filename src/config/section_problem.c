/* problem and its sub-maps activation, target and data; each problem kind settles what init
 * needs to know of its state vector. */

#include "parser.h"
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void read_activation(parser *p, const yaml_node_t *n) {
  lz_job *job = p->job;
  job->problem.activation = (lz_param){-1, LZ_ACT_NONE, {0, 0}};
  job->problem.alpha = (lz_param){-1, 0.01, {0, 0}};
  if (!n) return;
  if (!cfg_is_map(n)) {
    cfg_read_choice(p, n, &cfg_activation_name_key, &job->problem.activation);
    return;
  }
  section_read r;
  cfg_read_section(p, &cfg_activation_section, n, &r);
  if (r.node[ACT_ALPHA] && r.ok[ACT_ALPHA] && r.ok[ACT_KIND] &&
      !cfg_param_takes(p, &job->problem.activation, LZ_ACT_LEAKY_RELU)) {
    cfg_report(p, job->problem.alpha.mark,
               "alpha is the slope of leaky_relu, but activation kind has "
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
    if (cfg_param_is_single(p, dims[i]) && dims[i]->value == 1) continue;
    cfg_report(p, dims[i]->mark,
               "a scalar target is the 1 x 1 problem (mu - x y)^2 / 2, so %s must be 1; "
               "got %s = %s",
               names[i], names[i], cfg_param_text(p, dims[i], got, sizeof got));
  }
}

static void read_rank(parser *p, const section_read *r, const section_read *prob) {
  lz_job *job = p->job;
  lz_vparam *sv = &job->problem.target.singular_values;
  const yaml_node_t *rank_node = r->node[TGT_RANK];
  int64_t rank = (int64_t)sv->len;
  bool ok = r->ok[TGT_SINGULAR_VALUES];
  if (rank_node) {
    ok = cfg_read_int(p, rank_node, &cfg_target_keys[TGT_RANK], &rank) && ok;
    if (ok && rank != (int64_t)sv->len) {
      cfg_report(p, cfg_mark_of(rank_node),
                 "rank must equal the number of singular_values (%zu), got %lld", sv->len,
                 (long long)rank);
      ok = false;
    }
  }
  lz_mark at = rank_node ? cfg_mark_of(rank_node) : sv->mark;
  job->problem.target.rank = (lz_param){-1, (double)rank, at};
  if (!ok || !prob->ok[PRB_N]) return;
  size_t len;
  const double *n = cfg_param_values(p, &job->problem.n, &len);
  for (size_t i = 0; i < len; ++i)
    if ((double)rank > n[i]) {
      cfg_report(p, at,
                 "a lowrank target needs rank <= n for every n, but rank is %lld and n can be "
                 "%.0f",
                 (long long)rank, n[i]);
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
  if (prob->ok[PRB_N] && !cfg_param_is_single(p, n)) {
    char got[128];
    cfg_report(p, n->mark,
               "a file target is one fixed n x n matrix, so n must be a single value; got %s",
               cfg_param_text(p, n, got, sizeof got));
  }
}

static void read_target(parser *p, const yaml_node_t *n, const section_read *prob) {
  lz_job *job = p->job;
  job->problem.target.kind = LZ_TARGET_GAUSSIAN;
  job->problem.target.scale = (lz_param){-1, 1.0, {0, 0}};
  job->problem.target.mark = n ? cfg_mark_of(n) : job->problem.mark;
  if (!n) return;
  section_read r;
  if (!cfg_read_section(p, &cfg_target_section, n, &r)) return;
  job->problem.target.kind = (lz_target_kind)r.kind;
  switch (job->problem.target.kind) {
    case LZ_TARGET_SCALAR: check_scalar_target_shape(p, prob); break;
    case LZ_TARGET_LOWRANK: read_rank(p, &r, prob); break;
    case LZ_TARGET_FILE: read_file_target(p, &r, prob); break;
    default: break;
  }
}

/* The state of one mf or mlp instance, as the kind's descriptor counts it (the formula lives
 * with the objective, in src/core/problems): both the fixed dimension and the smallest one over
 * the sweep come from here. */
static double mf_state_dim(double n, double d) {
  lz_problem_params pp = {.kind = LZ_PROBLEM_MF};
  pp.mf.n = (int64_t)n;
  pp.mf.d = (int64_t)d;
  return (double)lz_problem_params_dim(&pp);
}
static double mlp_state_dim(int64_t width) {
  lz_problem_params pp = {.kind = LZ_PROBLEM_MLP};
  pp.mlp.width = width;
  return (double)lz_problem_params_dim(&pp);
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
  p->shape.fixed =
      cfg_param_is_single(p, &job->problem.n) && cfg_param_is_single(p, &job->problem.d);
  char vals[96];
  if (p->shape.fixed) {
    p->shape.dim = mf_state_dim(job->problem.n.value, job->problem.d.value);
    snprintf(p->shape.how, sizeof p->shape.how, "mf: 2*n*d = 2*%.0f*%.0f, X row-major then Y",
             job->problem.n.value, job->problem.d.value);
  } else {
    const lz_param *swept =
        cfg_param_is_single(p, &job->problem.n) ? &job->problem.d : &job->problem.n;
    snprintf(p->shape.how, sizeof p->shape.how, "%s is swept (%s at line %d), so 2*n*d varies",
             swept == &job->problem.n ? "n" : "d", cfg_param_text(p, swept, vals, sizeof vals),
             swept->mark.line);
  }
}

static void settle_multiscale(parser *p, const section_read *r) {
  lz_job *job = p->job;
  char vals[96];
  if (r->ok[PRB_F0] && r->ok[PRB_DIM] && cfg_param_takes(p, &job->problem.f0, LZ_F0_MATYAS) &&
      cfg_param_takes(p, &job->problem.dim, 1)) {
    cfg_report(p, job->problem.f0.mark,
               "f0 matyas is two-dimensional, but dim can be 1 (dim = %s%s); "
               "set dim: 2",
               cfg_param_text(p, &job->problem.dim, vals, sizeof vals),
               r->node[PRB_DIM] ? "" : ", the default");
  }
  if (r->node[PRB_RATIO] && r->ok[PRB_F1] &&
      !cfg_param_takes(p, &job->problem.f1, LZ_F1_QUASIPERIODIC)) {
    cfg_report(p, cfg_mark_of(r->node[PRB_RATIO]),
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
  p->shape.fixed = cfg_param_is_single(p, &job->problem.dim);
  p->shape.dim = job->problem.dim.value;
  if (p->shape.fixed)
    snprintf(p->shape.how, sizeof p->shape.how, "multiscale: dim");
  else
    snprintf(p->shape.how, sizeof p->shape.how, "dim is swept (%s at line %d)",
             cfg_param_text(p, &job->problem.dim, vals, sizeof vals), job->problem.dim.mark.line);
}

static void read_mlp_data(parser *p, const yaml_node_t *n) {
  lz_job *job = p->job;
  section_read r;
  job->problem.data.mark = cfg_mark_of(n);
  if (!cfg_read_section(p, &cfg_data_section, n, &r)) return;
  job->problem.data.sampling = (lz_data_sampling)r.code[DAT_SAMPLING];
  job->problem.data.g0 = (lz_g0_kind)r.code[DAT_G0];
  if (r.node[DAT_RANGE])
    cfg_read_range(p, r.node[DAT_RANGE], &cfg_data_keys[DAT_RANGE], &job->problem.data.lo,
                   &job->problem.data.hi);
}

static void settle_mlp(parser *p, const section_read *r) {
  lz_job *job = p->job;
  job->problem.mlp_activation = LZ_MLP_TANH;
  const yaml_node_t *act = r->node[PRB_ACTIVATION];
  int code = LZ_MLP_TANH;
  if (act && cfg_read_name(p, act, &cfg_mlp_activation_key, &code))
    job->problem.mlp_activation = (lz_mlp_activation)code;
  if (r->node[PRB_DATA]) read_mlp_data(p, r->node[PRB_DATA]);
  if (!r->ok[PRB_WIDTH]) return;
  p->shape.known = true;
  p->shape.fixed = true;
  p->shape.dim = mlp_state_dim(job->problem.width);
  snprintf(p->shape.how, sizeof p->shape.how, "mlp: 3*width + 1 = [W1 | b1 | w2 | b2]");
}

void cfg_read_problem(parser *p, const yaml_node_t *n) {
  section_read r;
  if (!cfg_read_section(p, &cfg_problem_section, n, &r)) return;
  p->problem_known = true;
  p->job->problem.kind = (lz_problem_kind)r.kind;
  p->job->problem.mark = cfg_mark_of(r.node[PRB_KIND]);
  switch (p->job->problem.kind) {
    case LZ_PROBLEM_QUADRATIC: settle_quadratic(p, &r); break;
    case LZ_PROBLEM_MF: settle_mf(p, &r); break;
    case LZ_PROBLEM_MULTISCALE: settle_multiscale(p, &r); break;
    case LZ_PROBLEM_MLP: settle_mlp(p, &r); break;
  }
}

/* Smallest state dimension over the sweep, from what was read (0 when it is not known). */
double cfg_min_state_dim(const parser *p) {
  const lz_job *job = p->job;
  if (!p->shape.known) return 0.0;
  switch (job->problem.kind) {
    case LZ_PROBLEM_QUADRATIC: return (double)job->problem.eigenvalues.len;
    case LZ_PROBLEM_MF:
      return mf_state_dim(cfg_param_min(p, &job->problem.n), cfg_param_min(p, &job->problem.d));
    case LZ_PROBLEM_MULTISCALE: return cfg_param_min(p, &job->problem.dim);
    case LZ_PROBLEM_MLP: return mlp_state_dim(job->problem.width);
  }
  return 0.0;
}
