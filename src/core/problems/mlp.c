/* A one-hidden-layer network fitted to multiscale data: the "blobs" of large-learning-rate GD
 * in a real model.
 *
 *   net(x) = w2^T sigma(W1 x + b1) + b2,   scalar input and output, W hidden units
 *   f(theta) = (1 / 2) sum_i q_i (net(x_i) - y_i)^2 + (mu / 2) |theta|^2
 *
 * with generated data y_i = g0(x_i) + a sin(x_i / eps) at q_i = 1 / m, or listed points and
 * weights. theta = [W1 (W) | b1 (W) | w2 (W) | b2]: dimension 3W + 1; without biases
 * theta = [W1 | w2] (2W), and b1 = b2 = 0. The fast term a sin(x / eps) gives the loss a
 * multiscale structure through the data, not through an added f1; a far input X = 1 / eps of
 * small weight p with the sin activation gives one in weight space (p v sin(w X) is periodic
 * in w with period 2 pi eps).
 *
 * The Hessian-vector product is exact (forward-mode differentiation of the gradient): with
 * z = W1 x + b1, s = sigma(z), r = net(x) - y and a direction v = [dW1 | db1 | dw2 | db2],
 *   dz = dW1 x + db1,  ds = sigma'(z) dz,  dr = dw2^T s + w2^T ds + db2,
 *   (Hv)_w2 = mean(dr s + r ds),  (Hv)_b2 = mean(dr),
 *   (Hv)_b1 = mean(dr w2 sigma'(z) + r dw2 sigma'(z) + r w2 sigma''(z) dz),  (Hv)_W1 = same * x.
 * Sums run over the points in order, so every evaluation is bitwise reproducible. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lrzoo/gd_lanes.h"
#include "lrzoo/problem.h"
#include "lrzoo/rng.h"
#include "../problem_internal.h"
#include "../vmath.h"
#include "problems.h"

const char *const lz_mlp_activation_names[] = {"tanh", "relu", "sin", NULL};
const char *const lz_g0_names[] = {"sin", "square", NULL};
const char *const lz_data_sampling_names[] = {"grid", "random", NULL};

typedef struct mlp {
  size_t width, points;
  lz_mlp_activation act;
  int biases;
  double mu;      /* weight decay */
  double *x, *y;  /* the data, points each */
  double *q;      /* the weights, points each; NULL: 1 / m each (summed, then divided by m) */
} mlp;

static int invalid(lz_err *err, const char *what) {
  return lz_err_set(err, LZ_EINVAL, "mlp: %s", what);
}

static double g0_of(lz_g0_kind g0, double x) { return g0 == LZ_G0_SQUARE ? x * x : sin(x); }

void lz_mlp_data(const lz_problem_params *pp, double *x, double *y) {
  size_t m = (size_t)pp->mlp.points;
  if (pp->mlp.x) {
    memcpy(x, pp->mlp.x, m * sizeof *x);
    memcpy(y, pp->mlp.y, m * sizeof *y);
    return;
  }
  lz_rng rng;
  lz_rng_init(&rng, pp->mlp.seed, LZ_RNG_DATA, (uint64_t)m, 0);
  for (size_t i = 0; i < m; ++i) {
    double t = pp->mlp.sampling == LZ_DATA_RANDOM ? lz_rng_uniform(&rng)
               : m > 1                        ? (double)i / (double)(m - 1)
                                              : 0.0;
    x[i] = pp->mlp.lo + (pp->mlp.hi - pp->mlp.lo) * t;
    y[i] = g0_of(pp->mlp.g0, x[i]) + pp->mlp.amplitude * sin(x[i] / pp->mlp.eps);
  }
}

void lz_mlp_data_weights(const lz_problem_params *pp, double *q) {
  const size_t m = (size_t)pp->mlp.points;
  for (size_t i = 0; i < m; ++i) q[i] = pp->mlp.weight ? pp->mlp.weight[i] : 1.0 / (double)m;
}

