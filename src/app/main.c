/* lrzoo: command line, then prolog / run / epilog. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lrzoo/config.h"
#include "lrzoo/env_switches.h"
#include "lrzoo/error.h"
#include "lrzoo/io.h"
#include "lrzoo/job.h"
#include "lrzoo/memory.h"
#include "lrzoo/problem.h"
#include "lrzoo/results.h"
#include "lrzoo/sched.h"
#include "lrzoo/version.h"

static const char usage[] =
    "usage: lrzoo run JOB.yaml [-o OUT.h5] [--resume | --overwrite] [--threads N] [--progress SECONDS]\n"
    "                          [--stop-file PATH] [--memory-limit SIZE]\n"
    "       lrzoo validate JOB.yaml [--threads N] [--memory-limit SIZE]\n"
    "       lrzoo info OUT.h5\n"
    "       lrzoo --version | --help\n"
    "\n"
    "Run under mpiexec -n P or srun; with one rank the same binary does everything itself.\n"
    "Exit codes: 0 done; 1 runtime failure; 2 bad job file or arguments (nothing written);\n"
    "3 stopped by SIGTERM, SIGUSR1 or the --stop-file appearing, after saving its state\n"
    "(--resume continues it).\n"
    "--memory-limit SIZE (e.g. 4G, 512M): refuse a job whose estimated peak memory per rank is\n"
    "above SIZE; the default is the rank's share of its node's memory (or of its cgroup limit).\n"
    "-o is also spelled --output.\n"
    "Environment: LRZOO_MF_PRODUCTS=own (default) or blas picks the matrix-factorization\n"
    "products; it and the other switches lrzoo reads are recorded in the file (lrzoo info).\n";

typedef struct cli {
  const char *command;
  const char *path;  /* job file, or output file for info */
  lz_run_options run;
  double memory_limit;  /* --memory-limit in bytes; 0 = the rank's share */
} cli;

/* Prints "lrzoo: WHAT 'ARG'" (ARG may be NULL) and the usage; returns exit code 2. */
static int bad_usage(const char *what, const char *arg) {
  if (arg)
    fprintf(stderr, "lrzoo: %s '%s'\n%s", what, arg, usage);
  else
    fprintf(stderr, "lrzoo: %s\n%s", what, usage);
  return 2;
}

static int parse_positive_int(const char *s, int *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < 1 || v > 4096) return -1;
  *out = (int)v;
  return 0;
}

static int parse_seconds(const char *s, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v > 0) || v > 1e6) return -1;
  *out = v;
  return 0;
}

/* Returns 0, or the exit code for a bad command line (2) or --help/--version (0 with done). */
static int parse_command_line(int argc, char **argv, cli *c, int *done) {
  memset(c, 0, sizeof *c);
  *done = 0;
  if (argc < 2) return bad_usage("no command given", NULL);
  c->command = argv[1];
  if (!strcmp(c->command, "--version")) {
    char mpi[256];
    lz_sched_mpi_version(mpi, sizeof mpi);
    char hdf5[32];
    lz_io_hdf5_version(hdf5, sizeof hdf5);
    printf("lrzoo %s (git %s)\nHDF5 %s (parallel), %s\n", LZ_VERSION, LZ_GIT_COMMIT, hdf5, mpi);
    *done = 1;
    return 0;
  }
  if (!strcmp(c->command, "--help") || !strcmp(c->command, "-h")) {
    fputs(usage, stdout);
    *done = 1;
    return 0;
  }
  if (strcmp(c->command, "run") && strcmp(c->command, "validate") && strcmp(c->command, "info"))
    return bad_usage("unknown command", c->command);
  int is_run = !strcmp(c->command, "run");
  int is_validate = !strcmp(c->command, "validate");
  for (int i = 2; i < argc; ++i) {
    const char *a = argv[i];
    int has_value = i + 1 < argc;
    if (is_run && (!strcmp(a, "-o") || !strcmp(a, "--output"))) {
      if (!has_value) return bad_usage("this option needs a file name:", a);
      c->run.out_path = argv[++i];
    } else if (is_run && !strcmp(a, "--resume")) {
      c->run.resume = 1;
    } else if (is_run && !strcmp(a, "--overwrite")) {
      c->run.overwrite = 1;
    } else if ((is_run || is_validate) && !strcmp(a, "--memory-limit")) {
      if (!has_value || lz_memory_parse_size(argv[++i], &c->memory_limit))
        return bad_usage("--memory-limit needs a size > 0, such as 4G, 512M or 2000000000", NULL);
    } else if ((is_run || is_validate) && !strcmp(a, "--threads")) {
      if (!has_value || parse_positive_int(argv[++i], &c->run.threads))
        return bad_usage("--threads needs an integer from 1 to 4096", NULL);
    } else if (is_run && !strcmp(a, "--progress")) {
      if (!has_value || parse_seconds(argv[++i], &c->run.progress_seconds))
        return bad_usage("--progress needs a number of seconds > 0", NULL);
    } else if (is_run && !strcmp(a, "--stop-file")) {
      if (!has_value) return bad_usage("this option needs a file name:", a);
      c->run.stop_file = argv[++i];
    } else if (a[0] == '-' && a[1] != '\0') {
      return bad_usage("unknown option", a);
    } else if (!c->path) {
      c->path = a;
    } else {
      return bad_usage("unexpected argument", a);
    }
  }
  if (!c->path) return bad_usage("a file name is missing after", c->command);
  if (c->run.resume && c->run.overwrite)
    return bad_usage("--resume and --overwrite exclude each other", NULL);
  c->run.version = LZ_VERSION;
  c->run.git_commit = LZ_GIT_COMMIT;
  return 0;
}

