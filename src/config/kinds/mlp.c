/* The mlp kind in the job file: its activation, the data sub-map and the width. */
#include "../parser.h"
#include "../schema.h"
#include "kinds.h"

#include <stdio.h>

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

static double min_state_dim(const parser *p) { return mlp_state_dim(p->job->problem.width); }

const cfg_kind cfg_kind_mlp = {settle_mlp, min_state_dim};
