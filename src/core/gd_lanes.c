/* GD on the scalar factorization for up to LZ_LANES runs at once (see gd_lanes.h).
 *
 * Exactness. A lane takes step k only if lz_gd_run would: x_k in bounds (max(|x|, |y|) <=
 * diverge_above), f(x_k) finite and <= diverge_above, grad f(x_k) finite and of norm >=
 * tol_grad (all five follow from x^2 + y^2 <= safe_state_bound2 and the norm test). The
 * expressions are those of the mf objective's scalar path and of lz_gd_step, in the same
 * order. Both write their multiply-adds as fma() and nothing else is contracted
 * (-ffp-contract=off), so a SIMD lane rounds like the scalar code on any CPU: fma rounds once
 * whether the hardware or libm computes it. The norm test is conservative: |g|^2 > tol^2 (1 +
 * 1e-12) implies |g| >= tol whatever the rounding of the square root; a lane in the sliver
 * below that stops, and lz_gd_continue decides it exactly.
 *
 * Speed. Steps run in groups of up to GROUP with no branch: every lane computes, and what the
 * checks need is folded into two running extremes per lane, compared once at the group's end.
 * A group where a live lane failed is not committed but replayed one step at a time, stopping
 * each lane at its first failing step. Steps that record the traces are taken one at a time as
 * well, so a group never has trace entries to take back. Groups of 128 steps rather than 8
 * ran 1.5x faster (the group's entry, exit and final test cost as much as several steps). A
 * failed group is replayed only up to the step where a lane stops, once per lane that stops. */
#include "lrzoo/gd_lanes.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "lrzoo/error.h"
#include "lrzoo/lanczos.h"
#include "vmath.h"

enum { GROUP = 128 };

int lz_gd_lanes_apply(const lz_gd_params *gp) {
  double tol = gp->tol_grad;
  return tol == 0.0 || (tol >= 1e-140 && tol <= 1e140);
}

/* What the checks compare: a step is certain to pass when |g|^2 exceeds this. */
static double squared_norm_floor(double tol) { return tol == 0.0 ? -1.0 : tol * tol * (1.0 + 1e-12); }

/* A bound M on max(|x|, |y|) under which every bounds check of lz_gd_run passes: |x|, |y| <=
 * diverge_above, and since |sigma(y)| <= |y| for every activation, |r| <= M^2 + |mu| and so
 * f = r^2 / 2 <= diverge_above with room for the rounding; capped at 1e50 so that the gradient
 * stays finite. One comparison then stands for five. A lane beyond M but still in bounds only
 * stops early; lz_gd_continue goes on exactly. Returned squared, as the lanes compare
 * q = x^2 + y^2 (one rounding below 1 + 2^-52 of the truth) against it, less a margin. */
static double safe_state_bound2(double bound, double mu) {
  double r_max = sqrt(2.0 * bound / (1.0 + 1e-10));
  double m = r_max > fabs(mu) ? sqrt(r_max - fabs(mu)) * (1.0 - 1e-12) : 0.0;
  if (m > bound) m = bound;
  if (m > 1e50) m = 1e50;
  return m * m * (1.0 - 1e-12);
}

/* The checks and the step, written once for the three activations. ACT is a constant in each
 * copy, so the activation's branch disappears from the lane loop. Per lane:
 *   s = sigma(y), r = x s - mu, f = r^2 / 2, g = (r s, sigma'(y) r x), x' = x - h g,
 * and what the checks look at: q = x^2 + y^2 and gg = |g|^2. */
#define LANE_PREAMBLE(ACT, X, Y)                                                          \
  const double x = (X), y = (Y);                                                          \
  const double s = (ACT) == LZ_ACT_NONE ? y                                              \
                   : y > 0.0           ? y                                               \
                   : (ACT) == LZ_ACT_RELU ? 0.0                                          \
                                          : alpha * y;                                   \
  const double slope = (ACT) == LZ_ACT_NONE ? 1.0                                        \
                       : y > 0.0           ? 1.0                                         \
                       : (ACT) == LZ_ACT_RELU ? 0.0                                      \
                                              : alpha;                                   \
  const double r = fma(x, s, -mu);                                                       \
  const double f = 0.5 * r * r;                                                          \
  const double g0 = r * s, g1 = slope * r * x;                                           \
  const double gg = fma(g0, g0, g1 * g1);                                                \
  const double q = fma(x, x, y * y);                                                     \
  (void)f;

