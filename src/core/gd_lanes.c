/* GD for up to LZ_LANES runs at once (see gd_lanes.h).
 *
 * Exactness. A lane takes step k only if lz_gd_run would: x_k in bounds (|x_i| <=
 * diverge_above), f(x_k) finite and <= diverge_above, grad f(x_k) finite and of norm >=
 * tol_grad. All of them follow from two comparisons, |x|^2 <= a safe bound (below which f and
 * the gradient are bounded, see the bounds section) and |g|^2 > tol^2 (1 + 1e-12), which
 * implies |g| >= tol whatever the rounding of the square root. A lane where either fails stops,
 * and lz_gd_continue decides that step exactly. The steps, traces, orbit rings and tangent maps
 * repeat lz_gd_run's arithmetic (lanes_rows.c for the objectives, fma for the step, the
 * rescalings of tangent.c), so a lane rounds like the per-run engine on any CPU: nothing else
 * is contracted (-ffp-contract=off).
 *
 * Speed. Steps run in groups of up to GROUP with no branch: every lane computes, and what the
 * checks need is folded into two running extremes per lane, compared once at the group's end.
 * A group where a live lane failed is not committed but replayed one exact step at a time,
 * stopping each lane at its first failing step. Steps that record a trace, and the two steps
 * where a tangent starts and starts averaging, are exact steps too. Plain steps of the problems
 * of dimension 1 and 2 run fused kernels that keep 64 lanes in registers (about 5e9 steps/s
 * on 2 cores here); the other steps, and the steps inside the windows of the orbit ring and of
 * the tangents, run through lanes_rows.c one row at a time. */
#include "lrzoo/gd_lanes.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "lanes_rows.h"
#include "lrzoo/error.h"
#include "lrzoo/lanczos.h"
#include "lrzoo/linalg.h"
#include "problems/problems.h"
#include "vmath.h"

enum { GROUP = 128 };

#define EACH_LANE _Pragma("omp simd") for (int i = 0; i < LZ_LANES; ++i)

/* ---- the description of a problem -------------------------------------------------------- */

int lz_gd_lanes_problem(const lz_problem *p, lz_lanes_problem *lp) {
  memset(lp, 0, sizeof *lp);
  lp->p = p;
  lp->dim = (int)lz_problem_dim(p);
  /* The exact steps evaluate p without scratch, as the rows do. */
  if (lp->dim < 1 || lp->dim > LZ_LANES_MAX_DIM || lz_problem_work_len(p) != 0) return 0;
  const lz_problem_kind_desc *kind = lz__problem_kind(lz_problem_params_of(p)->kind);
  return kind && kind->describe_lanes && kind->describe_lanes(p, lp);
}

/* ---- bounds ----------------------------------------------------------------------------------
 * Each lane compares q = |x|^2 with a bound M^2 under which every bounds check of lz_gd_run
 * passes: |x_i| <= diverge_above, f finite and <= diverge_above, the gradient finite, and
 * |g|^2 finite, so that the norm test means what it says. A lane beyond M but in bounds only
 * stops early; lz_gd_continue goes on exactly. */

/* What the norm test compares: a step is certain to pass when |g|^2 exceeds this. Below
 * DBL_MIN the squares lose precision, so a tolerance under 1.5e-154 is tested as if it were
 * that (a lane with a gradient that small stops, and the exact check decides); above 1.3e154
 * the square is inf and every lane stops at once, as every state converges. */
static double squared_norm_floor(double tol) {
  if (tol == 0.0) return -1.0;
  double t2 = tol * tol;
  return (t2 > DBL_MIN ? t2 : DBL_MIN) * (1.0 + 1e-12);
}

/* The scalar factorization: |sigma(y)| <= |y| for every activation, so |r| <= M^2 + |mu| and
 * f = r^2 / 2 <= diverge_above with room for the rounding; capped at 1e50 so that the gradient
 * stays finite. */
static double scalar_safe_bound2(double bound, double mu) {
  double r_max = sqrt(2.0 * bound / (1.0 + 1e-10));
  double m = r_max > fabs(mu) ? sqrt(r_max - fabs(mu)) * (1.0 - 1e-12) : 0.0;
  if (m > bound) m = bound;
  if (m > 1e50) m = 1e50;
  return m * m * (1.0 - 1e-12);
}

/* Upper bounds on |f| and on the gradient's largest component over the ball |x| <= m. */
static void toy_bounds(const lz_lanes_problem *t, double m, double *f_max, double *g_max) {
  double f0 = 0.0, g = 0.0;
  if (t->kind == LZ_LANES_QUADRATIC) {
    for (int c = 0; c < t->dim; ++c) {
      f0 = fmax(f0, 0.5 * fabs(t->lambda[c]) * m * m);
      g = fmax(g, fabs(t->lambda[c]) * m);
    }
    f0 *= t->dim;
  } else {
    switch (t->f0) {
      case LZ_F0_QUADRATIC: f0 = 0.5 * m * m, g = m; break;
      case LZ_F0_DOUBLE_WELL: f0 = t->dim * 0.25 * (m > 1.0 ? m * m * m * m : 1.0), g = m * (m * m + 1.0); break;
      case LZ_F0_MATYAS: f0 = 0.5 * m * m, g = m; break;
    }
    f0 += t->dim * fabs(t->amplitude) * (1.0 + (t->f1 == LZ_F1_QUASIPERIODIC ? 1.0 / t->ratio : 0.0));
    g += fabs(t->amplitude / t->eps) * (t->f1 == LZ_F1_QUASIPERIODIC ? 1.0 + t->ratio : 1.0);
  }
  *f_max = f0 * (1.0 + 1e-9);
  *g_max = g;
}

