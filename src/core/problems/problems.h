/* Private to src/core: a problem kind in one place. Each kind's file (or folder) under
 * src/core/problems defines one lz_problem_kind_desc: its objective and everything else that
 * src/core needs to know about the kind. problem.c's registry is generated from the list of
 * kinds (include/lrzoo/kinds.h); the rest of src/core asks the descriptor (lz__problem_kind)
 * instead of switching on the kind. */
#ifndef LRZOO_PROBLEMS_H
#define LRZOO_PROBLEMS_H

#include <stddef.h>
#include <stdint.h>

#include "lrzoo/job.h"
#include "lrzoo/problem.h"

struct lz_lanes_problem;

#define LZ_KIND_MAX_SIZE_AXES 8

typedef struct lz_problem_kind_desc {
  const char *name;                /* as in job files (lz_problem_kind_names) */
  const lz_objective *objective;
  /* The state dimension, and how it follows from the parameters, for people. */
  size_t (*dim)(const lz_problem_params *pp);
  const char *dim_formula;
  /* Fills the kind's parameters at axis indices idx (kind and the rest are set already). */
  void (*params_at)(const lz_job *job, const size_t *idx, lz_problem_params *out);
  /* Rough flops of one GD step: orders tiles, and decides whether runs share threads
   * (lz_runs_share_threads). */
  double (*step_cost)(const lz_problem_params *pp);
  /* LZ_KIND_HAS_* bits: which result fields beyond the common ones the kind has. */
  unsigned traits;
  /* The shape key of the gaussian initial point's stream; NULL: the dimension. */
  uint64_t (*initial_point_shape)(const lz_problem_params *pp);
  /* Rescales a gaussian initial point for init parameters only this kind has; NULL: none. */
  void (*scale_initial_point)(const lz_job *job, const size_t *idx, const lz_problem_params *pp,
                              double *x0);
  /* The diagnostics of a state of instance `state`; NULL: only norm_x = ||x||. */
  void (*state_stats)(const void *state, const double *x, lz_state_stats *st);
  /* The state index of the x_entry observable's (row, column); NULL: 0. */
  int64_t (*x_entry_index)(const lz_problem_params *pp, const int64_t entry[2]);
  /* Fills the lanes engine's description of p and returns 1, or returns 0 where the lanes
   * engine does not take it; NULL: never. lp arrives zeroed, with p and the dimension set. */
  int (*describe_lanes)(const lz_problem *p, struct lz_lanes_problem *lp);
  /* The axes of the parameters that change an instance's sizes and step cost (-1 for one not
   * swept), at most LZ_KIND_MAX_SIZE_AXES; returns their count. NULL: none (every instance
   * of the job has the same size). */
  size_t (*size_axes)(const lz_job *job, int *axes);
  /* Frees what the job file's part of the kind owns (vectors, strings); NULL: nothing. Called
   * for every kind, so it must accept its zeroed part. */
  void (*free_job_part)(lz_job *job);
  /* The file of data points the job names, and where (lz_job_data_file); NULL: none. */
  const char *(*data_file)(const lz_job *job, lz_mark *at);
  /* Takes the points read from it (lz_job_take_data_points). */
  void (*take_data_points)(lz_job *job, double *x, double *y, double *weight, int64_t points);
  /* See lz_problem_params_target_file; NULL: no kind's instance reads a file. */
  int (*target_file)(const lz_problem_params *pp, const char **path, const char **dataset,
                     int64_t *n);
  /* Teams (lz_problem_params_team_chunks, lz_problem_params_team_rows); NULL: an instance of
   * the kind is never shared, one member of a team runs it. */
  size_t (*team_chunks)(const lz_problem_params *pp);
  int (*team_rows)(const lz_problem_params *pp, int size, int member, int64_t *row0,
                   int64_t *row1);
} lz_problem_kind_desc;

/* Frees a vector parameter's values (a kind's free_job_part). */
void lz__free_vparam(lz_vparam *p);

/* The descriptor of a kind; NULL for a kind lrzoo does not know. */
const lz_problem_kind_desc *lz__problem_kind(lz_problem_kind kind);

/* lz__kind_<name>, one for each line of LZ_PROBLEM_KINDS (include/lrzoo/kinds.h). */
#define LZ_PROBLEM_KIND_EXTERN(suffix, name) extern const lz_problem_kind_desc lz__kind_##name;
LZ_PROBLEM_KINDS(LZ_PROBLEM_KIND_EXTERN)
#undef LZ_PROBLEM_KIND_EXTERN

#endif