static int check_listed_data(const lz_mlp_params *pp, lz_err *err) {
  for (int64_t i = 0; i < pp->points; ++i) {
    if (!isfinite(pp->x[i]) || !isfinite(pp->y[i]))
      return lz_err_set(err, LZ_EINVAL, "mlp: data point %lld is not finite", (long long)i);
    if (pp->weight && !(pp->weight[i] >= 0 && isfinite(pp->weight[i])))
      return lz_err_set(err, LZ_EINVAL, "mlp: data weight %lld must be finite and >= 0",
                        (long long)i);
  }
  return LZ_OK;
}

static int check_params(const lz_mlp_params *pp, lz_err *err) {
  if (pp->width < 1 || pp->width > 1000000) return invalid(err, "width must be in 1..10^6");
  if (pp->points < 1 || pp->points > 100000000) return invalid(err, "points must be in 1..10^8");
  if (pp->activation != LZ_MLP_TANH && pp->activation != LZ_MLP_RELU &&
      pp->activation != LZ_MLP_SIN)
    return invalid(err, "activation must be tanh, relu or sin");
  if (!(pp->weight_decay >= 0) || !isfinite(pp->weight_decay))
    return invalid(err, "weight_decay must be finite and >= 0");
  if (pp->x) return check_listed_data(pp, err);
  if (!(pp->hi > pp->lo) || !isfinite(pp->lo) || !isfinite(pp->hi))
    return invalid(err, "the data range must be finite with lo < hi");
  if (!(pp->eps > 0) || !isfinite(pp->eps) || !isfinite(pp->amplitude))
    return invalid(err, "eps must be finite and > 0, amplitude finite");
  return LZ_OK;
}

static void mlp_destroy(void *state) {
  mlp *n = state;
  if (!n) return;
  free(n->x);
  free(n->y);
  free(n->q);
  free(n);
}

static int mlp_create(const lz_problem_params *pp, uint64_t seed, const double *target,
                      void **state, lz_err *err) {
  *state = NULL;
  int rc = check_params(&pp->mlp, err);
  if (rc != LZ_OK) return rc;
  mlp *n = calloc(1, sizeof *n);
  if (!n) return lz_err_set(err, LZ_ENOMEM, "mlp: out of memory");
  n->width = (size_t)pp->mlp.width;
  n->points = (size_t)pp->mlp.points;
  n->act = pp->mlp.activation;
  n->biases = !pp->mlp.without_biases;
  n->mu = pp->mlp.weight_decay;
  n->x = malloc(n->points * sizeof *n->x);
  n->y = malloc(n->points * sizeof *n->y);
  n->q = pp->mlp.weight ? malloc(n->points * sizeof *n->q) : NULL;
  if (!n->x || !n->y || (pp->mlp.weight && !n->q)) {
    size_t points = n->points;
    mlp_destroy(n);
    return lz_err_set(err, LZ_ENOMEM, "mlp: out of memory for %zu data points", points);
  }
  lz_mlp_data(pp, n->x, n->y);
  if (n->q) lz_mlp_data_weights(pp, n->q);
  *state = n;
  return LZ_OK;
}

static size_t dim_of(size_t width, int biases) { return biases ? 3 * width + 1 : 2 * width; }

static size_t mlp_dim(const void *state) {
  const mlp *n = state;
  return dim_of(n->width, n->biases);
}

/* Without biases, theta, a direction and the result are widened to the full layout (three
 * vectors of 3W + 1), so that one set of formulas serves both. Small networks widen on the
 * stack (the lanes engine takes only objectives that need no scratch), larger ones in work. */
#define STACK_FULL_LEN 64
static size_t full_len(const mlp *n) { return 3 * n->width + 1; }
static size_t work_len_of(size_t width, int biases) {
  const size_t full = 3 * width + 1;
  return biases || full <= STACK_FULL_LEN ? 0 : 3 * full;
}
static size_t mlp_work_len(const void *state) {
  const mlp *n = state;
  return work_len_of(n->width, n->biases);
}

/* Where the widened vectors go (three of full_len each): the caller's stack array of
 * 3 STACK_FULL_LEN, or work. */
static double *widening_space(const mlp *n, double *stack, double *work) {
  return full_len(n) <= STACK_FULL_LEN ? stack : work;
}

