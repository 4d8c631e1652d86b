/* The multiscale kind in the job file: f0, f1 and their cross-checks, and the dimension. */
#include "../parser.h"
#include "../schema.h"
#include "kinds.h"

#include <stdio.h>

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

static double min_state_dim(const parser *p) { return cfg_param_min(p, &p->job->problem.dim); }

const cfg_kind cfg_kind_multiscale = {settle_multiscale, min_state_dim};
