/* The lanes engine's objectives on whole blocks (see lanes_rows.h). Each section repeats the
 * arithmetic of its per-run objective (problems/mf/scalar.c, problems/quadratic.c,
 * problems/multiscale.c, problems/mlp.c) with the lanes as the innermost loop; tests/test_gd.c
 * holds the two to the bit. Where the per-run code computes a value twice (mlp's activations), the rows
 * compute it once: the same function of the same argument. */
#include "lanes_rows.h"

#include <math.h>
#include <string.h>

#include "lrzoo/linalg.h"
#include "vmath.h"

#define EACH_LANE _Pragma("omp simd") for (int i = 0; i < LZ_LANES; ++i)

/* v[i] = op(v[i]) through libmvec, LZ_VW lanes a call. */
typedef lz_vd vector_fn(lz_vd);
static void map_row(vector_fn *fn, const double *in, double *out) {
  for (int i = 0; i < LZ_LANES; i += LZ_VW) {
    lz_vd v;
    memcpy(&v, in + i, sizeof v);
    v = fn(v);
    memcpy(out + i, &v, sizeof v);
  }
}

/* ---- the scalar factorization (x sigma(y) - mu)^2 / 2 ----------------------------------- */

static inline double sigma_of(lz_activation act, double alpha, double t) {
  return act == LZ_ACT_NONE ? t : t > 0.0 ? t : act == LZ_ACT_RELU ? 0.0 : alpha * t;
}

static inline double sigma_slope(lz_activation act, double alpha, double t) {
  return act == LZ_ACT_NONE ? 1.0 : t > 0.0 ? 1.0 : act == LZ_ACT_RELU ? 0.0 : alpha;
}

static inline __attribute__((always_inline)) void scalar_grad_as(const lz_lanes_problem *lp,
                                                                 lz_lane_row *xy,
                                                                 lz_lane_row *g,
                                                                 lz_activation act) {
  const double mu = lp->mu, alpha = lp->alpha;
  EACH_LANE {
    const double x = xy[0][i], y = xy[1][i];
    const double s = sigma_of(act, alpha, y), r = fma(x, s, -mu);
    g[0][i] = r * s;
    g[1][i] = sigma_slope(act, alpha, y) * r * x;
  }
}

static inline __attribute__((always_inline)) void scalar_hvp_as(const lz_lanes_problem *lp,
                                                                lz_lane_row *xy,
                                                                lz_lane_row *v,
                                                                lz_lane_row *hv,
                                                                lz_activation act) {
  const double mu = lp->mu, alpha = lp->alpha;
  EACH_LANE {
    const double x = xy[0][i], y = xy[1][i];
    const double s = sigma_of(act, alpha, y), slope = sigma_slope(act, alpha, y);
    const double r = fma(x, s, -mu);
    const double ds = slope * v[1][i];
    const double dr = v[0][i] * s + x * ds;
    hv[0][i] = dr * s + r * ds;
    hv[1][i] = slope * (dr * x + r * v[0][i]);
  }
}

static void scalar_grad(const lz_lanes_problem *lp, lz_lane_row *x, lz_lane_row *g) {
  switch (lp->act) {
    case LZ_ACT_RELU: scalar_grad_as(lp, x, g, LZ_ACT_RELU); break;
    case LZ_ACT_LEAKY_RELU: scalar_grad_as(lp, x, g, LZ_ACT_LEAKY_RELU); break;
    default: scalar_grad_as(lp, x, g, LZ_ACT_NONE); break;
  }
}

static void scalar_hvp(const lz_lanes_problem *lp, lz_lane_row *x, lz_lane_row *v,
                       lz_lane_row *hv) {
  switch (lp->act) {
    case LZ_ACT_RELU: scalar_hvp_as(lp, x, v, hv, LZ_ACT_RELU); break;
    case LZ_ACT_LEAKY_RELU: scalar_hvp_as(lp, x, v, hv, LZ_ACT_LEAKY_RELU); break;
    default: scalar_hvp_as(lp, x, v, hv, LZ_ACT_NONE); break;
  }
}