/* The network: each weight is at most m, so with Z = m (max|x_j| + 1) bounding every
 * pre-activation, |sigma| <= 1 (tanh, sin) or <= Z (relu), |sigma'| <= 1, |net| <= m + W m S
 * and |r| <= |net| + max|y_j|; the gradient's entries are sums, with weights of total Q (1 for
 * the mean), of r times s, w2 sigma' (<= m) and that times x_j. Weight decay adds
 * (mu / 2) dim m^2 to f and mu m to each entry. */
static void mlp_bounds(const lz_lanes_problem *t, double m, double *f_max, double *g_max) {
  double xmax = 0.0, ymax = 0.0, q = t->data_q ? 0.0 : 1.0;
  for (size_t j = 0; j < t->points; ++j) {
    xmax = fmax(xmax, fabs(t->data_x[j]));
    ymax = fmax(ymax, fabs(t->data_y[j]));
    if (t->data_q) q += t->data_q[j];
  }
  const double z = m * (xmax + 1.0), s = t->mlp_act == LZ_MLP_RELU ? z : 1.0;
  const double r = m + t->width * m * s + ymax;
  *f_max = (0.5 * q * r * r + 0.5 * t->mlp_decay * t->dim * m * m) * (1.0 + 1e-9);
  *g_max = (q * r * fmax(fmax(1.0, s), m * fmax(1.0, xmax)) + t->mlp_decay * m) * (1.0 + 1e-9);
}

/* The largest M (within a factor 2) with f_max(M) <= bound and every gradient component at
 * most 1e150 (so |g|^2 stays finite in up to 16 dimensions). */
static double halved_safe_bound2(const lz_lanes_problem *t, double bound) {
  double m = bound < 1e50 ? bound : 1e50;
  for (; m > 1e-300; m *= 0.5) {
    double f_max, g_max;
    if (t->kind == LZ_LANES_MLP) mlp_bounds(t, m, &f_max, &g_max);
    else toy_bounds(t, m, &f_max, &g_max);
    if (f_max <= bound && g_max <= 1e150) break;
  }
  return m > 1e-300 ? m * m * (1.0 - 1e-12) : 0.0;
}

static double safe_state_bound2(const lz_lanes_problem *t, double bound) {
  return t->kind == LZ_LANES_SCALAR_MF ? scalar_safe_bound2(bound, t->mu)
                                       : halved_safe_bound2(t, bound);
}

/* ---- the engine's state ------------------------------------------------------------------ */

/* The lanes' copy of one tangent of every lane (tangent.c's fields). */
typedef struct tangent_lanes {
  lz_lane_row v[LZ_LANES_MAX_DIM];
  int64_t done[LZ_LANES], shift[LZ_LANES];
  double log_start[LZ_LANES];
  unsigned char dead[LZ_LANES], stopped[LZ_LANES];
} tangent_lanes;

typedef struct engine {
  const lz_lanes_problem *lp;
  const lz_gd_params *gp;
  lz_lanes *b;
  int dim;
  double safe2, floor2;
  unsigned char live[LZ_LANES];
  /* the analyses */
  int rings;                     /* lanes have orbit rings */
  int tangents, project[2];      /* tangents per lane; whether each removes the symmetry */
  int64_t transient, window;     /* of the tangents: transient + iters */
  tangent_lanes tan[2];
} engine;

static void load_tangents(engine *e) {
  lz_lanes *b = e->b;
  e->tangents = b->tangents;
  for (int t = 0; t < e->tangents; ++t) {
    tangent_lanes *tl = &e->tan[t];
    for (int i = 0; i < LZ_LANES; ++i) {
      const lz_tangent *src = i < b->count ? b->tangent[t][i] : NULL;
      for (int c = 0; c < e->dim; ++c) tl->v[c][i] = src ? src->v[c] : 0.0;
      tl->done[i] = src ? src->done : 0;
      tl->shift[i] = src ? src->shift : 0;
      tl->log_start[i] = src ? src->log_start : 0.0;
      tl->dead[i] = src ? (unsigned char)src->dead : 1;
      tl->stopped[i] = src ? (unsigned char)src->stopped : 1;
      if (src) {
        e->project[t] = src->project;
        e->transient = src->transient;
        e->window = src->transient + src->iters;
      }
    }
  }
}

static void store_tangents(const engine *e) {
  lz_lanes *b = e->b;
  for (int t = 0; t < e->tangents; ++t) {
    const tangent_lanes *tl = &e->tan[t];
    for (int i = 0; i < b->count; ++i) {
      lz_tangent *dst = b->tangent[t][i];
      for (int c = 0; c < e->dim; ++c) dst->v[c] = tl->v[c][i];
      dst->done = tl->done[i];
      dst->shift = tl->shift[i];
      dst->log_start = tl->log_start[i];
      dst->dead = tl->dead[i];
      dst->stopped = tl->stopped[i];
    }
  }
}

/* ---- the tangent maps --------------------------------------------------------------------- */

/* What lz_tangent_step does before its product, at the two steps where it does something:
 * the first (done 0: the symmetry directions leave v) and the start of the averaging (done ==
 * transient: ln |v|). For the lanes in `mask` whose tangent wants the step. */
