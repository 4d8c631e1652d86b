#include "lrzoo/gd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lrzoo/error.h"
#include "lrzoo/lanczos.h"
#include "lrzoo/linalg.h"

size_t lz_gd_work_len_for(const lz_problem_sizes *s) { return 2 * s->dim + s->work_len; }

size_t lz_gd_work_len(const lz_problem *p) {
  lz_problem_sizes s;
  lz_problem_sizes_of(p, &s);
  return lz_gd_work_len_for(&s);
}

void lz_gd_step(double *x, const double *g, double h, size_t dim) {
  for (size_t i = 0; i < dim; ++i) x[i] = fma(-h, g[i], x[i]);
}

static int state_is_in_bounds(const double *x, size_t dim, double bound) {
  return lz_norm_inf(x, dim) <= bound;  /* false for NaN and inf too */
}

static int loss_is_in_bounds(double f, double gnorm, double bound) {
  return isfinite(f) && f <= bound && isfinite(gnorm);
}

/* The final state's loss from the accurate formula. Only a start that is itself out of bounds
 * can give a value that is not finite; it is reported as NaN, the file's "no value"
 * (docs/output-format.md), never as inf or as the NaN of an overflowed iterate. */
static void report_final_state(const lz_problem *p, const double *x, double grad_norm,
                               lz_gd_outcome *out, double *pwork) {
  double f = lz_problem_value(p, x, pwork);
  out->loss = isfinite(f) ? f : NAN;
  out->grad_norm = isfinite(grad_norm) ? grad_norm : NAN;
}

/* The observers that look at the iterate x_k itself (it is in bounds). */
static void observe_iterate(lz_gd_observers *obs, const lz_problem *p, const double *x,
                            size_t dim, int64_t k) {
  if (obs->ring && k >= obs->ring_from) lz_orbit_ring_push(obs->ring, x);
  if (obs->sharpness && k % obs->sharpness_every == 0) {
    lz_lanczos_result res;
    int rc = lz_sharpness(p, x, obs->seed, &res, obs->lanczos_work);
    /* A Hessian that is not finite at an in-bounds point is left unrecorded (NaN fill). */
    obs->sharpness[obs->sharpness_records++] = rc == LZ_OK ? res.lambda : NAN;
  }
  if (obs->x_trace && k % obs->x_every == 0) {
    size_t n = (size_t)obs->x_coords < dim ? (size_t)obs->x_coords : dim;
    memcpy(obs->x_trace + obs->x_records++ * obs->x_coords, x, n * sizeof *x);
  }
}

/* The observers that follow the step x_k -> x_(k+1): the tangent maps I - h H(x_k). */
static void observe_step(lz_gd_observers *obs, const lz_problem *p, const double *x, double h,
                         int64_t k, double *pwork) {
  if (k < obs->tangent_from) return;
  for (int i = 0; i < 2; ++i)
    if (obs->tangents[i]) lz_tangent_step(obs->tangents[i], p, x, h, pwork);
}

/* One run's descent, step by step: what lz_gd_continue's loop holds, so that the batched
 * engine walks each of its runs through exactly the same checks and records. */
typedef struct gd_walk {
  const lz_problem *p;
  const lz_gd_params *gp;
  double h;
  double *x, *g, *x_prev, *trace;
  lz_gd_outcome *out;
  lz_gd_observers *obs;
  int64_t k;
  double gnorm_prev, gnorm_now;
} gd_walk;

typedef enum { WALK_ON, WALK_ENDED, WALK_STOPPED } walk_state;

/* g and x_prev: 2 dim doubles of work. */
static void walk_from(gd_walk *w, const lz_problem *p, const lz_gd_params *gp, double h,
                      const lz_gd_resume *from, double *x, double *trace, lz_gd_outcome *out,
                      double *work, lz_gd_observers *obs, double *pwork) {
  const size_t dim = lz_problem_dim(p);
  w->p = p;
  w->gp = gp;
  w->h = h;
  w->x = x;
  w->g = work;
  w->x_prev = work + dim;
  w->trace = trace;
  w->out = out;
  w->obs = obs;
  w->k = from->step;
  w->gnorm_prev = HUGE_VAL;
  memset(out, 0, sizeof *out);
  out->records = from->records;
  if (from->step > 0) {
    /* Exactly what the loop held after step from->step - 1: the previous iterate and the
     * norm of its gradient (it was in bounds, or the loop would have ended there). */
    memcpy(w->x_prev, from->x_prev, dim * sizeof *w->x_prev);
    lz_problem_value_grad(p, w->x_prev, w->g, pwork);
    w->gnorm_prev = lz_norm2(w->g, dim);
  }
}

