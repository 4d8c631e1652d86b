#include "lrzoo/job.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lrzoo/error.h"
#include "lrzoo/rng.h"
#include "problems/problems.h"

const char *const lz_problem_kind_names[] = {
#define LZ_PROBLEM_KIND_NAME(suffix, name) #name,
    LZ_PROBLEM_KINDS(LZ_PROBLEM_KIND_NAME)
#undef LZ_PROBLEM_KIND_NAME
    NULL};
const char *const lz_init_kind_names[] = {"gaussian", "point", "grid", NULL};
const char *const lz_observable_names[] = {"none", "f0", "loss", "x_entry", NULL};

void lz__free_vparam(lz_vparam *p) {
  free(p->value);
  p->value = NULL;
}

void lz_job_destroy(lz_job **jobp) {
  if (!jobp || !*jobp) return;
  lz_job *job = *jobp;
  free(job->path);
  free(job->text);
  free(job->name);
  free(job->output);
  for (int k = 0; k < LZ_PROBLEM_KIND_COUNT; ++k) {
    const lz_problem_kind_desc *kind = lz__problem_kind((lz_problem_kind)k);
    if (kind && kind->free_job_part) kind->free_job_part(job);
  }
  lz__free_vparam(&job->init.point);
  for (size_t a = 0; a < job->naxes; ++a) free(job->axes[a].values);
  free(job->axes);
  free(job);
  *jobp = NULL;
}

void lz_job_run_coords(const lz_job *job, int64_t r, size_t *idx) {
  for (size_t a = job->naxes; a-- > 0;) {
    int64_t len = (int64_t)job->axes[a].len;
    idx[a] = (size_t)(r % len);
    r /= len;
  }
}

double lz_param_at(const lz_job *job, const lz_param *p, const size_t *idx) {
  if (p->axis < 0) return p->value;
  const lz_axis *ax = &job->axes[p->axis];
  return ax->values[idx[p->axis]];
}

const double *lz_vparam_at(const lz_job *job, const lz_vparam *p, const size_t *idx) {
  if (p->axis < 0) return p->value;
  const lz_axis *ax = &job->axes[p->axis];
  return ax->values + idx[p->axis] * ax->width;
}

int64_t lz_job_instance_of_run(const lz_job *job, int64_t r) { return r / job->runs_per_instance; }

void lz_job_instance_params(const lz_job *job, int64_t instance, lz_problem_params *out) {
  size_t idx[LZ_MAX_AXES];
  lz_job_run_coords(job, instance * job->runs_per_instance, idx);
  lz_job_problem_params(job, idx, out);
}

int lz_job_samples_invariant_measure(const lz_job *job) {
  return job->analyze.invariant_measure.samples > 0;
}

void lz_job_tile_runs(const lz_job *job, int64_t tile, int64_t *r0, int64_t *count) {
  int64_t inst = tile / job->tiles_per_instance;
  int64_t part = tile % job->tiles_per_instance;
  int64_t first = part * job->tiles.runs;
  int64_t n = job->runs_per_instance - first;
  if (n > job->tiles.runs) n = job->tiles.runs;
  *r0 = inst * job->runs_per_instance + first;
  *count = n;
}

void lz_job_problem_params(const lz_job *job, const size_t *idx, lz_problem_params *out) {
  memset(out, 0, sizeof *out);
  out->kind = job->problem.kind;
  out->ranks_per_run = job->tiles.ranks_per_run > 1 ? (int)job->tiles.ranks_per_run : 1;
  const lz_problem_kind_desc *kind = lz__problem_kind(job->problem.kind);
  if (kind) kind->params_at(job, idx, out);
}

size_t lz_problem_params_dim(const lz_problem_params *pp) {
  const lz_problem_kind_desc *kind = lz__problem_kind(pp->kind);
  return kind ? kind->dim(pp) : 0;
}

const char *lz_job_data_file(const lz_job *job, lz_mark *at) {
  const lz_problem_kind_desc *kind = lz__problem_kind(job->problem.kind);
  return kind && kind->data_file ? kind->data_file(job, at) : NULL;
}