/* Whether step k may be taken: false for NaN too. */
#define LANE_PASSES (q <= safe2 && gg > floor2)

/* The end of a group: whether a live lane failed a check, and if none did, the live lanes'
 * states written back. Nothing is committed otherwise: the caller replays the group. */
static int commit_group(lz_lanes *restrict b, const unsigned char *restrict live_in,
                        double safe2, double floor2, const double *xs, const double *ys,
                        const double *pxs, const double *pys, const double *qmax,
                        const double *ggmin) {
  int failed = 0;
  for (int i = 0; i < LZ_LANES; ++i)
    failed |= live_in[i] & !(qmax[i] <= safe2 && ggmin[i] > floor2);
  if (failed) return 1;
  for (int i = 0; i < LZ_LANES; ++i)
    if (live_in[i]) b->x[i] = xs[i], b->y[i] = ys[i], b->px[i] = pxs[i], b->py[i] = pys[i];
  return 0;
}

/* `steps` (1..GROUP) steps of every live lane, committed only if no live lane failed a check; returns
 * whether one did. The lanes are copied into local arrays first: nothing else can alias them
 * there, so the loop stays in vector registers. Every lane computes, live or not (a stopped
 * lane may run into inf or NaN harmlessly): only live lanes are written back, and the previous
 * iterate is needed only before the group's last step.
 *
 * Rather than a pass flag per step, each lane keeps the largest q and the smallest gg of the
 * group: one max and one min a step, in registers, compared once at the end. Both are sticky
 * where it matters. The first state out of bounds is finite or inf, never NaN (from finite
 * x, y, h a step can overflow but not produce NaN), and it enters the maximum; a later NaN
 * loses every comparison and leaves the maximum as it was. The starts themselves are checked
 * by an exact step (step 0 always is one). */
#define LANE_GROUP_STEP(ACT)                                                             \
  LANE_PREAMBLE(ACT, xs[i], ys[i])                                                       \
  qmax[i] = q > qmax[i] ? q : qmax[i];                                                   \
  ggmin[i] = gg < ggmin[i] ? gg : ggmin[i];                                              \
  xs[i] = fma(nh[i], g0, x);                                                             \
  ys[i] = fma(nh[i], g1, y);

#define DEFINE_GROUP(NAME, ACT)                                                          \
  static int NAME(const lz_lanes_problem *m, double safe2, double floor2, int steps,         \
                  lz_lanes *restrict b, const unsigned char *restrict live_in) {        \
    double xs[LZ_LANES], ys[LZ_LANES], pxs[LZ_LANES], pys[LZ_LANES], nh[LZ_LANES];      \
    double qmax[LZ_LANES], ggmin[LZ_LANES];                                              \
    const double mu = m->mu, alpha = m->alpha;                                           \
    for (int i = 0; i < LZ_LANES; ++i) {                                                 \
      xs[i] = b->x[i], ys[i] = b->y[i], nh[i] = -b->h[i];                                \
      qmax[i] = 0.0, ggmin[i] = HUGE_VAL;                                                \
    }                                                                                    \
    for (int step = 0; step < steps - 1; ++step) {                                       \
      _Pragma("omp simd")                                                                \
      for (int i = 0; i < LZ_LANES; ++i) {                                               \
        LANE_GROUP_STEP(ACT)                                                             \
      }                                                                                  \
    }                                                                                    \
    _Pragma("omp simd")                                                                  \
    for (int i = 0; i < LZ_LANES; ++i) {                                                 \
      pxs[i] = xs[i], pys[i] = ys[i];                                                    \
      LANE_GROUP_STEP(ACT)                                                               \
    }                                                                                    \
    return commit_group(b, live_in, safe2, floor2, xs, ys, pxs, pys, qmax, ggmin);        \
  }

