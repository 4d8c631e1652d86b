/* One run from its initial point to its classification, and the tiles that group runs. */
#include "lrzoo/results.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lrzoo/analysis.h"
#include "lrzoo/gd.h"
#include "lrzoo/gd_lanes.h"
#include "lrzoo/lanczos.h"
#include "lrzoo/measure.h"


/* A batch of runs holds every run's own scratch at once (state, orbit ring, tangents): it
 * takes fewer runs than the objective could where that would pass this many bytes a thread. */
#define LZ_BATCH_OWN_BYTES (64.0 * 1024 * 1024)

/* Scratch of one run, carved out of one buffer (sizes: run_layout_of). Everything before
 * `own` is the run's for as long as it lives; the Lanczos scratch after it serves one
 * sharpness computation at a time, so the runs of a batch share one. */
typedef struct run_layout {
  size_t x, x0, ring, tangent[2], gd, modeq, own, lanczos, total;
} run_layout;

static int wants_orbit(const lz_job *job) { return job->analyze.orbit.max_period > 0; }
static int wants_lyapunov(const lz_job *job) { return job->analyze.lyapunov.iters > 0; }
static int wants_modeq(const lz_job *job) { return job->analyze.modified_equation.orders != 0; }

static run_layout layout_for(const lz_job *job, const lz_problem_sizes *s) {
  size_t dim = s->dim, at = 0;
  run_layout l;
  l.x = at, at += dim;
  l.x0 = at, at += dim;
  l.ring = at, at += wants_orbit(job) ? lz_orbit_ring_len(dim, job->analyze.orbit.max_period) : 0;
  for (int i = 0; i < 2; ++i) l.tangent[i] = at, at += wants_lyapunov(job) ? lz_tangent_len_for(s) : 0;
  l.gd = at, at += lz_gd_work_len_for(s);
  l.modeq = at, at += wants_modeq(job) ? lz_modeq_work_len_for(s) : 0;
  l.own = at;
  l.lanczos = at, at += lz_sharpness_work_len_for(s);
  l.total = at;
  return l;
}

static run_layout run_layout_of(const lz_job *job, const lz_problem *p) {
  lz_problem_sizes s;
  lz_problem_sizes_of(p, &s);
  return layout_for(job, &s);
}

size_t lz_run_work_len(const lz_job *job, const lz_problem *p) {
  return run_layout_of(job, p).total;
}

static void fill_not_recorded(double *row, int64_t len) {
  for (int64_t k = 0; k < len; ++k) row[k] = NAN;
}

/* What the file holds where nothing was written: NaN for values, 0 for counts. */
static void fill_row(void *row, lz_array_id a, int64_t len) {
  if (lz_array_descs[a].type == LZ_DT_UINT64)
    memset(row, 0, (size_t)len * sizeof(uint64_t));
  else
    fill_not_recorded(row, len);
}

/* ---- classification ---------------------------------------------------------------------- */

typedef struct run_analysis {
  lz_orbit_ring ring;
  lz_tangent tangent[2];     /* [0] the full exponent, [1] transverse to the symmetry (mf) */
  int have_ring, have_tangents, transverse;
} run_analysis;

static void classify_bounded_run(const lz_job *job, run_analysis *an, lz_run_result *res) {
  if (an->have_ring) {
    lz_orbit_period op = lz_orbit_find_period(&an->ring, job->analyze.orbit.max_period,
                                              job->analyze.orbit.tol);
    res->recurrence = isfinite(op.residual) ? op.residual : 0.0;
    if (op.period >= 2) {
      res->status = LZ_STATUS_PERIODIC;
      res->period = op.period;
      return;
    }
    if (op.period == 1) {
      res->status = LZ_STATUS_UNDETERMINED;
      res->reason = LZ_REASON_STALLED;
      return;
    }
  }
  res->status = LZ_STATUS_UNDETERMINED;
  if (an->have_tangents && lz_tangent_averaged(&an->tangent[0]) > 0) {
    if (res->lyapunov > job->analyze.lyapunov.threshold) {
      res->status = LZ_STATUS_CHAOTIC;
      return;
    }
    res->reason = LZ_REASON_NEITHER;
    return;
  }
  res->reason = an->have_ring ? LZ_REASON_NO_EXPONENT : LZ_REASON_NOT_ANALYZED;
}

/* The orbit of a periodic run, oldest point first: x_(K-p+1), ..., x_K. */
static void store_orbit_points(const run_analysis *an, const lz_run_result *res, double *row,
                               lz_array_shape shape) {
  fill_not_recorded(row, lz_array_shape_size(shape));
  if (res->status != LZ_STATUS_PERIODIC) return;
  for (int64_t i = 0; i < res->period; ++i) {
    const double *pt = lz_orbit_ring_back(&an->ring, res->period - 1 - i);
    memcpy(row + i * shape.len[1], pt, an->ring.dim * sizeof *pt);
  }
}

/* ---- one run ------------------------------------------------------------------------------ */

/* Only a run that reaches max_iter is checked for a period, on its last 2 max_period iterates:
 * the ring keeps the iterates from this step on. */
static int64_t first_ring_step(const lz_job *job) {
  return job->run.max_iter - 2 * job->analyze.orbit.max_period + 1;
}

/* The Lyapunov window ends with the run: it covers the last transient + iters steps. */
static int64_t first_tangent_step(const lz_job *job) {
  int64_t from = job->run.max_iter - job->analyze.lyapunov.transient - job->analyze.lyapunov.iters;
  return from > 0 ? from : 0;
}

