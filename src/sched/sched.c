/* The only compilation unit that calls MPI.
 *
 * Rank 0 is the master: it owns the queue of tiles not yet done, largest expected cost first,
 * and hands them out one at a time to workers that ask. It also computes tiles itself, and
 * answers requests between its own runs. A worker asks for its next tile when it starts the
 * current one, so the answer is waiting when it finishes even if the master was busy.
 *
 * Messages (all int64 arrays on the world communicator):
 *   worker -> master  REQUEST  {0}                 "give me a tile"
 *   master -> worker  ASSIGN   {tile or -1}        -1: no more tiles, leave the loop
 *   worker -> master  DONE     tile_report         a tile finished (or was dropped)
 *   worker -> master  ERROR    char[]              a failure; the master prints it and aborts
 * Every worker's last message is a REQUEST answered with -1, and MPI keeps the messages of one
 * sender in order, so the master has seen all of a worker's reports once it has stopped every
 * worker and no assigned tile is outstanding.
 *
 * Teams (tiles.ranks_per_run = K > 1): ranks r K .. r K + K - 1 form team r, on a communicator
 * of their own. The team's first rank (the master for team 0) is the one the scheme above
 * knows: it asks for tiles, writes them and reports. Before each tile it tells its members
 * what to do (an order, after the team has pooled the stop signals its members saw): compute
 * the tile with it, when the team shares the tile's instance (lz_problem_params_team_rows), or
 * nothing, when the instance runs on the first rank alone; or leave. Inside a shared tile the
 * instance calls the lz_team functions below, point to point along the team and gathers. */
#define _GNU_SOURCE  /* sched_getaffinity, CPU_COUNT */

#include "lrzoo/sched.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lrzoo/config.h"
#include "lrzoo/env_switches.h"
#include "lrzoo/input_file.h"
#include "lrzoo/io.h"
#include "lrzoo/memory.h"
#include "lrzoo/pool.h"
#include "lrzoo/problem.h"
#include "lrzoo/results.h"
#include "lrzoo/sysinfo.h"

enum { TAG_REQUEST = 11, TAG_ASSIGN = 12, TAG_DONE = 13, TAG_ERROR = 14, TAG_CHAIN = 15 };

/* How long a failed worker waits for the master to end the job before it ends it itself. */
#define ERROR_GRACE_SECONDS 10.0
/* The master looks for messages at most this often while it computes (seconds). */
#define POLL_INTERVAL 5e-4

/* ---- process setup ------------------------------------------------------------------------ */

static void install_stop_handlers(void);

/* A process started without a launcher (plain `lrzoo run job.yaml`, the commonest way to run a
 * small job) is an MPI singleton. Open MPI then forks an orted daemon, needed only for
 * MPI_Comm_spawn, which lrzoo never calls, and probes the network transports of its cm PML
 * before it picks ob1, the only one that serves a lone process: together 0.3-0.4 s of every
 * run here. A user's own settings win (overwrite = 0); under mpiexec or srun, where the
 * transports matter, nothing is touched. */
static bool started_by_a_launcher(void) {
  static const char *const launcher_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                              "PMI_SIZE", "SLURM_STEP_ID"};
  for (size_t i = 0; i < sizeof launcher_vars / sizeof launcher_vars[0]; ++i)
    if (getenv(launcher_vars[i])) return true;
  return false;
}

static void start_a_singleton_lean(void) {
  if (started_by_a_launcher()) return;
  setenv(lz_env_switches[LZ_ENV_OMPI_SINGLETON_ISOLATED].name, "1", 0);
  setenv(lz_env_switches[LZ_ENV_OMPI_PML].name, "ob1", 0);
}

int lz_sched_init(int *argc, char ***argv, lz_comm *c, lz_err *err) {
  int provided = 0;
  /* First of all: a batch system's stop signal (SLURM's --signal can come within a second of a
   * requeued job's start) must find lrzoo catching it, not be killed by it. A stop caught this
   * early makes the run hand out no tile and exit 3. */
  install_stop_handlers();
  /* A file-size limit (ulimit -f, a batch system's) must fail the write with EFBIG, which the
   * output code reports and cleans up after, instead of killing the rank mid-write. */
  signal(SIGXFSZ, SIG_IGN);
  start_a_singleton_lean();
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

/* Rank 0's; held from before the output is touched until after it is closed, and let go by an
 * abort too, so that only kill -9 leaves a stale one. */
static lz_out_lock *output_lock = NULL;

static void release_output_lock(void) { lz_out_lock_release(&output_lock); }

_Noreturn void lz_sched_abort(const lz_comm *c, int exit_code) {
  release_output_lock();
  fflush(stderr);
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

/* Collective. Gives every rank rank 0's *text (len bytes and a NUL; below 2 GiB): the other
 * ranks receive an allocated copy. LZ_ENOMEM on every rank if any rank could not hold it. */
static int share_text_of_rank_0(const lz_comm *c, char **text, size_t *len) {
  long long n = c->rank == 0 ? (long long)*len : 0;
  MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, c->comm);
  if (c->rank != 0) {
    *text = malloc((size_t)n + 1);
    *len = (size_t)n;
  }
  int ok = *text != NULL, all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, c->comm);
  if (!all_ok) {
    if (c->rank != 0) free(*text), *text = NULL;
    return LZ_ENOMEM;
  }
  MPI_Bcast(*text, (int)n + 1, MPI_CHAR, 0, c->comm);
  return LZ_OK;
}

int lz_sched_read_job_text(const lz_comm *c, const char *path, char **text, size_t *len,
                           lz_err *err) {
  int rc = LZ_OK;
  *text = NULL;
  if (c->rank == 0) rc = lz_input_read(path, "job file", LZ_JOB_FILE_MAX_BYTES, text, len, err);
  MPI_Bcast(&rc, 1, MPI_INT, 0, c->comm);
  if (rc != LZ_OK) {
    MPI_Bcast(err->msg, sizeof err->msg, MPI_CHAR, 0, c->comm);
    err->code = rc;
    return rc;
  }
  if (share_text_of_rank_0(c, text, len) != LZ_OK) lz_sched_abort(c, 1);
  return LZ_OK;
}

