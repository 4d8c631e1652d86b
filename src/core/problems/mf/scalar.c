/* The scalar path of matrix factorization, n = d = 1 and A = mu:
 * f = (x sigma(y) - mu)^2 / 2 in closed form, no loops or BLAS. */
#include <math.h>

#include "mf.h"
#include "mf_internal.h"

/* ---- scalar target: f = (x sigma(y) - mu)^2 / 2 ------------------------------------- */

/* r = x sigma(y) - mu rounded once: exact cancellation near a minimizer, and the arithmetic the
 * lanes engine repeats per lane (gd_lanes.c). */
static double scalar_residual(const mf *m, double x, double s) { return fma(x, s, -m->mu); }

double lz__mf_scalar_value(const mf *m, const double *xy) {
  double r = scalar_residual(m, xy[0], activation_of(m, xy[1]));
  return 0.5 * r * r;
}

double lz__mf_scalar_value_grad(const mf *m, const double *xy, double *g) {
  double x = xy[0], s = activation_of(m, xy[1]);
  double r = scalar_residual(m, x, s);
  g[0] = r * s;
  g[1] = activation_slope(m, xy[1]) * r * x;
  return 0.5 * r * r;
}

void lz__mf_scalar_hvp(const mf *m, const double *xy, const double *v, double *hv) {
  double x = xy[0], s = activation_of(m, xy[1]), slope = activation_slope(m, xy[1]);
  double r = scalar_residual(m, x, s);
  double ds = slope * v[1];
  double dr = v[0] * s + x * ds;
  hv[0] = dr * s + r * ds;
  hv[1] = slope * (dr * x + r * v[0]);
}
