/* The memory estimate: the same sizes the code allocates, summed at the moment they coexist. */
#define _POSIX_C_SOURCE 200809L
#include "lrzoo/memory.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lrzoo/analysis.h"
#include "lrzoo/measure.h"
#include "lrzoo/results.h"

/* Resident size of `lrzoo run` on a one-run quadratic job, measured with /usr/bin/time
 * (36 MB on one rank; more ranks add shared-memory segments), with room to spare. */
#define LIBRARIES_BYTES (64.0 * 1024 * 1024)

const char *const lz_memory_part_names[LZ_MEM_PARTS] = {
    [LZ_MEM_PROBLEM] = "problem instance",
    [LZ_MEM_RUNS] = "run scratch",
    [LZ_MEM_RESULTS] = "tile results",
    [LZ_MEM_SAMPLER] = "invariant-measure sampler",
    [LZ_MEM_LIBRARIES] = "libraries",
};

/* Bytes of one run's row of every per-run array. */
static double row_bytes(const lz_job *job, int pooled_only) {
  double per_run = 0.0;
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    if (pooled_only && !lz_array_descs[a].pooled) continue;
    per_run += 8.0 * (double)lz_array_shape_size(lz_job_array_shape(job, (lz_array_id)a));
  }
  return per_run;
}

static lz_array_id largest_array(const lz_job *job) {
  lz_array_id best = (lz_array_id)0;
  int64_t most = -1;
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    int64_t size = lz_array_shape_size(lz_job_array_shape(job, (lz_array_id)a));
    if (size > most) most = size, best = (lz_array_id)a;
  }
  return best;
}

/* A tile's results live twice at rank 0 of a multi-rank run: the worker's and the master's
 * receive buffer. Pooling, after the last tile, holds one pooled point's runs. */
static void count_results(const lz_job *job, lz_memory_estimate *est) {
  double runs = (double)lz_job_tile_capacity(job);
  double tile = runs * (row_bytes(job, 0) + (double)sizeof(lz_run_result));
  double sums = lz_job_samples_invariant_measure(job) ? runs * (double)sizeof(lz_im_sums) : 0.0;
  int64_t first = 0, count = 0, stride = 0;
  if (lz_job_npooled(job) > 0) lz_job_pooled_runs(job, 0, &first, &count, &stride);
  double pool = (double)count * (row_bytes(job, 1) + (double)sizeof(lz_run_result));
  /* rank 0 keeps a flag and a cost-ordered entry per tile of the job */
  double bookkeeping = (double)job->ntiles * (1.0 + 16.0);
  double during_tiles = 2.0 * tile + sums + bookkeeping;
  est->part[LZ_MEM_RESULTS] = during_tiles > pool ? during_tiles : pool;
  est->largest_array = (int)largest_array(job);
  est->largest_array_bytes =
      2.0 * runs * 8.0 *
      (double)lz_array_shape_size(lz_job_array_shape(job, (lz_array_id)est->largest_array));
}

/* What an instance needs at its peak: building it (the previous instance is freed first), or
 * running it, whichever is larger. */
static void count_instance(const lz_job *job, const lz_problem_params *pp, int64_t counted,
                           int threads, lz_memory_estimate *best) {
  lz_problem_sizes s;
  lz_problem_params_sizes(pp, &s);
  double ring = 0.0;
  double runs = lz_tile_work_bytes(job, pp, threads, &ring);
  double sampler = 0.0;
  if (lz_job_samples_invariant_measure(job))
    sampler = (double)threads * lz_sample_thread_bytes(job, pp) +
              (double)lz_job_tile_capacity(job) * 8.0 * (double)s.dim;  /* final states */
  double building = s.stored_bytes + s.building_bytes;
  double running = s.stored_bytes + runs + sampler;
  double best_peak = best->part[LZ_MEM_PROBLEM] + best->part[LZ_MEM_RUNS] + best->part[LZ_MEM_SAMPLER];
  if (counted > 0 && fmax(building, running) <= best_peak) return;
  if (building > running) {
    best->part[LZ_MEM_PROBLEM] = building;
    best->part[LZ_MEM_RUNS] = best->part[LZ_MEM_SAMPLER] = best->orbit_ring = 0.0;
  } else {
    best->part[LZ_MEM_PROBLEM] = s.stored_bytes;
    best->part[LZ_MEM_RUNS] = runs;
    best->part[LZ_MEM_SAMPLER] = sampler;
    best->orbit_ring = ring;
  }
}

