/* The mlp kind in the job file: its activation, the data sub-map and the width. */
#include "../parser.h"
#include "kinds.h"

#include <stdio.h>

enum { ACTIVATION, WIDTH, DATA };
static const key_spec keys[] = {
  [ACTIVATION] = {.name = "activation", .type = T_SPECIAL},
  [WIDTH] = {.name = "width", .type = T_INT, .flags = F_REQUIRED, .check = C_POSITIVE,
             .max = 100000, .offset = OFF(problem.mlp.width),
             .help = "the number of hidden units W (the state has 3W + 1 weights)"},
  [DATA] = {.name = "data", .type = T_SPECIAL, .flags = F_REQUIRED,
            .help = "the points fitted, e.g. {points: 64, range: [-3, 3], eps: 0.05}"},
};

enum { DAT_POINTS, DAT_RANGE, DAT_SAMPLING, DAT_G0, DAT_AMPLITUDE, DAT_EPS, DAT_COUNT };
/* mlp: the hidden layer's activation, a single name. */
static const key_spec activation_key = {
  .name = "activation", .type = T_NAME, .names = lz_mlp_activation_names, .dflt = LZ_MLP_TANH,
  .label = "mlp activation"};

/* mlp: the data y = g0(x) + amplitude sin(x / eps) at `points` inputs on range. */
static const key_spec data_keys[DAT_COUNT] = {
  [DAT_POINTS] = {.name = "points", .type = T_INT, .flags = F_REQUIRED, .check = C_POSITIVE,
                  .max = 10000000, .offset = OFF(problem.mlp.data.points),
                  .help = "the number m of data points"},
  [DAT_RANGE] = {.name = "range", .type = T_SPECIAL, .flags = F_REQUIRED, .check = C_FINITE,
                 .label = "data.range", .help = "the input interval [lo, hi], lo < hi"},
  [DAT_SAMPLING] = {.name = "sampling", .type = T_NAME, .names = lz_data_sampling_names,
                    .dflt = LZ_DATA_GRID, .label = "data.sampling"},
  [DAT_G0] = {.name = "g0", .type = T_NAME, .names = lz_g0_names, .dflt = LZ_G0_SIN,
              .label = "data.g0"},
  [DAT_AMPLITUDE] = {.name = "amplitude", .type = T_NUMBER, .check = C_NONNEG, .dflt = 0.1,
                     .offset = OFF(problem.mlp.data.amplitude), .label = "data.amplitude"},
  [DAT_EPS] = {.name = "eps", .type = T_NUMBER, .flags = F_REQUIRED, .check = C_POSITIVE,
               .offset = OFF(problem.mlp.data.eps), .label = "data.eps",
               .help = "the period scale of the fast oscillation amplitude sin(x / eps)"},
};
static const section data_section = {"problem.data", "in problem.data", data_keys, DAT_COUNT,
                                     NULL};


/* The state of one instance, as the kind's descriptor counts it (the formula lives with the
 * objective, in src/core/problems). */
static double mlp_state_dim(int64_t width) {
  lz_problem_params pp = {.kind = LZ_PROBLEM_MLP};
  pp.mlp.width = width;
  return (double)lz_problem_params_dim(&pp);
}

static void read_mlp_data(parser *p, const yaml_node_t *n) {
  lz_job *job = p->job;
  section_read r;
  job->problem.mlp.data.mark = cfg_mark_of(n);
  if (!cfg_read_section(p, &data_section, n, &r)) return;
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
  if (r->node[DATA]) read_mlp_data(p, r->node[DATA]);
  if (!r->ok[WIDTH]) return;
  p->shape.known = true;
  p->shape.fixed = true;
  p->shape.dim = mlp_state_dim(job->problem.mlp.width);
  snprintf(p->shape.how, sizeof p->shape.how, "mlp: 3*width + 1 = [W1 | b1 | w2 | b2]");
}

static double min_state_dim(const parser *p) { return mlp_state_dim(p->job->problem.mlp.width); }

const cfg_kind cfg_kind_mlp = {keys, CFG_KEY_COUNT(keys), settle_mlp, min_state_dim};