static lz_gd_params gd_params_of(const lz_job *job, double h,
                                 const volatile sig_atomic_t *cancel) {
  lz_gd_params gp = {h, job->run.max_iter, job->run.tol_grad, job->run.diverge_above,
                     job->run.record_every, cancel};
  return gp;
}

static void start_analysis(const lz_job *job, const lz_problem *p, const run_layout *l,
                           double *work, double *lanczos, run_analysis *an,
                           lz_gd_observers *obs) {
  memset(an, 0, sizeof *an);
  memset(obs, 0, sizeof *obs);
  size_t dim = lz_problem_dim(p);
  if (wants_orbit(job)) {
    lz_orbit_ring_init(&an->ring, dim, job->analyze.orbit.max_period, work + l->ring);
    an->have_ring = 1;
    obs->ring = &an->ring;
    obs->ring_from = first_ring_step(job);
  }
  if (wants_lyapunov(job)) {
    int64_t T = job->analyze.lyapunov.transient, N = job->analyze.lyapunov.iters;
    an->have_tangents = 1;
    an->transverse = lz_problem_has_symmetries(p);
    for (int i = 0; i < 1 + an->transverse; ++i) {
      lz_tangent_init(&an->tangent[i], p, job->seed, T, N, i == 1, work + l->tangent[i]);
      obs->tangents[i] = &an->tangent[i];
    }
    obs->tangent_from = first_tangent_step(job);
  }
  obs->lanczos_work = lanczos;
  obs->seed = job->seed;
}

/* A converged run sits at its fixed point: its exponents are those of the linearization there,
 * found by iterating the tangent maps at that point until their growth settles. */
static void finish_tangents_at(run_analysis *an, const lz_problem *p, const double *x, double h,
                               double *pwork) {
  for (int i = 0; i < 1 + an->transverse; ++i) lz_tangent_settle_at(&an->tangent[i], p, x, h, pwork);
}

static void record_exponents(const run_analysis *an, lz_run_result *res) {
  res->lyapunov_steps = lz_tangent_averaged(&an->tangent[0]);
  res->lyapunov = lz_tangent_exponent(&an->tangent[0]);
  res->lyapunov_transverse = an->transverse ? lz_tangent_exponent(&an->tangent[1]) : NAN;
}

/* Run r's initial point into x. */
static int initial_point_of(const lz_job *job, const lz_problem *p, int64_t r, double *x,
                            lz_err *err) {
  size_t idx[LZ_MAX_AXES];
  lz_job_run_coords(job, r, idx);
  if (lz_job_initial_point(job, idx, lz_problem_params_of(p), x) != LZ_OK)
    return lz_err_set(err, LZ_EINVAL, "run %lld: the initial point does not match the problem's "
                      "dimension %zu", (long long)r, lz_problem_dim(p));
  return LZ_OK;
}

/* sharpness_init and h from the sharpness L at the start (lrc and lres as lz_sharpness's);
 * LZ_ENUMERIC where the start already overflows: the run has left the bounded region before
 * its first step, and h stays without a value (NaN) when it was to come from L. */
static int step_from_sharpness(const lz_job *job, int64_t r, int lrc,
                               const lz_lanczos_result *lres, lz_run_result *res) {
  size_t idx[LZ_MAX_AXES];
  lz_job_run_coords(job, r, idx);
  double lr = lz_job_lr_value(job, idx);
  if (lrc != LZ_OK || !isfinite(lres->lambda)) {
    res->sharpness_init = NAN;
    res->h = job->lr.relative_to == LZ_LR_TWO_OVER_L ? NAN : lr;
    return LZ_ENUMERIC;
  }
  res->sharpness_init = lres->lambda;
  res->h = job->lr.relative_to == LZ_LR_TWO_OVER_L ? lr * 2.0 / lres->lambda : lr;
  return LZ_OK;
}

/* NaN is the file's "no value"; a statistic of a state too large to represent has none. */
static double finite_or_no_value(double v) { return isfinite(v) ? v : NAN; }

static void record_state_stats(const lz_problem *p, const double *x, lz_run_result *res) {
  lz_state_stats st;
  lz_problem_state_stats(p, x, &st);
  res->norm_x = finite_or_no_value(st.norm_x);
  res->norm_y = finite_or_no_value(st.norm_y);
  res->balance = finite_or_no_value(st.balance);
  res->scalar_gap = finite_or_no_value(st.scalar_gap);
}

/* A start whose f, gradient or Hessian is not finite: diverged at step 0, and no value is
 * recorded but those of the start that are finite. */
static void record_divergence_at_start(const lz_problem *p, const double *x, double *pwork,
                                       lz_run_result *res) {
  res->status = LZ_STATUS_DIVERGED;
  res->iterations = 0;
  double f = lz_problem_value(p, x, pwork);
  res->loss = isfinite(f) ? f : NAN;
  res->grad_norm = NAN;
  res->sharpness_h = NAN;
  res->f0 = NAN;
  record_state_stats(p, x, res);
}

/* The final state's diagnostics, its sharpness given (lrc and lres as lz_sharpness's). */
static void describe_final_state(const lz_problem *p, const double *x, double *lanczos_work,
                                 int lrc, const lz_lanczos_result *given, lz_run_result *res) {
  const lz_lanczos_result lres = *given;
  if (lrc == LZ_OK) {
    res->sharpness_final = finite_or_no_value(lres.lambda);
    res->sharpness_h = finite_or_no_value(lres.lambda * res->h);
  }
  res->f0 = finite_or_no_value(lz_problem_f0(p, x, lanczos_work));
  record_state_stats(p, x, res);
}

