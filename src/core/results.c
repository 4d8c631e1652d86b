#include "lrzoo/results.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "problems/problems.h"

const char *const lz_status_names[LZ_STATUS_COUNT + 1] = {
    "not_run", "converged", "periodic", "chaotic", "diverged", "undetermined", NULL};
const char *const lz_reason_names[LZ_REASON_COUNT + 1] = {
    "none", "not_analyzed", "stalled", "neither_periodic_nor_chaotic", "no_step_size",
    "no_exponent", NULL};
const char *const lz_engine_names[LZ_ENGINE_COUNT + 1] = {"not_run", "lanes", "batched",
                                                          "per_run", NULL};

/* Orbit points are stored for problems of at most this dimension (issue: dimension <= 16). */
#define LZ_ORBIT_MAX_DIM 16

/* The traits a kind needs for a field (its descriptor's LZ_KIND_HAS_*). */
#define ALL_KINDS 0u
#define FACTORS LZ_KIND_HAS_FACTORS
#define SLOW_PART_KINDS LZ_KIND_HAS_SLOW_PART
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
    {"engine", LZ_DT_INT8, F(engine), "",
     "which engine took the run: 1 lanes (small problems, 64 runs in SIMD lanes), 2 batched "
     "(dense matrix factorization), 3 per run (one run at a time); 0 not run",
     ALL_KINDS, LZ_NEEDS_NOTHING, lz_engine_names},
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
     SLOW_PART_KINDS, LZ_NEEDS_NOTHING, NULL},
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
     "the growth transverse to the set of minimizers", FACTORS, LZ_NEEDS_LYAPUNOV, NULL},
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
     "the same against the second-order modified equation", ALL_KINDS,
     LZ_NEEDS_MODEQ_2, NULL},
    {"norm_x", LZ_DT_DOUBLE, F(norm_x), "",
     "||X||_F at the final state (for quadratic and multiscale: ||x||)", ALL_KINDS,
     LZ_NEEDS_NOTHING, NULL},
    {"norm_y", LZ_DT_DOUBLE, F(norm_y), "", "||Y||_F at the final state", FACTORS,
     LZ_NEEDS_NOTHING, NULL},
    {"balance", LZ_DT_DOUBLE, F(balance), "", "||X^T X - Y^T Y||_F at the final state", FACTORS,
     LZ_NEEDS_NOTHING, NULL},
    {"scalar_gap", LZ_DT_DOUBLE, F(scalar_gap), "",
     "|x - y| at the final state (n = d = 1; else 0)", FACTORS, LZ_NEEDS_NOTHING, NULL},
