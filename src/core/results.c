#include "lrzoo/results.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const char *const lz_status_names[LZ_STATUS_COUNT + 1] = {
    "not_run", "converged", "periodic", "chaotic", "diverged", "undetermined", NULL};
const char *const lz_reason_names[LZ_REASON_COUNT + 1] = {
    "none", "not_analyzed", "stalled", "neither_periodic_nor_chaotic", "no_step_size",
    "no_exponent", NULL};

/* Orbit points are stored for problems of at most this dimension (issue: dimension <= 16). */
#define LZ_ORBIT_MAX_DIM 16

#define ALL_KINDS (LZ_KIND_BIT(LZ_PROBLEM_QUADRATIC) | LZ_KIND_BIT(LZ_PROBLEM_MF) | \
                   LZ_KIND_BIT(LZ_PROBLEM_MULTISCALE))
#define MF_ONLY LZ_KIND_BIT(LZ_PROBLEM_MF)
#define MULTISCALE_ONLY LZ_KIND_BIT(LZ_PROBLEM_MULTISCALE)
#define F(member) offsetof(lz_run_result, member)

static const lz_field fields[] = {
    {"status", LZ_DT_INT8, F(status), "",
     "0 not run, 1 converged, 2 periodic, 3 chaotic, 4 diverged, 5 undetermined", ALL_KINDS,
     LZ_NEEDS_NOTHING, lz_status_names},
    {"reason", LZ_DT_INT8, F(reason), "",
     "why a run is undetermined: 1 max_iter without analysis, 2 stalled (period 1 with "
     "grad >= tol_grad), 3 neither periodic nor chaotic (quasi-periodic or slow), 4 no step "
     "size (L <= 0 with relative lr), 5 not periodic and no Lyapunov exponent; 0 otherwise",
     ALL_KINDS, LZ_NEEDS_NOTHING, lz_reason_names},
    {"iterations", LZ_DT_INT64, F(iterations), "steps",
     "GD steps taken; for diverged runs, the step k at which x_k left the bounded region",
     ALL_KINDS, LZ_NEEDS_NOTHING, NULL},
    {"period", LZ_DT_INT64, F(period), "steps",
     "minimal period p of a periodic run (status 2), else 0", ALL_KINDS, LZ_NEEDS_ORBIT, NULL},
    {"recurrence", LZ_DT_DOUBLE, F(recurrence), "",
     "max over one period of |x_(K-j) - x_(K-j-p)| / max(1, |x_K|) at the end of the run, for "
     "the period found, or for the best p <= max_period when none was found; 0 for runs that "
     "converged or diverged", ALL_KINDS, LZ_NEEDS_ORBIT, NULL},
    {"h", LZ_DT_DOUBLE, F(h), "",
     "step size used (the lr coordinate times 2/sharpness_init when lr is relative)", ALL_KINDS,
     LZ_NEEDS_NOTHING, NULL},
    {"loss", LZ_DT_DOUBLE, F(loss), "",
     "f at the final state; for diverged runs, at the last iterate inside the bounded region",
     ALL_KINDS, LZ_NEEDS_NOTHING, NULL},
    {"grad_norm", LZ_DT_DOUBLE, F(grad_norm), "", "||grad f|| at the final state", ALL_KINDS,
     LZ_NEEDS_NOTHING, NULL},
    {"f0_loss", LZ_DT_DOUBLE, F(f0), "", "slow part f0 of the objective at the final state",
     MULTISCALE_ONLY, LZ_NEEDS_NOTHING, NULL},
    {"sharpness_init", LZ_DT_DOUBLE, F(sharpness_init), "",
     "L: largest Hessian eigenvalue at the initial point (Lanczos)", ALL_KINDS,
     LZ_NEEDS_NOTHING, NULL},
    {"sharpness_final", LZ_DT_DOUBLE, F(sharpness_final), "",
     "largest Hessian eigenvalue at the final state (Lanczos)", ALL_KINDS, LZ_NEEDS_NOTHING,
     NULL},
    {"sharpness_h", LZ_DT_DOUBLE, F(sharpness_h), "",
     "sharpness_final * h: at most 2 at a linearly stable minimizer of a converged run",
     ALL_KINDS, LZ_NEEDS_NOTHING, NULL},
    {"lyapunov", LZ_DT_DOUBLE, F(lyapunov), "1/step",
     "largest Lyapunov exponent of the tangent map v <- (I - h H(x_k)) v, averaged over "
     "lyapunov_steps steps at the end of the run (at the final point of a converged run). For "
     "mf it tends to 0 at a minimizer: the minimizers form a manifold along which the map is "
     "neutral (see lyapunov_transverse)", ALL_KINDS, LZ_NEEDS_LYAPUNOV, NULL},
    {"lyapunov_transverse", LZ_DT_DOUBLE, F(lyapunov_transverse), "1/step",
     "largest Lyapunov exponent of the tangent map with the directions of the factorization's "
     "symmetry (X A, -Y A^T), A in gl(d) (relu/leaky_relu: A diagonal) removed at each step: "
     "the growth transverse to the set of minimizers", MF_ONLY, LZ_NEEDS_LYAPUNOV, NULL},
    {"lyapunov_steps", LZ_DT_INT64, F(lyapunov_steps), "steps",
     "steps averaged into the Lyapunov exponents (fewer than iters for a run that diverged "
     "inside the window; 0 and exponents NaN when it diverged before it)", ALL_KINDS,
     LZ_NEEDS_LYAPUNOV, NULL},
    {"drift_order0", LZ_DT_DOUBLE, F(drift[0]), "",
     "max over k <= modified_equation.steps of |x(k h) - x_k|, x(t) the gradient flow from x0",
     ALL_KINDS, LZ_NEEDS_MODEQ_0, NULL},
    {"drift_order1", LZ_DT_DOUBLE, F(drift[1]), "",
     "the same against the first-order modified equation x' = -grad(f + h/4 |grad f|^2)",
     ALL_KINDS, LZ_NEEDS_MODEQ_1, NULL},
    {"drift_order2", LZ_DT_DOUBLE, F(drift[2]), "",
     "the same against the second-order modified equation (DESIGN.md)", ALL_KINDS,
     LZ_NEEDS_MODEQ_2, NULL},
    {"norm_x", LZ_DT_DOUBLE, F(norm_x), "",
     "||X||_F at the final state (for quadratic and multiscale: ||x||)", ALL_KINDS,
     LZ_NEEDS_NOTHING, NULL},
    {"norm_y", LZ_DT_DOUBLE, F(norm_y), "", "||Y||_F at the final state", MF_ONLY,
     LZ_NEEDS_NOTHING, NULL},
    {"balance", LZ_DT_DOUBLE, F(balance), "", "||X^T X - Y^T Y||_F at the final state", MF_ONLY,
     LZ_NEEDS_NOTHING, NULL},
    {"scalar_gap", LZ_DT_DOUBLE, F(scalar_gap), "",
     "|x - y| at the final state (n = d = 1; else 0)", MF_ONLY, LZ_NEEDS_NOTHING, NULL},
    {"trace_len", LZ_DT_INT64, F(trace_len), "records",
     "number of valid entries in this run's row of /runs/trace/loss", ALL_KINDS,
     LZ_NEEDS_NOTHING, NULL},
    {"sharpness_len", LZ_DT_INT64, F(sharpness_len), "records",
     "number of valid entries in this run's row of /runs/trace/sharpness", ALL_KINDS,
     LZ_NEEDS_SHARPNESS_TRACE, NULL},
};

