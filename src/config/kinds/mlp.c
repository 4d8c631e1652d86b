/* The mlp kind in the job file: its activation, biases and weight decay, the width, and the
 * data sub-map: generated data {points, range, ...} or listed points {x, y, weight}. */
#include "../parser.h"
#include "kinds.h"

#include <stdio.h>

enum { ACTIVATION, WIDTH, DATA, BIASES, WEIGHT_DECAY };
static const key_spec keys[] = {
  [ACTIVATION] = {.name = "activation", .type = T_SPECIAL},
  [BIASES] = {.name = "biases", .type = T_SPECIAL, .label = "biases"},
  [WEIGHT_DECAY] = {.name = "weight_decay", .type = T_NUMBER, .check = C_NONNEG, .dflt = 0.0,
                    .offset = OFF(problem.mlp.weight_decay), .label = "weight_decay"},
  [WIDTH] = {.name = "width", .type = T_INT, .flags = F_REQUIRED, .check = C_POSITIVE,
             .max = 100000, .offset = OFF(problem.mlp.width),
             .help = "the number of hidden units W (the state has 3W + 1 weights)"},
  [DATA] = {.name = "data", .type = T_SPECIAL, .flags = F_REQUIRED,
            .help = "the points fitted, e.g. {points: 64, range: [-3, 3], eps: 0.05} or "
                    "{x: [...], y: [...], weight: [...]}"},
};

enum {
  DAT_POINTS, DAT_RANGE, DAT_SAMPLING, DAT_G0, DAT_AMPLITUDE, DAT_EPS, DAT_X, DAT_Y, DAT_WEIGHT,
  DAT_PATH, DAT_COUNT
};
_Static_assert(DAT_COUNT <= MAX_SECTION_KEYS, "section_read holds MAX_SECTION_KEYS keys");
/* The keys of generated data, which listed data do not take. */
enum { DAT_FIRST_GENERATED = DAT_POINTS, DAT_LAST_GENERATED = DAT_EPS };
/* mlp: the hidden layer's activation, a single name. */
static const key_spec activation_key = {
  .name = "activation", .type = T_NAME, .names = lz_mlp_activation_names, .dflt = LZ_MLP_TANH,
  .label = "mlp activation"};

/* mlp: the data y = g0(x) + amplitude sin(x / eps) at `points` inputs on range, or listed.
 * points, range and eps are required of generated data (read_mlp_data says so). */
static const key_spec data_keys[DAT_COUNT] = {
  [DAT_POINTS] = {.name = "points", .type = T_INT, .check = C_POSITIVE,
                  .max = 10000000, .offset = OFF(problem.mlp.data.points),
                  .help = "the number m of data points"},
  [DAT_RANGE] = {.name = "range", .type = T_SPECIAL, .check = C_FINITE,
                 .label = "data.range", .help = "the input interval [lo, hi], lo < hi"},
  [DAT_SAMPLING] = {.name = "sampling", .type = T_NAME, .names = lz_data_sampling_names,
                    .dflt = LZ_DATA_GRID, .label = "data.sampling"},
  [DAT_G0] = {.name = "g0", .type = T_NAME, .names = lz_g0_names, .dflt = LZ_G0_SIN,
              .label = "data.g0"},
  [DAT_AMPLITUDE] = {.name = "amplitude", .type = T_NUMBER, .check = C_NONNEG, .dflt = 0.1,
                     .offset = OFF(problem.mlp.data.amplitude), .label = "data.amplitude"},
  [DAT_EPS] = {.name = "eps", .type = T_NUMBER, .check = C_POSITIVE,
               .offset = OFF(problem.mlp.data.eps), .label = "data.eps",
               .help = "the period scale of the fast oscillation amplitude sin(x / eps)"},
  [DAT_X] = {.name = "x", .type = T_SPECIAL, .check = C_FINITE, .label = "data.x",
             .help = "the inputs, a list of numbers"},
  [DAT_Y] = {.name = "y", .type = T_SPECIAL, .check = C_FINITE, .label = "data.y",
             .help = "the labels, a list of numbers as long as x"},
  [DAT_WEIGHT] = {.name = "weight", .type = T_SPECIAL, .check = C_NONNEG, .label = "data.weight",
                  .help = "the weight q_i of each point in (1/2) sum q_i r_i^2"},
  [DAT_PATH] = {.name = "path", .type = T_STRING, .offset = OFF(problem.mlp.data.path),
                .label = "data.path",
                .help = "an HDF5 file with the 1-D datasets x, y and optionally weight"},
};
static const section data_section = {"problem.data", "in problem.data", data_keys, DAT_COUNT,
                                     NULL};


/* The state of one instance, as the kind's descriptor counts it (the formula lives with the
 * objective, in src/core/problems). */
static double mlp_state_dim(int64_t width, int without_biases) {
  lz_problem_params pp = {.kind = LZ_PROBLEM_MLP};
  pp.mlp.width = width;
  pp.mlp.without_biases = without_biases;
  return (double)lz_problem_params_dim(&pp);
}

/* The same message as a missing required key of the table. */
static void report_missing(parser *p, const yaml_node_t *map, int key, const char *why) {
  cfg_report(p, cfg_mark_of(map), "missing required key '%s' in problem.data%s: %s",
             data_keys[key].name, why, data_keys[key].help);
}

