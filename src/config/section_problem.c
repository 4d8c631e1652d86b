/* The problem map: `kind`, then the keys of every kind (kinds/), each applying to its own kind,
 * read as one table so that a key of another kind gets its own message. The kind's file then
 * settles what init needs to know of its state vector. */

#include <string.h>

#include "parser.h"
#include "schema.h"
#include "kinds/kinds.h"

static const cfg_kind *const kinds[LZ_PROBLEM_KIND_COUNT] = {
#define CFG_KIND_ENTRY(suffix, name) [LZ_PROBLEM_##suffix] = &cfg_kind_##name,
    LZ_PROBLEM_KINDS(CFG_KIND_ENTRY)
#undef CFG_KIND_ENTRY
};

/* The problem map's table: the kind key, then each kind's keys in registry order, marked as
 * that kind's. first[k] is where kind k's keys begin. */
typedef struct problem_table {
  key_spec keys[MAX_SECTION_KEYS];
  size_t nkeys, first[LZ_PROBLEM_KIND_COUNT];
} problem_table;

static size_t keys_of_every_kind(void) {
  size_t n = 1;
  for (int k = 0; k < LZ_PROBLEM_KIND_COUNT; ++k) n += kinds[k]->nkeys;
  return n;
}

static void put_together_problem_table(problem_table *t) {
  t->keys[0] = cfg_problem_kind_key;
  t->nkeys = 1;
  for (int k = 0; k < LZ_PROBLEM_KIND_COUNT; ++k) {
    t->first[k] = t->nkeys;
    for (size_t i = 0; i < kinds[k]->nkeys; ++i) {
      key_spec spec = kinds[k]->keys[i];
      spec.kinds = LZ_KIND_BIT(k);
      t->keys[t->nkeys++] = spec;
    }
  }
}

/* The kind's view of what was read: indexed like its own keys. */
static void keep_keys_of_kind(const problem_table *t, int kind, const section_read *all,
                              section_read *own) {
  memset(own, 0, sizeof *own);
  own->map = all->map;
  own->kind = all->kind;
  const size_t first = t->first[kind];
  for (size_t i = 0; i < kinds[kind]->nkeys; ++i) {
    own->node[i] = all->node[first + i];
    own->ok[i] = all->ok[first + i];
    own->code[i] = all->code[first + i];
  }
}

void cfg_read_problem(parser *p, const yaml_node_t *n) {
  if (keys_of_every_kind() > MAX_SECTION_KEYS) {
    /* a new kind's keys would not fit: a build mistake, said as such rather than overrun */
    cfg_report(p, cfg_mark_of(n), "internal limit: the problem kinds have %zu keys, more than "
               "the %d a map holds (MAX_SECTION_KEYS in src/config/parser.h)",
               keys_of_every_kind(), MAX_SECTION_KEYS);
    return;
  }
  problem_table t;
  put_together_problem_table(&t);
  const section sec = {"problem", "in problem", t.keys, t.nkeys, lz_problem_kind_names};
  section_read all, own;
  if (!cfg_read_section(p, &sec, n, &all)) return;
  p->problem_known = true;
  p->job->problem.kind = (lz_problem_kind)all.kind;
  p->job->problem.mark = cfg_mark_of(all.node[0]);
  keep_keys_of_kind(&t, all.kind, &all, &own);
  kinds[p->job->problem.kind]->settle(p, &own);
}

/* Smallest state dimension over the sweep, from what was read (0 when it is not known). */
double cfg_min_state_dim(const parser *p) {
  if (!p->shape.known) return 0.0;
  return kinds[p->job->problem.kind]->min_state_dim(p);
}
