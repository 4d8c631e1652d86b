/* Sweep size: the run count and the memory estimate, and where the job file sets what makes
 * them too large. */

#include "parser.h"

#include <stdio.h>

#include "lrzoo/memory.h"
#include "lrzoo/problem.h"
#include "lrzoo/results.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

static void describe_product(const parser *p, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int s = 1; s < SLOT_COUNT && used < size; ++s)
    if (p->slot[s].len > 1)
      used += (size_t)snprintf(buf + used, size - used, "%s%s %zu", used ? " x " : "",
                               p->slot[s].name, p->slot[s].len);
}

void cfg_check_run_count(parser *p) {
  int64_t runs = 1;
  double approx = 1.0;
  bool too_many = false;
  int longest = 0;
  for (int s = 1; s < SLOT_COUNT; ++s) {
    size_t len = p->slot[s].len;
    if (len == 0) continue;
    approx *= (double)len;
    if (!longest || len >= p->slot[longest].len) longest = s;  /* ties: the later axis, lr last */
    if (too_many || runs > MAX_RUNS / (int64_t)len) too_many = true;
    else runs *= (int64_t)len;
  }
  if (!too_many) return;
  char product[256], count[64];
  describe_product(p, product, sizeof product);
  snprintf(count, sizeof count, approx < 1e15 ? "%.0f" : "about %.3g", approx);
  lz_mark at = p->slot[longest].mark.line > 0 ? p->slot[longest].mark : p->lr_mark;
  cfg_report(p, at,
             "sweep too large: %s runs (%s) exceed the limit of %lld; shorten %s (%zu values) "
             "or split the job",
             count, product, MAX_RUNS, p->slot[longest].name, p->slot[longest].len);
}

/* The tile's results: named by the per-run array that dominates them. */
static void report_results_memory(parser *p, const lz_memory_estimate *est, lz_mark *at,
                                  char *what, size_t len, const char **advice) {
  const lz_job *job = p->job;
  const lz_mark tiles_or_top = p->tiles_runs_mark.line ? p->tiles_runs_mark : p->top_mark;
  double gib = est->largest_array_bytes / GIB;
  long long runs = (long long)lz_job_tile_capacity(job);
  const char *plural = runs == 1 ? "" : "s";
  switch ((lz_array_id)est->largest_array) {
    case LZ_ARRAY_LOSS:
    case LZ_ARRAY_SHARPNESS:
    case LZ_ARRAY_X:
      *at = p->record_every_mark.line ? p->record_every_mark
          : p->tiles_runs_mark.line ? p->tiles_runs_mark
          : p->max_iter_mark.line ? p->max_iter_mark : p->lr_mark;
      snprintf(what, len, "one tile's traces (%lld run%s x %lld records, %.2f GiB)", runs, plural,
               (long long)lz_job_trace_len(job), gib);
      *advice = "raise run.record_every or lower tiles.runs";
      return;
    case LZ_ARRAY_ORBIT:
      *at = p->max_period_mark.line ? p->max_period_mark : tiles_or_top;
      snprintf(what, len, "one tile's orbit points (%lld run%s x max_period %lld states, %.2f GiB)",
               runs, plural, (long long)job->analyze.orbit.max_period, gib);
      *advice = "lower orbit.max_period (0 turns orbit detection off)";
      return;
    case LZ_ARRAY_HIST2D:
    case LZ_ARRAY_GIBBS2D:
      *at = p->im_joint_mark.line  ? p->im_joint_mark
            : p->im_bins_mark.line ? p->im_bins_mark
                                   : tiles_or_top;
      snprintf(what, len, "one tile's joint histograms of invariant_measure (%lld run%s x %lld x "
               "%lld bins, %.2f GiB)", runs, plural, (long long)job->analyze.invariant_measure.bins,
               (long long)job->analyze.invariant_measure.bins, gib);
      *advice = "lower invariant_measure.bins or set joint: false";
      return;
    case LZ_ARRAY_HIST_OBS:
      *at = p->im_obs_bins_mark.line ? p->im_obs_bins_mark : tiles_or_top;
      snprintf(what, len, "one tile's observable histograms (%lld run%s x %lld bins, %.2f GiB)",
               runs, plural, (long long)job->analyze.invariant_measure.observable.bins, gib);
      *advice = "lower observable.bins or tiles.runs";
      return;
    default:
      *at = p->im_bins_mark.line ? p->im_bins_mark : tiles_or_top;
      snprintf(what, len, "one tile's results (%lld run%s, %.2f GiB)", runs, plural,
               est->part[LZ_MEM_RESULTS] / GIB);
      *advice = "lower tiles.runs or invariant_measure.bins";
      return;
  }
}