#define IM_FIELDS(OFF)                                                                          \
    {"samples", LZ_DT_INT64, OFF(im.samples), "",                                             \
     "iterates counted into the invariant-measure histograms (after burn_in; fewer than asked "  \
     "if the chain left the bounded region)", ALL_KINDS, LZ_NEEDS_IM, NULL},                     \
    {"outside_fraction", LZ_DT_DOUBLE, OFF(im.outside_fraction), "",                          \
     "share of the samples with a histogrammed coordinate outside the range (they are counted "  \
     "in no bin, and never dropped silently)", ALL_KINDS, LZ_NEEDS_IM, NULL},                   \
    {"sample_variance", LZ_DT_DOUBLE, OFF(im.sample_variance), "",                            \
     "variance of the first histogrammed coordinate over the samples", ALL_KINDS, LZ_NEEDS_IM, \
     NULL},                                                                                     \
    {"temperature", LZ_DT_DOUBLE, OFF(im.temperature), "",                                    \
     "T = h sigma^2 / 2, sigma^2 the variance of grad f1 over its fast phase", SLOW_PART_KINDS, \
     LZ_NEEDS_IM, NULL},                                                                        \
    {"temperature_fit", LZ_DT_DOUBLE, OFF(im.temperature_fit), "",                            \
     "maximum-likelihood T of the Gibbs family exp(-f0/T)/Z on the whole space: the T whose "    \
     "mean of f0 equals f0_mean (for f0 = x^2/2 the sample E[x^2])", SLOW_PART_KINDS,            \
     LZ_NEEDS_IM, NULL},                                                                        \
    {"f0_mean", LZ_DT_DOUBLE, OFF(im.f0_mean), "", "mean of f0 over the samples",             \
     SLOW_PART_KINDS, LZ_NEEDS_IM, NULL},                                                       \
    {"gibbs_tv", LZ_DT_DOUBLE, OFF(im.gibbs_tv), "",                                          \
     "first histogrammed coordinate: total variation between the binned samples in range and "  \
     "the Gibbs bin probabilities (normalized over the range)", SLOW_PART_KINDS, LZ_NEEDS_IM,   \
     NULL},                                                                                     \
    {"gibbs_kl", LZ_DT_DOUBLE, OFF(im.gibbs_kl), "",                                          \
     "KL(empirical || Gibbs) over the bins: empty empirical bins add 0 (0 log 0 = 0); a bin "    \
     "with samples where the Gibbs probability underflows to 0 makes it +inf",                 \
     SLOW_PART_KINDS, LZ_NEEDS_IM, NULL},                                                       \
    {"gibbs_w1", LZ_DT_DOUBLE, OFF(im.gibbs_w1), "",                                          \
     "Wasserstein-1 distance between the binned empirical and Gibbs distributions of the first " \
     "coordinate (sum of |CDF difference| x bin width)", SLOW_PART_KINDS, LZ_NEEDS_IM, NULL},  \
    {"halves_tv", LZ_DT_DOUBLE, OFF(im.halves_tv), "",                                        \
     "sampling error: TV between the first and the second half of the samples (first "          \
     "coordinate); a Gibbs distance well above it is real", ALL_KINDS, LZ_NEEDS_IM, NULL},      \
    {"gibbs2d_tv", LZ_DT_DOUBLE, OFF(im.gibbs2d_tv), "",                                      \
     "TV between the joint 2-D histogram and the 2-D Gibbs bin probabilities", SLOW_PART_KINDS, \
     LZ_NEEDS_IM_JOINT, NULL},                                                                  \
    {"gibbs2d_kl", LZ_DT_DOUBLE, OFF(im.gibbs2d_kl), "", "KL of the joint 2-D histogram",     \
     SLOW_PART_KINDS, LZ_NEEDS_IM_JOINT, NULL},                                                 \
    {"variance_linear", LZ_DT_DOUBLE, OFF(im.variance_linear), "",                            \
     "f0 = x^2/2: the linearized prediction h sigma^2 / (2 - h) of sample_variance (the Gibbs "  \
     "T is its leading order); NaN for other f0", SLOW_PART_KINDS, LZ_NEEDS_IM, NULL},         \
    {"transitions", LZ_DT_INT64, OFF(im.transitions), "",                                     \
     "double_well: changes of well during the samples; a well is entered when every "           \
     "coordinate is beyond +-1/2 on its side (hysteresis against jitter at the barrier); 0 for " \
     "other f0", SLOW_PART_KINDS, LZ_NEEDS_IM, NULL},                                          \
    {"residence_mean", LZ_DT_DOUBLE, OFF(im.residence_mean), "steps",                         \
     "double_well: samples / (transitions + 1), the mean stay in a well; NaN for other f0",     \
     SLOW_PART_KINDS, LZ_NEEDS_IM, NULL},

    IM_FIELDS(F)
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

#define P(member) offsetof(lz_pooled_result, member)
static const lz_field pooled_fields[] = {IM_FIELDS(P)};

const lz_field *lz_pooled_fields(size_t *count) {
  *count = sizeof pooled_fields / sizeof pooled_fields[0];
  return pooled_fields;
}

static unsigned analyses_of(const lz_job *job) {
  unsigned have = 0;
  if (job->analyze.orbit.max_period > 0) have |= LZ_NEEDS_ORBIT;
  if (job->analyze.lyapunov.iters > 0) have |= LZ_NEEDS_LYAPUNOV;
  if (job->analyze.sharpness.every > 0) have |= LZ_NEEDS_SHARPNESS_TRACE;
  for (unsigned k = 0; k < LZ_MODEQ_ORDERS; ++k)
    if (job->analyze.modified_equation.orders & (1u << k)) have |= LZ_NEEDS_MODEQ_0 << k;
  if (lz_job_samples_invariant_measure(job)) {
    have |= LZ_NEEDS_IM;
    if (job->analyze.invariant_measure.joint) have |= LZ_NEEDS_IM_JOINT;
  }
  return have;
}

