/* Helpers shared by every file of src/io, the output file's and target.c: HDF5 error text,
 * quiet error stacks, safe closes.
 *
 * Private to src/io. Everything here is static inline, so that target.c, which reads matrices
 * and knows nothing of the output file, needs nothing else of the module. */
#ifndef LRZOO_IO_H5UTIL_H
#define LRZOO_IO_H5UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "lrzoo/error.h"
#include "lrzoo/input_file.h"

/* HDF5's innermost error (where the failure was first detected) is the one that says what was
 * wrong ("No such file or directory", "file exists"); the outer ones only repeat the API call. */
typedef struct lz_h5_errtext {
  char text[512];
  int found;
} lz_h5_errtext;

static inline herr_t lz_h5_take_innermost(unsigned n, const H5E_error2_t *e, void *data) {
  lz_h5_errtext *t = data;
  (void)n;
  if (t->found) return 0;
  const char *desc = e->desc && e->desc[0] ? e->desc : NULL;
  char minor[160] = "";
  if (!desc) H5Eget_msg(e->min_num, NULL, minor, sizeof minor);
  snprintf(t->text, sizeof t->text, "%s", desc ? desc : minor);
  t->found = 1;
  return 0;
}

/* Must be called right after the failing call: any later HDF5 call clears the stack. */
static inline void lz_h5_innermost_error(char *buf, size_t size) {
  lz_h5_errtext t = {.text = "", .found = 0};
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, lz_h5_take_innermost, &t);
  snprintf(buf, size, "%s", t.found && t.text[0] ? t.text : "no detail on the HDF5 error stack");
}

/* Sets err to LZ_EHDF5 with "<formatted context>: <HDF5's innermost message>"; returns
 * LZ_EHDF5. The context should name the file, the object and the operation. */
static inline int lz_h5_fail(lz_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline int lz_h5_fail(lz_err *err, const char *fmt, ...) {
  char hdf5_says[512];
  lz_h5_innermost_error(hdf5_says, sizeof hdf5_says);
  char context[LZ_ERR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(context, sizeof context, fmt, ap);
  va_end(ap);
  return lz_err_set(err, LZ_EHDF5, "%s: %s", context, hdf5_says);
}

/* lrzoo reports HDF5 errors itself, with context; HDF5's own printing would only add noise
 * to stderr on every expected failure (an absent attribute, an existing file). */
static inline void lz_h5_silence_automatic_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* Closes any kind of HDF5 id and marks it closed, so cleanup paths can close unconditionally. */
static inline void lz_h5_close(hid_t *id) {
  if (*id < 0) return;
  switch (H5Iget_type(*id)) {
    case H5I_FILE: H5Fclose(*id); break;
    case H5I_GROUP: H5Gclose(*id); break;
    case H5I_DATASET: H5Dclose(*id); break;
    case H5I_ATTR: H5Aclose(*id); break;
    case H5I_DATASPACE: H5Sclose(*id); break;
    case H5I_DATATYPE: H5Tclose(*id); break;
    case H5I_GENPROP_LST: H5Pclose(*id); break;
    default: break;
  }
  *id = H5I_INVALID_HID;
}

/* Opens path read-only with the default (serial) driver. A missing or unreadable file is a
 * file-system error (LZ_EIO), anything HDF5 refuses is LZ_EHDF5. HDF5 opens the path itself, so
 * it is checked first (lz_input_check; what names it, max_bytes < 0 allows any size): a FIFO
 * would hang the open, a device feed it without end; refused with LZ_EJOB. */
/* fapl: H5P_DEFAULT, or a file access list (the MPI-IO driver of a collective read). */
static inline int lz_h5_open_read_only_with(const char *path, const char *what,
                                            int64_t max_bytes, hid_t fapl, hid_t *file,
                                            lz_err *err) {
  *file = H5I_INVALID_HID;
  if (access(path, R_OK) != 0)
    return lz_err_set(err, LZ_EIO, "%s: cannot read the file: %s", path, strerror(errno));
  int rc = lz_input_check(path, what, max_bytes, err);
  if (rc != LZ_OK) return rc;
  if (H5Fis_hdf5(path) == 0) return lz_err_set(err, LZ_EHDF5, "%s: not an HDF5 file", path);
  *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  if (*file < 0) return lz_h5_fail(err, "%s: H5Fopen (read-only) failed", path);
  return LZ_OK;
}

static inline int lz_h5_open_read_only(const char *path, const char *what, int64_t max_bytes,
                                       hid_t *file, lz_err *err) {
  return lz_h5_open_read_only_with(path, what, max_bytes, H5P_DEFAULT, file, err);
}

#endif
