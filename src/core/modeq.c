/* Gradient flow and the modified equations of GD (docs/design.md), integrated next to GD itself.
 *
 * With g = grad f and H its Hessian, the flows of order 0, 1 and 2 are
 *   F0 = -g,   F1 = F0 - (h/2) H g,   F2 = F1 - (h^2/3) H^2 g - (h^2/12) D3f[g, g],
 * the last from x' = -grad(f + (h/4)|g|^2 + (h^2/12) g'Hg) - (h^2/6) H^2 g: the gradient of
 * g'Hg is 2 H^2 g + D3f[g, g]. D3f[g, g] is the derivative of H(x) g along g, taken by central
 * differences of the exact Hessian-vector products: it enters with h^2/12, so its O(delta^2)
 * error is far below the one-step error h^4 that order 2 leaves. */
#include <math.h>
#include <string.h>

#include "lrzoo/analysis.h"
#include "lrzoo/gd.h"
#include "lrzoo/linalg.h"

/* Scratch layout of one field evaluation: g, Hg, H2g, D3, probe x +- delta g, and the
 * objective's own work. */
enum { FIELD_VECTORS = 6 };

size_t lz_modeq_work_len_for(const lz_problem_sizes *s) {
  size_t n = s->dim;
  /* field scratch, GD state and gradient, three flows, RK4 stages (4) and a temporary */
  return FIELD_VECTORS * n + s->work_len + 2 * n + 3 * n + 5 * n;
}

size_t lz_modeq_work_len(const lz_problem *p) {
  lz_problem_sizes s;
  lz_problem_sizes_of(p, &s);
  return lz_modeq_work_len_for(&s);
}

/* D3f[g, g] = d/de H(x + e g) g at e = 0, by a central difference with the step that balances
 * truncation (delta^2) against rounding (eps / delta). */
static void third_derivative_along(const lz_problem *p, const double *x, const double *g,
                                   double *out, double *probe, double *tmp, double *pwork) {
  size_t n = lz_problem_dim(p);
  double gn = lz_norm2(g, n);
  if (!(gn > 0)) {
    memset(out, 0, n * sizeof *out);
    return;
  }
  double delta = 6e-6 * fmax(1.0, lz_norm2(x, n)) / gn;
  for (size_t i = 0; i < n; ++i) probe[i] = x[i] + delta * g[i];
  lz_problem_hvp(p, probe, g, out, pwork);
  for (size_t i = 0; i < n; ++i) probe[i] = x[i] - delta * g[i];
  lz_problem_hvp(p, probe, g, tmp, pwork);
  for (size_t i = 0; i < n; ++i) out[i] = (out[i] - tmp[i]) / (2.0 * delta);
}

void lz_modeq_field(const lz_problem *p, int order, double h, const double *x, double *out,
                    double *work) {
  size_t n = lz_problem_dim(p);
  double *g = work, *hg = g + n, *h2g = hg + n, *d3 = h2g + n, *probe = d3 + n, *tmp = probe + n;
  double *pwork = tmp + n;
  lz_problem_value_grad(p, x, g, pwork);
  for (size_t i = 0; i < n; ++i) out[i] = -g[i];
  if (order < 1) return;
  lz_problem_hvp(p, x, g, hg, pwork);
  for (size_t i = 0; i < n; ++i) out[i] -= 0.5 * h * hg[i];
  if (order < 2) return;
  lz_problem_hvp(p, x, hg, h2g, pwork);
  third_derivative_along(p, x, g, d3, probe, tmp, pwork);
  for (size_t i = 0; i < n; ++i) out[i] -= h * h * (h2g[i] / 3.0 + d3[i] / 12.0);
}

/* One classical Runge-Kutta step of size dt for the order-k flow. */
static void rk4_step(const lz_problem *p, int order, double h, double dt, double *x,
                     double *stages, double *field_work) {
  size_t n = lz_problem_dim(p);
  double *k1 = stages, *k2 = k1 + n, *k3 = k2 + n, *k4 = k3 + n, *y = k4 + n;
  lz_modeq_field(p, order, h, x, k1, field_work);
  for (size_t i = 0; i < n; ++i) y[i] = x[i] + 0.5 * dt * k1[i];
  lz_modeq_field(p, order, h, y, k2, field_work);
  for (size_t i = 0; i < n; ++i) y[i] = x[i] + 0.5 * dt * k2[i];
  lz_modeq_field(p, order, h, y, k3, field_work);
  for (size_t i = 0; i < n; ++i) y[i] = x[i] + dt * k3[i];
  lz_modeq_field(p, order, h, y, k4, field_work);
  for (size_t i = 0; i < n; ++i) x[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
}

static double distance(const double *a, const double *b, size_t n, double *tmp) {
  for (size_t i = 0; i < n; ++i) tmp[i] = a[i] - b[i];
  return lz_norm2(tmp, n);
}

void lz_modeq_drift(const lz_problem *p, const double *x0, double h, int64_t steps,
                    int64_t substeps, unsigned orders, double drift[3], double *work) {
  size_t n = lz_problem_dim(p);
  double *field_work = work;
  double *xg = field_work + FIELD_VECTORS * n + lz_problem_work_len(p), *g = xg + n;
  double *flow = g + n, *stages = flow + 3 * n, *tmp = stages + 4 * n;
  double *pwork = field_work + FIELD_VECTORS * n;
  const double dt = h / (double)substeps;
  int alive[3];

  memcpy(xg, x0, n * sizeof *xg);
  for (int k = 0; k < 3; ++k) {
    drift[k] = 0.0;
    alive[k] = (orders >> k) & 1u;
    memcpy(flow + (size_t)k * n, x0, n * sizeof *flow);
  }
  for (int64_t j = 1; j <= steps; ++j) {
    lz_problem_value_grad(p, xg, g, pwork);
    lz_gd_step(xg, g, h, n);
    if (!lz_all_finite(xg, n)) return;  /* GD left the finite numbers: keep the maximum so far */
    for (int k = 0; k < 3; ++k) {
      if (!alive[k]) continue;
      double *xk = flow + (size_t)k * n;
      for (int64_t s = 0; s < substeps; ++s) rk4_step(p, k, h, dt, xk, stages, field_work);
      double gap = lz_all_finite(xk, n) ? distance(xk, xg, n, tmp) : NAN;
      if (!isfinite(gap)) {
        drift[k] = NAN;  /* the flow blew up in finite time: no drift over the window */
        alive[k] = 0;
        continue;
      }
      drift[k] = fmax(drift[k], gap);
    }
  }
}