static void tangent_prepare(engine *e, lz_lane_row *x, const unsigned char *mask) {
  for (int t = 0; t < e->tangents; ++t) {
    tangent_lanes *tl = &e->tan[t];
    int first = 0;
    for (int i = 0; i < LZ_LANES; ++i)
      first |= mask[i] && !tl->dead[i] && !tl->stopped[i] && tl->done[i] == 0;
    if (first && e->project[t]) {
      lz_lane_row w[LZ_LANES_MAX_DIM];
      memcpy(w, tl->v, (size_t)e->dim * sizeof w[0]);
      lz__rows_project(e->lp, x, w);
      for (int i = 0; i < LZ_LANES; ++i)
        if (mask[i] && !tl->dead[i] && !tl->stopped[i] && tl->done[i] == 0)
          for (int c = 0; c < e->dim; ++c) tl->v[c][i] = w[c][i];
    }
    for (int i = 0; i < LZ_LANES; ++i) {
      if (!mask[i] || tl->dead[i] || tl->stopped[i] || tl->done[i] != e->transient) continue;
      double col[LZ_LANES_MAX_DIM];
      for (int c = 0; c < e->dim; ++c) col[c] = tl->v[c][i];
      tl->log_start[i] = log(lz_norm2(col, (size_t)e->dim));
    }
  }
}

/* v <- (I - h H(x)) v for the lanes in `mask`, with lz_tangent_step's ends (a vector that is
 * no longer finite stops the averaging, one that is exactly 0 is dead) and its rescalings by
 * powers of two: exact, so they change no mantissa, and done at the same steps as there, so
 * the final vector and its shift are bitwise tangent.c's. */
static void tangent_step(engine *e, tangent_lanes *tl, int project, lz_lane_row *x,
                         const unsigned char *mask) {
  const int dim = e->dim;
  const double *h = e->b->h;
  const int64_t transient = e->transient, window = e->window;
  lz_lane_row w[LZ_LANES_MAX_DIM];
  lz__rows_hvp(e->lp, x, tl->v, w);
  for (int c = 0; c < dim; ++c) EACH_LANE w[c][i] = tl->v[c][i] - h[i] * w[c][i];
  if (project) lz__rows_project(e->lp, x, w);
  double m[LZ_LANES];
  unsigned char rescale[LZ_LANES];
  EACH_LANE m[i] = 0.0;
  for (int c = 0; c < dim; ++c) EACH_LANE {
      const double a = fabs(w[c][i]);
      m[i] = a > m[i] ? a : m[i];  /* fmax: a NaN entry does not count */
    }
  int any_rescale = 0;
  EACH_LANE {
    const int wants = mask[i] && !tl->dead[i] && !tl->stopped[i] && tl->done[i] < window;
    const int overflows = wants && !(m[i] < HUGE_VAL);
    const int dies = wants && !overflows && m[i] == 0.0;
    const int moves = wants && !overflows && !dies;
    tl->stopped[i] |= (unsigned char)overflows;
    tl->dead[i] |= (unsigned char)dies;
    tl->done[i] += wants && !overflows;
    rescale[i] = (unsigned char)(moves && (m[i] > 0x1p200 || m[i] < 0x1p-200 ||
                                           tl->done[i] == transient));
    any_rescale |= rescale[i];
    for (int c = 0; c < dim; ++c) tl->v[c][i] = moves ? w[c][i] : tl->v[c][i];
  }
  if (!any_rescale) return;
  for (int i = 0; i < LZ_LANES; ++i) {
    if (!rescale[i]) continue;
    int ex = 0;
    frexp(m[i], &ex);
    for (int c = 0; c < dim; ++c) tl->v[c][i] = ldexp(tl->v[c][i], -ex);
    if (tl->done[i] > transient) tl->shift[i] += ex;
  }
}

/* ---- one exact step ------------------------------------------------------------------------ */

/* What an exact step k records, as lz_gd_run's observers would at k. */
enum { RECORD_LOSS = 1, RECORD_SHARPNESS = 2, IN_RING = 4, IN_TANGENTS = 8 };

static void gather(lz_lane_row *x, int dim, int i, double *col) {
  for (int c = 0; c < dim; ++c) col[c] = x[c][i];
}

/* x with the lanes outside `mask` at 0. */
static void masked_rows(lz_lane_row *src, int dim, const unsigned char *mask,
                        lz_lane_row *dst) {
  for (int c = 0; c < dim; ++c) EACH_LANE dst[c][i] = mask[i] ? src[c][i] : 0.0;
}

static void check_rows(lz_lane_row *x, lz_lane_row *g, int dim, double *q,
                       double *gg) {
  if (dim == 2) {
    EACH_LANE {
      q[i] = fma(x[0][i], x[0][i], x[1][i] * x[1][i]);
      gg[i] = fma(g[0][i], g[0][i], g[1][i] * g[1][i]);
    }
    return;
  }
  EACH_LANE q[i] = x[0][i] * x[0][i], gg[i] = g[0][i] * g[0][i];
  for (int c = 1; c < dim; ++c) EACH_LANE {
      q[i] = fma(x[c][i], x[c][i], q[i]);
      gg[i] = fma(g[c][i], g[c][i], gg[i]);
    }
}

static void record_state(lz_lanes *b, int i, const double *col, int dim) {
  double *row = b->x_trace[i] + b->x_records[i]++ * b->x_coords;
  int n = b->x_coords < dim ? (int)b->x_coords : dim;
  memcpy(row, col, (size_t)n * sizeof *row);
}

static void record_sharpness(const engine *e, int i, const double *col) {
  lz_lanes *b = e->b;
  lz_lanczos_result res;
  int rc = lz_sharpness(e->lp->p, col, b->seed, &res, b->lanczos_work);
  b->sharpness[i][b->sharpness_records[i]++] = rc == LZ_OK ? res.lambda : NAN;
}

