/* Objectives: f, its gradient and Hessian-vector products, behind one small interface.
 *
 * A problem kind lives in src/core/problems: one file (quadratic.c, multiscale.c, mlp.c) or a
 * folder (mf/), defining its lz_objective and its descriptor (lz_problem_kind_desc,
 * src/core/problems/problems.h: dimension, parameters from the job, step cost, result traits,
 * initial point, state stats, lanes engine, size axes, target file). A kind's types are in
 * include/lrzoo/kinds/<name>.h and its job-file keys in src/config/kinds/<name>.c; the registry
 * include/lrzoo/kinds.h lists it once (docs/design.md says what a new kind takes). src/io,
 * src/sched and src/app need nothing: they ask the descriptor (lz_problem_kind_traits for data
 * the file stores, lz_problem_params_target_file for a target read from a file).
 *
 * Evaluation functions are pure: given the same instance and x they return bitwise the same
 * result whatever thread calls them, and they use only the caller's scratch buffer
 * (lz_problem_work_len doubles), so one instance may be shared by many threads at once. */
#ifndef LRZOO_PROBLEM_H
#define LRZOO_PROBLEM_H

#include <stddef.h>
#include <stdint.h>

#include "lrzoo/error.h"
#include "lrzoo/job.h"
#include "lrzoo/team.h"

/* Per-kind implementation. state is the instance data that create allocates. */
/* What an instance holds and needs, known from its parameters alone: the memory estimate
 * counts with it before anything is built. */
typedef struct lz_problem_sizes {
  size_t dim;                /* state dimension */
  size_t work_len;           /* scratch doubles of one evaluation */
  size_t symmetry_work_len;  /* scratch doubles of project_symmetries */
  double stored_bytes;       /* what the instance keeps while it lives (the target) */
  double building_bytes;     /* held on top only while it is built (file buffer, QR) */
  size_t batch_max;          /* runs one batched gradient takes at most (0: not batched) */
  size_t batch_work_len;     /* scratch doubles of a batch of batch_max runs */
  size_t hvp_batch_work_len; /* scratch doubles of hvp_batch of 2 batch_max directions */
} lz_problem_sizes;

typedef struct lz_objective {
  const char *name;
  /* Fills s from the parameters without building anything; must agree with create. */
  void (*sizes)(const lz_problem_params *pp, lz_problem_sizes *s);
  /* Builds instance data. target is an n x n row-major matrix for file targets, else NULL;
   * it is copied, the caller keeps ownership. */
  int (*create)(const lz_problem_params *pp, uint64_t seed, const double *target, void **state,
                lz_err *err);
  /* Optional (NULL: never shared). Member team->rank's part of an instance that a team shares
   * (lz_problem_params_team_rows): target_rows holds its rows of a file target, else NULL. */
  int (*create_in_team)(const lz_problem_params *pp, uint64_t seed, const double *target_rows,
                        const lz_team *team, void **state, lz_err *err);
  void (*destroy)(void *state);
  size_t (*dim)(const void *state);
  size_t (*work_len)(const void *state);
  /* f(x), computed as accurately as the kind allows. */
  double (*value)(const void *state, const double *x, double *work);
  /* f(x) and g = grad f(x). The returned f may be the cheap form (see src/core/problems/mf). */
  double (*value_grad)(const void *state, const double *x, double *g, double *work);
  /* Optional: g = grad f(x) and a bound B >= the f value_grad would return, finite only where
   * that f is finite, for objectives whose f costs more than a bound on it (the multiscale
   * sin): the per-run engine checks f <= diverge_above on B, and takes f itself only where B
   * does not decide. */
  double (*grad_loss_bound)(const void *state, const double *x, double *g, double *work);
  /* Optional (NULL: not batched). f and gradients of `runs` states x[r] at once, for
   * runs <= batch_max, into g[r] and f[r], each bitwise equal to value_grad of x[r] alone
   * whatever the other states: how many, which, and where in x. work: batch_work_len(runs).
   * An instance whose batch_max is 1 is not batched: the two others are then never called. */
  void (*value_grad_batch)(const void *state, size_t runs, const double *const *x,
                           double *const *g, double *f, double *work);
  size_t (*batch_max)(const void *state);
  size_t (*batch_work_len)(const void *state, size_t runs);
  /* Optional, with value_grad_batch (NULL: not batched). hv[j] = H(x[j]) v[j] for count
   * directions at once (count <= 2 batch_max), each bitwise hvp's whatever the others. The
   * batched engine's tangents use it. work: hvp_batch_work_len(count). */
  void (*hvp_batch)(const void *state, size_t count, const double *const *x,
                    const double *const *v, double *const *hv, double *work);
  size_t (*hvp_batch_work_len)(const void *state, size_t count);
  /* hv = H(x) v. */
  void (*hvp)(const void *state, const double *x, const double *v, double *hv, double *work);
  /* Slow part f0 of a multiscale objective; NULL means f0 = f. */
  double (*f0)(const void *state, const double *x, double *work);
  /* Variance of grad f1 over its fast phase (per coordinate); NULL means 0. */
  double (*sigma2)(const void *state);
  /* Removes from v its part along the directions in which f is constant through x because of
   * a continuous symmetry (mf: (X A, -Y A^T)), as a least-squares projection. NULL: none. */
  void (*project_symmetries)(const void *state, const double *x, double *v, double *work);
  /* Scratch doubles project_symmetries needs. */
  size_t (*symmetry_work_len)(const void *state);
} lz_objective;