void lz_job_take_data_points(lz_job *job, double *x, double *y, double *weight, int64_t points) {
  const lz_problem_kind_desc *kind = lz__problem_kind(job->problem.kind);
  if (kind && kind->take_data_points) kind->take_data_points(job, x, y, weight, points);
}

int64_t lz_job_trace_len(const lz_job *job) { return job->run.max_iter / job->run.record_every + 1; }

double lz_job_lr_value(const lz_job *job, const size_t *idx) {
  return job->axes[job->lr.axis].values[idx[job->lr.axis]];
}

int lz_job_initial_point(const lz_job *job, const size_t *idx, const lz_problem_params *pp,
                         double *x0) {
  size_t dim = lz_problem_params_dim(pp);
  switch (job->init.kind) {
    case LZ_INIT_GAUSSIAN: {
      double scale = lz_param_at(job, &job->init.scale, idx);
      uint64_t replica = idx[job->init.replica_axis];
      /* The draw depends on the replica and the shape only, so the lr, imbalance and scale
       * axes compare runs that start from the same direction. */
      const lz_problem_kind_desc *kind = lz__problem_kind(pp->kind);
      uint64_t shape = kind && kind->initial_point_shape ? kind->initial_point_shape(pp)
                                                         : (uint64_t)dim;
      lz_rng rng;
      lz_rng_init(&rng, job->seed, LZ_RNG_INIT, replica, shape);
      for (size_t i = 0; i < dim; ++i) x0[i] = scale * lz_rng_normal(&rng);
      if (kind && kind->scale_initial_point) kind->scale_initial_point(job, idx, pp, x0);
      return LZ_OK;
    }
    case LZ_INIT_POINT: {
      if (job->init.point.len != dim) return LZ_EINVAL;
      memcpy(x0, lz_vparam_at(job, &job->init.point, idx), dim * sizeof *x0);
      return LZ_OK;
    }
    case LZ_INIT_GRID: {
      if (job->init.grid_dim != dim) return LZ_EINVAL;
      for (size_t i = 0; i < dim; ++i) {
        const lz_axis *ax = &job->axes[job->init.grid_axis[i]];
        x0[i] = ax->values[idx[job->init.grid_axis[i]]];
      }
      return LZ_OK;
    }
  }
  return LZ_EINVAL;
}

static int64_t runs_per_lr_value(const lz_job *job) {
  return job->runs_per_instance / (int64_t)job->axes[job->lr.axis].len;
}

int64_t lz_job_npooled(const lz_job *job) {
  return job->ninstances * (int64_t)job->axes[job->lr.axis].len;
}

void lz_job_pooled_runs(const lz_job *job, int64_t point, int64_t *first, int64_t *count,
                        int64_t *stride) {
  /* lr is the last axis and the init axes come just before it, so within an instance the runs
   * of one lr value are n_lr apart. */
  int64_t nlr = (int64_t)job->axes[job->lr.axis].len;
  *first = (point / nlr) * job->runs_per_instance + point % nlr;
  *count = runs_per_lr_value(job);
  *stride = nlr;
}

static void fill_edges(double lo, double hi, int64_t bins, double *edges) {
  for (int64_t i = 0; i <= bins; ++i)
    edges[i] = i == bins ? hi : lo + (hi - lo) * (double)i / (double)bins;
}

void lz_job_hist_edges(const lz_job *job, double *edges) {
  fill_edges(job->analyze.invariant_measure.lo, job->analyze.invariant_measure.hi,
             job->analyze.invariant_measure.bins, edges);
}

void lz_job_observable_edges(const lz_job *job, double *edges) {
  fill_edges(job->analyze.invariant_measure.observable.lo,
             job->analyze.invariant_measure.observable.hi,
             job->analyze.invariant_measure.observable.bins, edges);
}

/* ---- the axes that change an instance's sizes -------------------------------------------- */

/* Only the kind's size parameters (mf: n, d and the lowrank rank; multiscale: dim) change an
 * instance's sizes and step cost: a sweep of 10^6 eps values has one size, and is costed
 * once, not 10^6 times. */
enum { SIZE_AXES = LZ_KIND_MAX_SIZE_AXES };

