/* Measurements of a GD run beyond its end state: orbit periods, Lyapunov exponents, and the
 * drift from gradient flow and the modified equations. Pure kernels, no allocation: callers
 * hand in storage of the sizes the *_len functions give. */
#ifndef LRZOO_ANALYSIS_H
#define LRZOO_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "lrzoo/problem.h"

/* ---- orbits ------------------------------------------------------------------------------ */

/* The last 2 max_period iterates of a run, enough to check a period p <= max_period over a
 * whole cycle. */
typedef struct lz_orbit_ring {
  size_t dim;
  int64_t cap, count, head;  /* head: where the next point goes */
  double *pts;               /* cap x dim */
} lz_orbit_ring;

size_t lz_orbit_ring_len(size_t dim, int64_t max_period);
void lz_orbit_ring_init(lz_orbit_ring *r, size_t dim, int64_t max_period, double *storage);
void lz_orbit_ring_push(lz_orbit_ring *r, const double *x);
/* x_(K-j), j = 0 the newest; j < count. */
const double *lz_orbit_ring_back(const lz_orbit_ring *r, int64_t j);

typedef struct lz_orbit_period {
  int64_t period;    /* smallest p with residual(p) <= tol, or 0 */
  double residual;   /* residual of that p, or the smallest over the p that could be checked */
  int64_t best_p;    /* the p the residual belongs to (0 if none could be checked) */
} lz_orbit_period;

/* residual(p) = max_(j < p) |x_(K-j) - x_(K-j-p)| / max(1, |x_K|): the orbit repeats over a
 * whole cycle. The smallest p that passes is the minimal period, never a multiple of it. */
lz_orbit_period lz_orbit_find_period(const lz_orbit_ring *r, int64_t max_period, double tol);

/* ---- Lyapunov exponents ------------------------------------------------------------------ */

/* A tangent vector carried by v <- (I - h H(x)) v. It is rescaled every step by a power of two
 * (exact, no rounding) and the exponents are summed, so the growth rate is computed without a
 * logarithm per step. The first `transient` steps only align v with the growing direction;
 * the next `iters` steps are averaged. */
typedef struct lz_tangent {
  size_t dim;
  double *v, *w;
  double *scratch;         /* the symmetry projection's work */
  int64_t transient, iters;
  int64_t done;            /* tangent steps taken */
  int64_t shift;           /* sum of binary exponents removed while averaging */
  double log_start;        /* ln |v| when averaging began */
  int project;             /* remove the problem's symmetry directions each step */
  int dead;                /* v became exactly 0: the exponent is -inf */
  int stopped;             /* the next vector would not have been finite: averaging ended */
  int settled;             /* the exponent came from lz_tangent_settle_at */
  double settled_rate;
  int64_t settle_steps;
} lz_tangent;

/* Doubles of storage one tangent needs (vectors and the projection's scratch). */
size_t lz_tangent_len(const lz_problem *p);
size_t lz_tangent_len_for(const lz_problem_sizes *s);
/* Starts from a unit random vector of the stream (seed, LZ_RNG_TANGENT, dim). */
void lz_tangent_init(lz_tangent *t, const lz_problem *p, uint64_t seed, int64_t transient,
                     int64_t iters, int project, double *storage);
/* 1 while the tangent still wants steps. */
int lz_tangent_wants_step(const lz_tangent *t);
/* One step at the point x. work: lz_problem_work_len(p) doubles. */
void lz_tangent_step(lz_tangent *t, const lz_problem *p, const double *x, double h, double *work);
/* lz_tangent_step in three parts, for an engine that computes the products of many tangents at
 * once: where the tangent wants the step, lz_tangent_prepare (what comes before the product),
 * then t->w = H(x) t->v by any means, then lz_tangent_finish (the rest of the step). */
void lz_tangent_prepare(lz_tangent *t, const lz_problem *p, const double *x);
void lz_tangent_finish(lz_tangent *t, const lz_problem *p, const double *x, double h);
/* At a fixed point x the tangent map is one constant symmetric matrix: iterates it (power
 * iteration) until the growth per step |J v| / |v| stops changing, at most for the steps the
 * window still has, and takes the log of that growth as the exponent: that of the
 * linearization at x. A run converging in 50 steps so costs tens of tangent steps, not the
 * whole window. */
void lz_tangent_settle_at(lz_tangent *t, const lz_problem *p, const double *x, double h,
                          double *work);

/* Steps averaged so far (or used to settle), and the exponent (per step): -inf when v died,
 * NaN when none were averaged. */
int64_t lz_tangent_averaged(const lz_tangent *t);
double lz_tangent_exponent(const lz_tangent *t);

/* ---- modified equations ------------------------------------------------------------------ */

/* Scratch doubles lz_modeq_drift needs. */
size_t lz_modeq_work_len(const lz_problem *p);
size_t lz_modeq_work_len_for(const lz_problem_sizes *s);

/* For each order k in `orders` (bit k, k <= 2), integrates the modified flow of order k from
 * x0 with RK4 (substeps per GD step) alongside GD with step h, and stores in drift[k] the
 * largest |x(jh) - x_j| over j = 1..steps. If GD leaves the finite numbers first, the maximum
 * is over the steps before; a flow that blows up gives +inf. Order 0 is gradient flow, order 1
 * x' = -g - (h/2) H g, order 2 adds -(h^2/3) H^2 g - (h^2/12) D3f[g, g] (docs/design.md; the third
 * derivative by central differences of Hessian-vector products). */
void lz_modeq_drift(const lz_problem *p, const double *x0, double h, int64_t steps,
                    int64_t substeps, unsigned orders, double drift[3], double *work);

/* One vector field of the family above at x: out = F_k(x). work: lz_modeq_work_len(p). */
void lz_modeq_field(const lz_problem *p, int order, double h, const double *x, double *out,
                    double *work);

#endif
