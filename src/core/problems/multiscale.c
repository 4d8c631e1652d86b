/* Multiscale objective f = f0 + f1 in dimension 1 to 16: a slow landscape f0 plus a fast
 * oscillation f1 on the scale eps. With eps << h, GD samples roughly exp(-f0 / T) with
 * T = h sigma2 / 2, where sigma2 is the variance of d f1 / d x_i over its fast phase.
 *
 *   f0: quadratic    1/2 sum x_i^2
 *       double_well  sum (x_i^2 - 1)^2 / 4
 *       matyas       0.26 (x^2 + y^2) - 0.48 x y        (dim 2 only)
 *   f1: sine          a sum_i sin(x_i / eps)
 *       quasiperiodic a sum_i [sin(x_i / eps) + sin(r x_i / eps) / r]   (r = ratio) */
#include <math.h>
#include <stdlib.h>

#include "lrzoo/gd_lanes.h"
#include "lrzoo/problem.h"
#include "problems.h"
#include "../vmath.h"

const char *const lz_f0_names[] = {"quadratic", "double_well", "matyas", NULL};
const char *const lz_f1_names[] = {"sine", "quasiperiodic", NULL};

typedef struct multiscale {
  int dim;
  lz_f0_kind f0;
  lz_f1_kind f1;
  double eps, amplitude, ratio;
} multiscale;

static int invalid(lz_err *err, const char *what) {
  return lz_err_set(err, LZ_EINVAL, "multiscale: %s", what);
}

static int check_params(const lz_multiscale_params *pp, lz_err *err) {
  if (pp->dim < 1 || pp->dim > LZ_MULTISCALE_MAX_DIM) return invalid(err, "dim must be from 1 to 16");
  if (pp->f0 != LZ_F0_QUADRATIC && pp->f0 != LZ_F0_DOUBLE_WELL && pp->f0 != LZ_F0_MATYAS)
    return invalid(err, "f0 must be quadratic, double_well or matyas");
  if (pp->f0 == LZ_F0_MATYAS && pp->dim != 2)
    return invalid(err, "f0 matyas is a function of two variables: it needs dim 2");
  if (pp->f1 != LZ_F1_SINE && pp->f1 != LZ_F1_QUASIPERIODIC)
    return invalid(err, "f1 must be sine or quasiperiodic");
  if (!(pp->eps > 0.0) || !isfinite(pp->eps)) return invalid(err, "eps must be finite and > 0");
  if (!isfinite(pp->amplitude)) return invalid(err, "amplitude must be finite");
  if (pp->f1 == LZ_F1_QUASIPERIODIC && (!(pp->ratio > 0.0) || !isfinite(pp->ratio)))
    return invalid(err, "the quasiperiodic ratio must be finite and > 0");
  return LZ_OK;
}

static int multiscale_create(const lz_problem_params *pp, uint64_t seed, const double *target,
                             void **state, lz_err *err) {
  *state = NULL;
  const lz_multiscale_params *ms = &pp->multiscale;
  int rc = check_params(ms, err);
  if (rc != LZ_OK) return rc;
  multiscale *m = malloc(sizeof *m);
  if (!m) return lz_err_set(err, LZ_ENOMEM, "multiscale: out of memory");
  *m = (multiscale){ms->dim, ms->f0, ms->f1, ms->eps, ms->amplitude, ms->ratio};
  *state = m;
  return LZ_OK;
}

static void multiscale_destroy(void *state) { free(state); }

static size_t multiscale_dim(const void *state) {
  return (size_t)((const multiscale *)state)->dim;
}

static size_t multiscale_work_len(const void *state) { return 0; }

static void multiscale_sizes(const lz_problem_params *pp, lz_problem_sizes *s) {
  s->dim = pp->multiscale.dim > 0 ? (size_t)pp->multiscale.dim : 0;
  s->stored_bytes = (double)sizeof(multiscale);
}

/* ---- slow part ---- */

static double slow_value(const multiscale *m, const double *x) {
  double f = 0.0;
  switch (m->f0) {
    case LZ_F0_QUADRATIC:
      for (int i = 0; i < m->dim; ++i) f += 0.5 * x[i] * x[i];
      break;
    case LZ_F0_DOUBLE_WELL:
      for (int i = 0; i < m->dim; ++i) {
        double w = x[i] * x[i] - 1.0;
        f += 0.25 * w * w;
      }
      break;
    case LZ_F0_MATYAS:
      f = 0.26 * (x[0] * x[0] + x[1] * x[1]) - 0.48 * x[0] * x[1];
      break;
  }
  return f;
}

static void slow_grad(const multiscale *m, const double *x, double *g) {
  switch (m->f0) {
    case LZ_F0_QUADRATIC:
      for (int i = 0; i < m->dim; ++i) g[i] = x[i];
      break;
    case LZ_F0_DOUBLE_WELL:
      for (int i = 0; i < m->dim; ++i) g[i] = x[i] * (x[i] * x[i] - 1.0);
      break;
    case LZ_F0_MATYAS:
      g[0] = 0.52 * x[0] - 0.48 * x[1];
      g[1] = 0.52 * x[1] - 0.48 * x[0];
      break;
  }
}