static size_t size_axes_of(const lz_job *job, int *axes) {
  int candidates[SIZE_AXES];
  const lz_problem_kind_desc *kind = lz__problem_kind(job->problem.kind);
  const size_t ncandidates = kind && kind->size_axes ? kind->size_axes(job, candidates) : 0;
  size_t count = 0;
  for (size_t c = 0; c < ncandidates; ++c) {
    int a = candidates[c], seen = a < 0;
    for (size_t k = 0; k < count && !seen; ++k) seen = axes[k] == a;
    if (!seen) axes[count++] = a;
  }
  return count;
}

int lz_job_visit_sizes(const lz_job *job, int64_t max_visits, lz_size_visit *visit, void *ctx) {
  int axes[SIZE_AXES];
  size_t count = size_axes_of(job, axes);
  double combinations = 1.0;
  for (size_t k = 0; k < count; ++k) combinations *= (double)job->axes[axes[k]].len;
  if (combinations > (double)max_visits) return -1;
  const double weight = (double)job->ninstances / combinations;
  size_t idx[LZ_MAX_AXES] = {0};
  for (int64_t c = 0; c < (int64_t)combinations; ++c) {
    int64_t rest = c;
    for (size_t k = 0; k < count; ++k) {
      int64_t len = (int64_t)job->axes[axes[k]].len;
      idx[axes[k]] = (size_t)(rest % len);
      rest /= len;
    }
    lz_problem_params pp;
    lz_job_problem_params(job, idx, &pp);
    visit(&pp, weight, ctx);
  }
  return 0;
}

void lz_job_largest_params(const lz_job *job, lz_problem_params *pp) {
  int axes[SIZE_AXES];
  size_t count = size_axes_of(job, axes);
  size_t idx[LZ_MAX_AXES] = {0};
  for (size_t k = 0; k < count; ++k) {
    const lz_axis *ax = &job->axes[axes[k]];
    for (size_t j = 1; j < ax->len; ++j)
      if (ax->values[j * ax->width] > ax->values[idx[axes[k]] * ax->width]) idx[axes[k]] = j;
  }
  lz_job_problem_params(job, idx, pp);
}

/* The dimension grows with each size parameter, so the largest of each gives the largest. */
size_t lz_job_max_dim(const lz_job *job) {
  lz_problem_params pp;
  lz_job_largest_params(job, &pp);
  return lz_problem_params_dim(&pp);
}

int64_t lz_job_tile_capacity(const lz_job *job) {
  return job->runs_per_instance < job->tiles.runs ? job->runs_per_instance : job->tiles.runs;
}

double lz_job_cost_steps(const lz_job *job) {
  return (double)job->nruns * (double)job->run.max_iter;
}

double lz_problem_params_step_cost(const lz_problem_params *pp) {
  const lz_problem_kind_desc *kind = lz__problem_kind(pp->kind);
  return kind ? kind->step_cost(pp) : 1.0;
}

static void print_axis_values(const lz_axis *ax, FILE *out) {
  const size_t show = 6;
  fputc('[', out);
  for (size_t i = 0; i < ax->len; ++i) {
    if (i == show && ax->len > show + 1) {
      fprintf(out, ", ... (%zu more)", ax->len - show - 1);
      i = ax->len - 1;
    }
    if (i) fputs(", ", out);
    if (ax->type == LZ_AXIS_CHOICE) {
      fputs(ax->labels[(int)ax->values[i]], out);
    } else if (ax->type == LZ_AXIS_VECTOR) {
      fputc('[', out);
      for (size_t j = 0; j < ax->width; ++j)
        fprintf(out, "%s%.6g", j ? ", " : "", ax->values[i * ax->width + j]);
      fputc(']', out);
    } else {
      fprintf(out, "%.6g", ax->values[i]);
    }
  }
  fputc(']', out);
}

static void add_step_cost(const lz_problem_params *pp, double weight, void *ctx) {
  *(double *)ctx += lz_problem_params_step_cost(pp) * weight;
}

