/* The problem instance: an objective's operations, its parameters and its state; and the
 * registry of the problem kinds, one descriptor a kind (problems/problems.h). */
#include "lrzoo/problem.h"

#include <stdlib.h>
#include <string.h>

#include "lrzoo/linalg.h"
#include "problem_internal.h"
#include "problems/problems.h"

static const lz_problem_kind_desc *const kinds[LZ_PROBLEM_KIND_COUNT] = {
#define LZ_PROBLEM_KIND_DESC(suffix, name) [LZ_PROBLEM_##suffix] = &lz__kind_##name,
    LZ_PROBLEM_KINDS(LZ_PROBLEM_KIND_DESC)
#undef LZ_PROBLEM_KIND_DESC
};

const lz_problem_kind_desc *lz__problem_kind(lz_problem_kind kind) {
  return (unsigned)kind < LZ_PROBLEM_KIND_COUNT ? kinds[kind] : NULL;
}

unsigned lz_problem_kind_traits(lz_problem_kind kind) {
  const lz_problem_kind_desc *k = lz__problem_kind(kind);
  return k ? k->traits : 0;
}

int lz_problem_params_target_file(const lz_problem_params *pp, const char **path,
                                  const char **dataset, int64_t *n) {
  const lz_problem_kind_desc *k = lz__problem_kind(pp->kind);
  return k && k->target_file && k->target_file(pp, path, dataset, n);
}

/* Above this many flops per GD step an objective parallelizes inside the evaluation, so the
 * runs of a tile go one after another; below it, each thread takes whole runs. Either way a
 * run's arithmetic is the same, so the choice never changes a result. */
#define LZ_INNER_PARALLEL_FLOPS 1.0e6

int lz_runs_share_threads(const lz_problem_params *pp) {
  return lz_problem_params_step_cost(pp) < LZ_INNER_PARALLEL_FLOPS;
}

struct lz_problem {
  const lz_problem_kind_desc *kind;
  const lz_objective *ops;
  lz_problem_params params;  /* a copy; its vectors and strings point into the job */
  void *state;
  size_t dim, work_len;      /* cached: asked once per GD step by the callers */
  const lz_team *team;       /* the team that shares it, or NULL */
};

static int create_problem(const lz_problem_params *pp, uint64_t seed, const double *target,
                          const lz_team *team, lz_problem **out, lz_err *err) {
  *out = NULL;
  if (!pp || (unsigned)pp->kind >= LZ_PROBLEM_KIND_COUNT)
    return lz_err_set(err, LZ_EINVAL, "unknown problem kind %d", pp ? (int)pp->kind : -1);
  lz_problem *p = calloc(1, sizeof *p);
  if (!p) return lz_err_set(err, LZ_ENOMEM, "out of memory creating a problem instance");
  p->kind = kinds[pp->kind];
  p->ops = p->kind->objective;
  p->params = *pp;
  /* what the sizes of this instance count: a team's share, or the whole */
  p->params.ranks_per_run = team ? team->size : 1;
  p->team = team;
  int rc = team ? p->ops->create_in_team(&p->params, seed, target, team, &p->state, err)
                : p->ops->create(&p->params, seed, target, &p->state, err);
  if (rc != LZ_OK) {
    free(p);
    return rc;
  }
  p->dim = p->ops->dim(p->state);
  p->work_len = p->ops->work_len(p->state);
  *out = p;
  return LZ_OK;
}

int lz_problem_create(const lz_problem_params *pp, uint64_t seed, const double *target,
                      lz_problem **out, lz_err *err) {
  return create_problem(pp, seed, target, NULL, out, err);
}

size_t lz_problem_params_team_chunks(const lz_problem_params *pp) {
  if (!pp || (unsigned)pp->kind >= LZ_PROBLEM_KIND_COUNT) return 0;
  const lz_problem_kind_desc *k = kinds[pp->kind];
  return k->team_chunks && k->objective->create_in_team ? k->team_chunks(pp) : 0;
}

int lz_problem_params_team_rows(const lz_problem_params *pp, int size, int member,
                                int64_t *row0, int64_t *row1) {
  if (!lz_problem_params_team_chunks(pp) || size < 2) return 0;
  return kinds[pp->kind]->team_rows(pp, size, member, row0, row1);
}

int lz_problem_create_in_team(const lz_problem_params *pp, uint64_t seed,
                              const double *target_rows, const lz_team *team,
                              lz_problem **out, lz_err *err) {
  int64_t r0, r1;
  if (!team || !lz_problem_params_team_rows(pp, team->size, team->rank, &r0, &r1))
    return lz_err_set(err, LZ_EINVAL, "a team of %d ranks cannot share this instance",
                      team ? team->size : 0);
  return create_problem(pp, seed, target_rows, team, out, err);
}