/* Row x_records of lane i's state trace: x, then y, as many as x_coords asks (as
 * lz_gd_run's observer copies min(x_coords, dim) coordinates). */
static void record_state(lz_lanes *b, int i, int dim, double x, double y) {
  double *row = b->x_trace[i] + b->x_records[i]++ * b->x_coords;
  row[0] = x;
  if (b->x_coords > 1 && dim > 1) row[1] = y;
}

/* What an exact step k records, as lz_gd_run's observers would at k. */
enum { RECORD_LOSS = 1, RECORD_SHARPNESS = 2 };

/* Lane i's sharpness at (x, y), entered as lz_gd_run's observer enters it. */
static void record_sharpness(const lz_lanes_problem *lp, lz_lanes *b, int i, double x,
                             double y) {
  const double xv[2] = {x, y};
  lz_lanczos_result res;
  int rc = lz_sharpness(lp->p, xv, b->seed, &res, b->lanczos_work);
  b->sharpness[i][b->sharpness_records[i]++] = rc == LZ_OK ? res.lambda : NAN;
}

/* One step k, exactly: a lane that fails a check stops at k with its state untouched; the
 * others record what `record` says, then step. Returns whether a lane stopped. */
#define DEFINE_EXACT_STEP(NAME, ACT)                                                     \
  static int NAME(const lz_lanes_problem *m, double safe2, double floor2, int64_t k,          \
                  int record, lz_lanes *b, unsigned char *live) {                       \
    const double mu = m->mu, alpha = m->alpha;                                           \
    int stopped = 0;                                                                     \
    for (int i = 0; i < LZ_LANES; ++i) {                                                 \
      if (!live[i]) continue;                                                            \
      LANE_PREAMBLE(ACT, b->x[i], b->y[i])                                               \
      if (!LANE_PASSES) {                                                                \
        live[i] = 0;                                                                     \
        b->step[i] = k;                                                                  \
        stopped = 1;                                                                     \
        continue;                                                                        \
      }                                                                                  \
      if ((record & RECORD_LOSS) && b->trace[i]) b->trace[i][b->records[i]++] = f;       \
      if ((record & RECORD_LOSS) && b->x_trace[i]) record_state(b, i, 2, x, y);          \
      if ((record & RECORD_SHARPNESS) && b->sharpness[i]) record_sharpness(m, b, i, x, y); \
      b->px[i] = x;                                                                      \
      b->py[i] = y;                                                                      \
      b->x[i] = fma(-b->h[i], g0, x);                                                    \
      b->y[i] = fma(-b->h[i], g1, y);                                                    \
    }                                                                                    \
    return stopped;                                                                      \
  }

DEFINE_GROUP(group_none, LZ_ACT_NONE)
DEFINE_GROUP(group_relu, LZ_ACT_RELU)
DEFINE_GROUP(group_leaky, LZ_ACT_LEAKY_RELU)
DEFINE_EXACT_STEP(exact_none, LZ_ACT_NONE)
DEFINE_EXACT_STEP(exact_relu, LZ_ACT_RELU)
DEFINE_EXACT_STEP(exact_leaky, LZ_ACT_LEAKY_RELU)

static int run_toy_group(const lz_lanes_problem *t, double safe2, double floor2, int steps,
                         lz_lanes *b, const unsigned char *live);
static int run_toy_exact_step(const lz_lanes_problem *t, double safe2, double floor2, int64_t k,
                              int record, lz_lanes *b, unsigned char *live);

static int run_group(const lz_lanes_problem *m, double safe2, double floor2, int steps, lz_lanes *b,
                     const unsigned char *live) {
  if (m->kind == LZ_LANES_TOY) return run_toy_group(m, safe2, floor2, steps, b, live);
  switch (m->act) {
    case LZ_ACT_RELU: return group_relu(m, safe2, floor2, steps, b, live);
    case LZ_ACT_LEAKY_RELU: return group_leaky(m, safe2, floor2, steps, b, live);
    default: return group_none(m, safe2, floor2, steps, b, live);
  }
}