/* points is 0 while a data file is not read yet (the job's memory estimate at parsing). */
static void mlp_sizes(const lz_problem_params *pp, lz_problem_sizes *s) {
  if (pp->mlp.width < 1 || pp->mlp.points < 0) return;
  s->dim = dim_of((size_t)pp->mlp.width, !pp->mlp.without_biases);
  s->work_len = work_len_of((size_t)pp->mlp.width, !pp->mlp.without_biases);
  s->stored_bytes = (double)sizeof(mlp) + (pp->mlp.weight ? 24.0 : 16.0) * (double)pp->mlp.points;
}

/* sigma, sigma' and sigma'' at z. relu's second derivative is 0 wherever it exists. tanh is
 * vmath.h's, which the lanes engine evaluates for many runs at once with the same roundings. */
typedef struct activation_at {
  double s, d1, d2;
} activation_at;

static activation_at activate(lz_mlp_activation act, double z) {
  if (act == LZ_MLP_RELU) return (activation_at){z > 0 ? z : 0.0, z > 0 ? 1.0 : 0.0, 0.0};
  if (act == LZ_MLP_SIN) {
    double sz = lz_sin(z);
    return (activation_at){sz, lz_cos(z), -sz};
  }
  double t = lz_tanh(z), d1 = 1.0 - t * t;
  return (activation_at){t, d1, -2.0 * t * d1};
}

/* Views of theta (or of a direction, or of a gradient) by block. */
typedef struct blocks {
  const double *w1, *b1, *w2, *b2;
} blocks;

static blocks blocks_of(const mlp *n, const double *theta) {
  size_t W = n->width;
  return (blocks){theta, theta + W, theta + 2 * W, theta + 3 * W};
}

static double residual_at(const mlp *n, const blocks *t, size_t i) {
  double out = t->b2[0];
  for (size_t j = 0; j < n->width; ++j)
    out += t->w2[j] * activate(n->act, t->w1[j] * n->x[i] + t->b1[j]).s;
  return out - n->y[i];
}

/* Each point's weight in the sums, and the factor after them: q_i and 1, or 1 and 1 / m (the
 * unweighted loss keeps its sum-then-divide rounding). */
static double weight_at(const mlp *n, size_t i) { return n->q ? n->q[i] : 1.0; }
static double after_sums(const mlp *n) { return n->q ? 1.0 : 1.0 / (double)n->points; }

/* The data term and its derivatives, on the full layout [W1 | b1 | w2 | b2]. */
static double data_value(const mlp *n, const double *theta) {
  blocks t = blocks_of(n, theta);
  double sum = 0.0;
  for (size_t i = 0; i < n->points; ++i) {
    double r = residual_at(n, &t, i);
    sum += weight_at(n, i) * (r * r);
  }
  /* divided, not multiplied by 1 / m: the value's rounding since before the weights */
  return n->q ? 0.5 * sum : 0.5 * sum / (double)n->points;
}

static double data_value_grad(const mlp *n, const double *theta, double *g) {
  const size_t W = n->width;
  blocks t = blocks_of(n, theta);
  double *gw1 = g, *gb1 = g + W, *gw2 = g + 2 * W, *gb2 = g + 3 * W;
  memset(g, 0, (3 * W + 1) * sizeof *g);
  double sum = 0.0;
  for (size_t i = 0; i < n->points; ++i) {
    double r = residual_at(n, &t, i), xi = n->x[i], c = weight_at(n, i);
    sum += c * (r * r);
    r *= c;
    gb2[0] += r;
    for (size_t j = 0; j < W; ++j) {
      activation_at a = activate(n->act, t.w1[j] * xi + t.b1[j]);
      double back = r * t.w2[j] * a.d1;
      gw2[j] += r * a.s;
      gb1[j] += back;
      gw1[j] += back * xi;
    }
  }
  const double scale = after_sums(n);
  for (size_t k = 0; k < 3 * W + 1; ++k) g[k] *= scale;
  return 0.5 * sum * scale;
}