static int ranks_on_my_node(const lz_comm *c) {
  MPI_Comm node;
  int ranks = 1;
  MPI_Comm_split_type(c->comm, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &ranks);
  MPI_Comm_free(&node);
  return ranks;
}

/* Threads per rank: --threads, else OMP_NUM_THREADS, else the cores this process may use
 * shared among the ranks on its node, so that mpiexec -n 2 on 2 cores does not start 4 threads. */
static int choose_thread_count(const lz_comm *c, int requested) {
  if (requested > 0) return requested;
  const char *env = getenv(lz_env_switches[LZ_ENV_OMP_NUM_THREADS].name);
  if (env && *env) return omp_get_max_threads();
  int ranks_here = ranks_on_my_node(c);
  int cores = omp_get_num_procs();
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
  int affinity_limited = cores < omp_get_num_procs();
  int share = affinity_limited ? cores : cores / ranks_here;
  return share > 0 ? share : 1;
}

void lz_sched_rank_resources(const lz_comm *c, int requested_threads, lz_rank_resources *out) {
  out->threads = choose_thread_count(c, requested_threads);
  int ranks_here = ranks_on_my_node(c);
  double have = lz_memory_available();
  double share = have > 0 ? have / ranks_here : 0.0, least = 0.0;
  MPI_Allreduce(&share, &least, 1, MPI_DOUBLE, MPI_MIN, c->comm);
  out->memory_share = least;
  /* the rank count of a node with the least share, for the message */
  double mine = share == least ? (double)ranks_here : 0.0, ranks = 0.0;
  MPI_Allreduce(&mine, &ranks, 1, MPI_DOUBLE, MPI_MAX, c->comm);
  out->ranks_on_node = (int)ranks;
  out->node_memory = least * ranks;
}

/* More threads than cores on a node makes every OpenMP barrier wait for descheduled threads
 * (measured: 2 ranks x 2 threads on 2 cores ran 30x slower), so say so once, with the fix. */
static void warn_if_node_is_oversubscribed(const lz_comm *c, int threads) {
  MPI_Comm node;
  MPI_Comm_split_type(c->comm, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node);
  int on_node = 0;
  MPI_Allreduce(&threads, &on_node, 1, MPI_INT, MPI_SUM, node);
  MPI_Comm_free(&node);
  int cores = omp_get_num_procs();
  int over = on_node > cores, any = 0;
  MPI_Allreduce(&over, &any, 1, MPI_INT, MPI_MAX, c->comm);
  if (any && c->rank == 0)
    fprintf(stderr, "lrzoo: warning: %d threads on a node with %d cores (ranks x --threads); "
            "expect large slowdowns, or set OMP_WAIT_POLICY=passive\n", on_node, cores);
}

/* ---- signals ------------------------------------------------------------------------------ */

static volatile sig_atomic_t stop_signals = 0;   /* SIGTERM / SIGUSR1 received */
static volatile sig_atomic_t drop_in_flight = 0; /* the second one: drop tiles in flight */
static volatile sig_atomic_t stop_asked = 0;     /* a signal or the stop file, in any phase */

static void on_stop_signal(int sig) {
  (void)sig;
  stop_asked = 1;
  if (stop_signals < 2) stop_signals = stop_signals + 1;
  if (stop_signals >= 2) drop_in_flight = 1;
}

static void install_stop_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  /* A launcher may have started us with these blocked; one that came while they were is
   * delivered now. */
  sigset_t stops;
  sigemptyset(&stops);
  sigaddset(&stops, SIGTERM);
  sigaddset(&stops, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &stops, NULL);
}

/* Looks for the stop file 10 times a second until it appears, then ends. The run's master
 * keeps its own check (stop_is_requested), which also says that it found the file. */
static void *watch_for_the_stop_file(void *path) {
  struct timespec tenth = {0, 100000000};
  while (!stop_asked && access(path, F_OK) != 0) nanosleep(&tenth, NULL);
  stop_asked = 1;
  return NULL;
}

void lz_sched_catch_stop_signals(void) { install_stop_handlers(); }

void lz_sched_watch_stop_file(const char *path) {
  if (!path || !path[0]) return;
  pthread_t watcher;
  if (pthread_create(&watcher, NULL, watch_for_the_stop_file, (void *)path) == 0)
    pthread_detach(watcher);
}

const volatile sig_atomic_t *lz_sched_stop_flag(void) { return &stop_asked; }

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void nap(void) {
  /* Waiting ranks sleep instead of spinning in MPI, so they leave the cores to computing ranks
   * when a node is oversubscribed. */
  struct timespec ts = {0, 200000};
  nanosleep(&ts, NULL);
}

/* Waits for a non-blocking collective, sleeping rather than spinning in MPI: a rank that waits
 * (it finished early, or its team's first rank computes a tile alone) must not take a core
 * from the ranks still computing. */
static void wait_sleeping(int count, MPI_Request *req) {
  for (;;) {
    int done = 0;
    MPI_Testall(count, req, &done, MPI_STATUSES_IGNORE);
    if (done) return;
    nap();
  }
}

/* Waits until every rank gets here (see wait_sleeping). */
static void wait_for_every_rank(const lz_comm *c) {
  MPI_Request req;
  MPI_Ibarrier(c->comm, &req);
  wait_sleeping(1, &req);
}

/* ---- teams: the lz_team functions over MPI, and the orders of a tile ------------------------ */