/* A run between its start and its descent: what lz_run_one sets up before GD and uses after
 * it. The observers point into it, so it stays where it is until the run is finished. */
typedef struct run_state {
  run_layout l;
  double *work, *x, *pwork, *lanczos;
  run_analysis an;
  lz_gd_observers obs;
  lz_gd_params gp;
  lz_array_shape shapes[LZ_ARRAY_COUNT];
  int descends;  /* 0: the run has its result already (out of bounds at the start, no step) */
  const double *drift;  /* the modified-equation drifts, if an engine computed them already */
} run_state;

/* A run's start up to its sharpness: the scratch, the result's defaults, the initial point. */
static int prepare_run(const lz_job *job, const lz_problem *p, int64_t r, lz_run_result *res,
                       void *const *rows, double *work, double *lanczos, run_state *rs,
                       lz_err *err) {
  const size_t dim = lz_problem_dim(p);
  rs->l = run_layout_of(job, p);
  rs->work = work;
  rs->lanczos = lanczos;
  rs->x = work + rs->l.x;
  rs->pwork = work + rs->l.gd + 2 * dim;
  rs->descends = 0;
  rs->drift = NULL;

  memset(res, 0, sizeof *res);
  res->sharpness_final = res->sharpness_h = NAN;
  res->lyapunov = res->lyapunov_transverse = NAN;
  for (int k = 0; k < LZ_MODEQ_ORDERS; ++k) res->drift[k] = NAN;
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    rs->shapes[a] = lz_job_array_shape(job, (lz_array_id)a);
    if (rows[a]) fill_row(rows[a], (lz_array_id)a, lz_array_shape_size(rs->shapes[a]));
  }
  res->im.outside_fraction = res->im.sample_variance = NAN;
  return initial_point_of(job, p, r, rs->x, err);
}

/* The rest of the start, from the sharpness at x0 (lrc and lres as lz_sharpness's): h and the
 * analyses; or the run's result already, out of bounds at the start or without a step. */
static void start_run_from(const lz_job *job, const lz_problem *p, int64_t r, lz_run_result *res,
                           void *const *rows, double *final_state, int lrc,
                           const lz_lanczos_result *lres, const volatile sig_atomic_t *cancel,
                           run_state *rs) {
  const size_t dim = lz_problem_dim(p);
  double *work = rs->work;
  if (step_from_sharpness(job, r, lrc, lres, res) == LZ_ENUMERIC) {
    record_divergence_at_start(p, rs->x, rs->pwork, res);
    return;
  }
  if (!(res->h > 0) || !isfinite(res->h)) {
    /* No step size is defined where the largest curvature is not positive. */
    res->status = LZ_STATUS_UNDETERMINED;
    res->reason = LZ_REASON_NO_STEP;
    res->h = 0.0;
    res->loss = lz_problem_value(p, rs->x, rs->pwork);
    return;
  }
  memcpy(work + rs->l.x0, rs->x, dim * sizeof *rs->x);
  if (final_state) memcpy(final_state, rs->x, dim * sizeof *rs->x);

  start_analysis(job, p, &rs->l, work, rs->lanczos, &rs->an, &rs->obs);
  if (rows[LZ_ARRAY_SHARPNESS]) {
    rs->obs.sharpness = rows[LZ_ARRAY_SHARPNESS];
    rs->obs.sharpness_every = job->analyze.sharpness.every;
  }
  if (rows[LZ_ARRAY_X]) {
    rs->obs.x_trace = rows[LZ_ARRAY_X];
    rs->obs.x_coords = job->run.record_x;
    rs->obs.x_every = job->run.record_every;
  }
  rs->gp = gd_params_of(job, res->h, cancel);
  rs->descends = 1;
}

/* Everything before the first GD step: the start, h, the analyses. */
static int start_run(const lz_job *job, const lz_problem *p, int64_t r, lz_run_result *res,
                     void *const *rows, double *final_state, double *work, double *lanczos,
                     const volatile sig_atomic_t *cancel, run_state *rs, lz_err *err) {
  int rc = prepare_run(job, p, r, res, rows, work, lanczos, rs, err);
  if (rc != LZ_OK) return rc;
  lz_lanczos_result lres;
  int lrc = lz_sharpness(p, rs->x, job->seed, &lres, rs->lanczos);
  start_run_from(job, p, r, res, rows, final_state, lrc, &lres, cancel, rs);
  return LZ_OK;
}

/* After GD: the classification and the analyses of the final state, whose sharpness is given
 * (lrc and lres as lz_sharpness's at rs->x). */
static void finish_run_from(const lz_job *job, const lz_problem *p, lz_run_result *res,
                            void *const *rows, double *final_state, run_state *rs,
                            const lz_gd_outcome *descent, int lrc,
                            const lz_lanczos_result *lres) {
  const size_t dim = lz_problem_dim(p);
  const lz_gd_outcome out = *descent;
  double *x = rs->x, *work = rs->work;
  run_analysis *an = &rs->an;
  res->iterations = out.iterations;
  res->loss = out.loss;
  res->grad_norm = out.grad_norm;
  res->trace_len = out.records;
  res->sharpness_len = rs->obs.sharpness_records;
  if (an->have_tangents) {
    if (out.end == LZ_GD_CONVERGED) finish_tangents_at(an, p, x, res->h, rs->pwork);
    record_exponents(an, res);
  }
  switch (out.end) {
    case LZ_GD_CONVERGED: res->status = LZ_STATUS_CONVERGED; break;
    case LZ_GD_DIVERGED: res->status = LZ_STATUS_DIVERGED; break;
    case LZ_GD_MAX_ITER: classify_bounded_run(job, an, res); break;
  }
  if (rows[LZ_ARRAY_ORBIT])
    store_orbit_points(an, res, rows[LZ_ARRAY_ORBIT], rs->shapes[LZ_ARRAY_ORBIT]);
  describe_final_state(p, x, rs->lanczos, lrc, lres, res);
  if (final_state) memcpy(final_state, x, dim * sizeof *x);
  if (wants_modeq(job) && rs->drift)
    memcpy(res->drift, rs->drift, sizeof res->drift);
  else if (wants_modeq(job))
    lz_modeq_drift(p, work + rs->l.x0, res->h, job->analyze.modified_equation.steps,
                   job->analyze.modified_equation.substeps, job->analyze.modified_equation.orders,
                   res->drift, work + rs->l.modeq);
}