/* x, y and weight: plain lists of one length; the weights >= 0 with a positive sum. */
static void read_listed_data(parser *p, const section_read *r) {
  lz_job *job = p->job;
  for (int k = DAT_FIRST_GENERATED; k <= DAT_LAST_GENERATED; ++k)
    if (r->node[k])
      cfg_report(p, cfg_mark_of(r->node[k]),
                 "data.%s is for generated data, but the data are listed (x, y); remove it",
                 data_keys[k].name);
  if (!r->node[DAT_Y]) report_missing(p, r->map, DAT_Y, " for listed data");
  lz_vparam x = {0}, y = {0}, w = {0};
  bool ok = cfg_read_fixed_list(p, r->node[DAT_X], &data_keys[DAT_X], &x);
  ok = r->node[DAT_Y] && cfg_read_fixed_list(p, r->node[DAT_Y], &data_keys[DAT_Y], &y) && ok;
  ok = (!r->node[DAT_WEIGHT] ||
        cfg_read_fixed_list(p, r->node[DAT_WEIGHT], &data_keys[DAT_WEIGHT], &w)) && ok;
  if (ok && (y.len != x.len || (w.value && w.len != x.len))) {
    cfg_report(p, y.len != x.len ? y.mark : w.mark,
               "data.%s has %zu entries, but data.x has %zu; give one per point",
               y.len != x.len ? "y" : "weight", y.len != x.len ? y.len : w.len, x.len);
    ok = false;
  }
  double total = 0.0;
  for (size_t i = 0; ok && w.value && i < w.len; ++i) total += w.value[i];
  if (ok && w.value && !(total > 0)) {
    cfg_report(p, w.mark, "data.weight sums to %g; at least one point needs a weight > 0", total);
    ok = false;
  }
  if (!ok) {
    free(x.value), free(y.value), free(w.value);
    return;
  }
  job->problem.mlp.data.x = x.value;
  job->problem.mlp.data.y = y.value;
  job->problem.mlp.data.weight = w.value;
  job->problem.mlp.data.points = (int64_t)x.len;
}

static void read_mlp_data(parser *p, const yaml_node_t *n) {
  lz_job *job = p->job;
  section_read r;
  job->problem.mlp.data.mark = cfg_mark_of(n);
  if (!cfg_read_section(p, &data_section, n, &r)) return;
  if (r.node[DAT_PATH]) {
    for (int k = 0; k < DAT_COUNT; ++k)
      if (k != DAT_PATH && r.node[k])
        cfg_report(p, cfg_mark_of(r.node[k]),
                   "data.%s does not go with data.path: the file holds the points (x, y and "
                   "optionally weight); remove %s", data_keys[k].name, data_keys[k].name);
    if (r.ok[DAT_PATH]) cfg_resolve_next_to_job(p, &job->problem.mlp.data.path);
    return;
  }
  if (r.node[DAT_X]) {
    read_listed_data(p, &r);
    return;
  }
  for (int k = DAT_Y; k <= DAT_WEIGHT; ++k)
    if (r.node[k])
      cfg_report(p, cfg_mark_of(r.node[k]),
                 "data.%s is for listed data, which need x as well; add x or remove %s",
                 data_keys[k].name, data_keys[k].name);
  const int required[] = {DAT_POINTS, DAT_RANGE, DAT_EPS};
  for (size_t i = 0; i < sizeof required / sizeof required[0]; ++i)
    if (!r.node[required[i]]) report_missing(p, n, required[i], "");
  job->problem.mlp.data.sampling = (lz_data_sampling)r.code[DAT_SAMPLING];
  job->problem.mlp.data.g0 = (lz_g0_kind)r.code[DAT_G0];
  if (r.node[DAT_RANGE])
    cfg_read_range(p, r.node[DAT_RANGE], &data_keys[DAT_RANGE], &job->problem.mlp.data.lo,
                   &job->problem.mlp.data.hi);
}

static void settle_mlp(parser *p, const section_read *r) {
  lz_job *job = p->job;
  job->problem.mlp.activation = LZ_MLP_TANH;
  const yaml_node_t *act = r->node[ACTIVATION];
  int code = LZ_MLP_TANH;
  if (act && cfg_read_name(p, act, &activation_key, &code))
    job->problem.mlp.activation = (lz_mlp_activation)code;
  int biases = 1;
  if (r->node[BIASES]) cfg_read_bool(p, r->node[BIASES], &keys[BIASES], &biases);
  job->problem.mlp.without_biases = !biases;
  if (r->node[DATA]) read_mlp_data(p, r->node[DATA]);
  if (!r->ok[WIDTH]) return;
  p->shape.known = true;
  p->shape.fixed = true;
  p->shape.dim = mlp_state_dim(job->problem.mlp.width, job->problem.mlp.without_biases);
  snprintf(p->shape.how, sizeof p->shape.how, "%s",
           biases ? "mlp: 3*width + 1 = [W1 | b1 | w2 | b2]"
                  : "mlp without biases: 2*width = [W1 | w2]");
}

static double min_state_dim(const parser *p) {
  return mlp_state_dim(p->job->problem.mlp.width, p->job->problem.mlp.without_biases);
}

const cfg_kind cfg_kind_mlp = {keys, CFG_KEY_COUNT(keys), settle_mlp, min_state_dim};
