/* The gradient-descent engine: x_{k+1} = x_k - h grad f(x_k) with a constant step h. */
#ifndef LRZOO_GD_H
#define LRZOO_GD_H

#include <signal.h>
#include <stdint.h>

#include "lrzoo/analysis.h"
#include "lrzoo/problem.h"

typedef struct lz_gd_params {
  double h;
  int64_t max_iter;
  double tol_grad;       /* converged when ||grad f(x_k)|| < tol_grad */
  double diverge_above;  /* diverged when |x_k|_inf or f(x_k) exceeds this, or is not finite */
  int64_t record_every;  /* record f(x_k) for k = 0, record_every, 2 record_every, ... */
  /* If non-NULL and non-zero when checked (every LZ_GD_CANCEL_EVERY steps), the run stops at
   * once with LZ_ESTOPPED: how a second SIGTERM drops the work in flight. */
  const volatile sig_atomic_t *cancel;
} lz_gd_params;

#define LZ_GD_CANCEL_EVERY 256

typedef enum {
  LZ_GD_CONVERGED = 1,   /* gradient norm fell below tol_grad */
  LZ_GD_DIVERGED = 4,    /* state or loss left the bounded region */
  LZ_GD_MAX_ITER = 5     /* ran max_iter steps without either */
} lz_gd_end;

typedef struct lz_gd_outcome {
  lz_gd_end end;
  int64_t iterations;  /* steps taken; for DIVERGED the step k at which x_k was found out of bounds */
  double loss;         /* f and ||grad f|| at the final state (the last in-bounds iterate if diverged) */
  double grad_norm;
  int64_t records;     /* trace entries written */
} lz_gd_outcome;

/* What else watches the iterates. Any member may be NULL / 0. */
typedef struct lz_gd_observers {
  lz_orbit_ring *ring;           /* in-bounds iterates k >= ring_from are pushed */
  int64_t ring_from;
  lz_tangent *tangents[2];       /* tangent maps applied at every step k >= tangent_from */
  int64_t tangent_from;
  double *sharpness;             /* sharpness at x_k for k = 0, every, 2 every, ... */
  int64_t sharpness_every;
  int64_t sharpness_records;     /* out: entries written */
  double *lanczos_work;          /* lz_sharpness_work_len(p) doubles, for the sharpness trace */
  double *x_trace;               /* x_k's first x_coords coordinates at k = 0, x_every, ... */
  int64_t x_coords, x_every;     /* (coordinates past the dimension are left untouched) */
  int64_t x_records;             /* out: rows written */
  uint64_t seed;                 /* Lanczos start vectors */
} lz_gd_observers;

/* The GD step x <- x - h g, every coordinate rounded once (fma): the one definition that the
 * per-run engine, the lanes engines, the drift reference and the samplers share, so that their
 * iterates agree to the bit. */
void lz_gd_step(double *x, const double *g, double h, size_t dim);

/* Scratch doubles lz_gd_run needs (on top of the problem's own work). */
size_t lz_gd_work_len(const lz_problem *p);
size_t lz_gd_work_len_for(const lz_problem_sizes *s);

/* Runs GD from x (overwritten with the final in-bounds state). trace, if non-NULL, receives up
 * to max_iter / record_every + 1 loss values; entries past out->records are left untouched.
 * obs may be NULL. Never returns a NaN in out or trace. Returns LZ_OK, or LZ_ESTOPPED when
 * cancelled. */
int lz_gd_run(const lz_problem *p, const lz_gd_params *gp, double *x, double *trace,
              lz_gd_outcome *out, double *work, lz_gd_observers *obs);

/* Where another engine left a run that lz_gd_continue takes over: x (the argument) is x_step,
 * x_prev is x_(step-1) (unused when step is 0), and the first `records` trace entries are
 * written. Every check of steps before `step` must have passed exactly as lz_gd_run makes
 * them. */
typedef struct lz_gd_resume {
  int64_t step;
  const double *x_prev;
  int64_t records;
} lz_gd_resume;

/* lz_gd_run from step from->step on: the same checks, observers and outcome, so a run handed
 * over at any step ends bitwise as if lz_gd_run had done every step. */
int lz_gd_continue(const lz_problem *p, const lz_gd_params *gp, const lz_gd_resume *from,
                   double *x, double *trace, lz_gd_outcome *out, double *work,
                   lz_gd_observers *obs);

/* Many runs of one problem at once, for objectives with batched gradients (dense mf): each
 * step evaluates every live run in one lz_problem_value_grad_batch, and runs that end drop
 * out of the batch. Each run walks through exactly the checks, records and observers of
 * lz_gd_run with its own h, so it ends bitwise as lz_gd_run would end it alone. */
typedef struct lz_gd_batch_run {
  double h;
  double *x;              /* in: x_0; out: the final state, as lz_gd_run leaves it */
  double *work;           /* 2 dim doubles of the run's own (its gradient and previous state) */
  double *trace;          /* as lz_gd_run's; may be NULL */
  lz_gd_observers *obs;   /* may be NULL */
  lz_gd_outcome out;
} lz_gd_batch_run;

/* Called after every step of a batch (may be NULL): a batch lasts as long as its longest run,
 * and the master rank must keep serving workers meanwhile. */
typedef struct lz_gd_poll {
  void (*call)(void *ctx);
  void *ctx;
} lz_gd_poll;

/* Scratch doubles lz_gd_batch shares among `runs` runs (at most lz_problem_batch_max), with
 * or without their tangents (the batched Hessian-vector products of the Lyapunov window). */
size_t lz_gd_batch_work_len(const lz_problem *p, size_t runs, int tangents);

/* gp->h is ignored (each run has its own). Scratch shared by the runs' observers (their
 * lanczos_work) is used by one run at a time. The runs' tangent maps take their products
 * together, through lz_problem_hvp_batch (work must then be lz_gd_batch_work_len with
 * tangents). Returns LZ_OK, LZ_ESTOPPED when cancelled (the runs' outcomes are then incomplete), or
 * LZ_ENOMEM. */
int lz_gd_batch(const lz_problem *p, const lz_gd_params *gp, size_t count,
                lz_gd_batch_run *runs, double *work, const lz_gd_poll *poll);

#endif
