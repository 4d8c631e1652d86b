/* Gradient descent on small problems for many runs at once: up to LZ_LANES runs held in arrays
 * and stepped together with SIMD, without a call per step. Basin maps and bifurcation diagrams
 * sweep millions of such runs. The problems: the scalar factorization f = (x sigma(y) - mu)^2 / 2
 * with any activation, the quadratic and the multiscale objectives up to dimension
 * LZ_LANES_MAX_DIM, and networks of up to LZ_LANES_MAX_WIDTH hidden units (3 W + 1 weights).
 *
 * The engine takes whole runs, analyses included: it records the loss, state and sharpness
 * traces, fills each run's orbit ring and carries its tangent vectors (the Lyapunov exponents)
 * itself, and integrates the modified equations next to GD (lz_gd_lanes_drift).
 *
 * Exactness. The engine only takes the steps every check of lz_gd_run would let pass. A lane
 * stops at the first step k where that is not certain (it may be out of bounds, or converged),
 * or at `until`, and lz_gd_continue takes the run over at step k with the observers as the
 * engine left them: the run then ends bitwise as if lz_gd_run had taken every step (same
 * expressions, same order, the same fma, cos, sin and tanh, the same rescalings of the tangent
 * vectors). */
#ifndef LRZOO_GD_LANES_H
#define LRZOO_GD_LANES_H

#include <signal.h>
#include <stdint.h>

#include "lrzoo/analysis.h"
#include "lrzoo/gd.h"
#include "lrzoo/job.h"

enum { LZ_LANES = 64, LZ_LANES_MAX_DIM = 16, LZ_LANES_MAX_WIDTH = 5 };

typedef enum {
  LZ_LANES_SCALAR_MF = 1,   /* state (x, y) */
  LZ_LANES_QUADRATIC = 2,
  LZ_LANES_MULTISCALE = 3,
  LZ_LANES_MLP = 4          /* state [W1 | b1 | w2 | b2], or [W1 | w2] without biases */
} lz_lanes_kind;

/* What the lanes engine steps: a problem instance and the constants of its objective. */
typedef struct lz_lanes_problem {
  lz_lanes_kind kind;
  int dim;
  const lz_problem *p;       /* the per-run engine's side of every handover */
  /* the scalar factorization: target mu, activation on y (leaky slope alpha) */
  double mu, alpha;
  lz_activation act;
  /* the quadratic */
  double lambda[LZ_LANES_MAX_DIM];
  /* the multiscale objective */
  lz_f0_kind f0;
  lz_f1_kind f1;
  double eps, amplitude, ratio;
  /* the network and its data */
  int width;
  size_t points;
  lz_mlp_activation mlp_act;
  int mlp_without_biases;
  double mlp_decay;                 /* weight decay mu */
  const double *data_x, *data_y;
  const double *data_q;             /* the points' weights; NULL: 1 / m each */
} lz_lanes_problem;

typedef double lz_lane_row[LZ_LANES];

typedef struct lz_lanes {
  int count;                        /* lanes in use, 0..LZ_LANES */
  double h[LZ_LANES];               /* each run's step size */
  lz_lane_row x[LZ_LANES_MAX_DIM];  /* in: x_0 (coordinate c of lane i in x[c][i]); out: x_step */
  lz_lane_row px[LZ_LANES_MAX_DIM]; /* out: x_(step-1), when step > 0 */
  int64_t step[LZ_LANES];           /* out: the step each lane stopped at */
  int64_t records[LZ_LANES];        /* out: loss trace entries written */
  double *trace[LZ_LANES];          /* loss trace rows (every gp->record_every steps), or NULL */
  /* The state trace (run.record_x): x_k's first x_coords coordinates at the same steps as the
   * loss, into rows of x_coords doubles, or NULL; x_records counts the rows written. */
  double *x_trace[LZ_LANES];
  int64_t x_coords;
  int64_t x_records[LZ_LANES];
  /* The sharpness trace (analyze.sharpness.every): lz_sharpness at x_k for k = 0, every,
   * 2 every, ... as lz_gd_run's observer records it, or NULL; sharpness_records counts the
   * entries written. The lanes share one Lanczos scratch. */
  double *sharpness[LZ_LANES];
  int64_t sharpness_records[LZ_LANES];
  int64_t sharpness_every;           /* 0: no sharpness trace */
  double *lanczos_work;              /* lz_sharpness_work_len(p) doubles */
  uint64_t seed;                     /* Lanczos start vectors, as lz_gd_observers.seed */
  /* Each run's own orbit ring (or NULL): the engine pushes x_k for ring_from <= k < step.
   * Slots past the ring's head may hold points of steps a failed group took back: a run that
   * ends before max_iter never reads them, one that reaches it overwrites them. */
  lz_orbit_ring *ring[LZ_LANES];
  int64_t ring_from;
  /* Each run's own tangents (tangents of them, 0..2; the same count for every lane): the
   * engine applies the tangent map of every step tangent_from <= k < step, and leaves each
   * lz_tangent as lz_gd_run's observer would have left it. */
  int tangents;
  lz_tangent *tangent[2][LZ_LANES];
  int64_t tangent_from;
} lz_lanes;

/* Whether the lanes engine can step p, and if so its description. */
int lz_gd_lanes_problem(const lz_problem *p, lz_lanes_problem *lp);

/* Advances every lane from step 0 to at most `until` (gp->h is ignored: each lane has its own
 * h). Any tol_grad, diverge_above and record_every. Returns LZ_OK, or LZ_ESTOPPED if gp->cancel
 * was set (the lanes' observers are then left where they got to). */
int lz_gd_lanes_advance(const lz_lanes_problem *lp, const lz_gd_params *gp, int64_t until,
                        lz_lanes *b);

/* lz_modeq_drift for b->count lanes at once, from the starts b->x with steps b->h: the same
 * arithmetic, so drift[k][i] is bitwise lz_modeq_drift's drift[k] of lane i. b->x is left as
 * it was. */
void lz_gd_lanes_drift(const lz_lanes_problem *lp, const lz_lanes *b, int64_t steps,
                       int64_t substeps, unsigned orders, double drift[3][LZ_LANES]);

#endif