const lz_team *lz_problem_team(const lz_problem *p) { return p->team; }

void lz_problem_destroy(lz_problem **p) {
  if (!p || !*p) return;
  (*p)->ops->destroy((*p)->state);
  free(*p);
  *p = NULL;
}

const void *lz__problem_state(const lz_problem *p) { return p->state; }

const lz_problem_params *lz_problem_params_of(const lz_problem *p) { return &p->params; }

size_t lz_problem_dim(const lz_problem *p) { return p->dim; }

size_t lz_problem_work_len(const lz_problem *p) { return p->work_len; }

void lz_problem_params_sizes(const lz_problem_params *pp, lz_problem_sizes *s) {
  memset(s, 0, sizeof *s);
  if (pp && (unsigned)pp->kind < LZ_PROBLEM_KIND_COUNT) kinds[pp->kind]->objective->sizes(pp, s);
}

void lz_problem_sizes_of(const lz_problem *p, lz_problem_sizes *s) {
  lz_problem_params_sizes(&p->params, s);
}

double lz_problem_value(const lz_problem *p, const double *x, double *work) {
  return p->ops->value(p->state, x, work);
}

double lz_problem_value_grad(const lz_problem *p, const double *x, double *g, double *work) {
  return p->ops->value_grad(p->state, x, g, work);
}

const void *lz_problem_grad_loss_of(const lz_problem *p, lz_grad_loss_fn **fn) {
  *fn = p->ops->grad_loss_bound ? p->ops->grad_loss_bound : p->ops->value_grad;
  return p->state;
}

double lz_problem_grad_loss(const lz_problem *p, const double *x, double *g, double *work,
                            int *exact) {
  *exact = p->ops->grad_loss_bound == NULL;
  return *exact ? p->ops->value_grad(p->state, x, g, work)
                : p->ops->grad_loss_bound(p->state, x, g, work);
}

/* Whether the objective takes batches of this instance's runs. */
static int batches(const lz_problem *p) {
  return p->ops->value_grad_batch && p->ops->batch_max(p->state) > 1;
}

size_t lz_problem_batch_max(const lz_problem *p) {
  return batches(p) ? p->ops->batch_max(p->state) : 1;
}

size_t lz_problem_batch_work_len(const lz_problem *p, size_t runs) {
  return batches(p) ? p->ops->batch_work_len(p->state, runs) : p->work_len;
}

void lz_problem_value_grad_batch(const lz_problem *p, size_t runs, const double *const *x,
                                 double *const *g, double *f, double *work) {
  if (batches(p)) {
    p->ops->value_grad_batch(p->state, runs, x, g, f, work);
    return;
  }
  for (size_t r = 0; r < runs; ++r) f[r] = p->ops->value_grad(p->state, x[r], g[r], work);
}

void lz_problem_hvp(const lz_problem *p, const double *x, const double *v, double *hv,
                    double *work) {
  p->ops->hvp(p->state, x, v, hv, work);
}

size_t lz_problem_hvp_batch_work_len(const lz_problem *p, size_t count) {
  return batches(p) && p->ops->hvp_batch ? p->ops->hvp_batch_work_len(p->state, count)
                                         : p->work_len;
}

void lz_problem_hvp_batch(const lz_problem *p, size_t count, const double *const *x,
                          const double *const *v, double *const *hv, double *work) {
  if (batches(p) && p->ops->hvp_batch) {
    p->ops->hvp_batch(p->state, count, x, v, hv, work);
    return;
  }
  for (size_t j = 0; j < count; ++j) p->ops->hvp(p->state, x[j], v[j], hv[j], work);
}

double lz_problem_f0(const lz_problem *p, const double *x, double *work) {
  return p->ops->f0 ? p->ops->f0(p->state, x, work) : p->ops->value(p->state, x, work);
}

double lz_problem_sigma2(const lz_problem *p) {
  return p->ops->sigma2 ? p->ops->sigma2(p->state) : 0.0;
}

int lz_problem_has_symmetries(const lz_problem *p) { return p->ops->project_symmetries != NULL; }

size_t lz_problem_symmetry_work_len(const lz_problem *p) {
  return p->ops->symmetry_work_len ? p->ops->symmetry_work_len(p->state) : 0;
}

void lz_problem_project_symmetries(const lz_problem *p, const double *x, double *v, double *work) {
  if (p->ops->project_symmetries) p->ops->project_symmetries(p->state, x, v, work);
}

void lz_problem_state_stats(const lz_problem *p, const double *x, lz_state_stats *st) {
  if (p->kind->state_stats) {
    p->kind->state_stats(p->state, x, st);
    return;
  }
  st->norm_x = lz_norm2(x, p->dim);
  st->norm_y = 0.0;
  st->balance = 0.0;
  st->scalar_gap = 0.0;
}
