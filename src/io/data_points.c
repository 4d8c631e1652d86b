/* Data points read from HDF5 files (problem.data: {path: F.h5}): 1-D datasets x, y and an
 * optional weight, of one length, finite, the weights >= 0 with a positive sum.
 *
 * Serial and read-only with the default driver, like the target files; every rank reads the
 * (small) file itself. Errors name the file and the dataset and say what was found. */
#define _POSIX_C_SOURCE 200809L

#include "lrzoo/io.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <hdf5.h>

#include "h5util.h"
#include "input_datasets.h"

/* The bound on a data file: three float64 datasets of the most points a job may have, and
 * room for HDF5's metadata and a few other datasets. */
#define DATA_FILE_BOUND ((int64_t)(3 * 8 * LZ_IO_MAX_DATA_POINTS) + 64 * 1024 * 1024)

/* The length of a 1-D numeric dataset, or an error saying what it is instead. */
static int vector_length(hid_t ds, const char *path, const char *name, int64_t *len,
                         lz_err *err) {
  int rc = io_check_numeric(ds, path, name, err);
  if (rc != LZ_OK) return rc;
  hid_t space = H5Dget_space(ds);
  int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  hsize_t dims[H5S_MAX_RANK] = {0};
  if (rank > 0) H5Sget_simple_extent_dims(space, dims, NULL);
  lz_h5_close(&space);
  if (rank < 0) return lz_h5_fail(err, "%s: dataset '%s': reading its shape failed", path, name);
  if (rank != 1 || dims[0] < 1 || dims[0] > LZ_IO_MAX_DATA_POINTS) {
    char shape[128];
    io_describe_shape(dims, rank, shape, sizeof shape);
    return lz_err_set(err, LZ_EHDF5, "%s: dataset '%s' is %s, expected one list of 1 to %d "
                      "numbers", path, name, shape, LZ_IO_MAX_DATA_POINTS);
  }
  *len = (int64_t)dims[0];
  return LZ_OK;
}

/* Reads dataset `name` into a new array of *len values (the length of the first one read
 * when *len > 0 on entry, which it must then have). */
static int read_vector(hid_t file, const char *path, const char *name, int64_t *len,
                       double **out, lz_err *err) {
  if (!io_is_dataset(file, name)) {
    char found[700];
    io_list_root_datasets(file, found, sizeof found);
    return lz_err_set(err, LZ_EHDF5, "%s: no dataset '%s' (%s); data files hold x, y and "
                      "optionally weight", path, name, found);
  }
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  if (ds < 0) return lz_h5_fail(err, "%s: dataset '%s': H5Dopen failed", path, name);
  int64_t found_len = 0;
  int rc = vector_length(ds, path, name, &found_len, err);
  if (rc == LZ_OK && *len > 0 && found_len != *len)
    rc = lz_err_set(err, LZ_EHDF5, "%s: dataset '%s' has %" PRId64 " entries, but x has %"
                    PRId64 "; give one per point", path, name, found_len, *len);
  double *v = rc == LZ_OK ? malloc((size_t)found_len * sizeof *v) : NULL;
  if (rc == LZ_OK && !v)
    rc = lz_err_set(err, LZ_ENOMEM, "%s: no memory for dataset '%s'", path, name);
  /* HDF5 converts integer and float storage to double on the way in. */
  if (rc == LZ_OK && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
    rc = lz_h5_fail(err, "%s: dataset '%s': H5Dread failed", path, name);
  for (int64_t i = 0; rc == LZ_OK && i < found_len; ++i)
    if (!isfinite(v[i]))
      rc = lz_err_set(err, LZ_EHDF5, "%s: dataset '%s' holds %g at entry %" PRId64
                      " (counted from 0); data must be finite", path, name, v[i], i);
  lz_h5_close(&ds);
  if (rc != LZ_OK) {
    free(v);
    return rc;
  }
  *len = found_len;
  *out = v;
  return LZ_OK;
}

static int check_weights(const double *w, int64_t m, const char *path, lz_err *err) {
  double total = 0.0;
  for (int64_t i = 0; i < m; ++i) {
    if (w[i] < 0)
      return lz_err_set(err, LZ_EHDF5, "%s: dataset 'weight' holds %g at entry %" PRId64
                        " (counted from 0); weights must be >= 0", path, w[i], i);
    total += w[i];
  }
  if (!(total > 0))
    return lz_err_set(err, LZ_EHDF5, "%s: dataset 'weight' sums to %g; at least one point needs "
                      "a weight > 0", path, total);
  return LZ_OK;
}

int lz_io_read_data_points(const char *path, lz_data_points *out, lz_err *err) {
  *out = (lz_data_points){0};
  if (!path) return lz_err_set(err, LZ_EINVAL, "data points: NULL file");
  lz_h5_silence_automatic_errors();
  hid_t file = H5I_INVALID_HID;
  int rc = lz_h5_open_read_only(path, "data file", DATA_FILE_BOUND, &file, err);
  int64_t m = 0;
  if (rc == LZ_OK) rc = read_vector(file, path, "x", &m, &out->x, err);
  if (rc == LZ_OK) rc = read_vector(file, path, "y", &m, &out->y, err);
  if (rc == LZ_OK && H5Lexists(file, "weight", H5P_DEFAULT) > 0) {
    rc = read_vector(file, path, "weight", &m, &out->weight, err);
    if (rc == LZ_OK) rc = check_weights(out->weight, m, path, err);
  }
  lz_h5_close(&file);
  if (rc != LZ_OK) {
    lz_io_free_data_points(out);
    return rc;
  }
  out->points = m;
  return LZ_OK;
}

void lz_io_free_data_points(lz_data_points *d) {
  free(d->x);
  free(d->y);
  free(d->weight);
  *d = (lz_data_points){0};
}
