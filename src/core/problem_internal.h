/* Private to src/core and the unit tests: access to an instance's objective-specific data. */
#ifndef LRZOO_PROBLEM_INTERNAL_H
#define LRZOO_PROBLEM_INTERNAL_H

#include "lrzoo/problem.h"

/* The state that the objective's create built (borrowed; owned by p). */
const void *lz__problem_state(const lz_problem *p);

/* The data an mlp instance fits (borrowed from its state): returns the inputs, sets *y to the
 * labels and *points to their number. */
const double *lz__mlp_data_of(const void *state, const double **y, size_t *points);
/* The mlp's data weights (NULL: 1 / m each), for the lanes engine. */
const double *lz__mlp_weights_of(const void *state);

#endif
