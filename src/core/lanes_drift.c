/* The modified equations next to GD for a block of lanes: modeq.c's lz_modeq_drift with the
 * lanes as the innermost loop. Every expression is modeq.c's, in its order, on lanes_rows.c's
 * gradients and Hessian-vector products, so each lane's drift is bitwise the per-run one.
 * A lane whose GD leaves the finite numbers stops there (its maximum so far stands); a flow
 * that blows up gives NaN and stops; their rows are then held at 0 so that cos and tanh keep
 * to libmvec's fast path. */
#include <math.h>
#include <string.h>

#include "lanes_rows.h"
#include "lrzoo/gd_lanes.h"

#define EACH_LANE _Pragma("omp simd") for (int i = 0; i < LZ_LANES; ++i)

typedef struct drift_rows {
  lz_lane_row g[LZ_LANES_MAX_DIM], hg[LZ_LANES_MAX_DIM], h2g[LZ_LANES_MAX_DIM];
  lz_lane_row d3[LZ_LANES_MAX_DIM], probe[LZ_LANES_MAX_DIM], tmp[LZ_LANES_MAX_DIM];
  lz_lane_row k[4][LZ_LANES_MAX_DIM], y[LZ_LANES_MAX_DIM];
} drift_rows;

static void hold_dead_lanes_at_zero(lz_lane_row *x, int dim, const unsigned char *alive) {
  for (int c = 0; c < dim; ++c) EACH_LANE x[c][i] = alive[i] ? x[c][i] : 0.0;
}

/* D3f[g, g] by modeq.c's central difference of Hessian-vector products. */
static void third_derivative_along(const lz_lanes_problem *lp, lz_lane_row *x,
                                   drift_rows *w) {
  const int dim = lp->dim;
  double gn[LZ_LANES], xn[LZ_LANES], delta[LZ_LANES];
  lz__rows_norm2(w->g, dim, gn);
  lz__rows_norm2(x, dim, xn);
  EACH_LANE delta[i] = gn[i] > 0 ? 6e-6 * fmax(1.0, xn[i]) / gn[i] : 0.0;
  for (int c = 0; c < dim; ++c) EACH_LANE w->probe[c][i] = x[c][i] + delta[i] * w->g[c][i];
  lz__rows_hvp(lp, w->probe, w->g, w->d3);
  for (int c = 0; c < dim; ++c) EACH_LANE w->probe[c][i] = x[c][i] - delta[i] * w->g[c][i];
  lz__rows_hvp(lp, w->probe, w->g, w->tmp);
  for (int c = 0; c < dim; ++c) EACH_LANE
      w->d3[c][i] = gn[i] > 0 ? (w->d3[c][i] - w->tmp[c][i]) / (2.0 * delta[i]) : 0.0;
}

/* out = F_order(x), lz_modeq_field's vector fields. */
static void field(const lz_lanes_problem *lp, int order, const double *h, lz_lane_row *x,
                  lz_lane_row *out, drift_rows *w) {
  const int dim = lp->dim;
  lz__rows_grad(lp, x, w->g);
  for (int c = 0; c < dim; ++c) EACH_LANE out[c][i] = -w->g[c][i];
  if (order < 1) return;
  lz__rows_hvp(lp, x, w->g, w->hg);
  for (int c = 0; c < dim; ++c) EACH_LANE out[c][i] -= 0.5 * h[i] * w->hg[c][i];
  if (order < 2) return;
  lz__rows_hvp(lp, x, w->hg, w->h2g);
  third_derivative_along(lp, x, w);
  for (int c = 0; c < dim; ++c)
    EACH_LANE out[c][i] -= h[i] * h[i] * (w->h2g[c][i] / 3.0 + w->d3[c][i] / 12.0);
}