typedef struct team_link {
  MPI_Comm comm;       /* MPI_COMM_NULL without teams */
  lz_comm io;          /* the same, for the team's collective reads (src/io) */
  int rank, size;
  int *counts, *displs;  /* gather_rows' per-member rows */
  lz_team team;
} team_link;

/* MPI counts are ints: long buffers go in pieces. */
#define PIECE_DOUBLES ((size_t)1 << 30)

static void team_send_to_next(void *ctx, const double *buf, size_t len) {
  team_link *t = ctx;
  for (size_t at = 0; at < len; at += PIECE_DOUBLES) {
    size_t n = len - at < PIECE_DOUBLES ? len - at : PIECE_DOUBLES;
    MPI_Send(buf + at, (int)n, MPI_DOUBLE, t->rank + 1, TAG_CHAIN, t->comm);
  }
}

static void team_receive_from_previous(void *ctx, double *buf, size_t len) {
  team_link *t = ctx;
  for (size_t at = 0; at < len; at += PIECE_DOUBLES) {
    size_t n = len - at < PIECE_DOUBLES ? len - at : PIECE_DOUBLES;
    MPI_Recv(buf + at, (int)n, MPI_DOUBLE, t->rank - 1, TAG_CHAIN, t->comm, MPI_STATUS_IGNORE);
  }
}

/* Counted in rows of w doubles, so that n x w buffers never overflow an int count. */
static void team_gather_rows(void *ctx, double *buf, size_t w, const size_t *first) {
  team_link *t = ctx;
  MPI_Datatype row;
  MPI_Type_contiguous((int)w, MPI_DOUBLE, &row);
  MPI_Type_commit(&row);
  for (int m = 0; m < t->size; ++m) {
    t->counts[m] = (int)(first[m + 1] - first[m]);
    t->displs[m] = (int)first[m];
  }
  MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, t->counts, t->displs, row, t->comm);
  MPI_Type_free(&row);
}

static void team_broadcast(void *ctx, int root, double *buf, size_t len) {
  team_link *t = ctx;
  for (size_t at = 0; at < len; at += PIECE_DOUBLES) {
    size_t n = len - at < PIECE_DOUBLES ? len - at : PIECE_DOUBLES;
    MPI_Bcast(buf + at, (int)n, MPI_DOUBLE, root, t->comm);
  }
}

/* Splits the world into teams of k ranks; k = 1 makes no team. */
static int form_teams(const lz_comm *c, int64_t k, team_link *t, lz_err *err) {
  memset(t, 0, sizeof *t);
  t->comm = MPI_COMM_NULL;
  t->size = 1;
  if (k <= 1) return LZ_OK;
  MPI_Comm_split(c->comm, c->rank / (int)k, c->rank, &t->comm);
  MPI_Comm_rank(t->comm, &t->rank);
  MPI_Comm_size(t->comm, &t->size);
  t->io = (lz_comm){t->comm, MPI_INFO_NULL, t->rank, t->size};
  t->counts = malloc((size_t)t->size * sizeof *t->counts);
  t->displs = malloc((size_t)t->size * sizeof *t->displs);
  if (!t->counts || !t->displs) return lz_err_set(err, LZ_ENOMEM, "no memory for a team");
  t->team = (lz_team){t->rank, t->size, t, team_send_to_next, team_receive_from_previous,
                      team_gather_rows, team_broadcast};
  return LZ_OK;
}

static void dissolve_team(team_link *t) {
  if (t->comm != MPI_COMM_NULL) MPI_Comm_free(&t->comm);
  free(t->counts);
  free(t->displs);
  memset(t, 0, sizeof *t);
}

static int in_a_team(const team_link *t) { return t->comm != MPI_COMM_NULL; }

/* What the first rank of a team tells its members before each tile. */
enum { ORDER_LEAVE = 0, ORDER_SKIP = 1, ORDER_COMPUTE = 2 };

/* Collective over the team, once before each order: whether any member has seen a stop signal
 * or the stop file. The first rank then stops like on a signal of its own. */
static int team_heard_stop(const team_link *t) {
  if (!in_a_team(t)) return 0;
  int mine = stop_asked != 0 || stop_signals != 0, any = mine;
  MPI_Request req;
  MPI_Iallreduce(&mine, &any, 1, MPI_INT, MPI_MAX, t->comm, &req);
  wait_sleeping(1, &req);
  if (any && !stop_signals) stop_signals = 1;
  return any;
}


/* The first rank's order (tile, what) to every member. */
static void team_order(const team_link *t, int64_t order[2]) {
  if (!in_a_team(t)) return;
  MPI_Request req;
  MPI_Ibcast(order, 2, MPI_INT64_T, 0, t->comm, &req);
  wait_sleeping(1, &req);
}

static void tell_team(const team_link *t, int64_t tile, int64_t what) {
  int64_t order[2] = {tile, what};
  team_order(t, order);
}

/* The first rank's last order: its members leave their loop. */
static void release_team(const team_link *t) {
  team_heard_stop(t);
  tell_team(t, -1, ORDER_LEAVE);
}

/* ---- problem instances: a rank keeps the last one, since consecutive tiles share it ------ */

typedef struct instance_cache {
  int64_t index;
  lz_problem *problem;
} instance_cache;