/* Matrix-factorization diagnostics of a state. For other kinds only norm_x is set (||x||). */
typedef struct lz_state_stats {
  double norm_x;      /* ||X||_F */
  double norm_y;      /* ||Y||_F */
  double balance;     /* ||X^T X - Y^T Y||_F */
  double scalar_gap;  /* |x - y| when n = d = 1 */
} lz_state_stats;

typedef struct lz_problem lz_problem;

/* Creates a problem instance. target: see lz_objective.create. On success *out is owned by
 * the caller (free with lz_problem_destroy). */
int lz_problem_create(const lz_problem_params *pp, uint64_t seed, const double *target,
                      lz_problem **out, lz_err *err);
/* Teams (tiles.ranks_per_run, lrzoo/team.h). A team shares an instance whose kind can split
 * it: each member then holds rows [row0, row1) of its target, whole row chunks, and the
 * members compute every run of the tile together, bitwise as one rank alone would. Other
 * instances run on one member.
 *
 * The row chunks pp's instance splits into where a team may share it (at most that many
 * ranks), or 0 where it is never shared. */
size_t lz_problem_params_team_chunks(const lz_problem_params *pp);
/* 1 and the rows of member `member` of a team of `size` if the team shares pp's instance, 0 if
 * it does not (or cannot: more ranks than chunks). */
int lz_problem_params_team_rows(const lz_problem_params *pp, int size, int member,
                                int64_t *row0, int64_t *row1);
/* Creates member team->rank's part of a shared instance (see lz_problem_create; target_rows
 * holds the member's rows of a file target). The team must outlive the instance. */
int lz_problem_create_in_team(const lz_problem_params *pp, uint64_t seed,
                              const double *target_rows, const lz_team *team,
                              lz_problem **out, lz_err *err);
/* The team that shares p, or NULL. Its members must make every call on p in the same order,
 * from the thread that calls MPI, outside parallel regions of their own. */
const lz_team *lz_problem_team(const lz_problem *p);

/* Frees *p and sets it to NULL; accepts NULL. */
void lz_problem_destroy(lz_problem **p);

const lz_problem_params *lz_problem_params_of(const lz_problem *p);
size_t lz_problem_dim(const lz_problem *p);
/* The sizes of a built instance, and of one that has not been built (unknown kind: zeros). */
void lz_problem_sizes_of(const lz_problem *p, lz_problem_sizes *s);
void lz_problem_params_sizes(const lz_problem_params *pp, lz_problem_sizes *s);
/* Scratch doubles one evaluation (value, value_grad, hvp, f0, stats) needs. */
size_t lz_problem_work_len(const lz_problem *p);