/* x_k has left the bounded region, or its loss or gradient has. Report the last iterate that
 * was still inside. At k = 0 there is none: x0 itself is reported (no value where it is not
 * finite). */
static walk_state walk_ends_diverged(gd_walk *w, double gnorm, double *pwork) {
  const size_t dim = lz_problem_dim(w->p);
  w->out->end = LZ_GD_DIVERGED;
  w->out->iterations = w->k;
  if (w->k > 0) memcpy(w->x, w->x_prev, dim * sizeof *w->x);
  report_final_state(w->p, w->x, w->k > 0 ? w->gnorm_prev : gnorm, w->out, pwork);
  return WALK_ENDED;
}

/* The first check of step k, before any gradient: is x_k in bounds? */
static walk_state walk_checks_the_state(gd_walk *w, double *pwork) {
  if (state_is_in_bounds(w->x, lz_problem_dim(w->p), w->gp->diverge_above)) return WALK_ON;
  return walk_ends_diverged(w, HUGE_VAL, pwork);
}

/* Step k, given f and g at x_k, up to the step itself: the loss checks, records and the
 * observers of x_k, and the end tests. WALK_ON: the run goes on, with its tangent maps (the
 * caller's) and then walk_moves_on. */
static walk_state walk_checks_the_step(gd_walk *w, double f, int exact, double *pwork) {
  const lz_problem *p = w->p;
  const lz_gd_params *gp = w->gp;
  const size_t dim = lz_problem_dim(p);
  const int64_t k = w->k;
  double gnorm = lz_norm2(w->g, dim);
  /* f may be a bound above the loss: where it does not decide, the loss itself does */
  if (!exact && !loss_is_in_bounds(f, gnorm, gp->diverge_above)) f = lz_problem_value(p, w->x, pwork);
  if (!loss_is_in_bounds(f, gnorm, gp->diverge_above)) return walk_ends_diverged(w, gnorm, pwork);
  if (w->trace && k % gp->record_every == 0)
    w->trace[w->out->records++] = lz_problem_value(p, w->x, pwork);
  if (w->obs) observe_iterate(w->obs, p, w->x, dim, k);
  if (gnorm < gp->tol_grad || k == gp->max_iter) {
    w->out->end = gnorm < gp->tol_grad ? LZ_GD_CONVERGED : LZ_GD_MAX_ITER;
    w->out->iterations = k;
    report_final_state(p, w->x, gnorm, w->out, pwork);
    return WALK_ENDED;
  }
  if (gp->cancel && k % LZ_GD_CANCEL_EVERY == 0 && *gp->cancel) return WALK_STOPPED;
  w->gnorm_now = gnorm;
  return WALK_ON;
}

/* The step to x_(k+1). */
static void walk_moves_on(gd_walk *w) {
  const size_t dim = lz_problem_dim(w->p);
  memcpy(w->x_prev, w->x, dim * sizeof *w->x);
  w->gnorm_prev = w->gnorm_now;
  lz_gd_step(w->x, w->g, w->h, dim);
  w->k++;
}

/* ---- coasting: the plain steps of a small problem ----------------------------------------
 * Between the steps where something is recorded or observed, a step of a problem of dimension
 * at most COAST_MAX_DIM takes the same gradient and the same fma as above, but checks it more
 * cheaply: |x_i| <= bound and f <= bound exactly as walk_checks_*, and |g|^2 > tol^2 (1 +
 * 1e-12), which implies |g| >= tol whatever the rounding of lz_norm2 (16 squares round to
 * within 2e-15), and is finite only where |g| is. A step where any of them fails is left to
 * the exact path, which decides it exactly; so a run ends bitwise as it would without
 * coasting. */
enum { COAST_MAX_DIM = 16 };

static double coasting_norm_floor(double tol) {
  if (tol == 0.0) return -1.0;
  double t2 = tol * tol;  /* below DBL_MIN the square loses precision: test against that */
  return (t2 > 0x1p-1022 ? t2 : 0x1p-1022) * (1.0 + 1e-12);
}

static int64_t earliest_of(int64_t a, int64_t b) { return a < b ? a : b; }

static int64_t next_multiple_of(int64_t k, int64_t every) {
  if (every <= 0) return INT64_MAX;
  int64_t r = k % every;
  return r == 0 ? k : (k - r > INT64_MAX - every ? INT64_MAX : k - r + every);
}

/* The first step from k on where the exact path must take over: a record, an observer's step,
 * max_iter. */