static int run_exact_step(const lz_lanes_problem *m, double safe2, double floor2, int64_t k,
                          int record, lz_lanes *b, unsigned char *live) {
  if (m->kind == LZ_LANES_TOY) return run_toy_exact_step(m, safe2, floor2, k, record, b, live);
  switch (m->act) {
    case LZ_ACT_RELU: return exact_relu(m, safe2, floor2, k, record, b, live);
    case LZ_ACT_LEAKY_RELU: return exact_leaky(m, safe2, floor2, k, record, b, live);
    default: return exact_none(m, safe2, floor2, k, record, b, live);
  }
}

/* ---- the toys: the quadratic and multiscale objectives in dimension 1 or 2 ----------------
 * The same scheme as above. Only the gradient differs: a slow part (lambda_i x_i, the double
 * well's x_i (x_i^2 - 1), or Matyas') plus, for a multiscale objective, (a / eps) [cos t +
 * cos(r t)] per coordinate with t = x_i / eps, in obj_multiscale.c's order and with vmath.h's
 * cos, which is what makes the vector cosines round like the per-run ones. The exact steps
 * evaluate the problem itself through lz_problem_value_grad. */

/* An upper bound on f over the states with x^2 + y^2 <= M^2, and one on each component of
 * the gradient there. */
static double toy_f_max(const lz_lanes_problem *t, double m) {
  double f0 = 0.0;
  switch (t->slow) {
    case LZ_SLOW_DIAGONAL:
      for (int i = 0; i < t->dim; ++i)
        if (0.5 * t->lambda[i] * m * m > f0) f0 = 0.5 * t->lambda[i] * m * m;
      f0 *= t->dim;
      break;
    case LZ_SLOW_DOUBLE_WELL: f0 = t->dim * 0.25 * (m > 1.0 ? m * m * m * m : 1.0); break;
    case LZ_SLOW_MATYAS: f0 = 0.5 * m * m; break;
  }
  double f1 = t->has_fast ? t->dim * fabs(t->amplitude) *
                                (1.0 + (t->f1 == LZ_F1_QUASIPERIODIC ? 1.0 / t->ratio : 0.0))
                          : 0.0;
  return (f0 + f1) * (1.0 + 1e-9);
}

static double toy_grad_max(const lz_lanes_problem *t, double m) {
  double g = 0.0;
  switch (t->slow) {
    case LZ_SLOW_DIAGONAL:
      for (int i = 0; i < t->dim; ++i)
        if (fabs(t->lambda[i]) * m > g) g = fabs(t->lambda[i]) * m;
      break;
    case LZ_SLOW_DOUBLE_WELL: g = m * (m * m + 1.0); break;
    case LZ_SLOW_MATYAS: g = m; break;
  }
  if (t->has_fast) g += fabs(t->amplitude / t->eps) * 2.0;
  return g;
}

/* The square of a bound M on the state's norm under which every check of lz_gd_run but the
 * gradient's passes: |x_i| <= diverge_above, f finite and <= diverge_above, g finite; and
 * |g|^2 finite too, so that the lanes' own norm test means what it says. Within a factor 2 of
 * the largest such M; a lane beyond it only stops early. */
static double toy_safe_state_bound2(const lz_lanes_problem *t, double bound) {
  double m = bound < 1e50 ? bound : 1e50;
  while (m > 1e-300 && !(toy_f_max(t, m) <= bound && toy_grad_max(t, m) <= 1e150)) m *= 0.5;
  return m > 1e-300 ? m * m * (1.0 - 1e-12) : 0.0;
}

/* c_i = cos(x_i / eps) [+ cos(r x_i / eps)] for every lane, LZ_VW lanes a call. */
static void fast_cosines(const lz_lanes_problem *t, const double *restrict x,
                         double *restrict c) {
  const lz_vd eps = lz_vsplat(t->eps), r = lz_vsplat(t->ratio);
  const int quasi = t->f1 == LZ_F1_QUASIPERIODIC;
  for (int i = 0; i < LZ_LANES; i += LZ_VW) {
    lz_vd v;
    memcpy(&v, x + i, sizeof v);
    lz_vd tv = v / eps, cv = lz_vcos(tv);
    if (quasi) cv += lz_vcos(r * tv);
    memcpy(c + i, &cv, sizeof cv);
  }
}

