/* lrzoo error codes and the error record passed down every call chain.
 *
 * Functions return an int status: LZ_OK (0) or a negative LZ_E* code. Where a caller
 * passes an lz_err, the callee also fills in a message with context ("tile 17: ...").
 * Only main (through the scheduler) decides to stop the program. */
#ifndef LRZOO_ERROR_H
#define LRZOO_ERROR_H

#include <stddef.h>

/* Every code once: name, value, the exit status it ends the program with, and its meaning.
 * The enum, lz_err_name and lz_exit_code are generated from this table, so a new code cannot
 * be listed in one and forgotten in another. */
#define LZ_ERRNO_MAP(X)                                                                       \
  X(OK, 0, 0, "no error")                                                                     \
  X(ENOMEM, -1, 1, "out of memory")                                                           \
  X(EINVAL, -2, 1, "bad argument or parameter")                                               \
  X(EJOB, -3, 2, "bad job file or command line: nothing written")                             \
  X(EIO, -4, 1, "file system error outside HDF5")                                             \
  X(EHDF5, -5, 1, "an HDF5 call failed")                                                      \
  X(EMPI, -6, 1, "an MPI call failed")                                                        \
  X(ESTOPPED, -7, 3, "stopped by a signal or the stop file; state saved, --resume continues") \
  X(ENUMERIC, -8, 1, "a numerical method failed to reach its tolerance")                     \
  X(ESTOPPED_EARLY, -9, 2, "stopped by a signal or the stop file before anything was written")

enum {
#define LZ_ERR_ENUM(name, value, exit_status, meaning) LZ_##name = value,
  LZ_ERRNO_MAP(LZ_ERR_ENUM)
#undef LZ_ERR_ENUM
};

#define LZ_ERR_MSG_MAX 1024

typedef struct lz_err {
  int code;
  char msg[LZ_ERR_MSG_MAX];
} lz_err;

/* Short constant name of a code, e.g. "LZ_ENOMEM"; "LZ_EUNKNOWN" for a code not in the table. */
const char *lz_err_name(int code);


/* Sets err (if non-NULL) to code and a printf-formatted message; returns code. */
int lz_err_set(lz_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in err with context ("tile 3: " + old message); returns err->code. */
int lz_err_prefix(lz_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Exit status the program should end with for an error code (0, 1, 2 or 3; see docs/design.md):
 * the table's, and 1 for a code not in it. */
int lz_exit_code(int code);

#endif
