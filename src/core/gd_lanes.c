/* GD on the scalar factorization for up to LZ_LANES runs at once (see gd_lanes.h).
 *
 * Exactness. A lane takes step k only if lz_gd_run would: x_k in bounds (max(|x|, |y|) <=
 * diverge_above), f(x_k) finite and <= diverge_above, grad f(x_k) finite and of norm >=
 * tol_grad (all five follow from max(|x|, |y|) <= safe_state_bound and the norm test). The expressions are those of the mf objective's scalar path and of lz_gd_run, in
 * the same order; the project compiles in ISO C mode, so no multiply-add is contracted and a
 * SIMD lane rounds like the scalar code. The norm test is conservative: |g|^2 > tol^2 (1 +
 * 1e-12) implies |g| >= tol whatever the rounding of the square root; a lane in the sliver
 * below that stops, and lz_gd_continue decides it exactly.
 *
 * Speed. Steps run in groups of GROUP with no branch: every lane computes, a lane that has
 * stopped keeps its state, and a flag records whether any check failed. A group where one
 * did is not committed but replayed one step at a time, stopping each lane at its first
 * failing step. Steps that record the traces are taken one at a time as well, so a group
 * never has trace entries to take back. */
#include "lrzoo/gd_lanes.h"

#include <float.h>
#include <math.h>

#include "lrzoo/error.h"

enum { GROUP = 8 };

int lz_gd_lanes_apply(const lz_gd_params *gp) {
  double tol = gp->tol_grad;
  return tol == 0.0 || (tol >= 1e-140 && tol <= 1e140);
}

/* What the checks compare: a step is certain to pass when |g|^2 exceeds this. */
static double squared_norm_floor(double tol) { return tol == 0.0 ? -1.0 : tol * tol * (1.0 + 1e-12); }

/* A bound M on max(|x|, |y|) under which every bounds check of lz_gd_run passes: |x|, |y| <=
 * diverge_above, and since |sigma(y)| <= |y| for every activation, |r| <= M^2 + |mu| and so
 * f = r^2 / 2 <= diverge_above with room for the rounding; capped at 1e50 so that the gradient
 * and its square stay finite. One comparison then stands for five. A lane beyond M but still
 * in bounds only stops early; lz_gd_continue goes on exactly. */
static double safe_state_bound(double bound, double mu) {
  double r_max = sqrt(2.0 * bound / (1.0 + 1e-10));
  double m = r_max > fabs(mu) ? sqrt(r_max - fabs(mu)) * (1.0 - 1e-12) : 0.0;
  if (m > bound) m = bound;
  return m < 1e50 ? m : 1e50;
}

/* The checks and the step, written once for the three activations. ACT is a constant in each
 * copy, so the activation's branch disappears from the lane loop. Per lane:
 *   s = sigma(y), r = x s - mu, f = r^2 / 2, g = (r s, sigma'(y) r x), x' = x - h g. */
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
  const double r = x * s - mu;                                                           \
  const double f = 0.5 * r * r;                                                          \
  const double g0 = r * s, g1 = slope * r * x;                                           \
  const double gg = g0 * g0 + g1 * g1;                                                   \
  /* & rather than &&: no branch, so the lane loop vectorizes. */                        \
  const int passes = (fabs(x) <= safe) & (fabs(y) <= safe) & (gg > floor2);             \
  (void)f;

/* GROUP steps of every live lane, committed only if no live lane failed a check; returns
 * whether one did. The lanes are copied into local arrays first: nothing else can alias them
 * there, so the loop stays in vector registers. Every lane computes, live or not (a stopped
 * lane may run into inf or NaN harmlessly): only live lanes are written back, and the previous
 * iterate is needed only before the group's last step. */
#define DEFINE_GROUP(NAME, ACT)                                                          \
  static int NAME(const lz_scalar_mf *m, double safe, double floor2, lz_lanes *restrict b, \
                  const unsigned char *restrict live_in) {                              \
    double xs[LZ_LANES], ys[LZ_LANES], pxs[LZ_LANES], pys[LZ_LANES], hs[LZ_LANES];      \
    int64_t live[LZ_LANES];                                                              \
    const double mu = m->mu, alpha = m->alpha;                                           \
    for (int i = 0; i < LZ_LANES; ++i) {                                                 \
      xs[i] = b->x[i], ys[i] = b->y[i], hs[i] = b->h[i], live[i] = live_in[i];           \
    }                                                                                    \
    int64_t ok[LZ_LANES], failed = 0;                                                    \
    for (int i = 0; i < LZ_LANES; ++i) ok[i] = 1;                                        \
    for (int step = 0; step < GROUP; ++step) {                                           \
      if (step == GROUP - 1)                                                             \
        for (int i = 0; i < LZ_LANES; ++i) pxs[i] = xs[i], pys[i] = ys[i];               \
      _Pragma("omp simd")                                                                \
      for (int i = 0; i < LZ_LANES; ++i) {                                               \
        LANE_PREAMBLE(ACT, xs[i], ys[i])                                                 \
        ok[i] &= passes;                                                                 \
        xs[i] = x - hs[i] * g0;                                                          \
        ys[i] = y - hs[i] * g1;                                                          \
      }                                                                                  \
    }                                                                                    \
    for (int i = 0; i < LZ_LANES; ++i) failed |= live[i] & !ok[i];                       \
    if (failed) return 1; /* nothing is committed: the caller replays the group */        \
    for (int i = 0; i < LZ_LANES; ++i)                                                   \
      if (live[i])                                                                       \
        b->x[i] = xs[i], b->y[i] = ys[i], b->px[i] = pxs[i], b->py[i] = pys[i];          \
    return failed != 0;                                                                  \
  }