/* team: NULL, or the team that shares the instance (every member calls this together). */
static int load_instance(const lz_job *job, int64_t instance, const team_link *team,
                         instance_cache *cache, lz_err *err) {
  if (cache->problem && cache->index == instance) return LZ_OK;
  lz_problem_destroy(&cache->problem);
  lz_problem_params pp;
  lz_job_instance_params(job, instance, &pp);
  int64_t row0 = 0, row1 = 0;
  if (team && !lz_problem_params_team_rows(&pp, team->size, team->rank, &row0, &row1))
    return lz_err_set(err, LZ_EINVAL, "internal error: a team cannot share instance %" PRId64,
                      instance);
  double *target = NULL;
  const char *path, *dataset;
  int64_t n;
  if (lz_problem_params_target_file(&pp, &path, &dataset, &n)) {
    if (!team) row0 = 0, row1 = n;
    target = malloc((size_t)(row1 - row0) * (size_t)n * sizeof *target);
    if (!target)
      return lz_err_set(err, LZ_ENOMEM, "cannot allocate %" PRId64 " rows of the %" PRId64
                        " x %" PRId64 " target matrix", row1 - row0, n, n);
    int rc = lz_io_read_matrix_rows(team ? &team->io : NULL, path, dataset, n, row0, row1,
                                    target, err);
    if (rc != LZ_OK) {
      free(target);
      return rc;
    }
  }
  int rc = team ? lz_problem_create_in_team(&pp, job->seed, target, &team->team,
                                            &cache->problem, err)
                : lz_problem_create(&pp, job->seed, target, &cache->problem, err);
  free(target);
  if (rc == LZ_OK) cache->index = instance;
  return rc;
}

/* Whether the rank's team shares the instance of tile `tile` (it runs on the first rank
 * alone otherwise). */
static int team_shares_tile(const lz_job *job, const team_link *t, int64_t tile) {
  if (!in_a_team(t)) return 0;
  lz_problem_params pp;
  lz_job_instance_params(job, tile / job->tiles_per_instance, &pp);
  int64_t r0, r1;
  return lz_problem_params_team_rows(&pp, t->size, t->rank, &r0, &r1);
}

/* ---- tile order: largest expected cost first ---------------------------------------------- */

typedef struct tile_cost {
  int64_t tile;
  double cost;
} tile_cost;

static int by_cost_descending(const void *a, const void *b) {
  const tile_cost *x = a, *y = b;
  if (x->cost != y->cost) return x->cost < y->cost ? 1 : -1;
  return (x->tile > y->tile) - (x->tile < y->tile);
}

static double tile_cost_of(const lz_job *job, int64_t t) {
  int64_t r0, cnt;
  lz_job_tile_runs(job, t, &r0, &cnt);
  lz_problem_params pp;
  lz_job_instance_params(job, lz_job_instance_of_run(job, r0), &pp);
  return lz_problem_params_step_cost(&pp) * (double)cnt * (double)job->run.max_iter;
}

static tile_cost *order_tiles_by_cost(const lz_job *job, const uint8_t *done, int64_t *count) {
  tile_cost *order = malloc((size_t)(job->ntiles > 0 ? job->ntiles : 1) * sizeof *order);
  if (!order) return NULL;
  int64_t n = 0;
  for (int64_t t = 0; t < job->ntiles; ++t) {
    if (done[t]) continue;
    order[n].tile = t;
    order[n].cost = tile_cost_of(job, t);
    ++n;
  }
  qsort(order, (size_t)n, sizeof *order, by_cost_descending);
  *count = n;
  return order;
}

/* ---- what a rank reports about a tile ------------------------------------------------------ */

enum { REPORT_DROPPED = 1, REPORT_SIGNALLED = 2, REPORT_SHARED = 4 };

typedef struct tile_report {
  int64_t tile;
  int64_t flags;    /* REPORT_* */
  int64_t runs;
  int64_t steps;    /* GD steps of its runs */
  int64_t status[LZ_STATUS_COUNT];
  int64_t engine[LZ_ENGINE_COUNT];  /* runs each engine took */
} tile_report;
#define REPORT_LEN ((int)(sizeof(tile_report) / sizeof(int64_t)))

static tile_report report_of(const lz_tile_result *tr) {
  tile_report rep;
  memset(&rep, 0, sizeof rep);
  rep.tile = tr->tile;
  rep.runs = tr->count;
  for (int64_t i = 0; i < tr->count; ++i) {
    rep.steps += tr->runs[i].iterations;
    int s = tr->runs[i].status, e = tr->runs[i].engine;
    if (s >= 0 && s < LZ_STATUS_COUNT) rep.status[s]++;
    if (e >= 0 && e < LZ_ENGINE_COUNT) rep.engine[e]++;
  }
  return rep;
}

static tile_report dropped_report(int64_t tile) {
  tile_report rep;
  memset(&rep, 0, sizeof rep);
  rep.tile = tile;
  rep.flags = REPORT_DROPPED | REPORT_SIGNALLED;
  return rep;
}

/* ---- one rank's share of the work: compute a tile and write it ----------------------------- */

typedef struct rank_state {
  const lz_comm *c;
  const lz_job *job;
  lz_out *out;
  instance_cache cache;
  lz_tile_result tr;
  team_link team;
} rank_state;

/* On the first rank of a team (or a rank alone): tells the members whether they compute the
 * tile with it, computes it, and writes it. */
static int compute_and_write_tile(rank_state *rs, int64_t tile, const lz_tile_hooks *hooks,
                                  tile_report *rep, lz_err *err) {
  const int shared = team_shares_tile(rs->job, &rs->team, tile);
  tell_team(&rs->team, tile, shared ? ORDER_COMPUTE : ORDER_SKIP);
  int rc = load_instance(rs->job, tile / rs->job->tiles_per_instance,
                         shared ? &rs->team : NULL, &rs->cache, err);
  if (rc != LZ_OK) {
    lz_err_prefix(err, "tile %" PRId64 ": ", tile);
    return rc;
  }
  rc = lz_run_tile(rs->job, rs->cache.problem, tile, hooks, &rs->tr, err);
  if (rc == LZ_ESTOPPED) {
    *rep = dropped_report(tile);
    return LZ_OK;
  }
  if (rc == LZ_OK) rc = lz_out_write_tile(rs->out, &rs->tr, err);
  if (rc != LZ_OK) return rc;
  *rep = report_of(&rs->tr);
  if (stop_signals) rep->flags |= REPORT_SIGNALLED;
  if (shared) rep->flags |= REPORT_SHARED;
  return LZ_OK;
}