/* The environment switches are input too: a bad value is refused before anything is written,
 * not at the first tile that reads it. */
static int check_environment_switches(char **diag) {
  lz_err err = {0, ""};
  int rc = lz_env_switches_check(&err);
  if (rc != LZ_OK) {
    size_t len = strlen(err.msg) + 16;
    *diag = malloc(len);
    if (*diag) snprintf(*diag, len, "lrzoo: %s", err.msg);
  }
  return rc;
}

/* "JOB:LINE:COL: what: msg" into a new *diag, for an input file the job names at `at`. */
static int refuse_at(const lz_job *job, lz_mark at, const char *what, const char *msg,
                     char **diag) {
  size_t len = strlen(job->path) + strlen(what) + strlen(msg) + 64;
  *diag = malloc(len);
  if (*diag) snprintf(*diag, len, "%s:%d:%d: %s: %s", job->path, at.line, at.col, what, msg);
  return LZ_EJOB;
}

/* A file target is checked before anything is written, and reported at its place in the job.
 * A job reads one target file at most (its n is fixed), so the first instance names it. */
static int check_target_file(const lz_job *job, char **diag) {
  lz_problem_params pp;
  lz_job_instance_params(job, 0, &pp);
  const char *path, *dataset;
  int64_t n;
  if (!lz_problem_params_target_file(&pp, &path, &dataset, &n)) return LZ_OK;
  lz_err err = {0, ""};
  int rc = lz_io_check_matrix(path, dataset, n, &err);
  if (rc == LZ_OK) return LZ_OK;
  return refuse_at(job, job->problem.mf.target.mark, "target", err.msg, diag);
}

/* The parser's memory check ran before the data file was read: check again with its points. */
static int check_memory_with_data(const lz_job *job, const lz_config_limits *lim, lz_mark at,
                                  const char *path, char **diag) {
  lz_memory_estimate est;
  lz_job_memory_estimate(job, lim->threads, &est);
  if (!(lim->memory_bytes > 0) || est.total <= lim->memory_bytes) return LZ_OK;
  const double gib = 1024.0 * 1024 * 1024;
  char msg[LZ_ERR_MSG_MAX];
  snprintf(msg, sizeof msg, "the points of %s raise the estimated peak memory per rank to "
           "%.2f GiB (with %d thread%s), above the limit of %.2f GiB (%s); use fewer points or "
           "give the rank more memory", path, est.total / gib, est.threads,
           est.threads == 1 ? "" : "s", lim->memory_bytes / gib, lim->origin);
  return refuse_at(job, at, "data", msg, diag);
}

/* Data points from a file are read (by every rank: the file is small) and handed to the job
 * before anything uses it, and reported at their place in the job. */
static int read_data_file(lz_job *job, const lz_config_limits *lim, char **diag) {
  lz_mark at;
  const char *path = lz_job_data_file(job, &at);
  if (!path) return LZ_OK;
  lz_err err = {0, ""};
  lz_data_points d;
  if (lz_io_read_data_points(path, &d, &err) == LZ_OK) {
    lz_job_take_data_points(job, d.x, d.y, d.weight, d.points);
    return check_memory_with_data(job, lim, at, path, diag);
  }
  return refuse_at(job, at, "data", err.msg, diag);
}