/* One step k, exactly: a lane that fails a check stops at k with its state untouched; the
 * others record what `what` says, then step. Returns whether a lane stopped. */
static int exact_step(engine *e, int64_t k, int what) {
  lz_lanes *b = e->b;
  const int dim = e->dim;
  lz_lane_row x[LZ_LANES_MAX_DIM], g[LZ_LANES_MAX_DIM];
  double q[LZ_LANES], gg[LZ_LANES];
  masked_rows(b->x, dim, e->live, x);
  lz__rows_grad(e->lp, x, g);
  check_rows(x, g, dim, q, gg);
  int stopped = 0;
  for (int i = 0; i < LZ_LANES; ++i) {
    if (!e->live[i] || (q[i] <= e->safe2 && gg[i] > e->floor2)) continue;
    e->live[i] = 0;
    b->step[i] = k;
    stopped = 1;
  }
  if (what & (RECORD_LOSS | RECORD_SHARPNESS | IN_RING)) {
    double f[LZ_LANES];
    int any_trace = 0;
    for (int i = 0; i < b->count; ++i) any_trace |= e->live[i] && b->trace[i];
    if ((what & RECORD_LOSS) && any_trace) lz__rows_value(e->lp, x, f);
    for (int i = 0; i < b->count; ++i) {
      if (!e->live[i]) continue;
      double col[LZ_LANES_MAX_DIM];
      gather(x, dim, i, col);
      if ((what & RECORD_LOSS) && b->trace[i]) b->trace[i][b->records[i]++] = f[i];
      if ((what & IN_RING) && b->ring[i]) lz_orbit_ring_push(b->ring[i], col);
      if ((what & RECORD_SHARPNESS) && b->sharpness[i]) record_sharpness(e, i, col);
      if ((what & RECORD_LOSS) && b->x_trace[i]) record_state(b, i, col, dim);
    }
  }
  if (what & IN_TANGENTS) {
    tangent_prepare(e, x, e->live);
    for (int t = 0; t < e->tangents; ++t) tangent_step(e, &e->tan[t], e->project[t], x, e->live);
  }
  for (int c = 0; c < dim; ++c) EACH_LANE {
      const double next = fma(-b->h[i], g[c][i], x[c][i]);
      b->px[c][i] = e->live[i] ? x[c][i] : b->px[c][i];
      b->x[c][i] = e->live[i] ? next : b->x[c][i];
    }
  return stopped;
}

/* ---- groups of steps ------------------------------------------------------------------------ */

/* The end of a group: whether a live lane failed a check, and if none did, the live lanes'
 * states written back. Nothing is committed otherwise: the caller replays the group. */
static int commit_group(engine *e, lz_lane_row *xs, lz_lane_row *pxs,
                        const double *qmax, const double *ggmin) {
  int failed = 0;
  for (int i = 0; i < LZ_LANES; ++i)
    failed |= e->live[i] & !(qmax[i] <= e->safe2 && ggmin[i] > e->floor2);
  if (failed) return 1;
  lz_lanes *b = e->b;
  for (int c = 0; c < e->dim; ++c) EACH_LANE {
      b->x[c][i] = e->live[i] ? xs[c][i] : b->x[c][i];
      b->px[c][i] = e->live[i] ? pxs[c][i] : b->px[c][i];
    }
  return 0;
}

/* Every lane computes, live or not (a stopped lane may run into inf or NaN harmlessly): only
 * live lanes are written back. Rather than a pass flag per step, each lane keeps the largest q
 * and the smallest gg of the group: one max and one min a step, compared once at the end. Both
 * are sticky where it matters. The first state out of bounds is finite or inf, never NaN (from
 * finite x and h, a step can overflow but not produce NaN), and it enters the maximum; a later
 * NaN loses every comparison and leaves the maximum as it was. The starts themselves are
 * checked by an exact step (step 0 always is one). */

/* The fused kernels: the scalar factorization and the toys of dimension 1 and 2, plain steps.
 * The lanes are copied into local arrays first: nothing else can alias them there, so the loop
 * stays in vector registers. */
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
  const double g0 = r * s, g1 = slope * r * x;                                           \
  const double gg = fma(g0, g0, g1 * g1);                                                \
  const double q = fma(x, x, y * y);

#define LANE_GROUP_STEP(ACT)                                                             \
  LANE_PREAMBLE(ACT, xs[0][i], xs[1][i])                                                 \
  qmax[i] = q > qmax[i] ? q : qmax[i];                                                   \
  ggmin[i] = gg < ggmin[i] ? gg : ggmin[i];                                              \
  xs[0][i] = fma(nh[i], g0, x);                                                          \
  xs[1][i] = fma(nh[i], g1, y);

#define DEFINE_GROUP(NAME, ACT)                                                          \
  static int NAME(engine *e, int steps) {                                                \
    lz_lanes *b = e->b;                                                                  \
    lz_lane_row xs[2], pxs[2];                                                           \
    double nh[LZ_LANES], qmax[LZ_LANES], ggmin[LZ_LANES];                                \
    const double mu = e->lp->mu, alpha = e->lp->alpha;                                   \
    for (int i = 0; i < LZ_LANES; ++i) {                                                 \
      xs[0][i] = b->x[0][i], xs[1][i] = b->x[1][i], nh[i] = -b->h[i];                    \
      qmax[i] = 0.0, ggmin[i] = HUGE_VAL;                                                \
    }                                                                                    \
    for (int step = 0; step < steps - 1; ++step) {                                       \
      EACH_LANE {                                                                        \
        LANE_GROUP_STEP(ACT)                                                             \
      }                                                                                  \
    }                                                                                    \
    EACH_LANE {                                                                          \
      pxs[0][i] = xs[0][i], pxs[1][i] = xs[1][i];                                        \
      LANE_GROUP_STEP(ACT)                                                               \
    }                                                                                    \
    return commit_group(e, xs, pxs, qmax, ggmin);                                        \
  }

