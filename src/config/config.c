/* Job files: YAML text -> a validated lz_job (include/lrzoo/config.h). The only module that
 * calls libyaml.
 *
 * The whole document is loaded first (yaml_parser_load), then walked section by section against
 * the schema tables of schema.c. Each problem found is recorded with its position and the walk
 * goes on, so a user sees every mistake of a file in one run. Parameters that become sweep axes
 * are parked in "slots" while parsing, because the axis order is fixed by job.h and not by the
 * order of keys in the file; the slots are turned into job->axes only when the file had no
 * error. */

#define _POSIX_C_SOURCE 200809L

#include "parser.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lrzoo/error.h"
#include "lrzoo/input_file.h"
#include "lrzoo/memory.h"

static void free_slots(parser *p) {
  for (int s = 0; s < SLOT_COUNT; ++s) free(p->slot[s].values);
}

static int online_cores(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 && cores < 1 << 20 ? (int)cores : 1;
}

void lz_config_default_limits(lz_config_limits *lim) {
  lim->memory_bytes = lz_memory_available();
  lim->threads = online_cores();
  lim->origin = "this machine's memory";
  lim->stop = NULL;
}

bool cfg_stop_is_requested(parser *p) {
  if (!p->stopped && p->stop && *p->stop) p->stopped = true;
  return p->stopped;
}

static char *stopped_diagnostic(const parser *p) {
  static const char what[] = ": stopped by a signal or the stop file while the job file was "
                             "read and checked; nothing written";
  char *msg = malloc(strlen(p->path) + sizeof what);
  if (msg) sprintf(msg, "%s%s", p->path, what);
  return msg;
}

static int error_code(const parser *p) { return p->oom && !p->ndiag ? LZ_ENOMEM : LZ_EJOB; }

int lz_config_parse_with(const char *path, const char *text, size_t len,
                         const lz_config_limits *limits, lz_job **out, char **diagnostics) {
  if (out) *out = NULL;
  if (diagnostics) *diagnostics = NULL;
  lz_config_limits lim;
  if (limits) lim = *limits;
  else lz_config_default_limits(&lim);
  parser p = {.path = path ? path : "<job>", .stop = lim.stop};
  p.job = calloc(1, sizeof *p.job);
  if (!p.job) return LZ_ENOMEM;
  cfg_set_job_defaults(p.job);
  cfg_parse_text(&p, text ? text : "", text ? len : 0);
  if (p.read_root) cfg_check_run_count(&p);
  int rc = LZ_OK;
  if (cfg_stop_is_requested(&p)) rc = LZ_ESTOPPED_EARLY;
  else if (cfg_has_errors(&p)) rc = error_code(&p);
  else rc = cfg_finish_job(&p, text ? text : "", text ? len : 0);
  if (rc == LZ_OK) {
    cfg_check_teams(&p);
    cfg_check_memory(&p, &lim);
    if (cfg_has_errors(&p)) rc = error_code(&p);
  }
  if (rc == LZ_OK && cfg_stop_is_requested(&p)) rc = LZ_ESTOPPED_EARLY;
  if (rc != LZ_OK) {
    if (diagnostics)
      *diagnostics = rc == LZ_ESTOPPED_EARLY ? stopped_diagnostic(&p) : cfg_join_diagnostics(&p);
    lz_job_destroy(&p.job);
  }
  free_slots(&p);
  cfg_free_diagnostics(&p);
  if (out) *out = p.job;
  else lz_job_destroy(&p.job);
  return rc;
}

int lz_config_parse(const char *path, const char *text, size_t len, lz_job **out,
                    char **diagnostics) {
  return lz_config_parse_with(path, text, len, NULL, out, diagnostics);
}

static int read_file(const char *path, char **text, size_t *len, char **diagnostics) {
  lz_err err = {0, ""};
  int rc = lz_input_read(path, "job file", LZ_JOB_FILE_MAX_BYTES, text, len, &err);
  if (rc != LZ_OK && diagnostics) *diagnostics = strdup(err.msg);
  return rc;
}

int lz_config_load(const char *path, lz_job **out, char **diagnostics) {
  return lz_config_load_with(path, NULL, out, diagnostics);
}

int lz_config_load_with(const char *path, const lz_config_limits *limits, lz_job **out,
                        char **diagnostics) {
  if (out) *out = NULL;
  if (diagnostics) *diagnostics = NULL;
  if (!path) return LZ_EINVAL;
  char *text = NULL;
  size_t len = 0;
  int rc = read_file(path, &text, &len, diagnostics);
  if (rc != LZ_OK) return rc;
  rc = lz_config_parse_with(path, text, len, limits, out, diagnostics);
  free(text);
  return rc;
}