/* ---- the master --------------------------------------------------------------------------- */

typedef struct master {
  rank_state *rs;
  const lz_run_options *opt;
  tile_cost *queue;
  int64_t next, queued;
  int workers_running;      /* workers not yet told to stop */
  int64_t outstanding;      /* tiles handed to workers and not yet reported */
  int stopping;             /* no more tiles are handed out */
  int64_t tiles_done, runs_done, steps_done, status[LZ_STATUS_COUNT], engine[LZ_ENGINE_COUNT];
  int64_t shared_tiles, solo_tiles;  /* this session: tiles a team computed together, alone */
  double cost_total, cost_done;
  double t0, last_poll, last_progress, last_stop_check;
  int64_t handed_out;       /* tiles given to workers */
  double serving_seconds;   /* time spent answering workers, for the hand-out cost */
} master;

/* A stop signal, or the stop file (looked for at most 5 times a second: a signal sent while
 * srun was still launching the ranks is lost, a file is not). */
static int stop_is_requested(master *m) {
  if (stop_signals) return 1;
  const char *path = m->opt->stop_file;
  if (!path || !path[0]) return 0;
  double t = now_seconds();
  if (t - m->last_stop_check < 0.2) return 0;
  m->last_stop_check = t;
  if (access(path, F_OK) != 0) return 0;
  if (!m->stopping) fprintf(stderr, "lrzoo: found the stop file %s: stopping\n", path);
  return 1;
}

static void record_report(master *m, const tile_report *rep) {
  if (rep->flags & REPORT_SIGNALLED) m->stopping = 1;
  if (rep->flags & REPORT_DROPPED) return;
  m->tiles_done++;
  if (rep->flags & REPORT_SHARED) m->shared_tiles++;
  else m->solo_tiles++;
  m->runs_done += rep->runs;
  m->steps_done += rep->steps;
  for (int s = 0; s < LZ_STATUS_COUNT; ++s) m->status[s] += rep->status[s];
  for (int e = 0; e < LZ_ENGINE_COUNT; ++e) m->engine[e] += rep->engine[e];
  m->cost_done += tile_cost_of(m->rs->job, rep->tile);
}

/* Tenths below 10 s (a lanes-engine sweep often takes less than a second); whole units above,
 * rounded once so that 119.6 s reads 2m00s, not 1m60s. */
static void format_duration(double s, char *buf, size_t len) {
  if (!isfinite(s) || s < 0 || s > 1e15) {
    snprintf(buf, len, "?");
    return;
  }
  if (s < 9.95) {
    snprintf(buf, len, "%.1fs", s);
    return;
  }
  long long t = llround(s);
  if (t < 90) snprintf(buf, len, "%llds", t);
  else if (t < 5400) snprintf(buf, len, "%lldm%02llds", t / 60, t % 60);
  else snprintf(buf, len, "%lldh%02lldm", t / 3600, t / 60 % 60);
}

static void print_progress(master *m) {
  const lz_job *job = m->rs->job;
  double elapsed = now_seconds() - m->t0;
  double rate = elapsed > 0 ? (double)m->steps_done / elapsed : 0.0;
  /* ETA from the expected cost still to do, at the cost rate seen so far. */
  double eta = m->cost_done > 0 ? elapsed * (m->cost_total - m->cost_done) / m->cost_done : NAN;
  char eta_s[32];
  format_duration(eta, eta_s, sizeof eta_s);
  fprintf(stderr, "lrzoo: %s: tiles %" PRId64 "/%" PRId64 ", runs %" PRId64 "/%" PRId64
          ", %.3g GD steps/s, ETA %s\n", job->name, m->tiles_done, job->ntiles, m->runs_done,
          job->nruns, rate, eta_s);
}

static void maybe_print_progress(master *m) {
  if (m->opt->progress_seconds <= 0) return;
  double t = now_seconds();
  if (t - m->last_progress < m->opt->progress_seconds) return;
  m->last_progress = t;
  print_progress(m);
}

_Noreturn static void abort_job_with_message(const lz_comm *c, int rank, const char *msg) {
  fprintf(stderr, "lrzoo: rank %d: %s\n", rank, msg);
  lz_sched_abort(c, 1);
}

static void answer_request(master *m, int worker) {
  int64_t zero, tile = -1;
  MPI_Recv(&zero, 1, MPI_INT64_T, worker, TAG_REQUEST, m->rs->c->comm, MPI_STATUS_IGNORE);
  if (stop_is_requested(m)) m->stopping = 1;
  if (!m->stopping && m->next < m->queued) {
    tile = m->queue[m->next++].tile;
    m->outstanding++;
    m->handed_out++;
  } else {
    m->workers_running--;
  }
  MPI_Send(&tile, 1, MPI_INT64_T, worker, TAG_ASSIGN, m->rs->c->comm);
}

static void receive_report(master *m, int worker) {
  tile_report rep;
  MPI_Recv(&rep, REPORT_LEN, MPI_INT64_T, worker, TAG_DONE, m->rs->c->comm, MPI_STATUS_IGNORE);
  m->outstanding--;
  record_report(m, &rep);
}

_Noreturn static void receive_error_and_abort(master *m, MPI_Status *st) {
  char msg[LZ_ERR_MSG_MAX];
  int n = 0;
  MPI_Get_count(st, MPI_CHAR, &n);
  if (n < 1 || n > (int)sizeof msg) n = (int)sizeof msg;
  MPI_Recv(msg, n, MPI_CHAR, st->MPI_SOURCE, TAG_ERROR, m->rs->c->comm, MPI_STATUS_IGNORE);
  msg[sizeof msg - 1] = '\0';
  abort_job_with_message(m->rs->c, st->MPI_SOURCE, msg);
}