static void scalar_value(const lz_lanes_problem *lp, lz_lane_row *xy, double *f) {
  const double mu = lp->mu, alpha = lp->alpha;
  const lz_activation act = lp->act;
  EACH_LANE {
    const double r = fma(xy[0][i], sigma_of(act, alpha, xy[1][i]), -mu);
    f[i] = 0.5 * r * r;
  }
}

/* The one symmetry of n = d = 1, the direction (x, -y), removed by least squares as
 * problems/mf/symmetries.c's remove_column_scalings does for a single column. */
static void scalar_project(lz_lane_row *xy, lz_lane_row *w) {
  EACH_LANE {
    const double x = xy[0][i], y = xy[1][i];
    const double along = 0.0 + (x * w[0][i] - y * w[1][i]);
    const double norm2 = 0.0 + (x * x + y * y);
    const double coef = along / norm2;  /* unconditional, so that the loop vectorizes */
    w[0][i] = norm2 > 0 ? w[0][i] - coef * x : w[0][i];
    w[1][i] = norm2 > 0 ? w[1][i] + coef * y : w[1][i];
  }
}

/* ---- the quadratic 1/2 sum lambda_c x_c^2 ------------------------------------------------- */

static void quadratic_grad(const lz_lanes_problem *lp, lz_lane_row *x, lz_lane_row *g) {
  for (int c = 0; c < lp->dim; ++c) {
    const double l = lp->lambda[c];
    EACH_LANE g[c][i] = l * x[c][i];
  }
}

static void quadratic_value(const lz_lanes_problem *lp, lz_lane_row *x, double *f) {
  EACH_LANE f[i] = 0.0;
  for (int c = 0; c < lp->dim; ++c) {
    const double l = lp->lambda[c];
    EACH_LANE f[i] += l * x[c][i] * x[c][i];
  }
  EACH_LANE f[i] = 0.5 * f[i];
}

static void quadratic_hvp(const lz_lanes_problem *lp, lz_lane_row *v, lz_lane_row *hv) {
  for (int c = 0; c < lp->dim; ++c) {
    const double l = lp->lambda[c];
    EACH_LANE hv[c][i] = l * v[c][i];
  }
}

/* ---- the multiscale f0 + f1 --------------------------------------------------------------- */

/* How the second frequency of a quasi-periodic f1 joins the first in fast_row. */
typedef enum { SECOND_AS_IS, SECOND_TIMES_RATIO, SECOND_OVER_RATIO } second_term;

/* fn(t) with t = x / eps for a row, plus fn(ratio t) for the quasi-periodic f1, joined as
 * problems/multiscale.c's fast_*_1d join them: cos(t) + cos(r t) (the slope), sin(t) + r sin(r t)
 * (the curvature), sin(t) + sin(r t) / r (the value). */
static void fast_row(const lz_lanes_problem *lp, vector_fn *fn, second_term how,
                     const double *x, double *out) {
  const lz_vd eps = lz_vsplat(lp->eps), r = lz_vsplat(lp->ratio);
  const int quasi = lp->f1 == LZ_F1_QUASIPERIODIC;
  for (int i = 0; i < LZ_LANES; i += LZ_VW) {
    lz_vd v;
    memcpy(&v, x + i, sizeof v);
    lz_vd t = v / eps, s = fn(t);
    if (quasi) {
      lz_vd second = fn(r * t);
      if (how == SECOND_TIMES_RATIO) second = r * second;
      else if (how == SECOND_OVER_RATIO) second = second / r;
      s += second;
    }
    memcpy(out + i, &s, sizeof s);
  }
}

void lz__rows_fast_cosines(const lz_lanes_problem *lp, const double *x, double *c) {
  fast_row(lp, lz_vcos, SECOND_AS_IS, x, c);
}

static void multiscale_grad(const lz_lanes_problem *lp, lz_lane_row *x, lz_lane_row *g) {
  const int dim = lp->dim;
  switch (lp->f0) {
    case LZ_F0_QUADRATIC:
      for (int c = 0; c < dim; ++c) EACH_LANE g[c][i] = x[c][i];
      break;
    case LZ_F0_DOUBLE_WELL:
      for (int c = 0; c < dim; ++c) EACH_LANE g[c][i] = x[c][i] * (x[c][i] * x[c][i] - 1.0);
      break;
    case LZ_F0_MATYAS:
      EACH_LANE {
        g[0][i] = 0.52 * x[0][i] - 0.48 * x[1][i];
        g[1][i] = 0.52 * x[1][i] - 0.48 * x[0][i];
      }
      break;
  }
  const double aoe = lp->amplitude / lp->eps;
  double cs[LZ_LANES];
  for (int c = 0; c < dim; ++c) {
    fast_row(lp, lz_vcos, SECOND_AS_IS, x[c], cs);
    EACH_LANE g[c][i] += aoe * cs[i];
  }
}