/* A stop asked for while the job was read and checked ends the command before anything is
 * written. */
static int stop_if_asked(int rc, char **diag) {
  if (rc != LZ_OK || !*lz_sched_stop_flag()) return rc;
  free(*diag);
  *diag = strdup("lrzoo: stopped by a signal or the stop file before anything was written");
  return LZ_ESTOPPED_EARLY;
}

/* Without MPI, validate assumes one rank on this machine, as `lrzoo run` without mpiexec. */
static void limits_for_validate(const cli *c, lz_config_limits *lim) {
  lz_config_default_limits(lim);
  lim->stop = lz_sched_stop_flag();
  if (c->run.threads > 0) lim->threads = c->run.threads;
  if (c->memory_limit > 0) {
    lim->memory_bytes = c->memory_limit;
    lim->origin = "--memory-limit";
  }
}

static void print_memory(const lz_job *job, const lz_config_limits *lim) {
  lz_memory_estimate est;
  lz_job_memory_estimate(job, lim->threads, &est);
  printf("memory:     about %.1f MiB per rank at the peak, with %d thread%s (limit %.1f MiB: %s)\n",
         est.total / 1048576.0, est.threads, est.threads == 1 ? "" : "s",
         lim->memory_bytes / 1048576.0, lim->origin);
  for (int p = 0; p < LZ_MEM_PARTS; ++p)
    printf("  %-26s %10.1f MiB\n", lz_memory_part_names[p], est.part[p] / 1048576.0);
}

static int command_validate(const cli *c) {
  lz_job *job = NULL;
  char *diag = NULL;
  lz_config_limits lim;
  limits_for_validate(c, &lim);
  int rc = lz_config_load_with(c->path, &lim, &job, &diag);
  if (rc == LZ_OK) rc = read_data_file(job, &lim, &diag);
  if (rc == LZ_OK) rc = check_target_file(job, &diag);
  if (rc == LZ_OK) rc = check_environment_switches(&diag);
  rc = stop_if_asked(rc, &diag);
  if (rc != LZ_OK) {
    fprintf(stderr, "%s\n", diag ? diag : "lrzoo: out of memory");
    free(diag);
    lz_job_destroy(&job);
    return lz_exit_code(rc);
  }
  lz_job_print_summary(job, stdout);
  print_memory(job, &lim);
  printf("file size:  %.3g MB when complete (every dataset is allocated when the run starts)\n",
         lz_out_size_estimate(job) / 1e6);
  printf("valid\n");
  lz_job_destroy(&job);
  return 0;
}

/* One "NAME=value" line of the file's environment attribute each, indented under the key; files
 * written before the attribute existed print nothing. */
static void print_environment_switches(const char *text) {
  if (!text[0]) {
    printf("environment: no switch set\n");
    return;
  }
  printf("environment:\n");
  for (const char *line = text; *line;) {
    const char *end = strchr(line, '\n');
    int len = end ? (int)(end - line) : (int)strlen(line);
    printf("  %.*s\n", len, line);
    line += len + (end ? 1 : 0);
  }
}

static int command_info(const cli *c) {
  lz_out_info info;
  lz_err err = {0, ""};
  int rc = lz_out_read_info(c->path, &info, &err);
  if (rc != LZ_OK) {
    fprintf(stderr, "lrzoo: %s\n", err.msg);
    return lz_exit_code(rc) == 2 ? 2 : 1;
  }
  printf("file:       %s\n", c->path);
  printf("job:        %s (sha256 %s)\n", info.name, info.job_sha256);
  printf("made by:    lrzoo %s (git %s) at %s\n", info.lrzoo_version, info.git_commit,
         info.created_utc);
  printf("tiles:      %" PRId64 " of %" PRId64 " done%s\n", info.tiles_done, info.ntiles,
         info.tiles_done < info.ntiles ? " (continue with: lrzoo run JOB --resume -o FILE)" : "");
  printf("runs:       %" PRId64 "\n", info.nruns);
  if (info.pooled_done >= 0)
    printf("pooled:     %s\n", info.pooled_done ? "written (/pooled)"
                                                 : "not yet: written after the last tile");
  for (int s = 0; s < LZ_STATUS_COUNT; ++s)
    printf("  %-13s %" PRId64 "\n", lz_status_names[s], info.status_counts[s]);
  if (info.engine_counts[0] >= 0) {
    printf("engines:   ");
    for (int e = 1; e < LZ_ENGINE_COUNT; ++e)
      printf(" %s %" PRId64 "%s", lz_engine_names[e], info.engine_counts[e],
             e + 1 < LZ_ENGINE_COUNT ? "," : "\n");
  }
  if (info.environment) print_environment_switches(info.environment);
  lz_out_info_free(&info);
  return 0;
}