DEFINE_GROUP(group_none, LZ_ACT_NONE)
DEFINE_GROUP(group_relu, LZ_ACT_RELU)
DEFINE_GROUP(group_leaky, LZ_ACT_LEAKY_RELU)

/* The toys: a slow part (lambda_i x_i, the double well's x_i (x_i^2 - 1), or Matyas') plus, for
 * a multiscale objective, (a / eps) [cos t + cos(r t)] per coordinate with t = x_i / eps, in
 * problems/multiscale.c's order and with vmath.h's cos. */
typedef enum { SLOW_DIAGONAL, SLOW_DOUBLE_WELL, SLOW_MATYAS } slow_kind;

#define TOY_SLOW_GRAD(SLOW)                                         \
  ((SLOW) == SLOW_DIAGONAL      ? l0 * x                            \
   : (SLOW) == SLOW_DOUBLE_WELL ? x * (x * x - 1.0)                 \
                                : 0.52 * x - 0.48 * y)
#define TOY_SLOW_GRAD_Y(SLOW)                                       \
  ((SLOW) == SLOW_DIAGONAL      ? l1 * y                            \
   : (SLOW) == SLOW_DOUBLE_WELL ? y * (y * y - 1.0)                 \
                                : 0.52 * y - 0.48 * x)

#define DEFINE_TOY_GROUP(NAME, SLOW, FAST, DIM)                                          \
  static int NAME(engine *e, int steps) {                                                \
    const lz_lanes_problem *t = e->lp;                                                   \
    const unsigned char *live_in = e->live;                                              \
    lz_lanes *b = e->b;                                                                  \
    lz_lane_row xs[2], pxs[2];                                                           \
    double nh[LZ_LANES], qmax[LZ_LANES], ggmin[LZ_LANES], c0[LZ_LANES], c1[LZ_LANES];    \
    const double l0 = t->kind == LZ_LANES_QUADRATIC ? t->lambda[0] : 1.0;                \
    const double l1 = t->kind == LZ_LANES_QUADRATIC ? t->lambda[1] : 1.0;                \
    const double aoe = t->amplitude / t->eps;                                            \
    (void)l0, (void)l1, (void)aoe;                                                       \
    /* Lanes not live start at 0 with h = 0 and stay there: no cos of inf or NaN. */     \
    for (int i = 0; i < LZ_LANES; ++i) {                                                 \
      xs[0][i] = live_in[i] ? b->x[0][i] : 0.0;                                          \
      xs[1][i] = live_in[i] && (DIM) == 2 ? b->x[1][i] : 0.0;                            \
      nh[i] = live_in[i] ? -b->h[i] : 0.0, qmax[i] = 0.0, ggmin[i] = HUGE_VAL;           \
      c0[i] = c1[i] = 0.0;                                                               \
    }                                                                                    \
    for (int step = 0; step < steps; ++step) {                                           \
      if (step == steps - 1)                                                             \
        for (int i = 0; i < LZ_LANES; ++i) pxs[0][i] = xs[0][i], pxs[1][i] = xs[1][i];   \
      if (FAST) {                                                                        \
        lz__rows_fast_cosines(t, xs[0], c0);                                             \
        if ((DIM) == 2) lz__rows_fast_cosines(t, xs[1], c1);                             \
      }                                                                                  \
      EACH_LANE {                                                                        \
        const double x = xs[0][i], y = xs[1][i];                                         \
        double g0 = TOY_SLOW_GRAD(SLOW);                                                 \
        double g1 = (DIM) == 2 ? TOY_SLOW_GRAD_Y(SLOW) : 0.0;                            \
        if (FAST) g0 = g0 + aoe * c0[i];                                                 \
        if (FAST && (DIM) == 2) g1 = g1 + aoe * c1[i];                                   \
        const double q = (DIM) == 2 ? fma(x, x, y * y) : x * x;                          \
        const double gg = (DIM) == 2 ? fma(g0, g0, g1 * g1) : g0 * g0;                   \
        qmax[i] = q > qmax[i] ? q : qmax[i];                                             \
        ggmin[i] = gg < ggmin[i] ? gg : ggmin[i];                                        \
        xs[0][i] = fma(nh[i], g0, x);                                                    \
        if ((DIM) == 2) xs[1][i] = fma(nh[i], g1, y);                                    \
      }                                                                                  \
    }                                                                                    \
    return commit_group(e, xs, pxs, qmax, ggmin);                                        \
  }

DEFINE_TOY_GROUP(toy_diag_1, SLOW_DIAGONAL, 0, 1)
DEFINE_TOY_GROUP(toy_diag_2, SLOW_DIAGONAL, 0, 2)
DEFINE_TOY_GROUP(toy_diag_fast_1, SLOW_DIAGONAL, 1, 1)
DEFINE_TOY_GROUP(toy_diag_fast_2, SLOW_DIAGONAL, 1, 2)
DEFINE_TOY_GROUP(toy_well_fast_1, SLOW_DOUBLE_WELL, 1, 1)
DEFINE_TOY_GROUP(toy_well_fast_2, SLOW_DOUBLE_WELL, 1, 2)
DEFINE_TOY_GROUP(toy_matyas_fast_2, SLOW_MATYAS, 1, 2)

