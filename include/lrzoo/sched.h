/* Running a job over MPI ranks. The only module that calls MPI. */
#ifndef LRZOO_SCHED_H
#define LRZOO_SCHED_H

#include <signal.h>
#include <stddef.h>

#include "lrzoo/comm.h"
#include "lrzoo/error.h"
#include "lrzoo/job.h"

typedef struct lz_run_options {
  const char *out_path;      /* output file (the job's output unless -o) */
  int resume;                /* continue an existing file */
  int overwrite;             /* replace an existing file */
  int threads;               /* OpenMP threads per rank; 0 = OMP_NUM_THREADS or the default */
  double progress_seconds;   /* progress line period on rank 0; 0 = none */
  const char *stop_file;     /* when this file appears, stop like on SIGUSR1; NULL = none */
  const char *version;       /* provenance: lrzoo version and git commit of this build */
  const char *git_commit;
} lz_run_options;

/* Catches SIGTERM and SIGUSR1 from now on (main does it first thing for run and validate), so
 * that the phases before the run (reading the job, checking it, creating the file) can stop
 * promptly too: they poll lz_sched_stop_flag(). Callable before lz_sched_init. */
void lz_sched_catch_stop_signals(void);
/* Looks for path (NULL: none) 10 times a second from a thread of its own, and sets the stop
 * flag when it appears. */
void lz_sched_watch_stop_file(const char *path);
/* Set once a stop signal came or the stop file appeared. */
const volatile sig_atomic_t *lz_sched_stop_flag(void);

/* Catches SIGTERM and SIGUSR1 (stop after the tiles in flight, exit 3), then initializes MPI
 * (thread level FUNNELED) and fills c for MPI_COMM_WORLD. */
int lz_sched_init(int *argc, char ***argv, lz_comm *c, lz_err *err);
/* The MPI library's version (first line), for provenance and --version. Callable before init. */
void lz_sched_mpi_version(char *buf, size_t len);

/* What one rank may use: the threads it will run, and its share of its node's memory (what
 * lz_memory_available reports, divided among the ranks on the node; the least over ranks). */
typedef struct lz_rank_resources {
  int threads;
  double memory_share;  /* bytes; 0 if unknown */
  int ranks_on_node;    /* on the node with the least share */
  double node_memory;   /* that node's memory */
} lz_rank_resources;
void lz_sched_rank_resources(const lz_comm *c, int requested_threads, lz_rank_resources *out);

/* Finalizes MPI. */
void lz_sched_finalize(lz_comm *c);
/* Ends every rank of the job with exit_code. Never returns. */
_Noreturn void lz_sched_abort(const lz_comm *c, int exit_code);

/* Collective. Rank 0 reads the job file; every rank receives its bytes (NUL-terminated,
 * free()). On failure every rank gets the same error. */
int lz_sched_read_job_text(const lz_comm *c, const char *path, char **text, size_t *len,
                           lz_err *err);

/* Collective. The smallest (most severe) code any rank passed; every rank gets it. */
int lz_sched_agree(const lz_comm *c, int code);

/* Collective. Runs every tile of the job not yet done and writes the output file.
 * Returns LZ_OK, LZ_ESTOPPED after a signal (state saved), or an error with its message in
 * err on every rank. */
int lz_sched_run(const lz_comm *c, const lz_job *job, const lz_run_options *opt, lz_err *err);

#endif