static int64_t coasting_ends(const gd_walk *w) {
  const int64_t k = w->k;
  const lz_gd_observers *obs = w->obs;
  int64_t end = w->gp->max_iter;
  if (w->trace || (obs && obs->x_trace)) end = earliest_of(end, next_multiple_of(k, w->gp->record_every));
  if (!obs) return end;
  if (obs->sharpness) end = earliest_of(end, next_multiple_of(k, obs->sharpness_every));
  if (obs->ring) end = earliest_of(end, k < obs->ring_from ? obs->ring_from : k);
  for (int i = 0; i < 2; ++i)
    if (obs->tangents[i] && lz_tangent_wants_step(obs->tangents[i]))
      end = earliest_of(end, k < obs->tangent_from ? obs->tangent_from : k);
  return end;
}

/* The plain steps from w->k up to `end` (or the first that fails a cheap check), for a
 * dimension DIM known to the compiler in the copies below (0: any, up to COAST_MAX_DIM). The
 * previous iterate and gradient stay in locals until the loop ends. */
static inline __attribute__((always_inline)) void coast_dim(gd_walk *w, int64_t end,
                                                            double *pwork, const size_t DIM) {
  const lz_problem *p = w->p;
  const size_t dim = DIM ? DIM : lz_problem_dim(p);
  const double bound = w->gp->diverge_above, floor2 = coasting_norm_floor(w->gp->tol_grad);
  const double h = w->h;
  const volatile sig_atomic_t *cancel = w->gp->cancel;
  lz_grad_loss_fn *grad_loss;
  const void *state = lz_problem_grad_loss_of(p, &grad_loss);
  double *x = w->x, *g = w->g, x_prev[COAST_MAX_DIM] = {0}, g_prev[COAST_MAX_DIM] = {0};
  int64_t k = w->k;
  const int64_t k0 = k;
  while (k < end) {
    if (cancel && k % LZ_GD_CANCEL_EVERY == 0 && *cancel) break;
    int inside = 1;
    for (size_t i = 0; i < dim; ++i) inside &= fabs(x[i]) <= bound;
    if (!inside) break;
    const double f = grad_loss(state, x, g, pwork);
    double gg = 0.0;
    for (size_t i = 0; i < dim; ++i) gg = fma(g[i], g[i], gg);
    if (!(f <= bound && isfinite(f) && gg > floor2 && gg < HUGE_VAL)) break;
    for (size_t i = 0; i < dim; ++i) {
      x_prev[i] = x[i], g_prev[i] = g[i];
      x[i] = fma(-h, g[i], x[i]);  /* lz_gd_step */
    }
    ++k;
  }
  if (k == k0) return;
  /* what the exact path holds after a step: the previous iterate, its gradient's norm */
  w->k = k;
  memcpy(w->x_prev, x_prev, dim * sizeof *x_prev);
  w->gnorm_prev = lz_norm2(g_prev, dim);
}

static void coast(gd_walk *w, int64_t end, double *pwork) {
  switch (lz_problem_dim(w->p)) {
    case 1: coast_dim(w, end, pwork, 1); return;
    case 2: coast_dim(w, end, pwork, 2); return;
    default: coast_dim(w, end, pwork, 0); return;
  }
}

int lz_gd_run(const lz_problem *p, const lz_gd_params *gp, double *x, double *trace,
              lz_gd_outcome *out, double *work, lz_gd_observers *obs) {
  lz_gd_resume from = {0, NULL, 0};
  return lz_gd_continue(p, gp, &from, x, trace, out, work, obs);
}

int lz_gd_continue(const lz_problem *p, const lz_gd_params *gp, const lz_gd_resume *from,
                   double *x, double *trace, lz_gd_outcome *out, double *work,
                   lz_gd_observers *obs) {
  double *pwork = work + 2 * lz_problem_dim(p);
  gd_walk w;
  walk_from(&w, p, gp, gp->h, from, x, trace, out, work, obs, pwork);
  const int coasts = lz_problem_dim(p) <= COAST_MAX_DIM;
  for (;;) {
    if (coasts) {
      int64_t end = coasting_ends(&w);
      if (end > w.k) coast(&w, end, pwork);
    }
    walk_state st = walk_checks_the_state(&w, pwork);
    if (st == WALK_ON) {
      int exact = 1;
      double f = lz_problem_grad_loss(p, x, w.g, pwork, &exact);
      st = walk_checks_the_step(&w, f, exact, pwork);
    }
    if (st == WALK_ENDED) return LZ_OK;
    if (st == WALK_STOPPED) return LZ_ESTOPPED;
    if (obs) observe_step(obs, p, x, w.h, w.k, pwork);
    walk_moves_on(&w);
  }
}

