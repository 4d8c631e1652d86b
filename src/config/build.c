/* Building the job from a file read without error: slots become job->axes in the order job.h
 * prescribes, and the job keeps its source text. */

#define _POSIX_C_SOURCE 200809L

#include "parser.h"

#include <stdlib.h>
#include <string.h>

#include "lrzoo/error.h"
#include "lrzoo/hash.h"

/* What a slot's member is set to before parsing: fixed (lz_param), or no axis. */
#define CFG_DEFAULT_PARAM(job, member) (job)->member = (lz_param){-1, 0.0, {0, 0}};
#define CFG_DEFAULT_VPARAM(job, member) (job)->member.axis = -1;
#define CFG_DEFAULT_REF(job, member) (job)->member = -1;
/* Where a slot's member keeps its axis reference. */
#define CFG_AXIS_REF_PARAM(job, member) &(job)->member.axis
#define CFG_AXIS_REF_VPARAM(job, member) &(job)->member.axis
#define CFG_AXIS_REF_REF(job, member) &(job)->member

void cfg_set_job_defaults(lz_job *job) {
#define CFG_SLOT_DEFAULT(id, name, type, group, integer, labels, description, form, member) \
  CFG_DEFAULT_##form(job, member)
  CFG_SLOTS(CFG_SLOT_DEFAULT)
#undef CFG_SLOT_DEFAULT
  /* not a sweep: rank follows from singular_values (section_problem.c), but it is a parameter */
  job->problem.mf.target.rank = (lz_param){-1, 0.0, {0, 0}};
}

/* While parsing, every axis reference holds a slot id; these are all of them. */
static void renumber_axis_refs(lz_job *job, const int *index_of_slot) {
  int *refs[] = {
#define CFG_SLOT_REF(id, name, type, group, integer, labels, description, form, member) \
  CFG_AXIS_REF_##form(job, member),
      CFG_SLOTS(CFG_SLOT_REF)
#undef CFG_SLOT_REF
      &job->problem.mf.target.rank.axis};
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
