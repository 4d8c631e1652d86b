/* Private to src/config: the job-file side of each problem kind, one file a kind in this folder
 * (the kind's objective and descriptor are in src/core/problems/). A kind reads its own
 * sub-maps, checks its keys against each other, and says what init needs to know of its state
 * vector; its keys are in the problem table of ../schema.c. */
#ifndef LRZOO_CONFIG_KINDS_H
#define LRZOO_CONFIG_KINDS_H

#include "../parser.h"

typedef struct cfg_kind {
  /* After the problem map is read against its table: the kind's own reading and checks, and
   * p->shape. */
  void (*settle)(parser *p, const section_read *r);
  /* The smallest state dimension over the sweep (p->shape is known). */
  double (*min_state_dim)(const parser *p);
} cfg_kind;

/* cfg_kind_<name>, one for each line of LZ_PROBLEM_KINDS (include/lrzoo/job.h). */
#define CFG_KIND_EXTERN(suffix, name) extern const cfg_kind cfg_kind_##name;
LZ_PROBLEM_KINDS(CFG_KIND_EXTERN)
#undef CFG_KIND_EXTERN

#endif