/* Row x_records of lane i's state trace: x, then y, as many as x_coords asks (as
 * lz_gd_run's observer copies min(x_coords, dim) coordinates). */
static void record_state(lz_lanes *b, int i, double x, double y) {
  double *row = b->x_trace[i] + b->x_records[i]++ * b->x_coords;
  row[0] = x;
  if (b->x_coords > 1) row[1] = y;
}

/* One step k, exactly: a lane that fails a check stops at k with its state untouched; the
 * others record the loss when k is a trace step, then step. */
#define DEFINE_EXACT_STEP(NAME, ACT)                                                     \
  static void NAME(const lz_scalar_mf *m, double safe, double floor2, int64_t k,         \
                   int record, lz_lanes *b, unsigned char *live) {                      \
    const double mu = m->mu, alpha = m->alpha;                                           \
    for (int i = 0; i < LZ_LANES; ++i) {                                                 \
      if (!live[i]) continue;                                                            \
      LANE_PREAMBLE(ACT, b->x[i], b->y[i])                                               \
      if (!passes) {                                                                     \
        live[i] = 0;                                                                     \
        b->step[i] = k;                                                                  \
        continue;                                                                        \
      }                                                                                  \
      if (record && b->trace[i]) b->trace[i][b->records[i]++] = f;                       \
      if (record && b->x_trace[i]) record_state(b, i, x, y);                             \
      b->px[i] = x;                                                                      \
      b->py[i] = y;                                                                      \
      b->x[i] = x - b->h[i] * g0;                                                        \
      b->y[i] = y - b->h[i] * g1;                                                        \
    }                                                                                    \
  }

DEFINE_GROUP(group_none, LZ_ACT_NONE)
DEFINE_GROUP(group_relu, LZ_ACT_RELU)
DEFINE_GROUP(group_leaky, LZ_ACT_LEAKY_RELU)
DEFINE_EXACT_STEP(exact_none, LZ_ACT_NONE)
DEFINE_EXACT_STEP(exact_relu, LZ_ACT_RELU)
DEFINE_EXACT_STEP(exact_leaky, LZ_ACT_LEAKY_RELU)

static int run_group(const lz_scalar_mf *m, double safe, double floor2, lz_lanes *b,
                     const unsigned char *live) {
  switch (m->act) {
    case LZ_ACT_RELU: return group_relu(m, safe, floor2, b, live);
    case LZ_ACT_LEAKY_RELU: return group_leaky(m, safe, floor2, b, live);
    default: return group_none(m, safe, floor2, b, live);
  }
}

static void run_exact_step(const lz_scalar_mf *m, double safe, double floor2, int64_t k,
                           int record, lz_lanes *b, unsigned char *live) {
  switch (m->act) {
    case LZ_ACT_RELU: exact_relu(m, safe, floor2, k, record, b, live); break;
    case LZ_ACT_LEAKY_RELU: exact_leaky(m, safe, floor2, k, record, b, live); break;
    default: exact_none(m, safe, floor2, k, record, b, live);
  }
}

static int any_live(const unsigned char *live) {
  int any = 0;
  for (int i = 0; i < LZ_LANES; ++i) any |= live[i];
  return any;
}

/* The first step >= k that records the loss (every step is a candidate when record_every
 * is 1). */
static int64_t next_record_step(int64_t k, int64_t every) {
  return (k + every - 1) / every * every;
}

int lz_gd_lanes_advance(const lz_scalar_mf *m, const lz_gd_params *gp, int64_t until,
                        lz_lanes *b) {
  const double safe = safe_state_bound(gp->diverge_above, m->mu);
  const double floor2 = squared_norm_floor(gp->tol_grad);
  const int64_t every = gp->record_every > 0 ? gp->record_every : INT64_MAX;
  unsigned char live[LZ_LANES];
  for (int i = 0; i < LZ_LANES; ++i) {
    live[i] = i < b->count;
    b->step[i] = 0;
    b->records[i] = 0;
    b->x_records[i] = 0;
    if (!live[i]) b->x[i] = b->y[i] = b->h[i] = 0.0;  /* defined values in unused lanes */
    b->px[i] = b->x[i];
    b->py[i] = b->y[i];
  }
  int64_t k = 0;
  while (k < until && any_live(live)) {
    if (gp->cancel && *gp->cancel) return LZ_ESTOPPED;
    int64_t record_at = next_record_step(k, every);
    if (record_at == k) {
      run_exact_step(m, safe, floor2, k, 1, b, live);
      ++k;
      continue;
    }
    /* Whole groups up to the next trace step, then single steps up to it. */
    int64_t end = record_at < until ? record_at : until;
    while (k + GROUP <= end && any_live(live)) {
      if (run_group(m, safe, floor2, b, live))
        for (int s = 0; s < GROUP; ++s) run_exact_step(m, safe, floor2, k + s, 0, b, live);
      k += GROUP;
      if (gp->cancel && k % LZ_GD_CANCEL_EVERY < GROUP && *gp->cancel) return LZ_ESTOPPED;
    }
    for (; k < end; ++k) run_exact_step(m, safe, floor2, k, 0, b, live);
  }
  for (int i = 0; i < b->count; ++i)
    if (live[i]) b->step[i] = k;
  return LZ_OK;
}
