/* Private to src/config: the job-file side of each problem kind, one file a kind in this folder
 * (the kind's objective and descriptor are in src/core/problems/, its job part and sweep axes in
 * include/lrzoo/kinds/). A kind gives its keys in the problem map, reads its own sub-maps,
 * checks its keys against each other, and says what init needs to know of its state vector. */
#ifndef LRZOO_CONFIG_KINDS_H
#define LRZOO_CONFIG_KINDS_H

#include "../parser.h"

typedef struct cfg_kind {
  /* The kind's keys in the problem map besides `kind`; two kinds may share a name. */
  const key_spec *keys;
  size_t nkeys;
  /* After the problem map is read against the keys (r is indexed like them): the kind's own
   * reading and checks, and p->shape. */
  void (*settle)(parser *p, const section_read *r);
  /* The smallest state dimension over the sweep (p->shape is known). */
  double (*min_state_dim)(const parser *p);
} cfg_kind;

/* cfg_kind_<name>, one for each line of LZ_PROBLEM_KINDS (include/lrzoo/kinds.h). */
#define CFG_KIND_EXTERN(suffix, name) extern const cfg_kind cfg_kind_##name;
LZ_PROBLEM_KINDS(CFG_KIND_EXTERN)
#undef CFG_KIND_EXTERN

#define CFG_KEY_COUNT(keys) (sizeof(keys) / sizeof(keys)[0])

#endif
