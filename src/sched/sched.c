/* The only compilation unit that calls MPI. */
#define _POSIX_C_SOURCE 200809L

#include "lrzoo/sched.h"

#include <errno.h>
#include <inttypes.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lrzoo/io.h"
#include "lrzoo/problem.h"
#include "lrzoo/results.h"
#include "lrzoo/sysinfo.h"

int lz_sched_init(int *argc, char ***argv, lz_comm *c, lz_err *err) {
  int provided = 0;
  /* Only the thread that owns MPI calls it; OpenMP threads compute. */
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    return lz_err_set(err, LZ_EMPI, "MPI_Init_thread failed");
  c->comm = MPI_COMM_WORLD;
  c->info = MPI_INFO_NULL;
  MPI_Comm_rank(c->comm, &c->rank);
  MPI_Comm_size(c->comm, &c->size);
  return LZ_OK;
}

void lz_sched_finalize(lz_comm *c) {
  (void)c;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

_Noreturn void lz_sched_abort(const lz_comm *c, int exit_code) {
  MPI_Abort(c ? c->comm : MPI_COMM_WORLD, exit_code);
  exit(exit_code);  /* not reached */
}

int lz_sched_agree(const lz_comm *c, int code) {
  int worst = code;
  MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MIN, c->comm);
  return worst;
}

void lz_sched_mpi_version(char *buf, size_t len) {
  char v[MPI_MAX_LIBRARY_VERSION_STRING];
  int n = 0;
  MPI_Get_library_version(v, &n);
  /* Open MPI's string spans lines; the first says what matters. */
  char *nl = strchr(v, '\n');
  if (nl) *nl = '\0';
  snprintf(buf, len, "%s", v);
}

static int read_whole_file(const char *path, char **text, size_t *len, lz_err *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return lz_err_set(err, LZ_EJOB, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n - 1, f);
    if (n < cap - 1) break;
    char *bigger = realloc(buf, cap *= 2);
    if (!bigger) free(buf);
    buf = bigger;
  }
  int failed = ferror(f);
  fclose(f);
  if (!buf) return lz_err_set(err, LZ_ENOMEM, "%s: out of memory reading the file", path);
  if (failed) {
    free(buf);
    return lz_err_set(err, LZ_EJOB, "%s: read error", path);
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return LZ_OK;
}

int lz_sched_read_job_text(const lz_comm *c, const char *path, char **text, size_t *len,
                           lz_err *err) {
  int rc = LZ_OK;
  long long n = 0;
  *text = NULL;
  if (c->rank == 0) {
    rc = read_whole_file(path, text, len, err);
    n = rc == LZ_OK ? (long long)*len : -1;
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, c->comm);
  if (rc != LZ_OK) {
    MPI_Bcast(err->msg, sizeof err->msg, MPI_CHAR, 0, c->comm);
    err->code = rc;
    return rc;
  }
  MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, c->comm);
  if (c->rank != 0) {
    *text = malloc((size_t)n + 1);
    if (!*text) lz_sched_abort(c, 1);
    *len = (size_t)n;
  }
  MPI_Bcast(*text, (int)n + 1, MPI_CHAR, 0, c->comm);
  return LZ_OK;
}

/* ---- problem instances: a rank keeps the last one, since consecutive tiles share it ---- */

typedef struct instance_cache {
  int64_t index;
  lz_problem *problem;
} instance_cache;

static int load_instance(const lz_job *job, int64_t instance, instance_cache *cache,
                         lz_err *err) {
  if (cache->problem && cache->index == instance) return LZ_OK;
  lz_problem_destroy(&cache->problem);
  size_t idx[LZ_MAX_AXES];
  lz_job_run_coords(job, instance * job->runs_per_instance, idx);
  lz_problem_params pp;
  lz_job_problem_params(job, idx, &pp);
  double *target = NULL;
  if (pp.kind == LZ_PROBLEM_MF && pp.target == LZ_TARGET_FILE) {
    target = malloc((size_t)pp.n * (size_t)pp.n * sizeof *target);
    if (!target)
      return lz_err_set(err, LZ_ENOMEM, "cannot allocate the %" PRId64 " x %" PRId64
                        " target matrix", pp.n, pp.n);
    int rc = lz_io_read_matrix(pp.target_path, pp.target_dataset, pp.n, target, err);
    if (rc != LZ_OK) {
      free(target);
      return rc;
    }
  }
  int rc = lz_problem_create(&pp, job->seed, target, &cache->problem, err);
  free(target);
  if (rc == LZ_OK) cache->index = instance;
  return rc;
}

/* ---- tile order: largest expected cost first ---- */