static void data_hvp(const mlp *n, const double *theta, const double *v, double *hv) {
  const size_t W = n->width;
  blocks t = blocks_of(n, theta), d = blocks_of(n, v);
  double *hw1 = hv, *hb1 = hv + W, *hw2 = hv + 2 * W, *hb2 = hv + 3 * W;
  memset(hv, 0, (3 * W + 1) * sizeof *hv);
  for (size_t i = 0; i < n->points; ++i) {
    const double xi = n->x[i], c = weight_at(n, i);
    double r = t.b2[0] - n->y[i], dr = d.b2[0];
    for (size_t j = 0; j < W; ++j) {
      activation_at a = activate(n->act, t.w1[j] * xi + t.b1[j]);
      double dz = d.w1[j] * xi + d.b1[j];
      r += t.w2[j] * a.s;
      dr += d.w2[j] * a.s + t.w2[j] * a.d1 * dz;
    }
    r *= c;
    dr *= c;
    hb2[0] += dr;
    for (size_t j = 0; j < W; ++j) {
      activation_at a = activate(n->act, t.w1[j] * xi + t.b1[j]);
      double dz = d.w1[j] * xi + d.b1[j];
      hw2[j] += dr * a.s + r * a.d1 * dz;
      double inner = dr * t.w2[j] * a.d1 + r * d.w2[j] * a.d1 + r * t.w2[j] * a.d2 * dz;
      hb1[j] += inner;
      hw1[j] += inner * xi;
    }
  }
  const double scale = after_sums(n);
  for (size_t k = 0; k < 3 * W + 1; ++k) hv[k] *= scale;
}

/* [W1 | w2] -> [W1 | 0 | w2 | 0], and back (dropping the biases' part). */
static const double *widened(const mlp *n, const double *v, double *full) {
  if (n->biases) return v;
  const size_t W = n->width;
  memcpy(full, v, W * sizeof *v);
  memset(full + W, 0, W * sizeof *v);
  memcpy(full + 2 * W, v + W, W * sizeof *v);
  full[3 * W] = 0.0;
  return full;
}

static void narrow(const mlp *n, const double *full, double *v) {
  const size_t W = n->width;
  memcpy(v, full, W * sizeof *v);
  memcpy(v + W, full + 2 * W, W * sizeof *v);
}

/* (mu / 2) |theta|^2, over the state's own entries; nothing at all when mu = 0, so the loss
 * without decay keeps its roundings (and the sign of a zero). */
static double decay_value(const mlp *n, const double *theta) {
  double sq = 0.0;
  for (size_t k = 0; k < dim_of(n->width, n->biases); ++k) sq += theta[k] * theta[k];
  return 0.5 * n->mu * sq;
}

static void add_decay(const mlp *n, const double *theta, double *g) {
  for (size_t k = 0; k < dim_of(n->width, n->biases); ++k) g[k] += n->mu * theta[k];
}

static double mlp_value(const void *state, const double *theta, double *work) {
  const mlp *n = state;
  double space[3 * STACK_FULL_LEN];
  double f = n->biases ? data_value(n, theta)
                       : data_value(n, widened(n, theta, widening_space(n, space, work)));
  return n->mu > 0 ? f + decay_value(n, theta) : f;
}

static double mlp_value_grad(const void *state, const double *theta, double *g, double *work) {
  const mlp *n = state;
  const size_t len = full_len(n);
  double f;
  if (n->biases) {
    f = data_value_grad(n, theta, g);
  } else {
    double space[3 * STACK_FULL_LEN];
    double *full = widening_space(n, space, work);
    f = data_value_grad(n, widened(n, theta, full), full + len);
    narrow(n, full + len, g);
  }
  if (n->mu > 0) {
    f += decay_value(n, theta);
    add_decay(n, theta, g);
  }
  return f;
}

static void mlp_hvp(const void *state, const double *theta, const double *v, double *hv,
                    double *work) {
  const mlp *n = state;
  const size_t len = full_len(n);
  if (n->biases) {
    data_hvp(n, theta, v, hv);
  } else {
    double space[3 * STACK_FULL_LEN];
    double *full = widening_space(n, space, work);
    double *full_theta = full, *full_v = full + len, *full_hv = full + 2 * len;
    data_hvp(n, widened(n, theta, full_theta), widened(n, v, full_v), full_hv);
    narrow(n, full_hv, hv);
  }
  if (n->mu > 0) add_decay(n, v, hv);
}