static void multiscale_value(const lz_lanes_problem *lp, lz_lane_row *x, double *f) {
  const int dim = lp->dim;
  EACH_LANE f[i] = 0.0;
  switch (lp->f0) {
    case LZ_F0_QUADRATIC:
      for (int c = 0; c < dim; ++c) EACH_LANE f[i] += 0.5 * x[c][i] * x[c][i];
      break;
    case LZ_F0_DOUBLE_WELL:
      for (int c = 0; c < dim; ++c) EACH_LANE {
          const double w = x[c][i] * x[c][i] - 1.0;
          f[i] += 0.25 * w * w;
        }
      break;
    case LZ_F0_MATYAS:
      EACH_LANE f[i] = 0.26 * (x[0][i] * x[0][i] + x[1][i] * x[1][i]) - 0.48 * x[0][i] * x[1][i];
      break;
  }
  const double a = lp->amplitude;
  double s[LZ_LANES];
  for (int c = 0; c < dim; ++c) {
    fast_row(lp, lz_vsin, SECOND_OVER_RATIO, x[c], s);
    EACH_LANE f[i] += a * s[i];
  }
}

static void multiscale_hvp(const lz_lanes_problem *lp, lz_lane_row *x, lz_lane_row *v,
                           lz_lane_row *hv) {
  const int dim = lp->dim;
  switch (lp->f0) {
    case LZ_F0_QUADRATIC:
      for (int c = 0; c < dim; ++c) EACH_LANE hv[c][i] = v[c][i];
      break;
    case LZ_F0_DOUBLE_WELL:
      for (int c = 0; c < dim; ++c) EACH_LANE hv[c][i] = (3.0 * x[c][i] * x[c][i] - 1.0) * v[c][i];
      break;
    case LZ_F0_MATYAS:
      EACH_LANE {
        hv[0][i] = 0.52 * v[0][i] - 0.48 * v[1][i];
        hv[1][i] = 0.52 * v[1][i] - 0.48 * v[0][i];
      }
      break;
  }
  const double k = -lp->amplitude / (lp->eps * lp->eps);
  double s[LZ_LANES];
  for (int c = 0; c < dim; ++c) {
    fast_row(lp, lz_vsin, SECOND_TIMES_RATIO, x[c], s);
    EACH_LANE hv[c][i] += k * s[i] * v[c][i];
  }
}

/* ---- the network x -> w2^T sigma(W1 x + b1) + b2 on its data ------------------------------ */

typedef struct mlp_at {
  lz_lane_row s[LZ_LANES_MAX_WIDTH], d1[LZ_LANES_MAX_WIDTH], d2[LZ_LANES_MAX_WIDTH];
} mlp_at;

/* The activations of every unit at data point x_j: sigma, sigma' and sigma'' (problems/mlp.c's
 * activate). */
static void activate_rows(const lz_lanes_problem *lp, lz_lane_row *th, double xj,
                          mlp_at *a) {
  const int W = lp->width;
  for (int u = 0; u < W; ++u) {
    const double *w1 = th[u], *b1 = th[W + u];
    double *s = a->s[u], *d1 = a->d1[u], *d2 = a->d2[u];
    EACH_LANE s[i] = w1[i] * xj + b1[i];  /* z, for now */
    if (lp->mlp_act == LZ_MLP_SIN) {
      map_row(lz_vcos, s, d1);
      map_row(lz_vsin, s, s);
      EACH_LANE d2[i] = -s[i];
    } else if (lp->mlp_act == LZ_MLP_RELU) {
      EACH_LANE {
        const double z = s[i];
        d1[i] = z > 0 ? 1.0 : 0.0;
        d2[i] = 0.0;
        s[i] = z > 0 ? z : 0.0;
      }
    } else {
      map_row(lz_vtanh, s, s);
      EACH_LANE {
        d1[i] = 1.0 - s[i] * s[i];
        d2[i] = -2.0 * s[i] * d1[i];
      }
    }
  }
}

