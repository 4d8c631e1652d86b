/* Inputs are checked before they are read: a job file, a target file and an output file given to
 * --resume must each be a regular file under a stated size, or they are refused with a message
 * naming the path. A character device, a FIFO or a sparse file of terabytes would otherwise be
 * read until memory runs out, or hang the open. */
#ifndef LRZOO_INPUT_FILE_H
#define LRZOO_INPUT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "lrzoo/error.h"

/* Checks that path is a regular file of at most max_bytes (max_bytes < 0: any size). The check
 * is made on the opened descriptor, so a path swapped after the check is still the one checked
 * when it is read through that descriptor. what names the input in messages ("job file").
 * Returns LZ_OK or LZ_EJOB with "PATH: ..." in err. */
int lz_input_check(const char *path, const char *what, int64_t max_bytes, lz_err *err);

/* Checks path as lz_input_check, then reads it whole, never more than max_bytes + 1 bytes.
 * *text is NUL-terminated (free() it). Returns LZ_OK, LZ_EJOB or LZ_ENOMEM. */
int lz_input_read(const char *path, const char *what, int64_t max_bytes, char **text,
                  size_t *len, lz_err *err);

#endif
