/* Building the job from a file read without error: slots become job->axes in the order job.h
 * prescribes, and the job keeps its source text. */

#define _POSIX_C_SOURCE 200809L

#include "parser.h"

#include <stdlib.h>
#include <string.h>

#include "lrzoo/error.h"
#include "lrzoo/hash.h"

void cfg_set_job_defaults(lz_job *job) {
  lz_param fixed = {-1, 0.0, {0, 0}};
  lz_param *params[] = {&job->problem.n, &job->problem.d, &job->problem.activation,
                        &job->problem.alpha, &job->problem.target.scale, &job->problem.target.mu,
                        &job->problem.target.rank, &job->problem.f0, &job->problem.dim,
                        &job->problem.f1, &job->problem.eps, &job->problem.amplitude,
                        &job->problem.ratio, &job->init.scale, &job->init.imbalance};
  for (size_t i = 0; i < sizeof params / sizeof *params; ++i) *params[i] = fixed;
  job->problem.eigenvalues.axis = -1;
  job->problem.target.singular_values.axis = -1;
  job->init.point.axis = -1;
  job->init.grid_axis[0] = job->init.grid_axis[1] = -1;
  job->init.replica_axis = -1;
  job->lr.axis = -1;
}

/* While parsing, every axis reference holds a slot id; these are all of them. */
static void renumber_axis_refs(lz_job *job, const int *index_of_slot) {
  int *refs[] = {&job->problem.eigenvalues.axis, &job->problem.n.axis, &job->problem.d.axis,
                 &job->problem.activation.axis, &job->problem.alpha.axis,
                 &job->problem.target.scale.axis, &job->problem.target.mu.axis,
                 &job->problem.target.rank.axis, &job->problem.target.singular_values.axis,
                 &job->problem.f0.axis, &job->problem.dim.axis, &job->problem.f1.axis,
                 &job->problem.eps.axis, &job->problem.amplitude.axis, &job->problem.ratio.axis,
                 &job->init.scale.axis, &job->init.imbalance.axis, &job->init.point.axis,
                 &job->init.grid_axis[0], &job->init.grid_axis[1], &job->init.replica_axis,
                 &job->lr.axis};
  for (size_t i = 0; i < sizeof refs / sizeof *refs; ++i)
    if (*refs[i] > 0) *refs[i] = index_of_slot[*refs[i]];
}

static int move_slots_into_axes(parser *p) {
  lz_job *job = p->job;
  int index_of_slot[SLOT_COUNT];
  size_t count = 0;
  for (int s = 1; s < SLOT_COUNT; ++s) count += p->slot[s].len > 0;
  job->axes = calloc(count ? count : 1, sizeof *job->axes);
  if (!job->axes) return LZ_ENOMEM;
  for (int s = 1; s < SLOT_COUNT; ++s) {
    index_of_slot[s] = -1;
    if (p->slot[s].len == 0) continue;
    index_of_slot[s] = (int)job->naxes;
    job->axes[job->naxes++] = p->slot[s];
    memset(&p->slot[s], 0, sizeof p->slot[s]);
  }
  renumber_axis_refs(job, index_of_slot);
  return LZ_OK;
}

static void count_runs_and_tiles(lz_job *job) {
  job->nruns = job->ninstances = 1;
  for (size_t a = 0; a < job->naxes; ++a) {
    job->nruns *= (int64_t)job->axes[a].len;
    if (job->axes[a].group == LZ_AXIS_PROBLEM) job->ninstances *= (int64_t)job->axes[a].len;
  }
  job->runs_per_instance = job->nruns / job->ninstances;
  job->tiles_per_instance = (job->runs_per_instance + job->tiles.runs - 1) / job->tiles.runs;
  job->ntiles = job->ninstances * job->tiles_per_instance;
}

static int keep_source(lz_job *job, const char *path, const char *text, size_t len) {
  job->path = strdup(path);
  job->text = malloc(len + 1);
  if (!job->path || !job->text) return LZ_ENOMEM;
  if (len) memcpy(job->text, text, len);
  job->text[len] = '\0';
  job->text_len = len;
  return lz_sha256_hex(job->text, len, job->sha256);
}

int cfg_finish_job(parser *p, const char *text, size_t len) {
  int rc = move_slots_into_axes(p);
  if (rc == LZ_OK) count_runs_and_tiles(p->job);
  if (rc == LZ_OK) rc = keep_source(p->job, p->path, text, len);
  return rc;
}
