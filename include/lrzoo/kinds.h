/* The registry of problem kinds: each kind's header, and the list of kinds. A new kind adds
 * its #include and its X line here; everything else of it lives in its own files:
 *   include/lrzoo/kinds/<name>.h   its enums, the job file's part of it (lz_<name>_job), its
 *                                  resolved parameters (lz_<name>_params) and its sweep axes
 *                                  (LZ_<SUFFIX>_SLOTS);
 *   src/core/problems/<name>[.c|/]  its objective and descriptor (lz__kind_<name>);
 *   src/config/kinds/<name>.c       its job-file keys and their checks (cfg_kind_<name>).
 * The enum, the job-file names, lz_job's and lz_problem_params' parts and both descriptor
 * registries are generated from LZ_PROBLEM_KINDS. */
#ifndef LRZOO_KINDS_H
#define LRZOO_KINDS_H

#include "lrzoo/kinds/quadratic.h"
#include "lrzoo/kinds/mf.h"
#include "lrzoo/kinds/multiscale.h"
#include "lrzoo/kinds/mlp.h"

/* Every kind once, in job-file order (which is also the order of the problem axes in /axes,
 * part of the file format): F(ENUM_SUFFIX, name, arg). */
#define LZ_PROBLEM_KINDS_WITH(F, arg)  \
  F(QUADRATIC, quadratic, arg)         \
  F(MF, mf, arg)                       \
  F(MULTISCALE, multiscale, arg)       \
  F(MLP, mlp, arg)

/* The same list as X(ENUM_SUFFIX, name). */
#define LZ__KIND_AS_PAIR(suffix, name, X) X(suffix, name)
#define LZ_PROBLEM_KINDS(X) LZ_PROBLEM_KINDS_WITH(LZ__KIND_AS_PAIR, X)

/* Every kind's sweep axes in turn: X(ID, name, axis type, group, integer, labels,
 * description, form, member), the list src/config's slots begin with (parser.h). */
#define LZ__KIND_SLOTS(suffix, name, X) LZ_##suffix##_SLOTS(X)
#define LZ_PROBLEM_SLOTS(X) LZ_PROBLEM_KINDS_WITH(LZ__KIND_SLOTS, X)

#endif