const lz_field *lz_run_fields(size_t *count) {
  *count = sizeof fields / sizeof fields[0];
  return fields;
}

static unsigned analyses_of(const lz_job *job) {
  unsigned have = 0;
  if (job->analyze.orbit.max_period > 0) have |= LZ_NEEDS_ORBIT;
  if (job->analyze.lyapunov.iters > 0) have |= LZ_NEEDS_LYAPUNOV;
  if (job->analyze.sharpness.every > 0) have |= LZ_NEEDS_SHARPNESS_TRACE;
  for (unsigned k = 0; k < LZ_MODEQ_ORDERS; ++k)
    if (job->analyze.modified_equation.orders & (1u << k)) have |= LZ_NEEDS_MODEQ_0 << k;
  return have;
}

int lz_field_applies(const lz_field *f, const lz_job *job) {
  return (f->kinds & LZ_KIND_BIT(job->problem.kind)) && (f->needs & ~analyses_of(job)) == 0;
}

const lz_array_desc lz_array_descs[LZ_ARRAY_COUNT] = {
    [LZ_ARRAY_LOSS] = {"trace", "loss", "",
                       "f(x_k) at k = 0, record_every, 2 record_every, ...; entries past "
                       "trace_len are the fill value NaN (not recorded: the run had ended)",
                       {"record", NULL}},
    [LZ_ARRAY_SHARPNESS] = {"trace", "sharpness", "",
                            "largest Hessian eigenvalue (Lanczos) at x_k, k = 0, every, 2 every, "
                            "...; entries past sharpness_len are NaN (not recorded)",
                            {"record", NULL}},
    [LZ_ARRAY_ORBIT] = {"", "orbit", "",
                        "the p points of a periodic run's orbit, x_(K-p+1) ... x_K, in order; "
                        "NaN past p, past the problem's dimension, and for other runs",
                        {"point", "coordinate"}},
};

