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
 * can give a value that is not finite; it is reported as NaN, the file's "no value" (README,
 * Failure behaviour), never as inf or as the NaN of an overflowed iterate. */
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
static walk_state walk_checks_the_step(gd_walk *w, double f, double *pwork) {
  const lz_problem *p = w->p;
  const lz_gd_params *gp = w->gp;
  const size_t dim = lz_problem_dim(p);
  const int64_t k = w->k;
  double gnorm = lz_norm2(w->g, dim);
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
  for (;;) {
    walk_state st = walk_checks_the_state(&w, pwork);
    if (st == WALK_ON) st = walk_checks_the_step(&w, lz_problem_value_grad(p, x, w.g, pwork), pwork);
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
      walk_state st = walk_checks_the_step(&walks[active[j]], fs[j], pwork);
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
