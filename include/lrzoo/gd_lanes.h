/* Gradient descent on small problems for many runs at once: up to LZ_LANES runs held in arrays
 * and stepped together with SIMD, without a call per step. Basin maps and bifurcation diagrams
 * sweep millions of such runs. The problems: the scalar factorization f = (x sigma(y) - mu)^2 / 2,
 * and the toys of dimension 1 or 2, the quadratic and the multiscale objectives.
 *
 * The lanes engine only takes the steps every check of lz_gd_run would let pass. A lane stops
 * at the first step k where that is not certain (it may be out of bounds, or converged), or at
 * `until`, and lz_gd_continue takes the run over at step k: the run then ends bitwise as if
 * lz_gd_run had taken every step (same expressions, same order, the same fma and cos). */
#ifndef LRZOO_GD_LANES_H
#define LRZOO_GD_LANES_H

#include <signal.h>
#include <stdint.h>

#include "lrzoo/gd.h"
#include "lrzoo/job.h"

enum { LZ_LANES = 64 };

/* What the lanes engine steps. The state is (x, y) for the scalar factorization, x or (x, y)
 * for a toy. */
typedef enum { LZ_LANES_SCALAR_MF = 1, LZ_LANES_TOY = 2 } lz_lanes_kind;
typedef enum { LZ_SLOW_DIAGONAL, LZ_SLOW_DOUBLE_WELL, LZ_SLOW_MATYAS } lz_slow_kind;
typedef struct lz_lanes_problem {
  lz_lanes_kind kind;
  int dim;                  /* 1 or 2 */
  const lz_problem *p;      /* its exact steps evaluate p itself, as lz_gd_run does */
  /* the scalar factorization: target mu, activation on y (leaky slope alpha) */
  double mu, alpha;
  lz_activation act;
  /* a toy: the gradient of its slow part (diagonal: lambda_i x_i, which covers the quadratic
   * objective and the quadratic f0), plus, if has_fast, the multiscale f1's */
  lz_slow_kind slow;
  double lambda[2];
  int has_fast;
  lz_f1_kind f1;
  double eps, amplitude, ratio;
} lz_lanes_problem;

typedef struct lz_lanes {
  int count;                        /* lanes in use, 0..LZ_LANES */
  double h[LZ_LANES];               /* each run's step size */
  double x[LZ_LANES], y[LZ_LANES];  /* in: x_0; out: x_step */
  double px[LZ_LANES], py[LZ_LANES];  /* out: x_(step-1), when step > 0 */
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
} lz_lanes;

/* Whether the lanes engine can step p, and if so its description. */
int lz_gd_lanes_problem(const lz_problem *p, lz_lanes_problem *lp);

/* Whether the lanes engine can decide the checks of gp exactly (tol_grad and diverge_above in
 * the range where its conservative tests are exact; see gd_lanes.c). */
int lz_gd_lanes_apply(const lz_gd_params *gp);

/* Advances every lane from step 0 to at most `until` (gp->h is ignored: each lane has its own
 * h). Returns LZ_OK, or LZ_ESTOPPED if gp->cancel was set. */
int lz_gd_lanes_advance(const lz_lanes_problem *lp, const lz_gd_params *gp, int64_t until,
                        lz_lanes *b);

#endif