#define TOY_SLOW_GRAD(SLOW)                                         \
  ((SLOW) == LZ_SLOW_DIAGONAL      ? l0 * x                         \
   : (SLOW) == LZ_SLOW_DOUBLE_WELL ? x * (x * x - 1.0)              \
                                   : 0.52 * x - 0.48 * y)
#define TOY_SLOW_GRAD_Y(SLOW)                                       \
  ((SLOW) == LZ_SLOW_DIAGONAL      ? l1 * y                         \
   : (SLOW) == LZ_SLOW_DOUBLE_WELL ? y * (y * y - 1.0)              \
                                   : 0.52 * y - 0.48 * x)

#define DEFINE_TOY_GROUP(NAME, SLOW, FAST, DIM)                                          \
  static int NAME(const lz_lanes_problem *t, double safe2, double floor2, int steps,     \
                  lz_lanes *restrict b, const unsigned char *restrict live_in) {        \
    double xs[LZ_LANES], ys[LZ_LANES], pxs[LZ_LANES], pys[LZ_LANES], nh[LZ_LANES];      \
    double qmax[LZ_LANES], ggmin[LZ_LANES], c0[LZ_LANES], c1[LZ_LANES];                  \
    const double l0 = t->lambda[0], l1 = t->lambda[1], aoe = t->amplitude / t->eps;      \
    (void)l0, (void)l1, (void)aoe;                                                       \
    /* Lanes not live start at 0 with h = 0 and stay there: no cos of inf or NaN. */     \
    for (int i = 0; i < LZ_LANES; ++i) {                                                 \
      xs[i] = live_in[i] ? b->x[i] : 0.0, ys[i] = live_in[i] && (DIM) == 2 ? b->y[i] : 0.0; \
      nh[i] = live_in[i] ? -b->h[i] : 0.0, qmax[i] = 0.0, ggmin[i] = HUGE_VAL;           \
      c0[i] = c1[i] = 0.0;                                                               \
    }                                                                                    \
    for (int step = 0; step < steps; ++step) {                                           \
      if (step == steps - 1)                                                             \
        for (int i = 0; i < LZ_LANES; ++i) pxs[i] = xs[i], pys[i] = ys[i];               \
      if (FAST) {                                                                        \
        fast_cosines(t, xs, c0);                                                         \
        if ((DIM) == 2) fast_cosines(t, ys, c1);                                         \
      }                                                                                  \
      _Pragma("omp simd")                                                                \
      for (int i = 0; i < LZ_LANES; ++i) {                                               \
        const double x = xs[i], y = ys[i];                                               \
        double g0 = TOY_SLOW_GRAD(SLOW);                                                 \
        double g1 = (DIM) == 2 ? TOY_SLOW_GRAD_Y(SLOW) : 0.0;                            \
        if (FAST) g0 = g0 + aoe * c0[i];                                                 \
        if (FAST && (DIM) == 2) g1 = g1 + aoe * c1[i];                                   \
        const double q = (DIM) == 2 ? fma(x, x, y * y) : x * x;                          \
        const double gg = (DIM) == 2 ? fma(g0, g0, g1 * g1) : g0 * g0;                   \
        qmax[i] = q > qmax[i] ? q : qmax[i];                                             \
        ggmin[i] = gg < ggmin[i] ? gg : ggmin[i];                                        \
        xs[i] = fma(nh[i], g0, x);                                                       \
        if ((DIM) == 2) ys[i] = fma(nh[i], g1, y);                                       \
      }                                                                                  \
    }                                                                                    \
    return commit_group(b, live_in, safe2, floor2, xs, ys, pxs, pys, qmax, ggmin);        \
  }

