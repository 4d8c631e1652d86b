/* Attributes: provenance on /, descriptions, units and labels on datasets, and reading them
 * back for resume and `lrzoo info`. */
#define _POSIX_C_SOURCE 200809L

#include "output_internal.h"

#include <stdlib.h>
#include <string.h>

static int write_attribute(hid_t loc, const char *file, const char *obj, const char *name,
                           hid_t file_type, hid_t mem_type, hid_t space, const void *buf,
                           lz_err *err) {
  hid_t a = H5Acreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) return lz_h5_fail(err, "%s: %s: H5Acreate of attribute '%s' failed", file, obj, name);
  int rc = LZ_OK;
  if (H5Awrite(a, mem_type, buf) < 0)
    rc = lz_h5_fail(err, "%s: %s: H5Awrite of attribute '%s' failed", file, obj, name);
  lz_h5_close(&a);
  return rc;
}

int io_write_scalar_attribute(hid_t loc, const char *file, const char *obj, const char *name,
                              hid_t file_type, hid_t mem_type, const void *value,
                              lz_err *err) {
  hid_t space = H5Screate(H5S_SCALAR);
  if (space < 0)
    return lz_h5_fail(err, "%s: %s: H5Screate for attribute '%s' failed", file, obj, name);
  int rc = write_attribute(loc, file, obj, name, file_type, mem_type, space, value, err);
  lz_h5_close(&space);
  return rc;
}

/* Fixed-length, NUL-terminated UTF-8: h5py reads it as bytes, netCDF as text, and unlike
 * variable-length strings it involves no global heap. */
hid_t io_new_string_type(size_t bytes) {
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t < 0) return t;
  if (H5Tset_size(t, bytes ? bytes : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
      H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
    H5Tclose(t);
    return H5I_INVALID_HID;
  }
  return t;
}

int io_write_string_attribute(hid_t loc, const char *file, const char *obj, const char *name,
                              const char *value, lz_err *err) {
  value = io_str_or_empty(value);
  hid_t type = io_new_string_type(strlen(value) + 1);
  if (type < 0)
    return lz_h5_fail(err, "%s: %s: string type for attribute '%s' failed", file, obj, name);
  int rc = io_write_scalar_attribute(loc, file, obj, name, type, type, value, err);
  lz_h5_close(&type);
  return rc;
}

int io_write_string_array_attribute(hid_t loc, const char *file, const char *obj,
                                    const char *name, const char *const *values, size_t n,
                                    lz_err *err) {
  size_t width = 1;
  for (size_t i = 0; i < n; ++i) {
    size_t len = strlen(values[i]) + 1;
    if (len > width) width = len;
  }
  char *packed = calloc(n ? n : 1, width);
  if (!packed)
    return lz_err_set(err, LZ_ENOMEM, "%s: %s: no memory for attribute '%s'", file, obj, name);
  for (size_t i = 0; i < n; ++i) memcpy(packed + i * width, values[i], strlen(values[i]));
  hsize_t dims[1] = {n};
  hid_t type = io_new_string_type(width);
  hid_t space = H5Screate_simple(1, dims, NULL);
  int rc = LZ_OK;
  if (type < 0 || space < 0)
    rc = lz_h5_fail(err, "%s: %s: type or space for attribute '%s' failed", file, obj, name);
  else
    rc = write_attribute(loc, file, obj, name, type, type, space, packed, err);
  lz_h5_close(&space);
  lz_h5_close(&type);
  free(packed);
  return rc;
}

int io_write_int64_attribute(hid_t loc, const char *file, const char *obj, const char *name,
                             int64_t value, lz_err *err) {
  return io_write_scalar_attribute(loc, file, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value,
                                   err);
}

int io_write_int64_array_attribute(hid_t loc, const char *file, const char *obj,
                                   const char *name, const int64_t *values, size_t n,
                                   lz_err *err) {
  hsize_t dims[1] = {n};
  hid_t space = H5Screate_simple(1, dims, NULL);
  if (space < 0)
    return lz_h5_fail(err, "%s: %s: H5Screate for attribute '%s' failed", file, obj, name);
  int rc = write_attribute(loc, file, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, space, values,
                           err);
  lz_h5_close(&space);
  return rc;
}

/* Reads a string attribute of either storage (fixed or variable length) into malloc'd text. */
int io_read_string_attribute(hid_t loc, const char *file, const char *obj, const char *name,
                             char **out, lz_err *err) {
  *out = NULL;
  htri_t exists = H5Aexists(loc, name);
  if (exists <= 0)
    return lz_err_set(err, LZ_EJOB, "%s is not an lrzoo output file (no attribute '%s' on %s)",
                      file, name, obj);
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  hid_t ftype = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
  hid_t mtype = H5I_INVALID_HID;
  int rc = LZ_OK;
  if (ftype < 0) {
    rc = lz_h5_fail(err, "%s: %s: H5Aopen of attribute '%s' failed", file, obj, name);
  } else if (H5Tget_class(ftype) != H5T_STRING) {
    rc = lz_err_set(err, LZ_EJOB, "%s: %s: attribute '%s' is not a string", file, obj, name);
  } else if (H5Tis_variable_str(ftype) > 0) {
    char *vl = NULL;
    mtype = H5Tcopy(H5T_C_S1);
    if (mtype < 0 || H5Tset_size(mtype, H5T_VARIABLE) < 0 ||
        H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0 || H5Aread(a, mtype, &vl) < 0) {
      rc = lz_h5_fail(err, "%s: %s: H5Aread of attribute '%s' failed", file, obj, name);
    } else {
      *out = strdup(vl ? vl : "");
      H5free_memory(vl);
    }
  } else {
    size_t size = H5Tget_size(ftype);
    mtype = io_new_string_type(size + 1);
    *out = calloc(size + 2, 1);
    /* HDF5 converts between string sizes but not between character sets. */
    if (*out && (mtype < 0 || H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0 ||
                 H5Aread(a, mtype, *out) < 0)) {
      rc = lz_h5_fail(err, "%s: %s: H5Aread of attribute '%s' failed", file, obj, name);
      free(*out);
      *out = NULL;
    }
  }
  if (rc == LZ_OK && !*out) rc = lz_err_set(err, LZ_ENOMEM, "%s: no memory", file);
  lz_h5_close(&mtype);
  lz_h5_close(&ftype);
  lz_h5_close(&a);
  return rc;
}

int io_read_int64_attribute(hid_t loc, const char *file, const char *obj, const char *name,
                            int64_t *value, lz_err *err) {
  if (H5Aexists(loc, name) <= 0)
    return lz_err_set(err, LZ_EJOB, "%s is not an lrzoo output file (no attribute '%s' on %s)",
                      file, name, obj);
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  int rc = LZ_OK;
  if (a < 0 || H5Aread(a, H5T_NATIVE_INT64, value) < 0)
    rc = lz_h5_fail(err, "%s: %s: H5Aread of attribute '%s' failed", file, obj, name);
  lz_h5_close(&a);
  return rc;
}
