/* lrzoo error codes and the error record passed down every call chain.
 *
 * Functions return an int status: LZ_OK (0) or a negative LZ_E* code. Where a caller
 * passes an lz_err, the callee also fills in a message with context ("tile 17: ...").
 * Only main (through the scheduler) decides to stop the program. */
#ifndef LRZOO_ERROR_H
#define LRZOO_ERROR_H

#include <stddef.h>

enum {
  LZ_OK = 0,
  LZ_ENOMEM = -1,  /* out of memory */
  LZ_EINVAL = -2,  /* bad argument or parameter */
  LZ_EJOB = -3,    /* bad job file or command line: exit code 2, nothing written */
  LZ_EIO = -4,     /* file system error outside HDF5 */
  LZ_EHDF5 = -5,   /* an HDF5 call failed */
  LZ_EMPI = -6,    /* an MPI call failed */
  LZ_ESTOPPED = -7,/* stopped by a signal; state saved, --resume continues */
  LZ_ENUMERIC = -8 /* a numerical method failed to reach its tolerance */
};

#define LZ_ERR_MSG_MAX 1024

typedef struct lz_err {
  int code;
  char msg[LZ_ERR_MSG_MAX];
} lz_err;

/* Short constant name of a code, e.g. "LZ_ENOMEM". Never NULL. */
const char *lz_err_name(int code);

/* Sets err (if non-NULL) to code and a printf-formatted message; returns code. */
int lz_err_set(lz_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in err with context ("tile 3: " + old message); returns err->code. */
int lz_err_prefix(lz_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Exit status the program should end with for an error code (0, 1, 2 or 3; see docs/design.md). */
int lz_exit_code(int code);

#endif
