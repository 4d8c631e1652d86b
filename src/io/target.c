/* Target matrices read from HDF5 files (problem.target: {kind: file, path, dataset}).
 *
 * Serial and read-only with the default driver: one rank reads a target at a time, possibly
 * while the same process has the output file open through MPI-IO (a different file, so the
 * two do not interact). Errors say what the file holds, so a wrong dataset name or shape is
 * fixed without opening the file by hand. */
#define _POSIX_C_SOURCE 200809L

#include "lrzoo/io.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "h5util.h"
#include "input_datasets.h"

/* What a target file may hold beyond its matrix (bytes). */
#define TARGET_FILE_SLACK (64.0 * 1024 * 1024)

static int check_square(hid_t ds, const char *path, const char *dataset, int64_t n,
                        lz_err *err) {
  hid_t space = H5Dget_space(ds);
  int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  if (rank < 0) {
    int rc = lz_h5_fail(err, "%s: dataset '%s': reading its shape failed", path, dataset);
    lz_h5_close(&space);
    return rc;
  }
  hsize_t dims[H5S_MAX_RANK];
  H5Sget_simple_extent_dims(space, dims, NULL);
  lz_h5_close(&space);
  if (rank == 2 && dims[0] == (hsize_t)n && dims[1] == (hsize_t)n) return LZ_OK;
  char shape[128];
  io_describe_shape(dims, rank, shape, sizeof shape);
  return lz_err_set(err, LZ_EHDF5, "%s: dataset '%s' is %s, expected %" PRId64 " x %" PRId64,
                    path, dataset, shape, n, n);
}

/* The largest target file accepted for an n x n matrix: 16 bytes a value (the widest numeric
 * type) and room for HDF5's metadata and a few other datasets beside it. */
static int64_t target_file_bound(int64_t n) {
  double bytes = 16.0 * (double)n * (double)n + TARGET_FILE_SLACK;
  return bytes < 9e18 ? (int64_t)bytes : INT64_MAX;
}

/* Opens the file and the dataset and checks that it is an n x n numeric matrix. */
static int open_matrix_with(const char *path, const char *dataset, int64_t n, hid_t fapl,
                            hid_t *file, hid_t *ds, lz_err *err) {
  *ds = H5I_INVALID_HID;
  int rc = lz_h5_open_read_only_with(path, "target file", target_file_bound(n), fapl, file, err);
  if (rc != LZ_OK) return rc;
  if (!io_is_dataset(*file, dataset)) {
    char found[700];
    io_list_root_datasets(*file, found, sizeof found);
    return lz_err_set(err, LZ_EHDF5, "%s: no dataset '%s' (%s)", path, dataset, found);
  }
  *ds = H5Dopen2(*file, dataset, H5P_DEFAULT);
  if (*ds < 0) return lz_h5_fail(err, "%s: dataset '%s': H5Dopen failed", path, dataset);
  rc = io_check_numeric(*ds, path, dataset, err);
  if (rc == LZ_OK) rc = check_square(*ds, path, dataset, n, err);
  return rc;
}

static int open_matrix(const char *path, const char *dataset, int64_t n, hid_t *file, hid_t *ds,
                       lz_err *err) {
  return open_matrix_with(path, dataset, n, H5P_DEFAULT, file, ds, err);
}

static int check_arguments(const char *path, const char *dataset, int64_t n, lz_err *err) {
  if (!path || !dataset) return lz_err_set(err, LZ_EINVAL, "target matrix: NULL file or dataset");
  if (n < 1)
    return lz_err_set(err, LZ_EINVAL, "%s: dataset '%s': expected size %" PRId64 " is not positive",
                      path, dataset, n);
  return LZ_OK;
}

/* Entry k of rows i0.. that is NaN or inf, as an error naming it (0-based, like h5py). */
static int refuse_non_finite(const double *a, size_t count, int64_t i0, int64_t n,
                             const char *path, const char *dataset, lz_err *err) {
  for (size_t k = 0; k < count; ++k)
    if (!isfinite(a[k]))
      return lz_err_set(err, LZ_EHDF5, "%s: dataset '%s' holds %g at row %" PRId64 ", column %"
                        PRId64 " (counted from 0); a target must be finite", path, dataset, a[k],
                        i0 + (int64_t)k / n, (int64_t)k % n);
  return LZ_OK;
}