int lz_field_applies(const lz_field *f, const lz_job *job) {
  const lz_problem_kind_desc *kind = lz__problem_kind(job->problem.kind);
  return kind && (f->traits & ~kind->traits) == 0 && (f->needs & ~analyses_of(job)) == 0;
}

const lz_array_desc lz_array_descs[LZ_ARRAY_COUNT] = {
    [LZ_ARRAY_LOSS] = {"trace", "loss", "",
                       "f(x_k) at k = 0, record_every, 2 record_every, ...; entries past "
                       "trace_len are the fill value NaN (not recorded: the run had ended)",
                       {"record", NULL}, LZ_DT_DOUBLE, 0},
    [LZ_ARRAY_SHARPNESS] = {"trace", "sharpness", "",
                            "largest Hessian eigenvalue (Lanczos) at x_k, k = 0, every, 2 every, "
                            "...; entries past sharpness_len are NaN (not recorded)",
                            {"record", NULL}, LZ_DT_DOUBLE, 0},
    [LZ_ARRAY_ORBIT] = {"", "orbit", "",
                        "the p points of a periodic run's orbit, x_(K-p+1) ... x_K, in order; "
                        "NaN past p, past the problem's dimension, and for other runs",
                        {"point", "coordinate"}, LZ_DT_DOUBLE, 0},
    [LZ_ARRAY_HIST] = {"", "hist", "",
                       "visit counts of each histogrammed coordinate (analyze.invariant_measure."
                       "coords) in the bins of /runs/hist_edges; exact integers, so histograms "
                       "of replicas, tiles and ranks add up",
                       {"coordinate", "bin"}, LZ_DT_UINT64, 1},
    [LZ_ARRAY_HIST_HALF1] = {"", "hist_half1", "",
                             "the same counts for the first half of the samples (the second "
                             "half is hist - hist_half1)",
                             {"coordinate", "bin"}, LZ_DT_UINT64, 1},
    [LZ_ARRAY_GIBBS] = {"", "gibbs", "",
                        "Gibbs probabilities of the same bins: exp(-f0/T)/Z integrated over each "
                        "bin (Gauss-Legendre), normalized over the range; for a coordinate of a "
                        "2-D problem, the marginal",
                        {"coordinate", "bin"}, LZ_DT_DOUBLE, 1},
    [LZ_ARRAY_HIST2D] = {"", "hist2d", "",
                         "joint visit counts of the first two histogrammed coordinates",
                         {"bin0", "bin1"}, LZ_DT_UINT64, 1},
    [LZ_ARRAY_GIBBS2D] = {"", "gibbs2d", "",
                          "joint Gibbs probabilities of the 2-D bins, normalized over the box",
                          {"bin0", "bin1"}, LZ_DT_DOUBLE, 1},
    [LZ_ARRAY_HIST_OBS] = {"", "hist_obs", "",
                           "visit counts of the observable (analyze.invariant_measure.observable) "
                           "in the bins of /runs/hist_obs_edges",
                           {"bin", NULL}, LZ_DT_UINT64, 1},
    [LZ_ARRAY_WELLS] = {"", "wells", "",
                        "double_well: share of the samples in each well; well w has coordinate i "
                        "on the positive side when bit i of w is set (NaN for other f0)",
                        {"well", NULL}, LZ_DT_DOUBLE, 1},
    [LZ_ARRAY_MOMENTS] = {"", "moments", "",
                          "mean and mean square of each histogrammed coordinate over the samples",
                          {"coordinate", "moment"}, LZ_DT_DOUBLE, 1},
    [LZ_ARRAY_X] = {"trace", "x", "",
                    "the first run.record_x coordinates of x_k at the steps of /runs/trace/loss "
                    "(R x K, or R x K x record_x when record_x > 1); NaN past trace_len and past "
                    "the problem's dimension",
                    {"record", "coordinate"}, LZ_DT_DOUBLE, 0},
};