/* r = net(x_j) - y_j as residual_at sums it: b2, plus each unit in order, less y_j. */
static void residual_rows(const lz_lanes_problem *lp, lz_lane_row *th, const mlp_at *a,
                          double yj, double *r) {
  const int W = lp->width;
  const double *b2 = th[3 * W];
  EACH_LANE r[i] = b2[i];
  for (int u = 0; u < W; ++u) {
    const double *w2 = th[2 * W + u], *s = a->s[u];
    EACH_LANE r[i] += w2[i] * s[i];
  }
  EACH_LANE r[i] = r[i] - yj;
}

static void scale_rows(lz_lane_row *v, int dim, double k) {
  for (int c = 0; c < dim; ++c) EACH_LANE v[c][i] *= k;
}

/* problems/mlp.c's weight_at and after_sums: q_j and 1, or 1 and 1 / m. */
static double weight_at(const lz_lanes_problem *lp, size_t j) {
  return lp->data_q ? lp->data_q[j] : 1.0;
}
static double after_sums(const lz_lanes_problem *lp) {
  return lp->data_q ? 1.0 : 1.0 / (double)lp->points;
}

/* The full layout's rows (3W + 1). Without biases the state [W1 | w2] is widened to
 * [W1 | 0 | w2 | 0] and the results narrowed back, as problems/mlp.c does to its vectors. */
static int full_rows(const lz_lanes_problem *lp) { return 3 * lp->width + 1; }

static lz_lane_row *widened(const lz_lanes_problem *lp, lz_lane_row *th, lz_lane_row *full) {
  if (!lp->mlp_without_biases) return th;
  const int W = lp->width;
  for (int u = 0; u < W; ++u) {
    EACH_LANE full[u][i] = th[u][i];
    EACH_LANE full[W + u][i] = 0.0;
    EACH_LANE full[2 * W + u][i] = th[W + u][i];
  }
  EACH_LANE full[3 * W][i] = 0.0;
  return full;
}

static void narrow(const lz_lanes_problem *lp, lz_lane_row *full, lz_lane_row *out) {
  const int W = lp->width;
  for (int u = 0; u < W; ++u) {
    EACH_LANE out[u][i] = full[u][i];
    EACH_LANE out[W + u][i] = full[2 * W + u][i];
  }
}

/* out += mu theta over the state's own rows (problems/mlp.c's add_decay; nothing at mu = 0). */
static void add_decay_rows(const lz_lanes_problem *lp, lz_lane_row *th, lz_lane_row *out) {
  if (!(lp->mlp_decay > 0)) return;
  for (int c = 0; c < lp->dim; ++c) EACH_LANE out[c][i] += lp->mlp_decay * th[c][i];
}

enum { FULL_ROWS_MAX = 3 * LZ_LANES_MAX_WIDTH + 1 };

static void data_grad(const lz_lanes_problem *lp, lz_lane_row *th, lz_lane_row *g) {
  const int W = lp->width;
  mlp_at a;
  double r[LZ_LANES];
  for (int c = 0; c < full_rows(lp); ++c) EACH_LANE g[c][i] = 0.0;
  for (size_t j = 0; j < lp->points; ++j) {
    const double xj = lp->data_x[j], c = weight_at(lp, j);
    activate_rows(lp, th, xj, &a);
    residual_rows(lp, th, &a, lp->data_y[j], r);
    EACH_LANE r[i] *= c;
    EACH_LANE g[3 * W][i] += r[i];
    for (int u = 0; u < W; ++u) {
      const double *w2 = th[2 * W + u], *s = a.s[u], *d1 = a.d1[u];
      double *gw1 = g[u], *gb1 = g[W + u], *gw2 = g[2 * W + u];
      EACH_LANE {
        const double back = r[i] * w2[i] * d1[i];
        gw2[i] += r[i] * s[i];
        gb1[i] += back;
        gw1[i] += back * xj;
      }
    }
  }
  scale_rows(g, full_rows(lp), after_sums(lp));
}

