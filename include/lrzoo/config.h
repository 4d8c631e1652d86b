/* Job files: YAML text -> a validated lz_job. The only module that calls libyaml. */
#ifndef LRZOO_CONFIG_H
#define LRZOO_CONFIG_H

#include <signal.h>
#include <stddef.h>

#include "lrzoo/job.h"

/* A job file above this size is refused before it is read (docs/job-file.md). */
#define LZ_JOB_FILE_MAX_BYTES ((int64_t)64 << 20)

/* What a rank may use: a job whose estimated peak memory per rank (lrzoo/memory.h) is above
 * memory_bytes is refused, with origin (e.g. "--memory-limit", "this node's memory shared by 4
 * ranks") saying where the limit came from. memory_bytes 0: no limit. A parse that sees *stop
 * set (a stop signal or the stop file) ends with LZ_ESTOPPED_EARLY; stop NULL: it never does. */
typedef struct lz_config_limits {
  double memory_bytes;
  int threads;         /* OpenMP threads per rank the estimate assumes */
  const char *origin;
  const volatile sig_atomic_t *stop;
} lz_config_limits;

/* This machine's memory (lz_memory_available) for one rank of one thread per core. */
void lz_config_default_limits(lz_config_limits *lim);

/* As lz_config_parse and lz_config_load, with limits (NULL: the defaults). */
int lz_config_parse_with(const char *path, const char *text, size_t len,
                         const lz_config_limits *limits, lz_job **out, char **diagnostics);
int lz_config_load_with(const char *path, const lz_config_limits *limits, lz_job **out,
                        char **diagnostics);

/* Parses and validates a job file's text. path is used in messages and to resolve relative
 * target file paths. On success returns LZ_OK and *out owns a new job (lz_job_destroy).
 * On failure returns LZ_EJOB (or LZ_ENOMEM), *out is NULL and *diagnostics holds every
 * error found, one per line, as "PATH:LINE:COL: message" (free() it). */
int lz_config_parse(const char *path, const char *text, size_t len, lz_job **out,
                    char **diagnostics);

/* Reads the file at path, then lz_config_parse. A file that cannot be read is reported in
 * *diagnostics as "PATH: reason". */
int lz_config_load(const char *path, lz_job **out, char **diagnostics);

#endif