void lz_job_print_summary(const lz_job *job, FILE *out) {
  static const char *const group_names[] = {"problem", "init", "lr"};
  fprintf(out, "job:        %s (%s)\n", job->name, job->path);
  fprintf(out, "sha256:     %s\n", job->sha256);
  fprintf(out, "problem:    %s\n", lz_problem_kind_names[job->problem.kind]);
  fprintf(out, "init:       %s\n", lz_init_kind_names[job->init.kind]);
  fprintf(out, "lr:         %s\n",
          job->lr.relative_to == LZ_LR_TWO_OVER_L ? "relative to 2/L at each run's start"
                                                  : "absolute step size h");
  fprintf(out, "output:     %s\n", job->output);
  fprintf(out, "axes:\n");
  for (size_t a = 0; a < job->naxes; ++a) {
    const lz_axis *ax = &job->axes[a];
    fprintf(out, "  %-16s %-7s %6zu  ", ax->name, group_names[ax->group], ax->len);
    print_axis_values(ax, out);
    fputc('\n', out);
  }
  fprintf(out, "runs:       %" PRId64 " (%" PRId64 " problem instances x %" PRId64 " runs)\n",
          job->nruns, job->ninstances, job->runs_per_instance);
  fprintf(out, "tiles:      %" PRId64 " (at most %" PRId64 " runs each)\n", job->ntiles,
          job->tiles.runs);
  if (job->tiles.ranks_per_run > 1)
    fprintf(out, "teams:      %" PRId64 " ranks a run, for dense targets (start a multiple of "
            "%" PRId64 " ranks; memory below is one member's)\n", job->tiles.ranks_per_run,
            job->tiles.ranks_per_run);
  double flops = 0.0;
  if (lz_job_visit_sizes(job, 100000, add_step_cost, &flops) != 0) {
    lz_problem_params pp;
    lz_job_largest_params(job, &pp);
    flops = lz_problem_params_step_cost(&pp) * (double)job->ninstances;
  }
  flops *= (double)job->runs_per_instance * (double)job->run.max_iter;
  fprintf(out, "cost:       at most %.3g GD steps (max_iter %" PRId64 " per run), ~%.3g flop\n",
          lz_job_cost_steps(job), job->run.max_iter, flops);
  fprintf(out, "trace:      %" PRId64 " loss records per run (every %" PRId64 " steps)\n",
          lz_job_trace_len(job), job->run.record_every);
  fprintf(out, "analyze:    ");
  if (job->analyze.orbit.max_period > 0)
    fprintf(out, "orbit (period <= %" PRId64 ", tol %g); ", job->analyze.orbit.max_period,
            job->analyze.orbit.tol);
  if (job->analyze.lyapunov.iters > 0)
    fprintf(out, "lyapunov (%" PRId64 " + %" PRId64 " steps, chaotic above %g); ",
            job->analyze.lyapunov.transient, job->analyze.lyapunov.iters,
            job->analyze.lyapunov.threshold);
  if (job->analyze.sharpness.every > 0)
    fprintf(out, "sharpness every %" PRId64 " steps; ", job->analyze.sharpness.every);
  if (job->analyze.modified_equation.orders) {
    fprintf(out, "modified equations of order");
    for (int k = 0; k < 3; ++k)
      if (job->analyze.modified_equation.orders & (1u << k)) fprintf(out, " %d", k);
    fprintf(out, " over %" PRId64 " steps; ", job->analyze.modified_equation.steps);
  }
  if (lz_job_samples_invariant_measure(job)) {
    fprintf(out, "invariant measure (%" PRId64 " samples after %" PRId64 " steps, %" PRId64
            " bins over [%g, %g], coords", job->analyze.invariant_measure.samples,
            job->analyze.invariant_measure.burn_in, job->analyze.invariant_measure.bins,
            job->analyze.invariant_measure.lo, job->analyze.invariant_measure.hi);
    for (size_t k = 0; k < job->analyze.invariant_measure.ncoords; ++k)
      fprintf(out, " %" PRId64, job->analyze.invariant_measure.coords[k]);
    int obs = job->analyze.invariant_measure.observable.kind;
    fprintf(out, "%s%s%s, pooled over %" PRId64 " sweep points); ",
            job->analyze.invariant_measure.joint ? ", joint" : "", obs ? ", observable " : "",
            obs ? lz_observable_names[obs] : "", lz_job_npooled(job));
  }
  fprintf(out, "sharpness at start and end\n");
}
