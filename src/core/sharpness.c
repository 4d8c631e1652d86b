#include "lrzoo/lanczos.h"

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

size_t lz_sharpness_work_len(const lz_problem *p) {
  size_t dim = lz_problem_dim(p);
  return lz_lanczos_work_len(dim, 0) + dim + lz_problem_work_len(p);
}

int lz_sharpness(const lz_problem *p, const double *x, unsigned long long seed,
                 lz_lanczos_result *res, double *work) {
  size_t dim = lz_problem_dim(p);
  double *lw = work;
  double *v0 = lw + lz_lanczos_work_len(dim, 0);
  hessian_ctx ctx = {p, x, v0 + dim};
  /* The start vector depends on the dimension only: the same point always gets the same L. */
  lz_rng rng;
  lz_rng_init(&rng, seed, LZ_RNG_LANCZOS, dim, 0);
  for (size_t i = 0; i < dim; ++i) v0[i] = lz_rng_normal(&rng);
  lz_lanczos_opts opts = {1e-12, 0};
  return lz_lanczos_max_eig(apply_hessian, &ctx, dim, v0, &opts, res, lw);
}
