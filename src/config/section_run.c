/* lr, run and tiles: the learning rates, the iteration limits and the grouping of runs. */

#include "parser.h"
#include "schema.h"

#include <math.h>

/* 2/L needs a positive largest eigenvalue L. */
static void check_two_over_l(parser *p) {
  const lz_vparam *ev = &p->job->problem.quadratic.eigenvalues;
  if (!p->eigenvalues_ok || p->job->problem.kind != LZ_PROBLEM_QUADRATIC) return;
  size_t rows = ev->axis > 0 ? p->slot[ev->axis].len : 1;
  const double *v = ev->axis > 0 ? p->slot[ev->axis].values : ev->value;
  for (size_t i = 0; i < rows; ++i) {
    double top = v[i * ev->len];
    for (size_t j = 1; j < ev->len; ++j) top = fmax(top, v[i * ev->len + j]);
    if (top <= 0) {
      cfg_report(p, ev->mark,
                 "lr relative_to two_over_L needs a largest eigenvalue L > 0, but %s has "
                 "max %g; use relative_to: absolute",
                 rows > 1 ? "an eigenvalue vector" : "eigenvalues", top);
      return;
    }
  }
}

void cfg_read_lr(parser *p, const yaml_node_t *n) {
  section_read r;
  if (!cfg_read_section(p, &cfg_lr_section, n, &r)) return;
  lz_job *job = p->job;
  job->lr.relative_to = (lz_lr_relative)r.code[LR_RELATIVE_TO];
  const yaml_node_t *values = r.node[LR_VALUES];
  if (values) {
    lz_param lr = {-1, 0, {0, 0}};
    if (cfg_read_sweep(p, values, &cfg_lr_keys[LR_VALUES], &lr)) job->lr.axis = lr.axis;
    job->lr.mark = p->lr_mark = cfg_mark_of(values);
  }
  if (r.ok[LR_RELATIVE_TO] && job->lr.relative_to == LZ_LR_TWO_OVER_L) check_two_over_l(p);
}

void cfg_read_run(parser *p, const yaml_node_t *n) {
  section_read r;
  cfg_read_section(p, &cfg_run_section, n, &r);
  lz_job *job = p->job;
  job->run.engine = (lz_run_engine)r.code[RUN_ENGINE];
  p->max_iter_ok = r.ok[RUN_MAX_ITER];
  p->max_iter_mark = r.node[RUN_MAX_ITER] ? cfg_mark_of(r.node[RUN_MAX_ITER]) : (lz_mark){0, 0};
  p->record_every_mark =
      r.node[RUN_RECORD_EVERY] ? cfg_mark_of(r.node[RUN_RECORD_EVERY]) : (lz_mark){0, 0};
  if (!r.node[RUN_RECORD_EVERY] || !r.ok[RUN_RECORD_EVERY]) {
    job->run.record_every = job->run.max_iter / 100 > 1 ? job->run.max_iter / 100 : 1;
  } else if (r.ok[RUN_MAX_ITER] && job->run.record_every > job->run.max_iter) {
    cfg_report(p, p->record_every_mark, "record_every must be <= max_iter (%lld), got %lld",
               (long long)job->run.max_iter, (long long)job->run.record_every);
  }
  if (r.ok[RUN_RECORD_X] && job->run.record_x > RECORD_X_MAX)
    cfg_report(p, cfg_mark_of(r.node[RUN_RECORD_X]),
               "record_x (leading coordinates of x_k recorded in "
               "/runs/trace/x) must be from 0 to %d, got %lld",
               RECORD_X_MAX, (long long)job->run.record_x);
}

void cfg_read_tiles(parser *p, const yaml_node_t *n) {
  section_read r;
  cfg_read_section(p, &cfg_tiles_section, n, &r);
  p->tiles_runs_mark = r.node[TIL_RUNS] ? cfg_mark_of(r.node[TIL_RUNS]) : (lz_mark){0, 0};
  p->ranks_per_run_mark =
      r.node[TIL_RANKS_PER_RUN] ? cfg_mark_of(r.node[TIL_RANKS_PER_RUN]) : (lz_mark){0, 0};
}