static void finish_run(const lz_job *job, const lz_problem *p, lz_run_result *res,
                       void *const *rows, double *final_state, run_state *rs,
                       const lz_gd_outcome *descent) {
  lz_lanczos_result lres;
  int lrc = lz_sharpness(p, rs->x, job->seed, &lres, rs->lanczos);
  finish_run_from(job, p, res, rows, final_state, rs, descent, lrc, &lres);
}

/* GD from where `from` says (step 0, or where the lanes engine left the run), then
 * finish_run. */
static int descend_and_finish(const lz_job *job, const lz_problem *p, int64_t r,
                              lz_run_result *res, void *const *rows, double *final_state,
                              run_state *rs, const lz_gd_resume *from, lz_err *err) {
  lz_gd_outcome out;
  int rc = lz_gd_continue(p, &rs->gp, from, rs->x, rows[LZ_ARRAY_LOSS], &out,
                          rs->work + rs->l.gd, &rs->obs);
  if (rc == LZ_ESTOPPED) return lz_err_set(err, rc, "run %lld: dropped by a second signal", (long long)r);
  if (rc != LZ_OK) return lz_err_set(err, rc, "run %lld: gradient descent failed", (long long)r);
  finish_run(job, p, res, rows, final_state, rs, &out);
  return LZ_OK;
}

int lz_run_one(const lz_job *job, const lz_problem *p, int64_t r, lz_run_result *res,
               void *const *rows, double *final_state, double *work,
               const volatile sig_atomic_t *cancel, lz_err *err) {
  run_state rs;
  int rc = start_run(job, p, r, res, rows, final_state, work, work + run_layout_of(job, p).lanczos,
                     cancel, &rs, err);
  if (rc != LZ_OK) return rc;
  res->engine = LZ_ENGINE_PER_RUN;
  if (!rs.descends) return LZ_OK;
  const lz_gd_resume from_the_start = {0, NULL, 0};
  return descend_and_finish(job, p, r, res, rows, final_state, &rs, &from_the_start, err);
}

/* ---- tiles -------------------------------------------------------------------------------- */

/* Whether the lanes engine takes this job's runs: every small problem, whole runs with every
 * analysis, unless the job asks for the per-run engine (run.engine). */
static int lanes_take(const lz_job *job, const lz_problem *p, lz_lanes_problem *m) {
  return job->run.engine == LZ_RUN_ENGINE_AUTO && lz_gd_lanes_problem(p, m);
}

/* Where run i of the tile writes: its result rows and, when the tile samples, its final state. */
typedef struct run_slot {
  void *rows[LZ_ARRAY_COUNT];
  double *final_state;
} run_slot;

static run_slot run_slot_of(lz_tile_result *out, double *final_states, size_t dim, int64_t i) {
  run_slot s;
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) s.rows[a] = lz_tile_row(out, (lz_array_id)a, i);
  s.final_state = final_states ? final_states + i * (int64_t)dim : NULL;
  return s;
}

typedef struct tile_error {
  int64_t run;  /* the first run that failed, or -1 */
  lz_err err;
} tile_error;

static void note_failure(tile_error *te, int64_t r, const lz_err *e) {
#pragma omp critical(lz_tile_error)
  if (te->run < 0 || r < te->run) {
    te->run = r;
    te->err = *e;
  }
}

/* The tile's end: stopped by a second signal, or the first run that failed, or LZ_OK. */
static int tile_outcome(const tile_error *te, const volatile sig_atomic_t *cancel, lz_err *err) {
  if (cancel && *cancel) return lz_err_set(err, LZ_ESTOPPED, "dropped by a second signal");
  if (te->run < 0) return LZ_OK;
  *err = te->err;
  return err->code;
}

/* Lane l's part of the block: its start, its traces and the observers the engine keeps. */
static void put_run_in_lane(lz_lanes *lanes, int l, const run_state *rs, const run_slot *slot,
                            int dim) {
  lanes->h[l] = rs->gp.h;
  for (int c = 0; c < dim; ++c) lanes->x[c][l] = rs->x[c];
  lanes->trace[l] = slot->rows[LZ_ARRAY_LOSS];
  lanes->x_trace[l] = rs->obs.x_trace;
  lanes->sharpness[l] = rs->obs.sharpness;
  lanes->lanczos_work = rs->obs.lanczos_work;  /* any run's: the lanes take turns */
  lanes->ring[l] = rs->obs.ring;
  lanes->ring_from = rs->obs.ring_from;
  lanes->tangents = rs->obs.tangents[1] ? 2 : rs->obs.tangents[0] ? 1 : 0;
  lanes->tangent[0][l] = rs->obs.tangents[0];
  lanes->tangent[1][l] = rs->obs.tangents[1];
  lanes->tangent_from = rs->obs.tangent_from;
}