/* Reads the matrix a block of rows at a time, so that checking it needs little memory. */
static int check_values(hid_t ds, const char *path, const char *dataset, int64_t n,
                        lz_err *err) {
  const int64_t rows = n >= (1 << 20) ? 1 : (1 << 20) / n;
  double *block = malloc((size_t)rows * (size_t)n * sizeof *block);
  if (!block) return lz_err_set(err, LZ_ENOMEM, "%s: no memory to check '%s'", path, dataset);
  hid_t file_space = H5Dget_space(ds);
  int rc = file_space < 0 ? lz_h5_fail(err, "%s: dataset '%s': H5Dget_space failed", path, dataset)
                          : LZ_OK;
  for (int64_t i0 = 0; i0 < n && rc == LZ_OK; i0 += rows) {
    hsize_t start[2] = {(hsize_t)i0, 0};
    hsize_t count[2] = {(hsize_t)(n - i0 < rows ? n - i0 : rows), (hsize_t)n};
    hid_t mem = H5Screate_simple(2, count, NULL);
    if (mem < 0 || H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dread(ds, H5T_NATIVE_DOUBLE, mem, file_space, H5P_DEFAULT, block) < 0)
      rc = lz_h5_fail(err, "%s: dataset '%s': reading rows from %" PRId64 " failed", path,
                      dataset, i0);
    else
      rc = refuse_non_finite(block, (size_t)(count[0] * count[1]), i0, n, path, dataset, err);
    lz_h5_close(&mem);
  }
  lz_h5_close(&file_space);
  free(block);
  return rc;
}

int lz_io_check_matrix(const char *path, const char *dataset, int64_t n, lz_err *err) {
  int rc = check_arguments(path, dataset, n, err);
  if (rc != LZ_OK) return rc;
  lz_h5_silence_automatic_errors();
  hid_t file = H5I_INVALID_HID, ds = H5I_INVALID_HID;
  rc = open_matrix(path, dataset, n, &file, &ds, err);
  if (rc == LZ_OK) rc = check_values(ds, path, dataset, n, err);
  lz_h5_close(&ds);
  lz_h5_close(&file);
  return rc;
}

int lz_io_read_matrix(const char *path, const char *dataset, int64_t n, double *a, lz_err *err) {
  return lz_io_read_matrix_rows(NULL, path, dataset, n, 0, n, a, err);
}

int lz_io_read_matrix_rows(const lz_comm *team, const char *path, const char *dataset,
                           int64_t n, int64_t row0, int64_t row1, double *a, lz_err *err) {
  int rc = check_arguments(path, dataset, n, err);
  if (rc != LZ_OK) return rc;
  if (!a) return lz_err_set(err, LZ_EINVAL, "%s: dataset '%s': NULL destination", path, dataset);
  if (row0 < 0 || row1 > n || row0 >= row1)
    return lz_err_set(err, LZ_EINVAL, "%s: dataset '%s': rows [%" PRId64 ", %" PRId64
                      ") of %" PRId64 " asked", path, dataset, row0, row1, n);
  lz_h5_silence_automatic_errors();
  hid_t file = H5I_INVALID_HID, ds = H5I_INVALID_HID, space = H5I_INVALID_HID;
  hid_t mem = H5I_INVALID_HID, fapl = H5P_DEFAULT, dxpl = H5P_DEFAULT;
  if (team) {
    /* One collective read by the team through MPI-IO: its members' hyperslabs together are
     * the matrix, which the driver may read in large aggregated pieces. */
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (fapl < 0 || dxpl < 0 || H5Pset_fapl_mpio(fapl, team->comm, team->info) < 0 ||
        H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE) < 0)
      rc = lz_h5_fail(err, "%s: setting up a collective read failed", path);
  }
  if (rc == LZ_OK) rc = open_matrix_with(path, dataset, n, fapl, &file, &ds, err);
  /* HDF5 converts integer and float storage to double on the way in. */
  hsize_t start[2] = {(hsize_t)row0, 0}, count[2] = {(hsize_t)(row1 - row0), (hsize_t)n};
  if (rc == LZ_OK) {
    space = H5Dget_space(ds);
    mem = H5Screate_simple(2, count, NULL);
    if (space < 0 || mem < 0 ||
        H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dread(ds, H5T_NATIVE_DOUBLE, mem, space, dxpl, a) < 0)
      rc = lz_h5_fail(err, "%s: dataset '%s': H5Dread of rows %" PRId64 " to %" PRId64
                      " of %" PRId64 " x %" PRId64 " failed", path, dataset, row0, row1 - 1, n, n);
  }
  /* The file may have changed since validation. */
  if (rc == LZ_OK)
    rc = refuse_non_finite(a, (size_t)(row1 - row0) * (size_t)n, row0, n, path, dataset, err);
  lz_h5_close(&mem);
  lz_h5_close(&space);
  lz_h5_close(&ds);
  lz_h5_close(&file);
  if (fapl != H5P_DEFAULT) H5Pclose(fapl);
  if (dxpl != H5P_DEFAULT) H5Pclose(dxpl);
  return rc;
}