/* Answers every message that has arrived, without waiting. */
static void serve_workers(master *m) {
  for (;;) {
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, m->rs->c->comm, &flag, &st);
    if (!flag) return;
    double t = now_seconds();
    switch (st.MPI_TAG) {
      case TAG_REQUEST: answer_request(m, st.MPI_SOURCE); break;
      case TAG_DONE: receive_report(m, st.MPI_SOURCE); break;
      case TAG_ERROR: receive_error_and_abort(m, &st);
      default: abort_job_with_message(m->rs->c, 0, "internal error: unexpected message tag");
    }
    m->serving_seconds += now_seconds() - t;
  }
}

static void serve_workers_between_runs(void *ctx) {
  master *m = ctx;
  double t = now_seconds();
  if (t - m->last_poll < POLL_INTERVAL) return;
  m->last_poll = t;
  serve_workers(m);
  maybe_print_progress(m);
}

static int master_computes_a_tile(master *m, lz_err *err) {
  int64_t tile = m->queue[m->next++].tile;
  lz_tile_hooks hooks = {serve_workers_between_runs, m, &drop_in_flight};
  tile_report rep;
  int rc = compute_and_write_tile(m->rs, tile, &hooks, &rep, err);
  if (rc == LZ_OK) record_report(m, &rep);
  return rc;
}

static int run_master(master *m, lz_err *err) {
  const lz_comm *c = m->rs->c;
  for (;;) {
    serve_workers(m);
    maybe_print_progress(m);
    if (stop_is_requested(m)) m->stopping = 1;
    if (!m->stopping && m->next < m->queued) {
      if (team_heard_stop(&m->rs->team)) {
        tell_team(&m->rs->team, -1, ORDER_SKIP);
        m->stopping = 1;
        continue;
      }
      int rc = master_computes_a_tile(m, err);
      if (rc != LZ_OK) {
        if (c->size > 1) abort_job_with_message(c, 0, err->msg);
        lz_err_prefix(err, "rank 0: ");
        return rc;
      }
      continue;
    }
    if (m->workers_running == 0 && m->outstanding == 0) {
      release_team(&m->rs->team);
      return LZ_OK;
    }
    nap();
  }
}

/* ---- a worker ----------------------------------------------------------------------------- */

static void post_request(const lz_comm *c, int64_t *tile, MPI_Request req[2]) {
  static const int64_t zero = 0;
  MPI_Irecv(tile, 1, MPI_INT64_T, 0, TAG_ASSIGN, c->comm, &req[1]);
  MPI_Isend(&zero, 1, MPI_INT64_T, 0, TAG_REQUEST, c->comm, &req[0]);
}

static void wait_for_assignment(MPI_Request req[2]) { wait_sleeping(2, req); }

static void send_report(const lz_comm *c, const tile_report *rep) {
  MPI_Send(rep, REPORT_LEN, MPI_INT64_T, 0, TAG_DONE, c->comm);
}

/* Tells the master, then waits for it to end the job; ends it itself if the master does not. */
_Noreturn static void report_failure(const lz_comm *c, const char *msg) {
  MPI_Request req;
  MPI_Isend(msg, (int)strlen(msg) + 1, MPI_CHAR, 0, TAG_ERROR, c->comm, &req);
  double t0 = now_seconds();
  while (now_seconds() - t0 < ERROR_GRACE_SECONDS) nap();
  abort_job_with_message(c, c->rank, msg);
}

static int run_worker(rank_state *rs, lz_err *err) {
  const lz_comm *c = rs->c;
  lz_tile_hooks hooks = {NULL, NULL, &drop_in_flight};
  int64_t tile = -1, next = -1;
  MPI_Request req[2];
  post_request(c, &next, req);
  wait_for_assignment(req);
  while (next >= 0) {
    tile = next;
    team_heard_stop(&rs->team);
    if (stop_signals) {
      /* Stopping: hand the tile back unstarted, then collect the master's -1. */
      tell_team(&rs->team, tile, ORDER_SKIP);
      tile_report rep = dropped_report(tile);
      send_report(c, &rep);
      post_request(c, &next, req);
      wait_for_assignment(req);
      continue;
    }
    post_request(c, &next, req);  /* the next tile arrives while this one computes */
    tile_report rep;
    int rc = compute_and_write_tile(rs, tile, &hooks, &rep, err);
    if (rc != LZ_OK) report_failure(c, err->msg);
    send_report(c, &rep);
    wait_for_assignment(req);
  }
  release_team(&rs->team);
  return LZ_OK;
}

/* A member of a team, not its first rank: computes the tiles it is told to, with the team,
 * and leaves writing and reporting to the first rank. */
static int run_member(rank_state *rs, lz_err *err) {
  const lz_tile_hooks hooks = {NULL, NULL, NULL};
  for (;;) {
    team_heard_stop(&rs->team);
    int64_t order[2] = {-1, ORDER_LEAVE};
    team_order(&rs->team, order);
    if (order[1] == ORDER_LEAVE) return LZ_OK;
    if (order[1] != ORDER_COMPUTE) continue;
    int64_t tile = order[0];
    int rc = load_instance(rs->job, tile / rs->job->tiles_per_instance, &rs->team, &rs->cache,
                           err);
    if (rc == LZ_OK) rc = lz_run_tile(rs->job, rs->cache.problem, tile, &hooks, &rs->tr, err);
    if (rc != LZ_OK) {
      lz_err_prefix(err, "tile %" PRId64 ": ", tile);
      report_failure(rs->c, err->msg);
    }
  }
}

/* ---- pooled invariant measure --------------------------------------------------------------- */

/* Rank 0, after the last tile: /pooled from what the file holds (so a resumed job pools the
 * runs of every session alike). */
