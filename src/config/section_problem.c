/* The problem map: its table is read, then the kind's own file in kinds/ settles what init
 * needs to know of its state vector. */

#include "parser.h"
#include "schema.h"
#include "kinds/kinds.h"

static const cfg_kind *const kinds[LZ_PROBLEM_KIND_COUNT] = {
#define CFG_KIND_ENTRY(suffix, name) [LZ_PROBLEM_##suffix] = &cfg_kind_##name,
    LZ_PROBLEM_KINDS(CFG_KIND_ENTRY)
#undef CFG_KIND_ENTRY
};

void cfg_read_problem(parser *p, const yaml_node_t *n) {
  section_read r;
  if (!cfg_read_section(p, &cfg_problem_section, n, &r)) return;
  p->problem_known = true;
  p->job->problem.kind = (lz_problem_kind)r.kind;
  p->job->problem.mark = cfg_mark_of(r.node[PRB_KIND]);
  kinds[p->job->problem.kind]->settle(p, &r);
}

/* Smallest state dimension over the sweep, from what was read (0 when it is not known). */
double cfg_min_state_dim(const parser *p) {
  if (!p->shape.known) return 0.0;
  return kinds[p->job->problem.kind]->min_state_dim(p);
}
