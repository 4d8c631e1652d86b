#include "lrzoo/gd.h"

#include <math.h>
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

int lz_gd_run(const lz_problem *p, const lz_gd_params *gp, double *x, double *trace,
              lz_gd_outcome *out, double *work, lz_gd_observers *obs) {
  lz_gd_resume from = {0, NULL, 0};
  return lz_gd_continue(p, gp, &from, x, trace, out, work, obs);
}

int lz_gd_continue(const lz_problem *p, const lz_gd_params *gp, const lz_gd_resume *from,
                   double *x, double *trace, lz_gd_outcome *out, double *work,
                   lz_gd_observers *obs) {
  const size_t dim = lz_problem_dim(p);
  double *g = work, *x_prev = work + dim, *pwork = work + 2 * dim;
  const double h = gp->h, bound = gp->diverge_above;
  double gnorm_prev = HUGE_VAL;

  memset(out, 0, sizeof *out);
  out->records = from->records;
  if (from->step > 0) {
    /* Exactly what the loop held after step from->step - 1: the previous iterate and the
     * norm of its gradient (it was in bounds, or the loop would have ended there). */
    memcpy(x_prev, from->x_prev, dim * sizeof *x_prev);
    lz_problem_value_grad(p, x_prev, g, pwork);
    gnorm_prev = lz_norm2(g, dim);
  }
  for (int64_t k = from->step;; ++k) {
    int in_bounds = state_is_in_bounds(x, dim, bound);
    double f = 0.0, gnorm = HUGE_VAL;
    if (in_bounds) {
      f = lz_problem_value_grad(p, x, g, pwork);
      gnorm = lz_norm2(g, dim);
      in_bounds = loss_is_in_bounds(f, gnorm, bound);
    }
    if (!in_bounds) {
      out->end = LZ_GD_DIVERGED;
      out->iterations = k;
      /* Report the last iterate that was still inside the bounded region. At k = 0 there is
       * none: x0 itself is reported (no value where it is not finite). */
      if (k > 0) memcpy(x, x_prev, dim * sizeof *x);
      report_final_state(p, x, k > 0 ? gnorm_prev : gnorm, out, pwork);
      return LZ_OK;
    }
    if (trace && k % gp->record_every == 0) trace[out->records++] = lz_problem_value(p, x, pwork);
    if (obs) observe_iterate(obs, p, x, dim, k);
    if (gnorm < gp->tol_grad || k == gp->max_iter) {
      out->end = gnorm < gp->tol_grad ? LZ_GD_CONVERGED : LZ_GD_MAX_ITER;
      out->iterations = k;
      report_final_state(p, x, gnorm, out, pwork);
      return LZ_OK;
    }
    if (gp->cancel && k % LZ_GD_CANCEL_EVERY == 0 && *gp->cancel) return LZ_ESTOPPED;
    if (obs) observe_step(obs, p, x, h, k, pwork);
    memcpy(x_prev, x, dim * sizeof *x);
    gnorm_prev = gnorm;
    for (size_t i = 0; i < dim; ++i) x[i] -= h * g[i];
  }
}