static int pool_invariant_measure(const lz_job *job, lz_out *out, lz_err *err) {
  lz_pool_buffers b;
  if (lz_pool_buffers_alloc(job, &b) != LZ_OK)
    return lz_err_set(err, LZ_ENOMEM, "cannot allocate the buffers to pool the invariant measure");
  instance_cache cache = {-1, NULL};
  int rc = LZ_OK;
  for (int64_t point = 0; point < lz_job_npooled(job) && rc == LZ_OK; ++point) {
    int64_t first, count, stride;
    lz_job_pooled_runs(job, point, &first, &count, &stride);
    rc = lz_out_read_runs(out, first, count, stride, b.runs, b.in, err);
    if (rc == LZ_OK) rc = load_instance(job, first / job->runs_per_instance, NULL, &cache, err);
    if (rc != LZ_OK) break;
    lz_pooled_result pr;
    lz_pool_point(job, cache.problem, &b, count, &pr);
    rc = lz_out_write_pooled(out, point, &pr, b.out, err);
  }
  if (rc == LZ_OK) rc = lz_out_mark_pooled(out, err);
  lz_problem_destroy(&cache.problem);
  lz_pool_buffers_free(&b);
  if (rc != LZ_OK) lz_err_prefix(err, "pooling the invariant measure: ");
  return rc;
}

/* ---- the whole run ------------------------------------------------------------------------ */

static void fill_provenance(const lz_comm *c, const lz_run_options *opt, lz_provenance *prov,
                            char *mpi, size_t mpilen, char *blas, size_t blaslen, char *now,
                            size_t nowlen) {
  lz_sched_mpi_version(mpi, mpilen);
  lz_blas_description(blas, blaslen);
  lz_utc_now(now, nowlen);
  prov->lrzoo_version = opt->version;
  prov->git_commit = opt->git_commit;
  prov->created_utc = now;
  prov->mpi_version = mpi;
  prov->blas = blas;
  prov->mpi_ranks = c->size;
  prov->omp_threads = omp_get_max_threads();
}

/* Collective. Rank 0's environment switches on every rank (allocated; NULL when out of memory
 * anywhere): a launcher may pass ranks different environments, and the file records one. */
static char *environment_of_rank_0(const lz_comm *c) {
  char *text = c->rank == 0 ? lz_env_switches_text() : NULL;
  int have = text != NULL || c->rank != 0, all_have = 0;
  MPI_Allreduce(&have, &all_have, 1, MPI_INT, MPI_MIN, c->comm);
  if (!all_have) return NULL;
  size_t len = c->rank == 0 ? strlen(text) : 0;
  if (share_text_of_rank_0(c, &text, &len) != LZ_OK) {
    free(text);
    return NULL;
  }
  return text;
}

/* Collective: whether any rank has seen a stop signal or the stop file. */
static int stop_is_agreed(void *ctx) {
  const lz_comm *c = ctx;
  int mine = stop_asked != 0, any = 0;
  MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, c->comm);
  return any;
}

static int take_output_lock(const lz_comm *c, const char *path, lz_err *err) {
  int rc = c->rank == 0 ? lz_out_lock_take(path, &output_lock, err) : LZ_OK;
  return lz_sched_agree(c, rc);
}

static int open_output(const lz_comm *c, const lz_job *job, const lz_run_options *opt,
                       lz_out **out, uint8_t *done, lz_err *err) {
  /* Exit 3 like any stop, so a batch script requeues the job (the caller prints nothing). */
  if (lz_sched_agree(c, stop_asked ? LZ_ESTOPPED : LZ_OK) != LZ_OK) {
    if (c->rank == 0)
      fprintf(stderr, "lrzoo: stopped by a signal or the stop file before %s was opened; nothing "
              "written\n", opt->out_path);
    return lz_err_set(err, LZ_ESTOPPED, "stopped before the output was opened");
  }
  if (opt->resume) {
    int locked = take_output_lock(c, opt->out_path, err);
    if (locked != LZ_OK) return locked;
    return lz_out_open_resume(c, opt->out_path, job, out, done, err);
  }
  /* The path's own checks first: they name a bad -o better than a failed lock file would. */
  int room = c->rank == 0 ? lz_io_check_output_path(opt->out_path, lz_out_size_estimate(job), err)
                          : LZ_OK;
  room = lz_sched_agree(c, room);
  if (room == LZ_OK) room = take_output_lock(c, opt->out_path, err);
  if (room != LZ_OK) return room;
  char mpi[256], blas[512], now[64];
  lz_provenance prov;
  fill_provenance(c, opt, &prov, mpi, sizeof mpi, blas, sizeof blas, now, sizeof now);
  char *environment = environment_of_rank_0(c);
  if (!environment)
    return lz_err_set(err, LZ_ENOMEM, "no memory to share the environment switches");
  prov.environment = environment;
  lz_out_stop stop = {stop_is_agreed, (void *)c};
  int rc = lz_out_create_stoppable(c, opt->out_path, job, &prov, opt->overwrite, &stop, out, err);
  free(environment);
  if (rc == LZ_ESTOPPED && c->rank == 0) fprintf(stderr, "lrzoo: %s\n", err->msg);
  return rc;
}

/* Everyone learns rank 0's message for an error every rank agreed on. */
static void share_error_message(const lz_comm *c, int rc, int local_rc, lz_err *err) {
  int from = local_rc == rc ? c->rank : c->size;
  int first = from;
  MPI_Allreduce(&from, &first, 1, MPI_INT, MPI_MIN, c->comm);
  if (first >= c->size) first = 0;
  MPI_Bcast(err->msg, sizeof err->msg, MPI_CHAR, first, c->comm);
  err->code = rc;
}

