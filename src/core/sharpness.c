#include "lrzoo/lanczos.h"

#include <math.h>
#include <string.h>

#include "lrzoo/rng.h"

typedef struct hessian_ctx {
  const lz_problem *p;
  const double *x;
  double *work;
} hessian_ctx;

static void apply_hessian(void *ctx, const double *v, double *out) {
  hessian_ctx *c = ctx;
  lz_problem_hvp(c->p, c->x, v, out, c->work);
}

size_t lz_sharpness_work_len_for(const lz_problem_sizes *s) {
  return lz_lanczos_work_len(s->dim, 0) + s->dim + s->work_len;
}

size_t lz_sharpness_work_len(const lz_problem *p) {
  lz_problem_sizes s;
  lz_problem_sizes_of(p, &s);
  return lz_sharpness_work_len_for(&s);
}

/* In one or two dimensions the Hessian comes whole from one or two products, and its largest
 * eigenvalue in closed form: exact, and far cheaper than Lanczos for the scalar sweeps. */
static int sharpness_of_small_hessian(const lz_problem *p, const double *x, size_t dim,
                                      lz_lanczos_result *res, double *work) {
  double e[2] = {1.0, 0.0}, c0[2], c1[2] = {0.0, 0.0};
  lz_problem_hvp(p, x, e, c0, work);
  if (dim == 2) {
    e[0] = 0.0, e[1] = 1.0;
    lz_problem_hvp(p, x, e, c1, work);
  }
  memset(res, 0, sizeof *res);
  if (dim == 1) {
    res->lambda = c0[0];
  } else {
    double a = c0[0], c = c1[1], b = 0.5 * (c0[1] + c1[0]);
    res->lambda = 0.5 * (a + c) + hypot(0.5 * (a - c), b);
  }
  if (!isfinite(res->lambda)) return LZ_ENUMERIC;
  res->steps = (int)dim;
  res->converged = 1;
  return LZ_OK;
}

/* The start vector depends on the dimension only: the same point always gets the same L. */
static double *start_vector(size_t dim, unsigned long long seed, double *work) {
  double *v0 = work + lz_lanczos_work_len(dim, 0);
  lz_rng rng;
  lz_rng_init(&rng, seed, LZ_RNG_LANCZOS, dim, 0);
  for (size_t i = 0; i < dim; ++i) v0[i] = lz_rng_normal(&rng);
  return v0;
}

static const lz_lanczos_opts sharpness_opts = {1e-12, 0, 0};

int lz_sharpness(const lz_problem *p, const double *x, unsigned long long seed,
                 lz_lanczos_result *res, double *work) {
  size_t dim = lz_problem_dim(p);
  if (dim <= 2) return sharpness_of_small_hessian(p, x, dim, res, work + lz_lanczos_work_len(dim, 0) + dim);
  double *v0 = start_vector(dim, seed, work);
  hessian_ctx ctx = {p, x, v0 + dim};
  return lz_lanczos_max_eig(apply_hessian, &ctx, dim, v0, &sharpness_opts, res, work);
}

void lz_sharpness_many(const lz_problem *p, size_t count, const double *const *x,
                       unsigned long long seed, lz_lanczos_result *res, int *rc,
                       double *const *works, double *batch_work) {
  const size_t dim = lz_problem_dim(p);
  if (dim <= 2) {
    for (size_t j = 0; j < count; ++j) rc[j] = lz_sharpness(p, x[j], seed, &res[j], works[j]);
    return;
  }
  lz_lanczos_run runs[count];
  const double *xs[count], *in[count];
  double *out[count];
  size_t live = 0, which[count];
  for (size_t j = 0; j < count; ++j) {
    if (lz_lanczos_start(&runs[j], dim, start_vector(dim, seed, works[j]), &sharpness_opts,
                         &res[j], works[j]))
      which[live++] = j;
    rc[j] = runs[j].rc;
  }
  while (live > 0) {
    for (size_t k = 0; k < live; ++k) {
      const size_t j = which[k];
      xs[k] = x[j], in[k] = runs[j].in, out[k] = runs[j].w;
    }
    lz_problem_hvp_batch(p, live, xs, in, out, batch_work);
    size_t still = 0;
    for (size_t k = 0; k < live; ++k) {
      const size_t j = which[k];
      if (lz_lanczos_next(&runs[j])) which[still++] = j;
      rc[j] = runs[j].rc;
    }
    live = still;
  }
}