/* Where the job file sets the part of the estimate that dominates, and what lowers it. */
static void report_memory(parser *p, const lz_config_limits *lim, const lz_memory_estimate *est) {
  const lz_job *job = p->job;
  lz_memory_part part = lz_memory_largest_part(est);
  lz_mark at = job->problem.mark;
  const char *advice = "split the job or give the rank more memory";
  char what[256];
  snprintf(what, sizeof what, "the %s (%.2f GiB)", lz_memory_part_names[part],
           est->part[part] / GIB);
  switch (part) {
    case LZ_MEM_PROBLEM:
    case LZ_MEM_RUNS:
      if (part == LZ_MEM_RUNS && est->orbit_ring > 0.5 * est->part[LZ_MEM_RUNS]) {
        at = p->max_period_mark.line ? p->max_period_mark : job->problem.mark;
        snprintf(what, sizeof what, "the orbit rings (2 x max_period %lld states for each run "
                 "held at once on %d threads, %.2f GiB)", (long long)job->analyze.orbit.max_period,
                 est->threads, est->orbit_ring / GIB);
        advice = "lower orbit.max_period (0 turns orbit detection off)";
      } else if (job->problem.kind == LZ_PROBLEM_MF) {
        at = job->problem.mf.n.mark.line ? job->problem.mf.n.mark : job->problem.mark;
        int dense = job->problem.mf.target.kind == LZ_TARGET_GAUSSIAN ||
                    job->problem.mf.target.kind == LZ_TARGET_FILE;
        advice = part == LZ_MEM_PROBLEM && dense
                     ? "reduce n (a dense target takes 8 n^2 bytes, twice that up to n = 4096), "
                       "or use a lowrank target"
                     : "reduce n or d";
      }
      break;
    case LZ_MEM_RESULTS:
      report_results_memory(p, est, &at, what, sizeof what, &advice);
      break;
    case LZ_MEM_SAMPLER:
      snprintf(what, sizeof what, "the invariant-measure sampler's histograms (%lld bins per "
               "coordinate%s, for the chains of %d threads; %.2f GiB)",
               (long long)job->analyze.invariant_measure.bins,
               job->analyze.invariant_measure.joint ? ", and bins squared jointly" : "",
               est->threads, est->part[part] / GIB);
      at = job->analyze.invariant_measure.joint && p->im_joint_mark.line ? p->im_joint_mark
         : p->im_bins_mark.line ? p->im_bins_mark : job->analyze.invariant_measure.mark;
      advice = job->analyze.invariant_measure.joint
                   ? "lower invariant_measure.bins or set joint: false"
                   : "lower invariant_measure.bins or observable.bins";
      break;
    default: break;
  }
  cfg_report(p, at,
             "sweep too large for memory: %s brings the peak to about %.2f GiB per rank, above "
             "the limit of %.2f GiB (%s); %s",
             what, est->total / GIB, lim->memory_bytes / GIB,
             lim->origin ? lim->origin : "--memory-limit", advice);
}

/* Runs on the finished job: the estimate walks its instances. */
void cfg_check_memory(parser *p, const lz_config_limits *lim) {
  lz_memory_estimate est;
  lz_job_memory_estimate(p->job, lim->threads, &est);
  p->job->memory_estimate = est.total;
  if (lim->memory_bytes > 0 && est.total > lim->memory_bytes) report_memory(p, lim, &est);
}

/* A team holds whole row chunks of an instance it shares, so it can have no more ranks than
 * the instance has chunks. Instances no team can share (other kinds, lowrank, identity and
 * small targets) run on one member and are not checked. Beyond 10^5 instances, the first. */
void cfg_check_teams(parser *p) {
  const lz_job *job = p->job;
  const int64_t k = job->tiles.ranks_per_run;
  if (k <= 1) return;
  for (int64_t i = 0; i < job->ninstances && i < 100000; ++i) {
    lz_problem_params pp;
    lz_job_instance_params(job, i, &pp);
    size_t chunks = lz_problem_params_team_chunks(&pp);
    if (chunks == 0 && job->problem.kind == LZ_PROBLEM_MF &&
        (pp.mf.target == LZ_TARGET_GAUSSIAN || pp.mf.target == LZ_TARGET_FILE))
      chunks = 1;  /* a dense target too small to split: one chunk */
    if (chunks == 0 || (int64_t)chunks >= k) continue;
    lz_mark at = p->ranks_per_run_mark.line ? p->ranks_per_run_mark : p->top_mark;
    cfg_report(p, at,
               "tiles.ranks_per_run = %lld, but the instance n = %lld, d = %lld has %zu row "
               "chunk%s, and a team member holds whole chunks: rows split into chunks of at "
               "least 4 (16 chunks, 64 from n = 16384) only where n^2 d >= 262144; use at most "
               "%zu ranks per run, or a larger instance",
               (long long)k, (long long)pp.mf.n, (long long)pp.mf.d, chunks,
               chunks == 1 ? "" : "s", chunks);
    return;
  }
}
