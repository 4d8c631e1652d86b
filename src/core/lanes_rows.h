/* The objectives of the lanes engine, evaluated for a whole block of LZ_LANES runs at once.
 *
 * Rows hold one coordinate of every lane (x[c][i]: coordinate c of lane i). Every function
 * computes all LZ_LANES lanes, each on its own and with the arithmetic of the per-run objective
 * (the same expressions in the same order, the same fma, cos, sin and tanh), so lane i's result
 * is bitwise what lz_problem_value_grad, lz_problem_value or lz_problem_hvp gives for x[.][i].
 * Input rows are not written (C11 cannot pass a row array as const without a cast). Callers put
 * 0 into lanes they do not use: cos and tanh of inf or NaN would take libmvec's
 * slow path. */
#ifndef LZ_LANES_ROWS_H
#define LZ_LANES_ROWS_H

#include "lrzoo/gd_lanes.h"

/* c[i] = cos(x_i / eps) [+ cos(r x_i / eps)] for one row of a multiscale objective: what its
 * slope is (a / eps) times. */
void lz__rows_fast_cosines(const lz_lanes_problem *lp, const double *x, double *c);
/* g = grad f(x). */
void lz__rows_grad(const lz_lanes_problem *lp, lz_lane_row *x, lz_lane_row *g);
/* f[i] = f(x lane i). */
void lz__rows_value(const lz_lanes_problem *lp, lz_lane_row *x, double *f);
/* hv = H(x) v. */
void lz__rows_hvp(const lz_lanes_problem *lp, lz_lane_row *x, lz_lane_row *v,
                  lz_lane_row *hv);
/* Whether the objective has a symmetry whose directions lz__rows_project removes (as
 * lz_problem_has_symmetries says). */
int lz__rows_have_symmetry(const lz_lanes_problem *lp);
/* w less its part along the symmetry directions at x, as lz_problem_project_symmetries. */
void lz__rows_project(const lz_lanes_problem *lp, lz_lane_row *x, lz_lane_row *w);
/* out[i] = lz_norm2 of lane i's vector v[0..dim)[i], bitwise. */
void lz__rows_norm2(lz_lane_row *v, int dim, double *out);

#endif
