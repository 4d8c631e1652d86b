/* The multiscale kind in the job file: f0, f1 and their cross-checks, and the dimension. */
#include "../parser.h"
#include "kinds.h"

#include <stdio.h>

#define GOLDEN_RATIO 1.6180339887498949

enum { F0, DIM, F1, EPS, AMPLITUDE, RATIO };
static const key_spec keys[] = {
  [F0] = {.name = "f0", .type = T_CHOICE, .flags = F_REQUIRED, .names = lz_f0_names, .slot = S_F0,
          .offset = OFF(problem.multiscale.f0),
          .help = "the slow part: quadratic, double_well or matyas"},
  [DIM] = {.name = "dim", .type = T_SWEEP, .flags = F_INTEGER, .check = C_SMALL_DIM, .dflt = 1,
           .slot = S_DIM, .offset = OFF(problem.multiscale.dim)},
  [F1] = {.name = "f1", .type = T_CHOICE, .dflt = LZ_F1_SINE, .names = lz_f1_names, .slot = S_F1,
          .offset = OFF(problem.multiscale.f1)},
  [EPS] = {.name = "eps", .type = T_SWEEP, .flags = F_REQUIRED, .check = C_POSITIVE,
           .slot = S_EPS, .offset = OFF(problem.multiscale.eps),
           .help = "the length scale of the fast part f1"},
  [AMPLITUDE] = {.name = "amplitude", .type = T_SWEEP, .flags = F_DEFAULT_LATER,
                 .check = C_POSITIVE, .slot = S_AMPLITUDE,
                 .offset = OFF(problem.multiscale.amplitude)},
  [RATIO] = {.name = "ratio", .type = T_SWEEP, .check = C_GT_ONE, .dflt = GOLDEN_RATIO,
             .slot = S_RATIO, .offset = OFF(problem.multiscale.ratio)},
};

static void settle_multiscale(parser *p, const section_read *r) {
  lz_job *job = p->job;
  char vals[96];
  if (r->ok[F0] && r->ok[DIM] && cfg_param_takes(p, &job->problem.multiscale.f0, LZ_F0_MATYAS) &&
      cfg_param_takes(p, &job->problem.multiscale.dim, 1)) {
    cfg_report(p, job->problem.multiscale.f0.mark,
               "f0 matyas is two-dimensional, but dim can be 1 (dim = %s%s); "
               "set dim: 2",
               cfg_param_text(p, &job->problem.multiscale.dim, vals, sizeof vals),
               r->node[DIM] ? "" : ", the default");
  }
  if (r->node[RATIO] && r->ok[F1] &&
      !cfg_param_takes(p, &job->problem.multiscale.f1, LZ_F1_QUASIPERIODIC)) {
    cfg_report(p, cfg_mark_of(r->node[RATIO]),
               "ratio is only used by f1 quasiperiodic, but f1 is sine; "
               "remove ratio or set f1: quasiperiodic");
  }
  /* Without an amplitude, f1 = eps sin(x / eps): its gradient stays of order one. */
  if (!r->node[AMPLITUDE] && r->ok[EPS]) {
    job->problem.multiscale.amplitude = job->problem.multiscale.eps;
    job->problem.multiscale.amplitude.mark = (lz_mark){0, 0};
  }
  if (!r->ok[DIM]) return;
  p->shape.known = true;
  p->shape.fixed = cfg_param_is_single(p, &job->problem.multiscale.dim);
  p->shape.dim = job->problem.multiscale.dim.value;
  if (p->shape.fixed)
    snprintf(p->shape.how, sizeof p->shape.how, "multiscale: dim");
  else
    snprintf(p->shape.how, sizeof p->shape.how, "dim is swept (%s at line %d)",
             cfg_param_text(p, &job->problem.multiscale.dim, vals, sizeof vals),
             job->problem.multiscale.dim.mark.line);
}

static double min_state_dim(const parser *p) {
  return cfg_param_min(p, &p->job->problem.multiscale.dim);
}

const cfg_kind cfg_kind_multiscale = {keys, CFG_KEY_COUNT(keys), settle_multiscale,
                                      min_state_dim};