/* Where the engine left lane l: the state, the step and the records, for lz_gd_continue. */
static lz_gd_resume take_run_from_lane(const lz_lanes *lanes, int l, run_state *rs,
                                       double *prev, int dim) {
  for (int c = 0; c < dim; ++c) {
    rs->x[c] = lanes->x[c][l];
    prev[c] = lanes->px[c][l];
  }
  rs->obs.x_records = lanes->x_records[l];
  rs->obs.sharpness_records = lanes->sharpness_records[l];
  return (lz_gd_resume){lanes->step[l], prev, lanes->records[l]};
}

/* Runs i0 .. i0 + count - 1 of the tile: each is started, the lanes engine takes them all
 * together (their modified-equation drifts first, from the starts), then each finishes on its
 * own from where its lane stopped. */
static void run_block_in_lanes(const lz_job *job, const lz_problem *p, lz_tile_result *out,
                               int64_t i0, int count, const lz_lanes_problem *m,
                               double *final_states, double *works, size_t wlen,
                               run_state *states, lz_lanes *lanes,
                               const volatile sig_atomic_t *cancel, tile_error *te) {
  const size_t dim = lz_problem_dim(p), lanczos_at = run_layout_of(job, p).lanczos;
  int lane_of[LZ_LANES];
  static _Thread_local double drift[3][LZ_LANES];
  lanes->count = 0;
  lanes->tangents = 0;
  for (int j = 0; j < count; ++j) {
    int64_t i = i0 + j;
    run_slot slot = run_slot_of(out, final_states, dim, i);
    lz_err e = {0, ""};
    lane_of[j] = -1;
    double *work = works + j * wlen;
    if (start_run(job, p, out->r0 + i, &out->runs[i], slot.rows, slot.final_state, work,
                  work + lanczos_at, cancel, &states[j], &e) != LZ_OK) {
      note_failure(te, out->r0 + i, &e);
      continue;
    }
    out->runs[i].engine = LZ_ENGINE_LANES;
    if (!states[j].descends) continue;
    lane_of[j] = lanes->count++;
    put_run_in_lane(lanes, lane_of[j], &states[j], &slot, m->dim);
  }
  lanes->x_coords = job->run.record_x;
  lanes->sharpness_every = job->analyze.sharpness.every;
  lanes->seed = job->seed;
  if (lanes->count == 0) return;
  if (wants_modeq(job)) {
    lz_gd_lanes_drift(m, lanes, job->analyze.modified_equation.steps,
                      job->analyze.modified_equation.substeps,
                      job->analyze.modified_equation.orders, drift);
  }
  const lz_gd_params gp = gd_params_of(job, 0.0, cancel);  /* each lane has its own h */
  if (lz_gd_lanes_advance(m, &gp, job->run.max_iter, lanes) == LZ_ESTOPPED) return;
  static _Thread_local double given[LZ_LANES][3];
  for (int j = 0; j < count; ++j) {
    int l = lane_of[j];
    if (l < 0) continue;
    int64_t i = i0 + j;
    run_slot slot = run_slot_of(out, final_states, dim, i);
    double prev[LZ_LANES_MAX_DIM];
    const lz_gd_resume from = take_run_from_lane(lanes, l, &states[j], prev, m->dim);
    if (wants_modeq(job)) {
      for (int k = 0; k < 3; ++k) given[l][k] = drift[k][l];
      states[j].drift = given[l];
    }
    lz_err e = {0, ""};
    if (descend_and_finish(job, p, out->r0 + i, &out->runs[i], slot.rows, slot.final_state,
                           &states[j], &from, &e) != LZ_OK)
      note_failure(te, out->r0 + i, &e);
  }
}

/* The tile's runs through the lanes engine, LZ_LANES at a time, blocks spread over threads. */
static int run_tile_in_lanes(const lz_job *job, const lz_problem *p, lz_tile_result *out,
                             const lz_lanes_problem *m, const lz_tile_hooks *hooks,
                             double *final_states, lz_err *err) {
  const size_t wlen = lz_run_work_len(job, p);
  const volatile sig_atomic_t *cancel = hooks ? hooks->cancel : NULL;
  const int64_t blocks = (out->count + LZ_LANES - 1) / LZ_LANES;
  tile_error te = {-1, {0, ""}};
#pragma omp parallel
  {
    double *works = malloc((size_t)LZ_LANES * wlen * sizeof *works);
    run_state *states = malloc(LZ_LANES * sizeof *states);
    lz_lanes *lanes = malloc(sizeof *lanes);
    int calls_hooks = omp_get_thread_num() == 0 && hooks && hooks->between_runs;
#pragma omp for schedule(dynamic, 1)
    for (int64_t b = 0; b < blocks; ++b) {
      if (cancel && *cancel) continue;  /* a second signal: drop what is left */
      int64_t i0 = b * LZ_LANES;
      int count = (int)(out->count - i0 < LZ_LANES ? out->count - i0 : LZ_LANES);
      if (works && states && lanes) {
        run_block_in_lanes(job, p, out, i0, count, m, final_states, works, wlen, states,
                           lanes, cancel, &te);
      } else {
        lz_err e = {0, ""};
        lz_err_set(&e, LZ_ENOMEM, "cannot allocate scratch for %d runs at once", LZ_LANES);
        note_failure(&te, out->r0 + i0, &e);
      }
      if (calls_hooks) hooks->between_runs(hooks->ctx);
    }
    free(works);
    free(states);
    free(lanes);
  }
  return tile_outcome(&te, cancel, err);
}

/* ---- batches: objectives whose gradients are evaluated for many runs at once ----------- */