size_t lz_gd_batch_work_len(const lz_problem *p, size_t runs, int tangents) {
  size_t bw = lz_problem_batch_work_len(p, runs), pw = lz_problem_work_len(p);
  size_t hw = tangents ? lz_problem_hvp_batch_work_len(p, 2 * runs) : 0;
  size_t most = bw > pw ? bw : pw;
  return hw > most ? hw : most;
}

/* The tangent maps of every run that goes on from step k, their products in one batch. */
typedef struct batch_tangents {
  lz_tangent **t;
  const double **x, **v;
  double **hv, *h;
} batch_tangents;

static size_t gather_tangents(gd_walk *walk, const size_t *moving, size_t m,
                              const lz_problem *p, batch_tangents *bt) {
  size_t count = 0;
  for (size_t j = 0; j < m; ++j) {
    gd_walk *w = &walk[moving[j]];
    if (!w->obs || w->k < w->obs->tangent_from) continue;
    for (int i = 0; i < 2; ++i) {
      lz_tangent *t = w->obs->tangents[i];
      if (!t || !lz_tangent_wants_step(t)) continue;
      lz_tangent_prepare(t, p, w->x);
      bt->t[count] = t, bt->x[count] = w->x, bt->v[count] = t->v, bt->hv[count] = t->w;
      bt->h[count++] = w->h;
    }
  }
  return count;
}

static void step_tangents_together(gd_walk *walk, const size_t *moving, size_t m,
                                   const lz_problem *p, batch_tangents *bt, double *work) {
  size_t count = gather_tangents(walk, moving, m, p, bt);
  if (count == 0) return;
  lz_problem_hvp_batch(p, count, bt->x, bt->v, bt->hv, work);
  for (size_t c = 0; c < count; ++c) lz_tangent_finish(bt->t[c], p, bt->x[c], bt->h[c]);
}

int lz_gd_batch(const lz_problem *p, const lz_gd_params *gp, size_t count, lz_gd_batch_run *runs,
                double *work, const lz_gd_poll *poll) {
  double *pwork = work;
  gd_walk *walks = malloc(count * sizeof *walks);
  size_t *active = malloc(count * sizeof *active);
  const double **xs = malloc(count * sizeof *xs);
  double **gs = malloc(count * sizeof *gs), *fs = malloc(count * sizeof *fs);
  batch_tangents bt = {malloc(2 * count * sizeof *bt.t), malloc(2 * count * sizeof *bt.x),
                       malloc(2 * count * sizeof *bt.v), malloc(2 * count * sizeof *bt.hv),
                       malloc(2 * count * sizeof *bt.h)};
  int rc = walks && active && xs && gs && fs && bt.t && bt.x && bt.v && bt.hv && bt.h
               ? LZ_OK : LZ_ENOMEM;
  const lz_gd_resume from_the_start = {0, NULL, 0};
  size_t live = 0;
  for (size_t r = 0; r < count && rc == LZ_OK; ++r) {
    walk_from(&walks[r], p, gp, runs[r].h, &from_the_start, runs[r].x, runs[r].trace,
              &runs[r].out, runs[r].work, runs[r].obs, pwork);
    active[live++] = r;
  }
  while (live > 0 && rc == LZ_OK) {
    /* Runs whose state left the bounds end here; the others take step k together. */
    size_t m = 0;
    for (size_t j = 0; j < live; ++j) {
      gd_walk *w = &walks[active[j]];
      if (walk_checks_the_state(w, pwork) != WALK_ON) continue;
      active[m] = active[j];
      xs[m] = w->x;
      gs[m] = w->g;
      ++m;
    }
    if (m > 0) lz_problem_value_grad_batch(p, m, xs, gs, fs, pwork);
    live = 0;
    for (size_t j = 0; j < m; ++j) {
      walk_state st = walk_checks_the_step(&walks[active[j]], fs[j], 1, pwork);
      if (st == WALK_STOPPED) rc = LZ_ESTOPPED;
      if (st == WALK_ON) active[live++] = active[j];
    }
    if (rc != LZ_OK) break;
    step_tangents_together(walks, active, live, p, &bt, pwork);
    for (size_t j = 0; j < live; ++j) walk_moves_on(&walks[active[j]]);
    if (poll && poll->call) poll->call(poll->ctx);
  }
  free(walks), free(active), free(xs), free(gs), free(fs);
  free(bt.t), free(bt.x), free(bt.v), free(bt.hv), free(bt.h);
  return rc;
}