typedef struct tile_cost {
  int64_t tile;
  double cost;
} tile_cost;

static int by_cost_descending(const void *a, const void *b) {
  const tile_cost *x = a, *y = b;
  if (x->cost != y->cost) return x->cost < y->cost ? 1 : -1;
  return (x->tile > y->tile) - (x->tile < y->tile);
}

static tile_cost *order_tiles_by_cost(const lz_job *job, const uint8_t *done, int64_t *count) {
  tile_cost *order = malloc((size_t)job->ntiles * sizeof *order);
  if (!order) return NULL;
  int64_t n = 0;
  size_t idx[LZ_MAX_AXES];
  for (int64_t t = 0; t < job->ntiles; ++t) {
    if (done[t]) continue;
    int64_t r0, cnt;
    lz_job_tile_runs(job, t, &r0, &cnt);
    lz_job_run_coords(job, r0, idx);
    lz_problem_params pp;
    lz_job_problem_params(job, idx, &pp);
    order[n].tile = t;
    order[n].cost = lz_problem_params_step_cost(&pp) * (double)cnt;
    ++n;
  }
  qsort(order, (size_t)n, sizeof *order, by_cost_descending);
  *count = n;
  return order;
}

static void fill_provenance(const lz_comm *c, lz_provenance *prov, char *mpi, size_t mpilen,
                            char *blas, size_t blaslen, char *now, size_t nowlen,
                            const char *version, const char *commit) {
  lz_sched_mpi_version(mpi, mpilen);
  lz_blas_description(blas, blaslen);
  lz_utc_now(now, nowlen);
  prov->lrzoo_version = version;
  prov->git_commit = commit;
  prov->created_utc = now;
  prov->mpi_version = mpi;
  prov->blas = blas;
  prov->mpi_ranks = c->size;
  prov->omp_threads = omp_get_max_threads();
}

static int run_tiles_on_this_rank(const lz_job *job, lz_out *out, const uint8_t *done,
                                  lz_err *err) {
  int64_t ntodo = 0;
  tile_cost *order = order_tiles_by_cost(job, done, &ntodo);
  if (!order) return lz_err_set(err, LZ_ENOMEM, "cannot allocate the tile list");
  lz_tile_result tr;
  int rc = lz_tile_result_alloc(&tr, job->tiles.runs, lz_job_trace_len(job), err);
  instance_cache cache = {-1, NULL};
  for (int64_t i = 0; i < ntodo && rc == LZ_OK; ++i) {
    int64_t t = order[i].tile;
    rc = load_instance(job, t / job->tiles_per_instance, &cache, err);
    if (rc != LZ_OK) {
      lz_err_prefix(err, "tile %" PRId64 ": ", t);
      break;
    }
    rc = lz_run_tile(job, cache.problem, t, &tr, err);
    if (rc == LZ_OK) rc = lz_out_write_tile(out, &tr, err);
  }
  lz_problem_destroy(&cache.problem);
  lz_tile_result_free(&tr);
  free(order);
  return rc;
}

int lz_sched_run(const lz_comm *c, const lz_job *job, const lz_run_options *opt, lz_err *err) {
  if (opt->threads > 0) omp_set_num_threads(opt->threads);
  lz_blas_use_one_thread();

  uint8_t *done = calloc((size_t)job->ntiles, 1);
  if (!done) return lz_err_set(err, LZ_ENOMEM, "cannot allocate %" PRId64 " tile flags", job->ntiles);
  lz_out *out = NULL;
  int rc;
  if (opt->resume) {
    rc = lz_out_open_resume(c, opt->out_path, job, &out, done, err);
  } else {
    char mpi[256], blas[512], now[64];
    lz_provenance prov;
    fill_provenance(c, &prov, mpi, sizeof mpi, blas, sizeof blas, now, sizeof now,
                    opt->version, opt->git_commit);
    rc = lz_out_create(c, opt->out_path, job, &prov, opt->overwrite, &out, err);
  }
  rc = lz_sched_agree(c, rc);
  if (rc != LZ_OK) {
    free(done);
    if (out) lz_out_close(&out, NULL);
    return rc;
  }

  /* One rank computes everything for now; the master/worker split spreads it. */
  int local = LZ_OK;
  if (c->rank == 0) local = run_tiles_on_this_rank(job, out, done, err);
  rc = lz_sched_agree(c, local);
  lz_err close_err = {0, ""};
  int crc = lz_out_close(&out, &close_err);
  if (rc == LZ_OK && crc != LZ_OK) {
    *err = close_err;
    rc = crc;
  }
  free(done);
  return rc;
}