/* The sharpness computations of a batch (at its runs' starts and ends) advance LANCZOS_GROUP
 * runs' Lanczos together, as many as LZ_LANCZOS_GROUP_BYTES of their scratch hold: their
 * Hessian-vector products then go through one batched product, where alone each would stream
 * the target on its own. */
#define LZ_LANCZOS_GROUP_BYTES (64.0 * 1024 * 1024)

static size_t lanczos_group_for(const run_layout *l, size_t runs) {
  double fit = floor(LZ_LANCZOS_GROUP_BYTES / (8.0 * (double)(l->total - l->lanczos)));
  size_t g = fit >= 1.0 ? (size_t)fit : 1;
  return g < runs ? g : runs;
}

/* What a thread holds to take up to `runs` runs in one batch: each run's own scratch, the
 * Lanczos scratch of a group of runs (the first also serves the runs' sharpness traces), and
 * the batched engine's. */
typedef struct batch_buffers {
  size_t runs, own, group, lanczos_len;
  double *own_work, *lanczos, *engine;
  run_state *states;
  lz_gd_batch_run *batch;
  int64_t *index;
} batch_buffers;

static size_t batch_engine_len(const lz_job *job, const lz_problem *p, size_t runs,
                               size_t group) {
  size_t engine = lz_gd_batch_work_len(p, runs, wants_lyapunov(job));
  size_t sharpness = lz_problem_hvp_batch_work_len(p, group);
  return engine > sharpness ? engine : sharpness;
}

static size_t batch_thread_len_for(const run_layout *l, size_t runs, size_t group,
                                   size_t engine_len) {
  return runs * l->own + group * (l->total - l->lanczos) + engine_len;
}

static int open_batch_buffers(const lz_job *job, const lz_problem *p, size_t runs,
                              batch_buffers *b) {
  run_layout l = run_layout_of(job, p);
  memset(b, 0, sizeof *b);
  b->runs = runs;
  b->own = l.own;
  b->group = lanczos_group_for(&l, runs);
  b->lanczos_len = l.total - l.lanczos;
  size_t engine = batch_engine_len(job, p, runs, b->group);
  b->own_work = malloc(batch_thread_len_for(&l, runs, b->group, engine) * sizeof *b->own_work);
  b->states = malloc(runs * sizeof *b->states);
  b->batch = malloc(runs * sizeof *b->batch);
  b->index = malloc(runs * sizeof *b->index);
  if (!b->own_work || !b->states || !b->batch || !b->index) return LZ_ENOMEM;
  b->lanczos = b->own_work + runs * l.own;
  b->engine = b->lanczos + b->group * b->lanczos_len;
  return LZ_OK;
}

static void close_batch_buffers(batch_buffers *b) {
  free(b->own_work);
  free(b->states);
  free(b->batch);
  free(b->index);
}

/* lz_sharpness at the states x[0..count) (runs' own x), a group at a time. */
static void sharpness_of_batch(const lz_job *job, const lz_problem *p, batch_buffers *b,
                               size_t count, const double *const *x, lz_lanczos_result *res,
                               int *rc) {
  const size_t g = b->group;
  double *works[g];
  for (size_t k = 0; k < g; ++k) works[k] = b->lanczos + k * b->lanczos_len;
  for (size_t j = 0; j < count; j += g) {
    size_t n = count - j < g ? count - j : g;
    lz_sharpness_many(p, n, x + j, job->seed, res + j, rc + j, works, b->engine);
  }
}

/* Runs i0 .. i0 + count - 1 of the tile: each is prepared, their sharpness at the start taken
 * together, the batched engine descends them together, their final sharpness is taken
 * together, then each is finished. */
static void run_block_in_batch(const lz_job *job, const lz_problem *p, lz_tile_result *out,
                               int64_t i0, size_t count, double *final_states, batch_buffers *b,
                               const volatile sig_atomic_t *cancel, const lz_gd_poll *poll,
                               tile_error *te) {
  const size_t dim = lz_problem_dim(p);
  const double *xs[count];
  lz_lanczos_result lres[count];
  int lrc[count];
  int64_t prepared[count];
  size_t np = 0;
  for (size_t j = 0; j < count; ++j) {
    int64_t i = i0 + (int64_t)j;
    run_slot slot = run_slot_of(out, final_states, dim, i);
    run_state *rs = &b->states[np];
    lz_err e = {0, ""};
    if (prepare_run(job, p, out->r0 + i, &out->runs[i], slot.rows, b->own_work + np * b->own,
                    b->lanczos, rs, &e) != LZ_OK) {
      note_failure(te, out->r0 + i, &e);
      continue;
    }
    out->runs[i].engine = LZ_ENGINE_BATCHED;
    xs[np] = rs->x;
    prepared[np++] = i;
  }
  sharpness_of_batch(job, p, b, np, xs, lres, lrc);
  size_t m = 0;
  for (size_t j = 0; j < np; ++j) {
    const int64_t i = prepared[j];
    run_slot slot = run_slot_of(out, final_states, dim, i);
    run_state *rs = &b->states[j];
    start_run_from(job, p, out->r0 + i, &out->runs[i], slot.rows, slot.final_state, lrc[j],
                   &lres[j], cancel, rs);
    if (!rs->descends) continue;
    b->batch[m] = (lz_gd_batch_run){rs->gp.h, rs->x, rs->work + rs->l.gd,
                                    slot.rows[LZ_ARRAY_LOSS], &rs->obs, {0}};
    b->index[m++] = (int64_t)j;  /* into the prepared runs */
  }
  const lz_gd_params gp = gd_params_of(job, 0.0, cancel);  /* each run has its own h */
  int rc = m > 0 ? lz_gd_batch(p, &gp, m, b->batch, b->engine, poll) : LZ_OK;
  if (rc != LZ_OK) {
    const int64_t first = out->r0 + prepared[b->index[0]];
    lz_err e = {0, ""};
    if (rc == LZ_ESTOPPED) lz_err_set(&e, rc, "run %lld: dropped by a second signal", (long long)first);
    else lz_err_set(&e, rc, "runs %lld..: out of memory in the batched engine", (long long)first);
    note_failure(te, first, &e);
    return;
  }
  for (size_t j = 0; j < m; ++j) xs[j] = b->batch[j].x;
  sharpness_of_batch(job, p, b, m, xs, lres, lrc);
  for (size_t j = 0; j < m; ++j) {
    const int64_t i = prepared[b->index[j]];
    run_slot slot = run_slot_of(out, final_states, dim, i);
    finish_run_from(job, p, &out->runs[i], slot.rows, slot.final_state,
                    &b->states[b->index[j]], &b->batch[j].out, lrc[j], &lres[j]);
  }
}