static void slow_hvp(const multiscale *m, const double *x, const double *v, double *hv) {
  switch (m->f0) {
    case LZ_F0_QUADRATIC:
      for (int i = 0; i < m->dim; ++i) hv[i] = v[i];
      break;
    case LZ_F0_DOUBLE_WELL:
      for (int i = 0; i < m->dim; ++i) hv[i] = (3.0 * x[i] * x[i] - 1.0) * v[i];
      break;
    case LZ_F0_MATYAS:
      hv[0] = 0.52 * v[0] - 0.48 * v[1];
      hv[1] = 0.52 * v[1] - 0.48 * v[0];
      break;
  }
}

/* ---- fast part: separable, so value, slope and curvature are per coordinate ----
 * cos and sin are vmath.h's, which the lanes engine evaluates for many runs at once with
 * the same roundings (lanes_rows.c repeats this arithmetic). The phases t_i = x_i / eps of all
 * coordinates (and r t_i for the quasi-periodic f1) go through one vector call, LZ_VW at a time:
 * libmvec computes each element on its own, so this is bitwise a call per phase. */

/* fn(t_i) and, quasi-periodic, fn(r t_i) for every coordinate: first[i], second[i]. */
static void fast_phases(const multiscale *m, lz_vd (*fn)(lz_vd), const double *x,
                        double *first, double *second) {
  const int quasi = m->f1 == LZ_F1_QUASIPERIODIC, per = quasi ? 2 : 1;
#if LZ_VW >= 4
  if (m->dim <= 2) {
    /* the toys of the per-run engine's hot loop: a vector built in registers (element by
     * element through memory, its load would wait for the stores) */
    const double t0 = x[0] / m->eps, t1 = m->dim > 1 ? x[1] / m->eps : 0.0;
    const lz_vd v = fn((lz_vd){t0, t1, quasi ? m->ratio * t0 : 0.0, quasi ? m->ratio * t1 : 0.0});
    first[0] = v[0], second[0] = v[2];
    if (m->dim > 1) first[1] = v[1], second[1] = v[3];
    return;
  }
#endif
  double in[LZ_VW], out[LZ_VW];
  for (int i0 = 0; i0 < m->dim;) {
    int n = 0, i = i0;
    for (; i < m->dim && n + per <= LZ_VW; ++i) {
      const double t = x[i] / m->eps;
      in[n++] = t;
      if (quasi) in[n++] = m->ratio * t;
    }
    if (n == 0) {  /* LZ_VW == 1 with two phases a coordinate: one call each */
      const double t = x[i0] / m->eps;
      first[i0] = fn(lz_vsplat(t))[0];
      second[i0] = fn(lz_vsplat(m->ratio * t))[0];
      ++i0;
      continue;
    }
    lz_vd v = lz_vsplat(0.0);
    for (int k = 0; k < n; ++k) v[k] = in[k];
    v = fn(v);
    for (int k = 0; k < n; ++k) out[k] = v[k];
    for (int j = i0, k = 0; j < i; ++j) {
      first[j] = out[k++];
      if (quasi) second[j] = out[k++];
    }
    i0 = i;
  }
}

/* g_i += (a / eps) [cos(t_i) + cos(r t_i)] */
static void add_fast_slopes(const multiscale *m, const double *x, double *g) {
  double c[LZ_MULTISCALE_MAX_DIM], c2[LZ_MULTISCALE_MAX_DIM];
  fast_phases(m, lz_vcos, x, c, c2);
  for (int i = 0; i < m->dim; ++i) {
    double ci = c[i];
    if (m->f1 == LZ_F1_QUASIPERIODIC) ci += c2[i];
    g[i] += m->amplitude / m->eps * ci;
  }
}

/* hv_i += -(a / eps^2) [sin(t_i) + r sin(r t_i)] v_i */
static void add_fast_curvatures(const multiscale *m, const double *x, const double *v,
                                double *hv) {
  double s[LZ_MULTISCALE_MAX_DIM], s2[LZ_MULTISCALE_MAX_DIM];
  fast_phases(m, lz_vsin, x, s, s2);
  for (int i = 0; i < m->dim; ++i) {
    double si = s[i];
    if (m->f1 == LZ_F1_QUASIPERIODIC) si += m->ratio * s2[i];
    hv[i] += -m->amplitude / (m->eps * m->eps) * si * v[i];
  }
}

/* ---- the objective ---- */

static double multiscale_f0(const void *state, const double *x, double *work) {
  return slow_value(state, x);
}