static void print_summary(const master *m, const lz_run_options *opt, int outcome) {
  const lz_job *job = m->rs->job;
  double elapsed = now_seconds() - m->t0;
  int64_t remaining = job->ntiles - m->tiles_done;
  char took[32], counts[256] = "";
  format_duration(elapsed, took, sizeof took);
  for (int s = 1, len = 0; s < LZ_STATUS_COUNT; ++s)
    if (m->status[s] && len < (int)sizeof counts)
      len += snprintf(counts + len, sizeof counts - (size_t)len, "%s%s %" PRId64, len ? ", " : " (",
                      lz_status_names[s], m->status[s]);
  if (counts[0]) strncat(counts, ")", sizeof counts - strlen(counts) - 1);
  fprintf(stderr, "lrzoo: %s: %" PRId64 " runs this session%s in %s, %.3g GD steps/s, %d ranks x "
          "%d threads; results in %s\n", job->name, m->runs_done, counts, took,
          elapsed > 0 ? (double)m->steps_done / elapsed : 0.0, m->rs->c->size,
          omp_get_max_threads(), opt->out_path);
  /* Which engines took the runs: a job that left the fast engines shows here. */
  char engines[256] = "";
  for (int e = 1, len = 0; e < LZ_ENGINE_COUNT; ++e)
    if (m->engine[e] && len < (int)sizeof engines)
      len += snprintf(engines + len, sizeof engines - (size_t)len, "%s%s %" PRId64,
                      len ? ", " : "", lz_engine_names[e], m->engine[e]);
  if (engines[0]) fprintf(stderr, "lrzoo: %s: engines: %s\n", job->name, engines);
  /* Whether the teams shared their instances: one that runs on a first rank alone idles the
   * other members. */
  if (job->tiles.ranks_per_run > 1)
    fprintf(stderr, "lrzoo: %s: teams of %" PRId64 " ranks: %" PRId64 " tiles computed together, %"
            PRId64 " on a team's first rank alone (instances no team can share)\n", job->name,
            job->tiles.ranks_per_run, m->shared_tiles, m->solo_tiles);
  if (m->handed_out > 0)
    fprintf(stderr, "lrzoo: master handed out %" PRId64 " tiles at %.3g us of its time each\n",
            m->handed_out, 1e6 * m->serving_seconds / (double)m->handed_out);
  if (outcome == LZ_OK && remaining > 0)
    fprintf(stderr, "lrzoo: stopped by a signal or the stop file: %" PRId64 " of %" PRId64 " tiles remain; "
            "continue with: lrzoo run %s --resume -o %s\n", remaining, job->ntiles, job->path,
            opt->out_path);
}

int lz_sched_run(const lz_comm *c, const lz_job *job, const lz_run_options *opt, lz_err *err) {
  int threads = choose_thread_count(c, opt->threads);
  omp_set_num_threads(threads);
  warn_if_node_is_oversubscribed(c, threads);
  lz_blas_use_one_thread();
  install_stop_handlers();

  /* Before the output exists, so that a wrong rank count leaves nothing behind. */
  const int64_t k = job->tiles.ranks_per_run > 1 ? job->tiles.ranks_per_run : 1;
  if (c->size % k != 0)
    return lz_err_set(err, LZ_EJOB, "%s: tiles.ranks_per_run = %" PRId64 " does not divide "
                      "the %d ranks into teams; start a multiple of %" PRId64 " ranks",
                      job->path, k, c->size, k);
  uint8_t *done = calloc((size_t)(job->ntiles > 0 ? job->ntiles : 1), 1);
  if (!done) return lz_err_set(err, LZ_ENOMEM, "cannot allocate %" PRId64 " tile flags", job->ntiles);
  rank_state rs = {c, job, NULL, {-1, NULL}, {0}, {0}};
  int local = form_teams(c, k, &rs.team, err);
  if (local == LZ_OK) local = open_output(c, job, opt, &rs.out, done, err);
  if (local == LZ_OK) local = lz_tile_result_alloc(&rs.tr, job, err);
  int rc = lz_sched_agree(c, local);
  if (rc != LZ_OK) {
    share_error_message(c, rc, local, err);
    lz_out_close(&rs.out, NULL);
    release_output_lock();
    lz_tile_result_free(&rs.tr);
    dissolve_team(&rs.team);
    free(done);
    return rc;
  }

  if (c->rank == 0) {
    master m;
    memset(&m, 0, sizeof m);
    m.rs = &rs;
    m.opt = opt;
    m.queue = order_tiles_by_cost(job, done, &m.queued);
    m.workers_running = c->size / (int)k - 1;  /* the first ranks of the other teams */
    m.t0 = m.last_progress = now_seconds();
    for (int64_t t = 0; t < job->ntiles; ++t) m.tiles_done += done[t];
    for (int64_t i = 0; i < m.queued; ++i) m.cost_total += m.queue[i].cost;
    if (!m.queue) lz_sched_abort(c, 1);
    local = run_master(&m, err);
    /* The log of a job that ends before its first period still shows where it got to. */
    if (opt->progress_seconds > 0) print_progress(&m);
    print_summary(&m, opt, local);
    if (local == LZ_OK && m.tiles_done < job->ntiles) local = LZ_ESTOPPED;
    if (local == LZ_OK && lz_job_samples_invariant_measure(job))
      local = pool_invariant_measure(job, rs.out, err);
    free(m.queue);
  } else if (rs.team.rank == 0) {
    local = run_worker(&rs, err);
  } else {
    local = run_member(&rs, err);
  }

  wait_for_every_rank(c);
  rc = lz_sched_agree(c, local);
  lz_err close_err = {0, ""};
  int crc = lz_out_close(&rs.out, &close_err);
  release_output_lock();
  if (rc == LZ_OK && crc != LZ_OK) {
    *err = close_err;
    rc = crc;
  } else if (rc != LZ_OK) {
    share_error_message(c, rc, local, err);
  }
  lz_problem_destroy(&rs.cache.problem);
  dissolve_team(&rs.team);
  lz_tile_result_free(&rs.tr);
  free(done);
  return rc;
}
