#include "lrzoo/results.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lrzoo/gd.h"
#include "lrzoo/lanczos.h"

/* Above this many flops per GD step an objective parallelizes inside the evaluation, so the
 * runs of a tile go one after another; below it, each thread takes whole runs. Either way a
 * run's arithmetic is the same, so the choice never changes a result. */
#define LZ_INNER_PARALLEL_FLOPS 1.0e6

size_t lz_run_work_len(const lz_problem *p) {
  size_t dim = lz_problem_dim(p);
  size_t gd = lz_gd_work_len(p), sh = lz_sharpness_work_len(p);
  return dim + (gd > sh ? gd : sh);
}

static void fill_not_recorded(double *row, int64_t len) {
  for (int64_t k = 0; k < len; ++k) row[k] = NAN;
}

static lz_status status_of_gd_end(lz_gd_end end) {
  switch (end) {
    case LZ_GD_CONVERGED: return LZ_STATUS_CONVERGED;
    case LZ_GD_DIVERGED: return LZ_STATUS_DIVERGED;
    case LZ_GD_MAX_ITER: return LZ_STATUS_UNDETERMINED;
  }
  return LZ_STATUS_UNDETERMINED;
}

int lz_run_one(const lz_job *job, const lz_problem *p, int64_t r, lz_run_result *res,
               double *const *trace_rows, double *work, const volatile sig_atomic_t *cancel,
               lz_err *err) {
  const lz_problem_params *pp = lz_problem_params_of(p);
  const size_t dim = lz_problem_dim(p);
  const int64_t K = lz_job_trace_len(job);
  double *x = work, *scratch = work + dim;
  size_t idx[LZ_MAX_AXES];

  memset(res, 0, sizeof *res);
  for (int t = 0; t < LZ_TRACE_COUNT; ++t) fill_not_recorded(trace_rows[t], K);
  lz_job_run_coords(job, r, idx);
  if (lz_job_initial_point(job, idx, pp, x) != LZ_OK)
    return lz_err_set(err, LZ_EINVAL, "run %lld: the initial point does not match the problem's "
                      "dimension %zu", (long long)r, dim);

  lz_lanczos_result lres;
  int rc = lz_sharpness(p, x, job->seed, &lres, scratch);
  if (rc != LZ_OK)
    return lz_err_set(err, rc, "run %lld: the Hessian at the initial point is not finite",
                      (long long)r);
  res->sharpness_init = lres.lambda;

  double lr = lz_job_lr_value(job, idx);
  if (job->lr.relative_to == LZ_LR_TWO_OVER_L) {
    if (!(lres.lambda > 0)) {
      /* No step size is defined where the largest curvature is not positive. */
      res->status = LZ_STATUS_UNDETERMINED;
      res->h = 0.0;
      res->loss = lz_problem_value(p, x, scratch);
      return LZ_OK;
    }
    res->h = lr * 2.0 / lres.lambda;
  } else {
    res->h = lr;
  }

  lz_gd_params gp = {res->h, job->run.max_iter, job->run.tol_grad, job->run.diverge_above,
                     job->run.record_every, cancel};
  lz_gd_outcome out;
  rc = lz_gd_run(p, &gp, x, trace_rows[LZ_TRACE_LOSS], &out, scratch);
  if (rc == LZ_ESTOPPED) return lz_err_set(err, rc, "run %lld: dropped by a second signal", (long long)r);
  if (rc != LZ_OK) return lz_err_set(err, rc, "run %lld: gradient descent failed", (long long)r);

  res->status = (int8_t)status_of_gd_end(out.end);
  res->iterations = out.iterations;
  res->loss = out.loss;
  res->grad_norm = out.grad_norm;
  res->trace_len = out.records;
  res->f0 = lz_problem_f0(p, x, scratch);
  lz_state_stats st;
  lz_problem_state_stats(p, x, &st);
  res->norm_x = st.norm_x;
  res->norm_y = st.norm_y;
  res->balance = st.balance;
  res->scalar_gap = st.scalar_gap;
  return LZ_OK;
}

static int run_tile_runs(const lz_job *job, const lz_problem *p, lz_tile_result *out,
                         int parallel_runs, const lz_tile_hooks *hooks, lz_err *err) {
  const int64_t K = out->trace_len;
  const size_t wlen = lz_run_work_len(p);
  const volatile sig_atomic_t *cancel = hooks ? hooks->cancel : NULL;
  int64_t failed_run = -1;
  lz_err first = {0, ""};

#pragma omp parallel if (parallel_runs)
  {
    double *work = malloc(wlen * sizeof *work);
    int calls_hooks = omp_get_thread_num() == 0 && hooks && hooks->between_runs;
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < out->count; ++i) {
      if (cancel && *cancel) continue;  /* a second signal: drop what is left */
      double *rows[LZ_TRACE_COUNT];
      for (int t = 0; t < LZ_TRACE_COUNT; ++t) rows[t] = out->trace[t] + i * K;
      lz_err e = {0, ""};
      int rc = work ? lz_run_one(job, p, out->r0 + i, &out->runs[i], rows, work, cancel, &e)
                    : lz_err_set(&e, LZ_ENOMEM, "cannot allocate %zu doubles of scratch", wlen);
      if (rc != LZ_OK) {
#pragma omp critical(lz_tile_error)
        if (failed_run < 0 || out->r0 + i < failed_run) {
          failed_run = out->r0 + i;
          first = e;
        }
      }
      if (calls_hooks) hooks->between_runs(hooks->ctx);
    }
    free(work);
  }
  if (cancel && *cancel)
    return lz_err_set(err, LZ_ESTOPPED, "dropped by a second signal");
  if (failed_run >= 0) {
    *err = first;
    return err->code;
  }
  return LZ_OK;
}

int lz_run_tile(const lz_job *job, const lz_problem *p, int64_t tile, const lz_tile_hooks *hooks,
                lz_tile_result *out, lz_err *err) {
  lz_job_tile_runs(job, tile, &out->r0, &out->count);
  out->tile = tile;
  int parallel_runs = lz_problem_params_step_cost(lz_problem_params_of(p)) < LZ_INNER_PARALLEL_FLOPS;
  int rc = run_tile_runs(job, p, out, parallel_runs, hooks, err);
  if (rc != LZ_OK) lz_err_prefix(err, "tile %lld: ", (long long)tile);
  return rc;
}