/* Runs one batch may take: as many as the objective takes and LZ_BATCH_OWN_BYTES holds. */
static size_t batch_capacity(const run_layout *l, size_t batch_max) {
  double fit = floor(LZ_BATCH_OWN_BYTES / (8.0 * (double)(l->own ? l->own : 1)));
  return fit >= (double)batch_max ? batch_max : fit >= 1.0 ? (size_t)fit : 1;
}

/* Runs per batch: up to the capacity, but spread so that every thread gets some. Which runs
 * share a batch never changes a result (lz_gd_batch). */
static size_t batch_size_for(const lz_job *job, const lz_problem *p, int64_t runs, int threads) {
  run_layout l = run_layout_of(job, p);
  size_t most = batch_capacity(&l, lz_problem_batch_max(p));
  int64_t share = (runs + threads - 1) / (threads > 0 ? threads : 1);
  return share < 1 ? 1 : (size_t)share < most ? (size_t)share : most;
}

static int run_tile_in_batches(const lz_job *job, const lz_problem *p, lz_tile_result *out,
                               const lz_tile_hooks *hooks, double *final_states, lz_err *err) {
  const volatile sig_atomic_t *cancel = hooks ? hooks->cancel : NULL;
  /* a team's batches go one after another, their threads inside the products */
  const int team = lz_problem_team(p) != NULL;
  const size_t size = batch_size_for(job, p, out->count, team ? 1 : omp_get_max_threads());
  const int64_t blocks = (out->count + (int64_t)size - 1) / (int64_t)size;
  tile_error te = {-1, {0, ""}};
  /* One batch takes the threads inside its runs instead: the chunks of the Hessian products
   * and of the direct loss then run in parallel (problems/mf). */
#pragma omp parallel if (blocks > 1 && !team)
  {
    batch_buffers b;
    int ready = open_batch_buffers(job, p, size, &b) == LZ_OK;
    int calls_hooks = omp_get_thread_num() == 0 && hooks && hooks->between_runs;
    const lz_gd_poll poll = {calls_hooks ? hooks->between_runs : NULL, hooks ? hooks->ctx : NULL};
#pragma omp for schedule(dynamic, 1)
    for (int64_t k = 0; k < blocks; ++k) {
      if (cancel && *cancel) continue;  /* a second signal: drop what is left */
      int64_t i0 = k * (int64_t)size;
      size_t count = (size_t)(out->count - i0) < size ? (size_t)(out->count - i0) : size;
      if (ready) {
        run_block_in_batch(job, p, out, i0, count, final_states, &b, cancel, &poll, &te);
      } else {
        lz_err e = {0, ""};
        lz_err_set(&e, LZ_ENOMEM, "cannot allocate scratch for %zu runs at once", size);
        note_failure(&te, out->r0 + i0, &e);
      }
      if (calls_hooks) hooks->between_runs(hooks->ctx);
    }
    close_batch_buffers(&b);
  }
  return tile_outcome(&te, cancel, err);
}

double lz_tile_work_bytes(const lz_job *job, const lz_problem_params *pp, int threads,
                          double *ring_bytes) {
  /* a team's runs go one batch at a time, their threads inside the products (lz_run_tile) */
  int64_t r0, r1;
  if (lz_problem_params_team_rows(pp, pp->ranks_per_run, 0, &r0, &r1)) threads = 1;
  lz_problem_sizes s;
  lz_problem_params_sizes(pp, &s);
  run_layout l = layout_for(job, &s);
  double ring = wants_orbit(job) ? 8.0 * (double)lz_orbit_ring_len(s.dim, job->analyze.orbit.max_period) : 0.0;
  if (s.batch_max > 1) {
    /* batch_size_for with the largest tile */
    int64_t tile = lz_job_tile_capacity(job), share = (tile + threads - 1) / (threads > 0 ? threads : 1);
    size_t runs = batch_capacity(&l, s.batch_max);
    if (share >= 1 && (size_t)share < runs) runs = (size_t)share;
    /* the engine's scratch grows linearly from 1 run to batch_max */
    double per_run = (double)(s.batch_work_len - s.work_len) / (double)(s.batch_max - 1);
    size_t engine = s.work_len + (size_t)ceil(per_run * (double)(runs - 1)) + 32;  /* rounding */
    /* the tangents' products: 2 directions a run, their scratch linear in the directions
     * up to the alignment of six blocks */
    double per_direction = (double)s.hvp_batch_work_len / (double)(2 * s.batch_max);
    size_t tangents = (size_t)ceil(per_direction * (double)(2 * runs)) + 6 * 8 + 32;
    if (wants_lyapunov(job) && tangents > engine) engine = tangents;
    /* the sharpness of a group of runs at a time (lanczos_group_for), its products batched */
    size_t group = lanczos_group_for(&l, runs);
    size_t sharpness = (size_t)ceil(per_direction * (double)group) + 6 * 8 + 32;
    if (sharpness > engine) engine = sharpness;
    *ring_bytes = (double)threads * (double)runs * ring;
    return (double)threads * 8.0 * (double)batch_thread_len_for(&l, runs, group, engine);
  }
  double holders = lz_runs_share_threads(pp) ? (double)threads : 1.0;
  *ring_bytes = holders * ring;
  return holders * 8.0 * (double)l.total;
}

