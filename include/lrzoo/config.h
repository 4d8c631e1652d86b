/* Job files: YAML text -> a validated lz_job. The only module that calls libyaml. */
#ifndef LRZOO_CONFIG_H
#define LRZOO_CONFIG_H

#include <stddef.h>

#include "lrzoo/job.h"

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