const double *lz__mlp_weights_of(const void *state) { return ((const mlp *)state)->q; }

const double *lz__mlp_data_of(const void *state, const double **y, size_t *points) {
  const mlp *n = state;
  *y = n->y;
  *points = n->points;
  return n->x;
}

static const lz_objective objective = {
    .name = "mlp",
    .sizes = mlp_sizes,
    .create = mlp_create,
    .destroy = mlp_destroy,
    .dim = mlp_dim,
    .work_len = mlp_work_len,
    .value = mlp_value,
    .value_grad = mlp_value_grad,
    .hvp = mlp_hvp,
    .f0 = NULL,
    .sigma2 = NULL,
};

/* ---- the kind ------------------------------------------------------------------------------ */

static size_t params_dim(const lz_problem_params *pp) {
  return dim_of((size_t)pp->mlp.width, !pp->mlp.without_biases);
}

static void params_at(const lz_job *job, const size_t *idx, lz_problem_params *out) {
  (void)idx;  /* nothing of an mlp is swept */
  out->mlp.width = job->problem.mlp.width;
  out->mlp.activation = job->problem.mlp.activation;
  out->mlp.without_biases = job->problem.mlp.without_biases;
  out->mlp.weight_decay = job->problem.mlp.weight_decay;
  out->mlp.x = job->problem.mlp.data.x;
  out->mlp.y = job->problem.mlp.data.y;
  out->mlp.weight = job->problem.mlp.data.weight;
  out->mlp.points = job->problem.mlp.data.points;
  out->mlp.lo = job->problem.mlp.data.lo;
  out->mlp.hi = job->problem.mlp.data.hi;
  out->mlp.sampling = job->problem.mlp.data.sampling;
  out->mlp.g0 = job->problem.mlp.data.g0;
  out->mlp.amplitude = job->problem.mlp.data.amplitude;
  out->mlp.eps = job->problem.mlp.data.eps;
  out->mlp.seed = job->seed;
}

static double step_cost(const lz_problem_params *pp) {
  return 30.0 * (double)pp->mlp.points * (double)pp->mlp.width;
}

static int describe_lanes(const lz_problem *p, lz_lanes_problem *lp) {
  const lz_problem_params *pp = lz_problem_params_of(p);
  if (pp->mlp.width > LZ_LANES_MAX_WIDTH) return 0;
  lp->kind = LZ_LANES_MLP;
  lp->width = (int)pp->mlp.width;
  lp->mlp_act = pp->mlp.activation;
  lp->mlp_without_biases = pp->mlp.without_biases;
  lp->mlp_decay = pp->mlp.weight_decay;
  lp->data_q = lz__mlp_weights_of(lz__problem_state(p));
  lp->data_x = lz__mlp_data_of(lz__problem_state(p), &lp->data_y, &lp->points);
  return 1;
}

static void free_points(lz_job *job) {
  free(job->problem.mlp.data.x);
  free(job->problem.mlp.data.y);
  free(job->problem.mlp.data.weight);
}

static void free_job_part(lz_job *job) {
  free_points(job);
  free(job->problem.mlp.data.path);
}

static const char *data_file(const lz_job *job, lz_mark *at) {
  *at = job->problem.mlp.data.mark;
  return job->problem.mlp.data.path;
}

static void take_data_points(lz_job *job, double *x, double *y, double *weight, int64_t points) {
  free_points(job);
  job->problem.mlp.data.x = x;
  job->problem.mlp.data.y = y;
  job->problem.mlp.data.weight = weight;
  job->problem.mlp.data.points = points;
}

const lz_problem_kind_desc lz__kind_mlp = {
    .name = "mlp",
    .objective = &objective,
    .dim = params_dim,
    .dim_formula = "3*width+1: W1 (width), b1 (width), w2 (width), then b2; without biases "
                   "2*width: W1, then w2",
    .params_at = params_at,
    .step_cost = step_cost,
    .traits = LZ_KIND_HAS_FITTED_DATA,
    .describe_lanes = describe_lanes,
    .free_job_part = free_job_part,
    .data_file = data_file,
    .take_data_points = take_data_points,
};
