/* Private to src/core: the objectives of src/core/problems, one a problem kind, for the
 * registry of problem.c. */
#ifndef LRZOO_PROBLEMS_H
#define LRZOO_PROBLEMS_H

#include "lrzoo/problem.h"

extern const lz_objective lz__objective_quadratic;
extern const lz_objective lz__objective_mf;
extern const lz_objective lz__objective_multiscale;
extern const lz_objective lz__objective_mlp;

#endif