typedef struct visit_state {
  const lz_job *job;
  int threads;
  int64_t counted;
  lz_memory_estimate *est;
} visit_state;

static void count_size_combination(const lz_problem_params *pp, double weight, void *ctx) {
  visit_state *v = ctx;
  count_instance(v->job, pp, v->counted++, v->threads, v->est);
}

/* Beyond 10^5 combinations of sizes (only a hostile job has them), an upper bound: every size
 * parameter at its largest value, and the runs counted as if they shared the threads. */
static void count_instances(const lz_job *job, int threads, lz_memory_estimate *est) {
  visit_state v = {job, threads, 0, est};
  if (lz_job_visit_sizes(job, 100000, count_size_combination, &v) == 0) return;
  lz_problem_params pp;
  lz_job_largest_params(job, &pp);
  count_instance(job, &pp, 0, threads, est);
  lz_problem_sizes s;
  lz_problem_params_sizes(&pp, &s);
  if (!lz_runs_share_threads(&pp) && s.batch_max <= 1) {
    est->part[LZ_MEM_RUNS] *= (double)threads;
    est->orbit_ring *= (double)threads;
  }
}

void lz_job_memory_estimate(const lz_job *job, int threads, lz_memory_estimate *est) {
  memset(est, 0, sizeof *est);
  est->threads = threads > 0 ? threads : 1;
  count_instances(job, est->threads, est);
  count_results(job, est);
  est->part[LZ_MEM_LIBRARIES] = LIBRARIES_BYTES;
  for (int p = 0; p < LZ_MEM_PARTS; ++p) est->total += est->part[p];
}

lz_memory_part lz_memory_largest_part(const lz_memory_estimate *est) {
  lz_memory_part best = LZ_MEM_PROBLEM;
  for (int p = 1; p < LZ_MEM_PARTS; ++p)  /* the libraries are a constant: nothing lowers them */
    if (p != LZ_MEM_LIBRARIES && est->part[p] > est->part[best]) best = (lz_memory_part)p;
  return best;
}

/* ---- what the rank may use ---------------------------------------------------------------- */

static double physical_memory(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? (double)pages * (double)page : 0.0;
}

/* A cgroup limit in bytes from one of its files; 0 if absent, "max", or not a number. */
static double cgroup_limit_in(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return 0.0;
  char buf[64] = "";
  double v = 0.0;
  if (fgets(buf, sizeof buf, f)) {
    char *end = NULL;
    v = strtod(buf, &end);
    if (end == buf || !(v > 0) || !isfinite(v)) v = 0.0;
  }
  fclose(f);
  return v;
}

double lz_memory_available(void) {
  double have = physical_memory();
  /* cgroup v2, then v1: SLURM's task/cgroup plugin and containers set these. */
  const char *files[] = {"/sys/fs/cgroup/memory.max",
                         "/sys/fs/cgroup/memory/memory.limit_in_bytes"};
  for (size_t i = 0; i < sizeof files / sizeof *files; ++i) {
    double limit = cgroup_limit_in(files[i]);
    if (limit > 0 && (have <= 0 || limit < have)) have = limit;
  }
  return have;
}

int lz_memory_parse_size(const char *text, double *bytes) {
  if (!text) return -1;
  char *end = NULL;
  double v = strtod(text, &end);
  if (end == text || !isfinite(v) || !(v > 0)) return -1;
  double unit = 1.0;
  switch (toupper((unsigned char)*end)) {
    case 'K': unit = 1024.0, ++end; break;
    case 'M': unit = 1024.0 * 1024, ++end; break;
    case 'G': unit = 1024.0 * 1024 * 1024, ++end; break;
    case 'T': unit = 1024.0 * 1024 * 1024 * 1024, ++end; break;
    default: break;
  }
  if (unit > 1.0 && *end == 'i') ++end;
  if (*end == 'B' || *end == 'b') ++end;
  if (*end != '\0') return -1;
  *bytes = v * unit;
  return 0;
}