DEFINE_TOY_GROUP(toy_diag_1, LZ_SLOW_DIAGONAL, 0, 1)
DEFINE_TOY_GROUP(toy_diag_2, LZ_SLOW_DIAGONAL, 0, 2)
DEFINE_TOY_GROUP(toy_diag_fast_1, LZ_SLOW_DIAGONAL, 1, 1)
DEFINE_TOY_GROUP(toy_diag_fast_2, LZ_SLOW_DIAGONAL, 1, 2)
DEFINE_TOY_GROUP(toy_well_fast_1, LZ_SLOW_DOUBLE_WELL, 1, 1)
DEFINE_TOY_GROUP(toy_well_fast_2, LZ_SLOW_DOUBLE_WELL, 1, 2)
DEFINE_TOY_GROUP(toy_matyas_fast_2, LZ_SLOW_MATYAS, 1, 2)

static int run_toy_group(const lz_lanes_problem *t, double safe2, double floor2, int steps,
                         lz_lanes *b, const unsigned char *live) {
  const int two = t->dim == 2;
  switch (t->slow) {
    case LZ_SLOW_DIAGONAL:
      if (!t->has_fast)
        return (two ? toy_diag_2 : toy_diag_1)(t, safe2, floor2, steps, b, live);
      return (two ? toy_diag_fast_2 : toy_diag_fast_1)(t, safe2, floor2, steps, b, live);
    case LZ_SLOW_DOUBLE_WELL:
      return (two ? toy_well_fast_2 : toy_well_fast_1)(t, safe2, floor2, steps, b, live);
    case LZ_SLOW_MATYAS: return toy_matyas_fast_2(t, safe2, floor2, steps, b, live);
  }
  return 1;
}

/* One step k of every live lane through the problem itself. */
static int run_toy_exact_step(const lz_lanes_problem *t, double safe2, double floor2, int64_t k,
                              int record, lz_lanes *b, unsigned char *live) {
  const int dim = t->dim;
  int stopped = 0;
  for (int i = 0; i < LZ_LANES; ++i) {
    if (!live[i]) continue;
    double xv[2] = {b->x[i], dim == 2 ? b->y[i] : 0.0}, g[2] = {0.0, 0.0};
    lz_problem_value_grad(t->p, xv, g, NULL);
    const double x = xv[0], y = xv[1];
    const double q = dim == 2 ? fma(x, x, y * y) : x * x;
    const double gg = dim == 2 ? fma(g[0], g[0], g[1] * g[1]) : g[0] * g[0];
    if (!(q <= safe2 && gg > floor2)) {
      live[i] = 0;
      b->step[i] = k;
      stopped = 1;
      continue;
    }
    if ((record & RECORD_LOSS) && b->trace[i])
      b->trace[i][b->records[i]++] = lz_problem_value(t->p, xv, NULL);
    if ((record & RECORD_LOSS) && b->x_trace[i]) record_state(b, i, dim, x, y);
    if ((record & RECORD_SHARPNESS) && b->sharpness[i]) record_sharpness(t, b, i, x, y);
    b->px[i] = x;
    b->py[i] = y;
    lz_gd_step(xv, g, b->h[i], (size_t)dim);
    b->x[i] = xv[0];
    b->y[i] = xv[1];
  }
  return stopped;
}

/* ---- the driver ---------------------------------------------------------------------------- */