static void mlp_grad(const lz_lanes_problem *lp, lz_lane_row *th, lz_lane_row *g) {
  lz_lane_row full_th[FULL_ROWS_MAX], full_g[FULL_ROWS_MAX];
  if (lp->mlp_without_biases) {
    data_grad(lp, widened(lp, th, full_th), full_g);
    narrow(lp, full_g, g);
  } else {
    data_grad(lp, th, g);
  }
  add_decay_rows(lp, th, g);
}

static void mlp_value(const lz_lanes_problem *lp, lz_lane_row *th, double *f) {
  lz_lane_row full_th[FULL_ROWS_MAX];
  lz_lane_row *t = widened(lp, th, full_th);
  mlp_at a;
  double r[LZ_LANES];
  EACH_LANE f[i] = 0.0;
  for (size_t j = 0; j < lp->points; ++j) {
    const double c = weight_at(lp, j);
    activate_rows(lp, t, lp->data_x[j], &a);
    residual_rows(lp, t, &a, lp->data_y[j], r);
    EACH_LANE f[i] += c * (r[i] * r[i]);
  }
  const double m = (double)lp->points;
  if (lp->data_q) EACH_LANE f[i] = 0.5 * f[i];
  else EACH_LANE f[i] = 0.5 * f[i] / m;
  if (!(lp->mlp_decay > 0)) return;
  /* problems/mlp.c's decay_value: (mu / 2) times the squares summed in the state's order */
  double sq[LZ_LANES];
  EACH_LANE sq[i] = 0.0;
  for (int c = 0; c < lp->dim; ++c) EACH_LANE sq[i] += th[c][i] * th[c][i];
  EACH_LANE f[i] = f[i] + 0.5 * lp->mlp_decay * sq[i];
}

/* problems/mlp.c's data_hvp: forward-mode differentiation of the gradient along v. */
static void data_hvp(const lz_lanes_problem *lp, lz_lane_row *th, lz_lane_row *v,
                     lz_lane_row *hv) {
  const int W = lp->width;
  mlp_at a;
  lz_lane_row dz[LZ_LANES_MAX_WIDTH];
  double r[LZ_LANES], dr[LZ_LANES];
  for (int c = 0; c < full_rows(lp); ++c) EACH_LANE hv[c][i] = 0.0;
  const double *b2 = th[3 * W], *db2 = v[3 * W];
  for (size_t j = 0; j < lp->points; ++j) {
    const double xj = lp->data_x[j], yj = lp->data_y[j], c = weight_at(lp, j);
    activate_rows(lp, th, xj, &a);
    EACH_LANE {
      r[i] = b2[i] - yj;
      dr[i] = db2[i];
    }
    for (int u = 0; u < W; ++u) {
      const double *w2 = th[2 * W + u], *dw1 = v[u], *db1 = v[W + u], *dw2 = v[2 * W + u];
      const double *s = a.s[u], *d1 = a.d1[u];
      double *dzu = dz[u];
      EACH_LANE {
        dzu[i] = dw1[i] * xj + db1[i];
        r[i] += w2[i] * s[i];
        dr[i] += dw2[i] * s[i] + w2[i] * d1[i] * dzu[i];
      }
    }
    EACH_LANE {
      r[i] *= c;
      dr[i] *= c;
    }
    EACH_LANE hv[3 * W][i] += dr[i];
    for (int u = 0; u < W; ++u) {
      const double *w2 = th[2 * W + u], *dw2 = v[2 * W + u];
      const double *s = a.s[u], *d1 = a.d1[u], *d2 = a.d2[u], *dzu = dz[u];
      double *hw1 = hv[u], *hb1 = hv[W + u], *hw2 = hv[2 * W + u];
      EACH_LANE {
        hw2[i] += dr[i] * s[i] + r[i] * d1[i] * dzu[i];
        const double inner =
            dr[i] * w2[i] * d1[i] + r[i] * dw2[i] * d1[i] + r[i] * w2[i] * d2[i] * dzu[i];
        hb1[i] += inner;
        hw1[i] += inner * xj;
      }
    }
  }
  scale_rows(hv, full_rows(lp), after_sums(lp));
}

