/* The quadratic kind in the job file: its state is one entry per eigenvalue. */
#include "../parser.h"
#include "kinds.h"

#include <stdio.h>

enum { EIGENVALUES };
static const key_spec keys[] = {
  [EIGENVALUES] = {.name = "eigenvalues", .type = T_VECTOR, .flags = F_REQUIRED,
                   .check = C_FINITE, .slot = S_EIGENVALUES,
                   .offset = OFF(problem.quadratic.eigenvalues),
                   .help = "the Hessian eigenvalues, a list of numbers"},
};

static void settle_quadratic(parser *p, const section_read *r) {
  p->eigenvalues_ok = r->ok[EIGENVALUES];
  if (!p->eigenvalues_ok) return;
  p->shape = (state_shape){.known = true, .fixed = true,
                           .dim = (double)p->job->problem.quadratic.eigenvalues.len};
  snprintf(p->shape.how, sizeof p->shape.how, "quadratic: one entry per eigenvalue");
}

static double min_state_dim(const parser *p) {
  return (double)p->job->problem.quadratic.eigenvalues.len;
}

const cfg_kind cfg_kind_quadratic = {keys, CFG_KEY_COUNT(keys), settle_quadratic, min_state_dim};