int lz_gd_lanes_problem(const lz_problem *p, lz_lanes_problem *lp) {
  memset(lp, 0, sizeof *lp);
  lp->p = p;
  const lz_problem_params *pp = lz_problem_params_of(p);
  if (lz_problem_is_scalar_mf(p, &lp->mu, &lp->act, &lp->alpha)) {
    lp->kind = LZ_LANES_SCALAR_MF;
    lp->dim = 2;
    return 1;
  }
  lp->kind = LZ_LANES_TOY;
  lp->dim = (int)lz_problem_dim(p);
  /* The exact steps evaluate p without scratch. */
  if (lp->dim < 1 || lp->dim > 2 || lz_problem_work_len(p) != 0) return 0;
  if (pp->kind == LZ_PROBLEM_QUADRATIC) {
    lp->slow = LZ_SLOW_DIAGONAL;
    for (int i = 0; i < lp->dim; ++i) lp->lambda[i] = pp->eigenvalues[i];
    return 1;
  }
  if (pp->kind != LZ_PROBLEM_MULTISCALE) return 0;
  lp->slow = pp->f0 == LZ_F0_QUADRATIC     ? LZ_SLOW_DIAGONAL
             : pp->f0 == LZ_F0_DOUBLE_WELL ? LZ_SLOW_DOUBLE_WELL
                                           : LZ_SLOW_MATYAS;
  lp->lambda[0] = lp->lambda[1] = 1.0;  /* f0 = |x|^2 / 2: the gradient x_i is 1.0 * x_i */
  lp->has_fast = 1;
  lp->f1 = pp->f1;
  lp->eps = pp->eps;
  lp->amplitude = pp->amplitude;
  lp->ratio = pp->ratio;
  /* A slope a / eps beyond 1e100 would leave no room for the bounds above. */
  return isfinite(lp->amplitude / lp->eps) && fabs(lp->amplitude / lp->eps) <= 1e100;
}

static int any_live(const unsigned char *live) {
  int any = 0;
  for (int i = 0; i < LZ_LANES; ++i) any |= live[i];
  return any;
}

/* The first multiple of `every` at or after k; INT64_MAX for none (every <= 0, or past the
 * range). */
static int64_t next_multiple(int64_t k, int64_t every) {
  if (every <= 0) return INT64_MAX;
  int64_t r = k % every;
  if (r == 0) return k;
  return k - r > INT64_MAX - every ? INT64_MAX : k - r + every;
}

int lz_gd_lanes_advance(const lz_lanes_problem *m, const lz_gd_params *gp, int64_t until,
                        lz_lanes *b) {
  const double safe2 = m->kind == LZ_LANES_TOY ? toy_safe_state_bound2(m, gp->diverge_above)
                                               : safe_state_bound2(gp->diverge_above, m->mu);
  const double floor2 = squared_norm_floor(gp->tol_grad);
  unsigned char live[LZ_LANES];
  for (int i = 0; i < LZ_LANES; ++i) {
    live[i] = i < b->count;
    b->step[i] = 0;
    b->records[i] = 0;
    b->x_records[i] = 0;
    b->sharpness_records[i] = 0;
    if (!live[i]) b->x[i] = b->y[i] = b->h[i] = 0.0;  /* defined values in unused lanes */
    b->px[i] = b->x[i];
    b->py[i] = b->y[i];
  }
  int64_t k = 0;
  while (k < until && any_live(live)) {
    if (gp->cancel && *gp->cancel) return LZ_ESTOPPED;
    const int64_t loss_at = next_multiple(k, gp->record_every);
    const int64_t sharpness_at = next_multiple(k, b->sharpness_every);
    const int64_t record_at = loss_at < sharpness_at ? loss_at : sharpness_at;
    if (record_at == k || k == 0) { /* the starts are checked one by one (see run_group) */
      run_exact_step(m, safe2, floor2, k,
                     (loss_at == k ? RECORD_LOSS : 0) | (sharpness_at == k ? RECORD_SHARPNESS : 0),
                     b, live);
      ++k;
      continue;
    }
    /* Groups up to the next trace step, the last one shorter if need be. */
    int64_t end = record_at < until ? record_at : until;
    while (k < end && any_live(live)) {
      int steps = end - k < GROUP ? (int)(end - k) : GROUP;
      if (run_group(m, safe2, floor2, steps, b, live)) {
        /* Exactly, up to and including the step where a lane stops (the checks are the
         * group's, so one does), then groups again from the next step. */
        int s = 0;
        while (s < steps && !run_exact_step(m, safe2, floor2, k + s, 0, b, live)) ++s;
        steps = s < steps ? s + 1 : steps;
      }
      k += steps;
      if (gp->cancel && *gp->cancel) return LZ_ESTOPPED;
    }
  }
  for (int i = 0; i < b->count; ++i)
    if (live[i]) b->step[i] = k;
  return LZ_OK;
}