/* Every rank parses the same bytes with the same limits, so every rank holds the same job. */
static int load_job_on_every_rank(const lz_comm *comm, const cli *c, const char *path,
                                  lz_job **job) {
  lz_rank_resources res;
  lz_sched_rank_resources(comm, c->run.threads, &res);
  char origin[160];
  lz_config_limits lim = {res.memory_share, res.threads, origin, lz_sched_stop_flag()};
  if (c->memory_limit > 0) {
    lim.memory_bytes = c->memory_limit;
    snprintf(origin, sizeof origin, "--memory-limit");
  } else {
    snprintf(origin, sizeof origin, "this node's %.1f GiB shared by %d rank%s; set --memory-limit",
             res.node_memory / (1024.0 * 1024 * 1024), res.ranks_on_node,
             res.ranks_on_node == 1 ? "" : "s");
  }
  char *text = NULL, *diag = NULL;
  size_t len = 0;
  lz_err err = {0, ""};
  int rc = lz_sched_read_job_text(comm, path, &text, &len, &err);
  if (rc != LZ_OK) {
    if (comm->rank == 0) fprintf(stderr, "%s\n", err.msg);
    return rc;
  }
  rc = lz_config_parse_with(path, text, len, &lim, job, &diag);
  free(text);
  if (rc == LZ_OK) rc = read_data_file(*job, &lim, &diag);
  if (rc == LZ_OK && comm->rank == 0) rc = check_target_file(*job, &diag);
  if (rc == LZ_OK && comm->rank == 0) rc = check_environment_switches(&diag);
  rc = lz_sched_agree(comm, stop_if_asked(rc, &diag));
  if (rc == LZ_ESTOPPED_EARLY && !diag) rc = stop_if_asked(LZ_OK, &diag);
  /* A run stopped this early exits 3 like any stop, so a batch script requeues it. */
  if (rc == LZ_ESTOPPED_EARLY) rc = LZ_ESTOPPED;
  if (rc != LZ_OK && comm->rank == 0) fprintf(stderr, "%s\n", diag ? diag : "lrzoo: out of memory");
  free(diag);
  if (rc != LZ_OK) lz_job_destroy(job);
  return rc;
}

static int command_run(cli *c, int *argc, char ***argv) {
  lz_comm comm;
  lz_err err = {0, ""};
  if (lz_sched_init(argc, argv, &comm, &err) != LZ_OK) {
    fprintf(stderr, "lrzoo: %s\n", err.msg);
    return 1;
  }
  lz_job *job = NULL;
  int rc = load_job_on_every_rank(&comm, c, c->path, &job);
  if (rc == LZ_OK) {
    if (!c->run.out_path) c->run.out_path = job->output;
    rc = lz_sched_run(&comm, job, &c->run, &err);
    /* The scheduler has already said how the run ended, and a signal stop is not an error. */
    if (comm.rank == 0 && rc != LZ_OK && rc != LZ_ESTOPPED) fprintf(stderr, "lrzoo: %s\n", err.msg);
  }
  lz_job_destroy(&job);
  if (lz_io_holds_a_broken_file()) {
    /* see lz_io_holds_a_broken_file: the message is out, the half-built file removed */
    fflush(stdout);
    fflush(stderr);
    _exit(lz_exit_code(rc));
  }
  lz_sched_finalize(&comm);
  return lz_exit_code(rc);
}

int main(int argc, char **argv) {
  /* Before anything else: a stop signal that comes while the job is read must be obeyed. */
  if (argc > 1 && (!strcmp(argv[1], "run") || !strcmp(argv[1], "validate")))
    lz_sched_catch_stop_signals();
  cli c;
  int done = 0;
  int rc = parse_command_line(argc, argv, &c, &done);
  if (rc || done) return rc;
  if (!strcmp(c.command, "validate")) return command_validate(&c);
  if (!strcmp(c.command, "info")) return command_info(&c);
  lz_sched_watch_stop_file(c.run.stop_file);
  return command_run(&c, &argc, &argv);
}