static int run_tile_runs(const lz_job *job, const lz_problem *p, lz_tile_result *out,
                         int parallel_runs, const lz_tile_hooks *hooks, double *final_states,
                         lz_err *err) {
  const size_t dim = lz_problem_dim(p);
  const size_t wlen = lz_run_work_len(job, p);
  const volatile sig_atomic_t *cancel = hooks ? hooks->cancel : NULL;
  tile_error te = {-1, {0, ""}};

#pragma omp parallel if (parallel_runs)
  {
    double *work = malloc(wlen * sizeof *work);
    int calls_hooks = omp_get_thread_num() == 0 && hooks && hooks->between_runs;
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < out->count; ++i) {
      if (cancel && *cancel) continue;  /* a second signal: drop what is left */
      run_slot slot = run_slot_of(out, final_states, dim, i);
      lz_err e = {0, ""};
      int rc = work ? lz_run_one(job, p, out->r0 + i, &out->runs[i], slot.rows,
                                 slot.final_state, work, cancel, &e)
                    : lz_err_set(&e, LZ_ENOMEM, "cannot allocate %zu doubles of scratch", wlen);
      if (rc != LZ_OK) note_failure(&te, out->r0 + i, &e);
      if (calls_hooks) hooks->between_runs(hooks->ctx);
    }
    free(work);
  }
  return tile_outcome(&te, cancel, err);
}

/* Invariant measure of the tile's runs: sample from their final states, then measure. */
static int sample_invariant_measure(const lz_job *job, const lz_problem *p, lz_tile_result *out,
                                    const double *final_states, const lz_tile_hooks *hooks,
                                    lz_err *err) {
  lz_im_sums *sums = calloc((size_t)out->count, sizeof *sums);
  if (!sums) return lz_err_set(err, LZ_ENOMEM, "cannot allocate sampling sums");
  int rc = lz_sample_tile(job, p, out, final_states, sums, hooks ? hooks->cancel : NULL);
  if (rc == LZ_ESTOPPED) {
    free(sums);
    return lz_err_set(err, rc, "dropped by a second signal");
  }
  if (rc != LZ_OK) {
    free(sums);
    return lz_err_set(err, rc, "out of memory while sampling the invariant measure");
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < out->count; ++i)
    lz_im_finish(job, p, out->runs[i].h, &sums[i], lz_tile_counts(out, LZ_ARRAY_HIST, i),
                 lz_tile_counts(out, LZ_ARRAY_HIST_HALF1, i), lz_tile_counts(out, LZ_ARRAY_HIST2D, i),
                 &out->runs[i].im, lz_tile_row(out, LZ_ARRAY_GIBBS, i),
                 lz_tile_row(out, LZ_ARRAY_GIBBS2D, i), lz_tile_row(out, LZ_ARRAY_WELLS, i),
                 lz_tile_row(out, LZ_ARRAY_MOMENTS, i));
  free(sums);
  return LZ_OK;
}

int lz_run_tile(const lz_job *job, const lz_problem *p, int64_t tile, const lz_tile_hooks *hooks,
                lz_tile_result *out, lz_err *err) {
  lz_job_tile_runs(job, tile, &out->r0, &out->count);
  out->tile = tile;
  /* The members of a team make the same calls on p in the same order, all from the thread
   * that calls MPI: their runs go one after another, and a second signal cannot drop the tile
   * on one member alone (it ends at the tile's end, like the first). */
  const int team = lz_problem_team(p) != NULL;
  lz_tile_hooks team_hooks;
  if (team && hooks) {
    team_hooks = *hooks;
    team_hooks.cancel = NULL;
    hooks = &team_hooks;
  }
  int parallel_runs = !team && lz_runs_share_threads(lz_problem_params_of(p));
  int sampling = lz_job_samples_invariant_measure(job);
  double *final_states = NULL;
  if (sampling) {
    final_states = malloc((size_t)out->count * lz_problem_dim(p) * sizeof *final_states);
    if (!final_states) return lz_err_set(err, LZ_ENOMEM, "tile %lld: cannot allocate final states", (long long)tile);
  }
  lz_lanes_problem small;
  int rc;
  if (lanes_take(job, p, &small))
    rc = run_tile_in_lanes(job, p, out, &small, hooks, final_states, err);
  else if (job->run.engine == LZ_RUN_ENGINE_AUTO && lz_problem_batch_max(p) > 1)
    rc = run_tile_in_batches(job, p, out, hooks, final_states, err);
  else
    rc = run_tile_runs(job, p, out, parallel_runs, hooks, final_states, err);
  if (rc == LZ_OK && sampling) rc = sample_invariant_measure(job, p, out, final_states, hooks, err);
  free(final_states);
  if (rc != LZ_OK) lz_err_prefix(err, "tile %lld: ", (long long)tile);
  return rc;
}
