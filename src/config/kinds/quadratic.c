/* The quadratic kind in the job file: its state is one entry per eigenvalue. */
#include "../parser.h"
#include "../schema.h"
#include "kinds.h"

#include <stdio.h>

static void settle_quadratic(parser *p, const section_read *r) {
  p->eigenvalues_ok = r->ok[PRB_EIGENVALUES];
  if (!p->eigenvalues_ok) return;
  p->shape = (state_shape){.known = true, .fixed = true,
                           .dim = (double)p->job->problem.eigenvalues.len};
  snprintf(p->shape.how, sizeof p->shape.how, "quadratic: one entry per eigenvalue");
}

static double min_state_dim(const parser *p) { return (double)p->job->problem.eigenvalues.len; }

const cfg_kind cfg_kind_quadratic = {settle_quadratic, min_state_dim};
