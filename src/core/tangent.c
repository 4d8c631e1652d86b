#include <math.h>
#include <string.h>

#include "lrzoo/analysis.h"
#include "lrzoo/linalg.h"
#include "lrzoo/rng.h"

size_t lz_tangent_len_for(const lz_problem_sizes *s) {
  return 2 * s->dim + s->symmetry_work_len;
}

size_t lz_tangent_len(const lz_problem *p) {
  lz_problem_sizes s;
  lz_problem_sizes_of(p, &s);
  return lz_tangent_len_for(&s);
}

static double max_abs(const double *v, size_t n) {
  double m = 0.0;
  /* fmax(m, |v_i|) without the call: a NaN entry loses the comparison, as fmax ignores it */
  for (size_t i = 0; i < n; ++i) {
    const double a = fabs(v[i]);
    m = a > m ? a : m;
  }
  return m;
}

/* Divides v by the power of two nearest its largest entry: exact, so the growth is recorded in
 * the returned exponent without rounding. */
static int rescale_by_power_of_two(double *v, size_t n) {
  int e = 0;
  frexp(max_abs(v, n), &e);
  for (size_t i = 0; i < n; ++i) v[i] = ldexp(v[i], -e);
  return e;
}

/* v may grow or shrink freely between rescalings as long as it stays far from overflow and
 * from subnormals: rescaling every step would cost more than the step itself on small
 * problems, and the result is the same (each rescaling is exact). */
#define RESCALE_ABOVE 0x1p200
#define RESCALE_BELOW 0x1p-200

void lz_tangent_init(lz_tangent *t, const lz_problem *p, uint64_t seed, int64_t transient,
                     int64_t iters, int project, double *storage) {
  memset(t, 0, sizeof *t);
  t->dim = lz_problem_dim(p);
  t->v = storage;
  t->w = storage + t->dim;
  t->scratch = storage + 2 * t->dim;  /* fixed: v and w trade places every step */
  t->transient = transient;
  t->iters = iters;
  t->project = project && lz_problem_has_symmetries(p);
  lz_rng rng;
  lz_rng_init(&rng, seed, LZ_RNG_TANGENT, t->dim, 0);
  for (size_t i = 0; i < t->dim; ++i) t->v[i] = lz_rng_normal(&rng);
  rescale_by_power_of_two(t->v, t->dim);
}

int lz_tangent_wants_step(const lz_tangent *t) {
  return !t->dead && !t->stopped && t->done < t->transient + t->iters;
}

void lz_tangent_prepare(lz_tangent *t, const lz_problem *p, const double *x) {
  if (t->project && t->done == 0) lz_problem_project_symmetries(p, x, t->v, t->scratch);
  if (t->done == t->transient) t->log_start = log(lz_norm2(t->v, t->dim));
}

void lz_tangent_step(lz_tangent *t, const lz_problem *p, const double *x, double h, double *work) {
  if (!lz_tangent_wants_step(t)) return;
  lz_tangent_prepare(t, p, x);
  lz_problem_hvp(p, x, t->v, t->w, work);
  lz_tangent_finish(t, p, x, h);
}

void lz_tangent_finish(lz_tangent *t, const lz_problem *p, const double *x, double h) {
  const size_t n = t->dim;
  for (size_t i = 0; i < n; ++i) t->w[i] = t->v[i] - h * t->w[i];
  if (t->project) lz_problem_project_symmetries(p, x, t->w, t->scratch);
  double m = max_abs(t->w, n);
  if (!(m < HUGE_VAL)) {
    /* Only a run on its way out of the finite numbers gets here: keep what was averaged. */
    t->stopped = 1;
    return;
  }
  t->done++;
  if (m == 0.0) {
    t->dead = 1;  /* (I - hH) v = 0 exactly: a superstable direction, exponent -inf */
    return;
  }
  double *tmp = t->v;
  t->v = t->w;
  t->w = tmp;
  /* Averaging starts with v as it is then: before it, rescale freely (the shift is not kept). */
  if (m > RESCALE_ABOVE || m < RESCALE_BELOW || t->done == t->transient) {
    int e = rescale_by_power_of_two(t->v, n);
    if (t->done > t->transient) t->shift += e;
  }
}

/* Growth per step settles to rounding once v lies in the top eigenspace of J; a few steps in a
 * row below this relative change are taken as settled. */
#define SETTLE_TOL 1e-14
#define SETTLE_RUN 5

void lz_tangent_settle_at(lz_tangent *t, const lz_problem *p, const double *x, double h,
                          double *work) {
  const size_t n = t->dim;
  const int64_t budget = t->transient + t->iters - t->done;
  double prev = NAN;
  int calm = 0;
  for (int64_t k = 0; k < (budget > 0 ? budget : 0) && !t->dead && !t->stopped; ++k) {
    if (t->project) lz_problem_project_symmetries(p, x, t->v, t->scratch);
    double nv = lz_norm2(t->v, n);
    lz_problem_hvp(p, x, t->v, t->w, work);
    for (size_t i = 0; i < n; ++i) t->w[i] = t->v[i] - h * t->w[i];
    if (t->project) lz_problem_project_symmetries(p, x, t->w, t->scratch);
    double nw = lz_norm2(t->w, n);
    t->settle_steps = k + 1;
    if (nw == 0.0) {
      t->dead = 1;
      break;
    }
    if (!(nw < HUGE_VAL)) {
      t->stopped = 1;
      break;
    }
    double growth = nw / nv;
    calm = fabs(growth - prev) <= SETTLE_TOL * growth ? calm + 1 : 0;
    prev = growth;
    double *tmp = t->v;
    t->v = t->w;
    t->w = tmp;
    rescale_by_power_of_two(t->v, n);
    if (calm >= SETTLE_RUN) break;
  }
  if (isfinite(prev)) {
    t->settled = 1;
    t->settled_rate = log(prev);
  }
  t->done = t->transient + t->iters;  /* the window is used up either way */
}

int64_t lz_tangent_averaged(const lz_tangent *t) {
  if (t->settled) return t->settle_steps;
  int64_t a = t->done - t->transient;
  return a > 0 ? a : 0;
}

double lz_tangent_exponent(const lz_tangent *t) {
  int64_t n = lz_tangent_averaged(t);
  if (t->dead) return -HUGE_VAL;
  if (t->settled) return t->settled_rate;
  if (n == 0) return NAN;
  const double ln2 = 0.69314718055994530942;
  double log_end = log(lz_norm2(t->v, t->dim)) + (double)t->shift * ln2;
  return (log_end - t->log_start) / (double)n;
}