lz_array_shape lz_job_array_shape(const lz_job *job, lz_array_id a) {
  lz_array_shape s = {{0, 1}, 0};
  switch (a) {
    case LZ_ARRAY_LOSS:
      s.len[0] = lz_job_trace_len(job);
      s.record_every = job->run.record_every;
      break;
    case LZ_ARRAY_SHARPNESS:
      if (job->analyze.sharpness.every > 0) {
        s.len[0] = job->run.max_iter / job->analyze.sharpness.every + 1;
        s.record_every = job->analyze.sharpness.every;
      }
      break;
    case LZ_ARRAY_ORBIT: {
      size_t dim = lz_job_max_dim(job);
      if (job->analyze.orbit.max_period > 0 && dim <= LZ_ORBIT_MAX_DIM) {
        s.len[0] = job->analyze.orbit.max_period;
        s.len[1] = (int64_t)dim;
      }
      break;
    }
  }
  return s;
}

int64_t lz_array_shape_size(lz_array_shape s) { return s.len[0] * s.len[1]; }

int lz_tile_result_alloc(lz_tile_result *tr, const lz_job *job, lz_err *err) {
  memset(tr, 0, sizeof *tr);
  size_t max_runs = (size_t)job->tiles.runs;
  tr->runs = calloc(max_runs, sizeof *tr->runs);
  int ok = tr->runs != NULL;
  for (int a = 0; a < LZ_ARRAY_COUNT && ok; ++a) {
    tr->shape[a] = lz_job_array_shape(job, (lz_array_id)a);
    size_t per_run = (size_t)lz_array_shape_size(tr->shape[a]);
    if (per_run == 0) continue;
    tr->array[a] = malloc(max_runs * per_run * sizeof(double));
    ok = tr->array[a] != NULL;
  }
  if (!ok) {
    lz_tile_result_free(tr);
    return lz_err_set(err, LZ_ENOMEM, "cannot allocate the results of a tile of %zu runs",
                      max_runs);
  }
  return LZ_OK;
}

void lz_tile_result_free(lz_tile_result *tr) {
  if (!tr) return;
  free(tr->runs);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) free(tr->array[a]);
  memset(tr, 0, sizeof *tr);
}