/* The tangent window of the scalar factorization, fused: the step and both tangent maps (the
 * second with the symmetry direction (x, -y) removed) per lane and step, in registers.
 * Rescalings by powers of two where |w| leaves [2^-200, 2^200] are made branch-free from the
 * exponent bits (exact, as ldexp); a tangent that dies (w = 0), overflows or comes near the
 * ends of the exponent range fails the group like a failed check, and the replay's exact steps
 * handle it. The edges of the window (the first step, done == transient) are exact steps, so a
 * group never straddles them: `counting` says whether its rescalings enter the shift. */
#define TANGENT_UPDATE(V0, V1, PROJECT)                                                  \
  {                                                                                      \
    const double ds = slope * V0##y, dr = V0##x * s + x * ds;                            \
    const double hv0 = dr * s + r * ds, hv1 = slope * (dr * x + r * V0##x);              \
    double w0 = V0##x - h * hv0, w1 = V0##y - h * hv1;                                   \
    if (PROJECT) {                                                                       \
      const double along = 0.0 + (x * w0 - y * w1), norm2 = 0.0 + (x * x + y * y);       \
      const double coef = along / norm2; /* unconditional: a division under a condition */ \
      w0 = norm2 > 0 ? w0 - coef * x : w0; /* would keep the loop from vectorizing */    \
      w1 = norm2 > 0 ? w1 + coef * y : w1;                                               \
    }                                                                                    \
    const double a0 = fabs(w0), a1 = fabs(w1);                                           \
    double m = a0 > 0.0 ? a0 : 0.0;                                                      \
    m = a1 > m ? a1 : m;                                                                 \
    special |= on & ((m < 0x1p-1000) | (m > 0x1p1000)); /* m is never NaN; | for SIMD */ \
    const int64_t need = on & ((m > 0x1p200) | (m < 0x1p-200));                          \
    int64_t bits;                                                                        \
    memcpy(&bits, &m, sizeof bits);                                                      \
    const int64_t ex = ((bits >> 52) & 0x7ff) - 1022;                                    \
    /* unsigned: m beyond 2^1023 makes 1023 - ex negative (then scale is unused, the group \
     * fails as special), and a negative left shift is undefined */                      \
    const uint64_t sbits = (uint64_t)(1023 - ex) << 52;                                  \
    double scale;                                                                        \
    memcpy(&scale, &sbits, sizeof scale);                                                \
    scale = need ? scale : 1.0;                                                          \
    V0##x = on ? w0 * scale : V0##x;                                                     \
    V0##y = on ? w1 * scale : V0##y;                                                     \
    V1 += need & counting ? ex : 0;                                                      \
  }

#define DEFINE_WINDOW_GROUP(NAME, ACT)                                                   \
  static int NAME(engine *e, int steps, int counting) {                                  \
    lz_lanes *b = e->b;                                                                  \
    tangent_lanes *t0 = &e->tan[0], *t1 = &e->tan[1];                                    \
    const int two = e->tangents == 2;                                                    \
    lz_lane_row xs[2], pxs[2], va[2], vb[2];                                             \
    double nh[LZ_LANES], hh[LZ_LANES], qmax[LZ_LANES], ggmin[LZ_LANES];                  \
    int64_t sa[LZ_LANES], sb[LZ_LANES], on_a[LZ_LANES], on_b[LZ_LANES];                  \
    int64_t special = 0;                                                                 \
    const double mu = e->lp->mu, alpha = e->lp->alpha;                                   \
    for (int i = 0; i < LZ_LANES; ++i) {                                                 \
      xs[0][i] = b->x[0][i], xs[1][i] = b->x[1][i], nh[i] = -b->h[i], hh[i] = b->h[i];   \
      qmax[i] = 0.0, ggmin[i] = HUGE_VAL;                                                \
      va[0][i] = t0->v[0][i], va[1][i] = t0->v[1][i], sa[i] = t0->shift[i];              \
      on_a[i] = e->live[i] && !t0->dead[i] && !t0->stopped[i];                           \
      vb[0][i] = two ? t1->v[0][i] : 0.0, vb[1][i] = two ? t1->v[1][i] : 0.0;            \
      sb[i] = two ? t1->shift[i] : 0;                                                    \
      on_b[i] = two && e->live[i] && !t1->dead[i] && !t1->stopped[i];                    \
    }                                                                                    \
    for (int step = 0; step < steps; ++step) {                                           \
      if (step == steps - 1) memcpy(pxs, xs, sizeof xs);                                 \
      _Pragma("omp simd reduction(|:special)")                                           \
      for (int i = 0; i < LZ_LANES; ++i) {                                               \
        LANE_PREAMBLE(ACT, xs[0][i], xs[1][i])                                           \
        const double h = hh[i];                                                          \
        qmax[i] = q > qmax[i] ? q : qmax[i];                                             \
        ggmin[i] = gg < ggmin[i] ? gg : ggmin[i];                                        \
        double ax = va[0][i], ay = va[1][i], bx = vb[0][i], by = vb[1][i];               \
        {                                                                                \
          const int64_t on = on_a[i];                                                    \
          TANGENT_UPDATE(a, sa[i], 0)                                                    \
        }                                                                                \
        {                                                                                \
          const int64_t on = on_b[i];                                                    \
          TANGENT_UPDATE(b, sb[i], 1)                                                    \
        }                                                                                \
        va[0][i] = ax, va[1][i] = ay, vb[0][i] = bx, vb[1][i] = by;                      \
        xs[0][i] = fma(nh[i], g0, x);                                                    \
        xs[1][i] = fma(nh[i], g1, y);                                                    \
      }                                                                                  \
    }                                                                                    \
    if (special || commit_group(e, xs, pxs, qmax, ggmin)) return 1;                      \
    for (int i = 0; i < LZ_LANES; ++i) {                                                 \
      if (on_a[i]) t0->v[0][i] = va[0][i], t0->v[1][i] = va[1][i], t0->shift[i] = sa[i]; \
      if (on_a[i]) t0->done[i] += steps;                                                 \
      if (on_b[i]) t1->v[0][i] = vb[0][i], t1->v[1][i] = vb[1][i], t1->shift[i] = sb[i]; \
      if (on_b[i]) t1->done[i] += steps;                                                 \
    }                                                                                    \
    return 0;                                                                            \
  }

DEFINE_WINDOW_GROUP(window_none, LZ_ACT_NONE)
DEFINE_WINDOW_GROUP(window_relu, LZ_ACT_RELU)
DEFINE_WINDOW_GROUP(window_leaky, LZ_ACT_LEAKY_RELU)

typedef int window_group(engine *e, int steps, int counting);

/* The fused window kernel for lp's tangents, or NULL where the rows serve: the scalar
 * factorization with its two tangents, the second transverse (as the runner sets them). */
static window_group *window_group_for(const lz_lanes_problem *lp, const engine *e) {
  if (lp->kind != LZ_LANES_SCALAR_MF || e->tangents != 2 || e->project[0] || !e->project[1])
    return NULL;
  return lp->act == LZ_ACT_RELU ? window_relu : lp->act == LZ_ACT_LEAKY_RELU ? window_leaky : window_none;
}

typedef int fused_group(engine *e, int steps);

/* The fused kernel for plain steps of lp, or NULL where the rows serve. */
static fused_group *fused_group_for(const lz_lanes_problem *lp) {
  const int two = lp->dim == 2;
  switch (lp->kind) {
    case LZ_LANES_SCALAR_MF:
      return lp->act == LZ_ACT_RELU ? group_relu : lp->act == LZ_ACT_LEAKY_RELU ? group_leaky : group_none;
    case LZ_LANES_QUADRATIC:
      return lp->dim == 1 ? toy_diag_1 : two ? toy_diag_2 : NULL;
    case LZ_LANES_MULTISCALE:
      if (lp->dim > 2) return NULL;
      switch (lp->f0) {
        case LZ_F0_QUADRATIC: return two ? toy_diag_fast_2 : toy_diag_fast_1;
        case LZ_F0_DOUBLE_WELL: return two ? toy_well_fast_2 : toy_well_fast_1;
        case LZ_F0_MATYAS: return two ? toy_matyas_fast_2 : NULL;
      }
      return NULL;
    default: return NULL;
  }
}

/* A group through the rows, for every problem, with the orbit ring and the tangents when the
 * group lies in their windows. Pushes go straight into the runs' rings; a failed group puts
 * their heads back (its pushes are made again by the replay, to the same slots). The tangents
 * step in copies, committed with the group. */
static int rows_group(engine *e, int steps, int what) {
  lz_lanes *b = e->b;
  const int dim = e->dim;
  lz_lane_row xs[LZ_LANES_MAX_DIM], pxs[LZ_LANES_MAX_DIM], g[LZ_LANES_MAX_DIM];
  double qmax[LZ_LANES], ggmin[LZ_LANES], q[LZ_LANES], gg[LZ_LANES], nh[LZ_LANES];
  int64_t heads[LZ_LANES], counts[LZ_LANES];
  static _Thread_local tangent_lanes saved[2];
  masked_rows(b->x, dim, e->live, xs);
  EACH_LANE {
    nh[i] = e->live[i] ? -b->h[i] : 0.0;
    qmax[i] = 0.0, ggmin[i] = HUGE_VAL;
  }
  const int ring = (what & IN_RING) && e->rings, tan = (what & IN_TANGENTS) && e->tangents;
  if (ring)
    for (int i = 0; i < b->count; ++i)
      if (b->ring[i]) heads[i] = b->ring[i]->head, counts[i] = b->ring[i]->count;
  if (tan) memcpy(saved, e->tan, (size_t)e->tangents * sizeof saved[0]);
  for (int step = 0; step < steps; ++step) {
    if (step == steps - 1) memcpy(pxs, xs, (size_t)dim * sizeof xs[0]);
    lz__rows_grad(e->lp, xs, g);
    check_rows(xs, g, dim, q, gg);
    EACH_LANE {
      qmax[i] = q[i] > qmax[i] ? q[i] : qmax[i];
      ggmin[i] = gg[i] < ggmin[i] ? gg[i] : ggmin[i];
    }
    if (ring)
      for (int i = 0; i < b->count; ++i) {
        if (!e->live[i] || !b->ring[i]) continue;
        double col[LZ_LANES_MAX_DIM];
        gather(xs, dim, i, col);
        lz_orbit_ring_push(b->ring[i], col);
      }
    if (tan)
      for (int t = 0; t < e->tangents; ++t) tangent_step(e, &e->tan[t], e->project[t], xs, e->live);
    for (int c = 0; c < dim; ++c) EACH_LANE xs[c][i] = fma(nh[i], g[c][i], xs[c][i]);
  }
  if (commit_group(e, xs, pxs, qmax, ggmin) == 0) return 0;
  if (ring)
    for (int i = 0; i < b->count; ++i)
      if (b->ring[i]) b->ring[i]->head = heads[i], b->ring[i]->count = counts[i];
  if (tan) memcpy(e->tan, saved, (size_t)e->tangents * sizeof saved[0]);
  return 1;
}

/* ---- the driver ---------------------------------------------------------------------------- */

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

static int64_t earliest(int64_t a, int64_t b) { return a < b ? a : b; }

/* The next step at or after k where the windows of the analyses begin or end. */
static int64_t next_window_edge(const engine *e, int64_t k) {
  const lz_lanes *b = e->b;
  int64_t edge = INT64_MAX;
  if (e->rings && k < b->ring_from) edge = b->ring_from;
  if (e->tangents) {
    const int64_t edges[4] = {b->tangent_from, b->tangent_from + e->transient - 1,
                              b->tangent_from + e->transient, b->tangent_from + e->window};
    for (int j = 0; j < 4; ++j)
      if (k < edges[j]) edge = earliest(edge, edges[j]);
  }
  return edge;
}

/* The steps of the tangent window that are always exact: its first (tangent_prepare projects
 * v), the one where done reaches transient (v is rescaled, and the shift starts counting) and
 * the next (tangent_prepare takes ln |v|). */
static int is_tangent_edge(const engine *e, int64_t k) {
  if (!e->tangents) return 0;
  const int64_t from = e->b->tangent_from, T = e->transient;
  return k == from || (T > 0 && k == from + T - 1) || k == from + T;
}

/* What the analyses do at the steps from k on (until the next edge). */
static int windows_at(const engine *e, int64_t k) {
  int what = 0;
  if (e->rings && k >= e->b->ring_from) what |= IN_RING;
  if (e->tangents && k >= e->b->tangent_from && k < e->b->tangent_from + e->window)
    what |= IN_TANGENTS;
  return what;
}

static void start_engine(engine *e, const lz_lanes_problem *lp, const lz_gd_params *gp,
                         lz_lanes *b) {
  memset(e, 0, sizeof *e);
  e->lp = lp;
  e->gp = gp;
  e->b = b;
  e->dim = lp->dim;
  e->safe2 = safe_state_bound2(lp, gp->diverge_above);
  e->floor2 = squared_norm_floor(gp->tol_grad);
  for (int i = 0; i < LZ_LANES; ++i) {
    e->live[i] = i < b->count;
    e->rings |= e->live[i] && b->ring[i];
    b->step[i] = 0;
    b->records[i] = 0;
    b->x_records[i] = 0;
    b->sharpness_records[i] = 0;
    if (!e->live[i]) {
      b->h[i] = 0.0;  /* defined values in unused lanes */
      for (int c = 0; c < e->dim; ++c) b->x[c][i] = 0.0;
    }
    for (int c = 0; c < e->dim; ++c) b->px[c][i] = b->x[c][i];
  }
  load_tangents(e);
}

/* Groups from k to `end`; a failed group is replayed exactly up to and including the step
 * where a lane stops (the checks are the group's, so one does), then groups go on from the
 * next step. Returns the step reached, or -1 when cancelled. */
static int64_t run_groups(engine *e, fused_group *fused, window_group *window, int64_t k,
                          int64_t end) {
  const int what = windows_at(e, k);
  const int counting = e->tangents && k > e->b->tangent_from + e->transient;
  while (k < end && any_live(e->live)) {
    int steps = end - k < GROUP ? (int)(end - k) : GROUP;
    int failed = fused && !what                   ? fused(e, steps)
                 : window && what == IN_TANGENTS ? window(e, steps, counting)
                                                 : rows_group(e, steps, what);
    if (failed) {
      int s = 0;
      while (s < steps && !exact_step(e, k + s, what)) ++s;
      steps = s < steps ? s + 1 : steps;
    }
    k += steps;
    if (e->gp->cancel && *e->gp->cancel) return -1;
  }
  return k;
}

int lz_gd_lanes_advance(const lz_lanes_problem *lp, const lz_gd_params *gp, int64_t until,
                        lz_lanes *b) {
  static _Thread_local engine e;
  start_engine(&e, lp, gp, b);
  fused_group *fused = fused_group_for(lp);
  window_group *window = window_group_for(lp, &e);
  int64_t k = 0;
  int rc = LZ_OK;
  while (k < until && any_live(e.live)) {
    if (gp->cancel && *gp->cancel) {
      rc = LZ_ESTOPPED;
      break;
    }
    const int64_t loss_at = next_multiple(k, gp->record_every);
    const int64_t sharpness_at = next_multiple(k, b->sharpness_every);
    const int64_t edge = next_window_edge(&e, k);
    /* The starts are checked one by one (see the groups); so are trace steps and the edges
     * where a tangent starts or starts averaging (tangent_prepare). */
    if (k == 0 || loss_at == k || sharpness_at == k || is_tangent_edge(&e, k)) {
      int what = windows_at(&e, k) | (loss_at == k ? RECORD_LOSS : 0) |
                 (sharpness_at == k ? RECORD_SHARPNESS : 0);
      exact_step(&e, k, what);
      ++k;
      continue;
    }
    k = run_groups(&e, fused, window, k,
                   earliest(earliest(loss_at, sharpness_at), earliest(edge, until)));
    if (k < 0) {
      rc = LZ_ESTOPPED;
      break;
    }
  }
  if (rc == LZ_OK)
    for (int i = 0; i < b->count; ++i)
      if (e.live[i]) b->step[i] = k;
  store_tangents(&e);
  return rc;
}