static double multiscale_value(const void *state, const double *x, double *work) {
  const multiscale *m = state;
  double f = slow_value(m, x);
  /* the coordinates' terms added one by one, in order, as the lanes add them */
  double s[LZ_MULTISCALE_MAX_DIM], s2[LZ_MULTISCALE_MAX_DIM];
  fast_phases(m, lz_vsin, x, s, s2);
  for (int i = 0; i < m->dim; ++i) {
    double fi = s[i];
    if (m->f1 == LZ_F1_QUASIPERIODIC) fi += s2[i] / m->ratio;
    f += m->amplitude * fi;
  }
  return f;
}

static double multiscale_value_grad(const void *state, const double *x, double *g,
                                    double *work) {
  const multiscale *m = state;
  slow_grad(m, x, g);
  add_fast_slopes(m, x, g);
  return multiscale_value(state, x, work);
}

/* The gradient and a bound above f that needs no sin: f0 + the largest |f1|, rounding
 * included. f0 >= 0, so where the bound is finite f is too. */
static double multiscale_grad_loss_bound(const void *state, const double *x, double *g,
                                         double *work) {
  const multiscale *m = state;
  slow_grad(m, x, g);
  add_fast_slopes(m, x, g);
  double f1_max = m->dim * fabs(m->amplitude) *
                  (1.0 + (m->f1 == LZ_F1_QUASIPERIODIC ? 1.0 / m->ratio : 0.0));
  return (slow_value(m, x) + f1_max) * (1.0 + 1e-12);
}

static void multiscale_hvp(const void *state, const double *x, const double *v, double *hv,
                           double *work) {
  const multiscale *m = state;
  slow_hvp(m, x, v, hv);
  add_fast_curvatures(m, x, v, hv);
}

/* d f1 / d x_i = (a / eps) [cos t + cos(r t)]: a unit cosine has variance 1/2 over its phase,
 * and cosines of different frequencies are uncorrelated, so the variances add. Only r = 1
 * correlates them: then the slope is 2 (a / eps) cos t, of variance 2 (a / eps)^2. */
static double multiscale_sigma2(const void *state) {
  const multiscale *m = state;
  double slope = m->amplitude / m->eps;
  if (m->f1 == LZ_F1_SINE) return 0.5 * slope * slope;
  return (m->ratio == 1.0 ? 2.0 : 1.0) * slope * slope;
}

static const lz_objective objective = {
    .name = "multiscale",
    .sizes = multiscale_sizes,
    .create = multiscale_create,
    .destroy = multiscale_destroy,
    .dim = multiscale_dim,
    .work_len = multiscale_work_len,
    .value = multiscale_value,
    .value_grad = multiscale_value_grad,
    .grad_loss_bound = multiscale_grad_loss_bound,
    .hvp = multiscale_hvp,
    .f0 = multiscale_f0,
    .sigma2 = multiscale_sigma2,
};

/* ---- the kind ------------------------------------------------------------------------------ */

static size_t params_dim(const lz_problem_params *pp) { return (size_t)pp->multiscale.dim; }

static void params_at(const lz_job *job, const size_t *idx, lz_problem_params *out) {
  out->multiscale.f0 = (lz_f0_kind)lz_param_at(job, &job->problem.multiscale.f0, idx);
  out->multiscale.dim = (int)lz_param_at(job, &job->problem.multiscale.dim, idx);
  out->multiscale.f1 = (lz_f1_kind)lz_param_at(job, &job->problem.multiscale.f1, idx);
  out->multiscale.eps = lz_param_at(job, &job->problem.multiscale.eps, idx);
  out->multiscale.amplitude = lz_param_at(job, &job->problem.multiscale.amplitude, idx);
  out->multiscale.ratio = lz_param_at(job, &job->problem.multiscale.ratio, idx);
}

static double step_cost(const lz_problem_params *pp) { return 40.0 * pp->multiscale.dim; }

static int describe_lanes(const lz_problem *p, lz_lanes_problem *lp) {
  const lz_problem_params *pp = lz_problem_params_of(p);
  lp->kind = LZ_LANES_MULTISCALE;
  lp->f0 = pp->multiscale.f0;
  lp->f1 = pp->multiscale.f1;
  lp->eps = pp->multiscale.eps;
  lp->amplitude = pp->multiscale.amplitude;
  lp->ratio = pp->multiscale.ratio;
  /* A slope a / eps beyond 1e100 would leave no room for the lanes engine's bounds. */
  return isfinite(lp->amplitude / lp->eps) && fabs(lp->amplitude / lp->eps) <= 1e100;
}

static size_t size_axes(const lz_job *job, int *axes) {
  axes[0] = job->problem.multiscale.dim.axis;
  return 1;
}

const lz_problem_kind_desc lz__kind_multiscale = {
    .name = "multiscale",
    .objective = &objective,
    .dim = params_dim,
    .dim_formula = "dim",
    .params_at = params_at,
    .step_cost = step_cost,
    .traits = LZ_KIND_HAS_SLOW_PART,
    .describe_lanes = describe_lanes,
    .size_axes = size_axes,
};