static void mlp_hvp(const lz_lanes_problem *lp, lz_lane_row *th, lz_lane_row *v,
                    lz_lane_row *hv) {
  lz_lane_row full_th[FULL_ROWS_MAX], full_v[FULL_ROWS_MAX], full_hv[FULL_ROWS_MAX];
  if (lp->mlp_without_biases) {
    data_hvp(lp, widened(lp, th, full_th), widened(lp, v, full_v), full_hv);
    narrow(lp, full_hv, hv);
  } else {
    data_hvp(lp, th, v, hv);
  }
  add_decay_rows(lp, v, hv);
}

/* ---- dispatch ------------------------------------------------------------------------------ */

void lz__rows_grad(const lz_lanes_problem *lp, lz_lane_row *x, lz_lane_row *g) {
  switch (lp->kind) {
    case LZ_LANES_SCALAR_MF: scalar_grad(lp, x, g); return;
    case LZ_LANES_QUADRATIC: quadratic_grad(lp, x, g); return;
    case LZ_LANES_MULTISCALE: multiscale_grad(lp, x, g); return;
    case LZ_LANES_MLP: mlp_grad(lp, x, g); return;
  }
}

void lz__rows_value(const lz_lanes_problem *lp, lz_lane_row *x, double *f) {
  switch (lp->kind) {
    case LZ_LANES_SCALAR_MF: scalar_value(lp, x, f); return;
    case LZ_LANES_QUADRATIC: quadratic_value(lp, x, f); return;
    case LZ_LANES_MULTISCALE: multiscale_value(lp, x, f); return;
    case LZ_LANES_MLP: mlp_value(lp, x, f); return;
  }
}

void lz__rows_hvp(const lz_lanes_problem *lp, lz_lane_row *x, lz_lane_row *v,
                  lz_lane_row *hv) {
  switch (lp->kind) {
    case LZ_LANES_SCALAR_MF: scalar_hvp(lp, x, v, hv); return;
    case LZ_LANES_QUADRATIC: quadratic_hvp(lp, v, hv); return;
    case LZ_LANES_MULTISCALE: multiscale_hvp(lp, x, v, hv); return;
    case LZ_LANES_MLP: mlp_hvp(lp, x, v, hv); return;
  }
}

int lz__rows_have_symmetry(const lz_lanes_problem *lp) { return lp->kind == LZ_LANES_SCALAR_MF; }

void lz__rows_project(const lz_lanes_problem *lp, lz_lane_row *x, lz_lane_row *w) {
  if (lp->kind == LZ_LANES_SCALAR_MF) scalar_project(x, w);
}

/* lz_norm2: the largest entry (NaN if any is), then sqrt(lz_dot(v, v)) in its order of four
 * partial sums where that cannot overflow or underflow; lanes outside that range (rare) go
 * through lz_norm2 itself. */
void lz__rows_norm2(lz_lane_row *v, int dim, double *out) {
  double m[LZ_LANES], s[4][LZ_LANES];
  unsigned char nan[LZ_LANES];
  EACH_LANE {
    m[i] = 0.0;
    nan[i] = 0;
    s[0][i] = s[1][i] = s[2][i] = s[3][i] = 0.0;
  }
  for (int c = 0; c < dim; ++c) EACH_LANE {
      const double a = fabs(v[c][i]);
      nan[i] |= a != a;
      m[i] = a > m[i] ? a : m[i];
    }
  int c = 0;
  for (; c + 4 <= dim; c += 4)
    for (int k = 0; k < 4; ++k) EACH_LANE s[k][i] += v[c + k][i] * v[c + k][i];
  for (; c < dim; ++c) EACH_LANE s[0][i] += v[c][i] * v[c][i];
  EACH_LANE out[i] = sqrt((s[0][i] + s[1][i]) + (s[2][i] + s[3][i]));
  for (int i = 0; i < LZ_LANES; ++i) {
    if (nan[i]) {
      out[i] = NAN;
    } else if (!(m[i] > 0.0) || isinf(m[i])) {
      out[i] = m[i];
    } else if (!(m[i] > 1e-150 && m[i] < 1e150)) {
      double col[LZ_LANES_MAX_DIM];
      for (int k = 0; k < dim; ++k) col[k] = v[k][i];
      out[i] = lz_norm2(col, (size_t)dim);
    }
  }
}