double lz_problem_value(const lz_problem *p, const double *x, double *work);
double lz_problem_value_grad(const lz_problem *p, const double *x, double *g, double *work);
/* g and f, or a bound above f (*exact = 0) where the objective has a cheaper one
 * (lz_objective.grad_loss_bound). */
double lz_problem_grad_loss(const lz_problem *p, const double *x, double *g, double *work,
                            int *exact);
/* The function lz_problem_grad_loss calls and the state to call it with, for a loop that
 * calls it at every step. */
typedef double lz_grad_loss_fn(const void *state, const double *x, double *g, double *work);
const void *lz_problem_grad_loss_of(const lz_problem *p, lz_grad_loss_fn **fn);
/* Batched gradients (see lz_objective.value_grad_batch). lz_problem_batch_max is 1 for an
 * objective without them; the batch call then evaluates the runs one by one. */
size_t lz_problem_batch_max(const lz_problem *p);
size_t lz_problem_batch_work_len(const lz_problem *p, size_t runs);
void lz_problem_value_grad_batch(const lz_problem *p, size_t runs, const double *const *x,
                                 double *const *g, double *f, double *work);
void lz_problem_hvp(const lz_problem *p, const double *x, const double *v, double *hv,
                    double *work);
/* Batched Hessian-vector products (see lz_objective.hvp_batch); for an objective without
 * batches, lz_problem_hvp of each direction. */
size_t lz_problem_hvp_batch_work_len(const lz_problem *p, size_t count);
void lz_problem_hvp_batch(const lz_problem *p, size_t count, const double *const *x,
                          const double *const *v, double *const *hv, double *work);
double lz_problem_f0(const lz_problem *p, const double *x, double *work);
double lz_problem_sigma2(const lz_problem *p);
/* 1 if the objective has continuous symmetries that lz_problem_project_symmetries removes. */
int lz_problem_has_symmetries(const lz_problem *p);
size_t lz_problem_symmetry_work_len(const lz_problem *p);
void lz_problem_project_symmetries(const lz_problem *p, const double *x, double *v, double *work);
void lz_problem_state_stats(const lz_problem *p, const double *x, lz_state_stats *st);

/* 1 if each thread takes whole runs of this instance, 0 if runs go one after another and
 * parallelize inside the evaluation (large problems): from lz_problem_params_step_cost. */
int lz_runs_share_threads(const lz_problem_params *pp);

/* Groups of result fields (lrzoo/results.h) that only some kinds have: a kind's traits. */
enum {
  LZ_KIND_HAS_FACTORS = 1u << 0,    /* a state [X, Y] of factors: norms, balance, symmetries */
  LZ_KIND_HAS_SLOW_PART = 1u << 1,  /* f = f0 + f1 with a fast f1: f0, the Gibbs comparisons */
  LZ_KIND_HAS_FITTED_DATA = 1u << 2 /* fits data points that the file stores (/data) */
};
/* The LZ_KIND_HAS_* bits of a kind (0 for a kind lrzoo does not know). */
unsigned lz_problem_kind_traits(lz_problem_kind kind);

/* 1 if instance pp reads its target from a file, with the file, the dataset and the n x n
 * shape it must have; 0 otherwise (the outputs are then left alone). */
int lz_problem_params_target_file(const lz_problem_params *pp, const char **path,
                                  const char **dataset, int64_t *n);

/* The data an mlp instance fits: x (points inputs, increasing for grid sampling) and
 * y = g0(x) + amplitude sin(x / eps). Deterministic in pp (random inputs from pp->seed). */
void lz_mlp_data(const lz_problem_params *pp, double *x, double *y);
/* The weight q_i of each data point in the loss: the listed weights, or 1 / m each. */
void lz_mlp_data_weights(const lz_problem_params *pp, double *q);

#endif