/* One classical Runge-Kutta step of size dt for the order-k flow, as modeq.c's rk4_step. */
static void rk4_step(const lz_lanes_problem *lp, int order, const double *h, const double *dt,
                     lz_lane_row *x, const unsigned char *alive, drift_rows *w) {
  const int dim = lp->dim;
  lz_lane_row *k1 = w->k[0], *k2 = w->k[1], *k3 = w->k[2], *k4 = w->k[3], *y = w->y;
  field(lp, order, h, x, k1, w);
  for (int c = 0; c < dim; ++c) EACH_LANE y[c][i] = x[c][i] + 0.5 * dt[i] * k1[c][i];
  hold_dead_lanes_at_zero(y, dim, alive);
  field(lp, order, h, y, k2, w);
  for (int c = 0; c < dim; ++c) EACH_LANE y[c][i] = x[c][i] + 0.5 * dt[i] * k2[c][i];
  hold_dead_lanes_at_zero(y, dim, alive);
  field(lp, order, h, y, k3, w);
  for (int c = 0; c < dim; ++c) EACH_LANE y[c][i] = x[c][i] + dt[i] * k3[c][i];
  hold_dead_lanes_at_zero(y, dim, alive);
  field(lp, order, h, y, k4, w);
  for (int c = 0; c < dim; ++c) EACH_LANE
      x[c][i] += dt[i] / 6.0 * (k1[c][i] + 2.0 * k2[c][i] + 2.0 * k3[c][i] + k4[c][i]);
}

static void all_finite(lz_lane_row *x, int dim, unsigned char *finite) {
  EACH_LANE finite[i] = 1;
  for (int c = 0; c < dim; ++c) EACH_LANE finite[i] &= (unsigned char)isfinite(x[c][i]);
}

void lz_gd_lanes_drift(const lz_lanes_problem *lp, const lz_lanes *b, int64_t steps,
                       int64_t substeps, unsigned orders, double drift[3][LZ_LANES]) {
  static _Thread_local drift_rows w;
  static _Thread_local lz_lane_row xg[LZ_LANES_MAX_DIM], flow[3][LZ_LANES_MAX_DIM];
  const int dim = lp->dim;
  unsigned char gd_on[LZ_LANES], on[3][LZ_LANES], both[LZ_LANES], finite[LZ_LANES];
  double dt[LZ_LANES], gap[LZ_LANES];
  EACH_LANE {
    gd_on[i] = i < b->count;
    dt[i] = b->h[i] / (double)substeps;
  }
  for (int c = 0; c < dim; ++c) EACH_LANE xg[c][i] = gd_on[i] ? b->x[c][i] : 0.0;
  for (int k = 0; k < 3; ++k) {
    memcpy(flow[k], xg, (size_t)dim * sizeof xg[0]);
    EACH_LANE {
      drift[k][i] = 0.0;
      on[k][i] = gd_on[i] && ((orders >> k) & 1u);
    }
  }
  for (int64_t j = 1; j <= steps; ++j) {
    lz__rows_grad(lp, xg, w.g);
    for (int c = 0; c < dim; ++c) EACH_LANE xg[c][i] = fma(-b->h[i], w.g[c][i], xg[c][i]);
    all_finite(xg, dim, finite);
    int any = 0;
    EACH_LANE {
      gd_on[i] &= finite[i];  /* GD left the finite numbers: keep the maximum so far */
      any |= gd_on[i];
    }
    if (!any) break;
    hold_dead_lanes_at_zero(xg, dim, gd_on);
    for (int k = 0; k < 3; ++k) {
      int any_flow = 0;
      EACH_LANE {
        both[i] = on[k][i] & gd_on[i];
        any_flow |= both[i];
      }
      if (!any_flow) continue;
      for (int64_t s = 0; s < substeps; ++s) {
        hold_dead_lanes_at_zero(flow[k], dim, both);
        rk4_step(lp, k, b->h, dt, flow[k], both, &w);
      }
      all_finite(flow[k], dim, finite);
      for (int c = 0; c < dim; ++c) EACH_LANE w.tmp[c][i] = flow[k][c][i] - xg[c][i];
      lz__rows_norm2(w.tmp, dim, gap);
      EACH_LANE {
        if (!both[i]) continue;
        const double d = finite[i] ? gap[i] : NAN;
        if (!isfinite(d)) {
          drift[k][i] = NAN;  /* the flow blew up in finite time: no drift over the window */
          on[k][i] = 0;
        } else {
          drift[k][i] = fmax(drift[k][i], d);
        }
      }
    }
  }
}