lz_array_shape lz_job_array_shape(const lz_job *job, lz_array_id a) {
  lz_array_shape s = {{0, 1}, 0};
  const int im = lz_job_samples_invariant_measure(job);
  const lz_problem_kind_desc *kind = lz__problem_kind(job->problem.kind);
  const int multiscale = kind && (kind->traits & LZ_KIND_HAS_SLOW_PART);
  const int64_t C = (int64_t)job->analyze.invariant_measure.ncoords;
  const int64_t B = job->analyze.invariant_measure.bins;
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
    case LZ_ARRAY_HIST:
    case LZ_ARRAY_HIST_HALF1:
      if (im) s.len[0] = C, s.len[1] = B;
      break;
    case LZ_ARRAY_GIBBS:
      if (im && multiscale) s.len[0] = C, s.len[1] = B;
      break;
    case LZ_ARRAY_HIST2D:
      if (im && job->analyze.invariant_measure.joint) s.len[0] = B, s.len[1] = B;
      break;
    case LZ_ARRAY_GIBBS2D:
      if (im && multiscale && job->analyze.invariant_measure.joint) s.len[0] = B, s.len[1] = B;
      break;
    case LZ_ARRAY_HIST_OBS:
      if (im && job->analyze.invariant_measure.observable.kind != LZ_OBS_NONE)
        s.len[0] = job->analyze.invariant_measure.observable.bins;
      break;
    case LZ_ARRAY_WELLS:
      if (im && multiscale) {
        size_t dim = lz_job_max_dim(job);
        s.len[0] = (int64_t)1 << (dim < LZ_WELLS_MAX_DIM ? dim : LZ_WELLS_MAX_DIM);
      }
      break;
    case LZ_ARRAY_MOMENTS:
      if (im) s.len[0] = C, s.len[1] = 2;
      break;
    case LZ_ARRAY_X:
      if (job->run.record_x > 0) {
        s.len[0] = lz_job_trace_len(job);
        s.len[1] = job->run.record_x;
        s.record_every = job->run.record_every;
      }
      break;
  }
  return s;
}

int64_t lz_array_shape_size(lz_array_shape s) { return s.len[0] * s.len[1]; }

int lz_tile_result_alloc(lz_tile_result *tr, const lz_job *job, lz_err *err) {
  memset(tr, 0, sizeof *tr);
  size_t max_runs = (size_t)lz_job_tile_capacity(job);
  tr->runs = calloc(max_runs, sizeof *tr->runs);
  int ok = tr->runs != NULL;
  for (int a = 0; a < LZ_ARRAY_COUNT && ok; ++a) {
    tr->shape[a] = lz_job_array_shape(job, (lz_array_id)a);
    size_t per_run = (size_t)lz_array_shape_size(tr->shape[a]);
    if (per_run == 0) continue;
    tr->array[a] = malloc(max_runs * per_run * 8);  /* a double or a uint64_t each */
    ok = tr->array[a] != NULL;
  }
  if (!ok) {
    lz_tile_result_free(tr);
    return lz_err_set(err, LZ_ENOMEM, "cannot allocate the results of a tile of %zu runs",
                      max_runs);
  }
  return LZ_OK;
}

double *lz_tile_row(const lz_tile_result *tr, lz_array_id a, int64_t r) {
  if (!tr->array[a]) return NULL;
  return (double *)tr->array[a] + r * lz_array_shape_size(tr->shape[a]);
}

uint64_t *lz_tile_counts(const lz_tile_result *tr, lz_array_id a, int64_t r) {
  if (!tr->array[a]) return NULL;
  return (uint64_t *)tr->array[a] + r * lz_array_shape_size(tr->shape[a]);
}

void lz_tile_result_free(lz_tile_result *tr) {
  if (!tr) return;
  free(tr->runs);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) free(tr->array[a]);
  memset(tr, 0, sizeof *tr);
}
