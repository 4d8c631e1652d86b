/* Datasets and groups: created contiguous, allocated early and filled, so that their metadata
 * is final before any result is written; rows written and read as hyperslabs of dimension 0;
 * and the dimension scales that name their dimensions. */
#include "output_internal.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <hdf5_hl.h>

const double io_fill_nan = NAN;
const int64_t io_fill_int64 = 0;
const int8_t io_fill_int8 = 0;
const uint8_t io_fill_uint8 = 0;
static const uint64_t fill_uint64 = 0;

const void *io_zero_or_nan_fill(lz_dtype t) {
  switch (t) {
    case LZ_DT_INT8: return &io_fill_int8;
    case LZ_DT_INT64: return &io_fill_int64;
    case LZ_DT_DOUBLE: return &io_fill_nan;
    case LZ_DT_UINT64: return &fill_uint64;
  }
  return NULL;
}

/* Contiguous, allocated and filled at creation: the dataset's metadata is then final, and
 * entries never written read as the fill value (NaN, 0) rather than stale bytes. */
static hid_t new_early_filled_dcpl(const io_ds_spec *s) {
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (dcpl < 0) return dcpl;
  /* No timestamps in object headers: a file resumed after kill -9 is then byte for byte the
   * file an uninterrupted run with the same provenance writes. */
  if (H5Pset_layout(dcpl, H5D_CONTIGUOUS) < 0 ||
      H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) < 0 ||
      H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC) < 0 ||
      H5Pset_fill_value(dcpl, s->mem_type, s->fill) < 0 || H5Pset_obj_track_times(dcpl, 0) < 0) {
    H5Pclose(dcpl);
    return H5I_INVALID_HID;
  }
  return dcpl;
}

static int describe_dataset(hid_t ds, const char *file, const char *obj, const io_ds_spec *s,
                            lz_err *err) {
  int rc = io_write_string_attribute(ds, file, obj, "description", s->description, err);
  if (rc == LZ_OK && s->units && s->units[0])
    rc = io_write_string_attribute(ds, file, obj, "units", s->units, err);
  /* xarray (CF decoding) masks entries equal to _FillValue: unwritten runs become missing.
   * Integers get none: their fill 0 is also a real value (an empty bin, a period of 0), and
   * decoding would turn every 0 into NaN and uint64 counts into float64, inexact past 2^53. */
  if (rc == LZ_OK && H5Tequal(s->mem_type, H5T_NATIVE_DOUBLE) > 0)
    rc = io_write_scalar_attribute(ds, file, obj, "_FillValue", s->file_type, s->mem_type, s->fill,
                                   err);
  return rc;
}

int io_create_dataset(const char *file, hid_t group, const char *group_path,
                      const io_ds_spec *s, hid_t *out, lz_err *err) {
  char obj[OBJ_PATH_MAX];
  io_join_path(obj, group_path, s->name);
  *out = H5I_INVALID_HID;
  hid_t dcpl = new_early_filled_dcpl(s);
  hid_t space = H5Screate_simple(s->rank, s->dims, NULL);
  if (dcpl < 0 || space < 0) {
    int rc = lz_h5_fail(err, "%s: %s: creation properties or dataspace failed", file, obj);
    lz_h5_close(&dcpl);
    lz_h5_close(&space);
    return rc;
  }
  hid_t ds = H5Dcreate2(group, s->name, s->file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  int rc = ds < 0 ? lz_h5_fail(err, "%s: %s: H5Dcreate failed", file, obj) : LZ_OK;
  lz_h5_close(&dcpl);
  lz_h5_close(&space);
  if (rc == LZ_OK) rc = describe_dataset(ds, file, obj, s, err);
  if (rc != LZ_OK) {
    lz_h5_close(&ds);
    return rc;
  }
  *out = ds;
  return LZ_OK;
}

int io_create_group(const char *file, hid_t loc, const char *name, const char *path,
                    const char *description, hid_t *out, lz_err *err) {
  hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
  if (gcpl < 0 || H5Pset_obj_track_times(gcpl, 0) < 0) {
    int rc = lz_h5_fail(err, "%s: %s: group creation properties failed", file, path);
    lz_h5_close(&gcpl);
    return rc;
  }
  *out = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
  lz_h5_close(&gcpl);
  if (*out < 0) return lz_h5_fail(err, "%s: %s: H5Gcreate failed", file, path);
  return io_write_string_attribute(*out, file, path, "description", description, err);
}

/* Selects n entries first, first + stride, ... along dimension 0, each with the whole extent of
 * the other dimensions; count[0..rank) is then the shape of the selection (and of the memory
 * that holds it, contiguous). */
static int select_rows(hid_t fspace, int64_t first, int64_t n, int64_t stride,
                       hsize_t count[ARRAY_RANK_MAX], int *rank) {
  hsize_t dims[ARRAY_RANK_MAX] = {0, 1, 1};
  *rank = H5Sget_simple_extent_ndims(fspace);
  if (*rank < 1 || *rank > ARRAY_RANK_MAX || H5Sget_simple_extent_dims(fspace, dims, NULL) < 0)
    return -1;
  hsize_t start[ARRAY_RANK_MAX] = {(hsize_t)first, 0, 0};
  hsize_t step[ARRAY_RANK_MAX] = {(hsize_t)stride, 1, 1};
  count[0] = (hsize_t)n;
  for (int d = 1; d < ARRAY_RANK_MAX; ++d) count[d] = d < *rank ? dims[d] : 1;
  return H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, step, count, NULL) < 0 ? -1 : 0;
}

/* Writes n entries starting at `first` along dimension 0 (the whole extent of the others). */
int io_write_rows(const char *file, const char *obj, hid_t ds, hid_t dxpl, hid_t mem_type,
                  int64_t first, int64_t n, const void *buf, const char *what, lz_err *err) {
  hid_t fspace = H5Dget_space(ds);
  if (fspace < 0) return lz_h5_fail(err, "%s: %s: H5Dget_space failed", file, obj);
  hsize_t count[ARRAY_RANK_MAX];
  int rank = 0;
  hid_t mspace = H5I_INVALID_HID;
  int rc = LZ_OK;
  if (select_rows(fspace, first, n, 1, count, &rank) < 0) {
    rc = lz_h5_fail(err, "%s: %s: selecting %s [%" PRId64 ", %" PRId64 ") failed", file, obj,
                    what, first, first + n);
  } else if ((mspace = H5Screate_simple(rank, count, NULL)) < 0) {
    rc = lz_h5_fail(err, "%s: %s: memory dataspace failed", file, obj);
  } else if (H5Dwrite(ds, mem_type, mspace, fspace, dxpl, buf) < 0) {
    rc = lz_h5_fail(err, "%s: %s: H5Dwrite of %s [%" PRId64 ", %" PRId64 ") failed", file, obj,
                    what, first, first + n);
  }
  lz_h5_close(&mspace);
  lz_h5_close(&fspace);
  return rc;
}

/* Reads entries first + k * stride, k < n, along dimension 0 (the whole extent of the others)
 * into buf, contiguous: a strided hyperslab, so reading every replica of a sweep point needs no
 * memory beyond the n rows themselves. */
int io_read_rows(const char *file, const char *obj, hid_t ds, hid_t dxpl, hid_t mem_type,
                 int64_t first, int64_t n, int64_t stride, void *buf, lz_err *err) {
  hid_t fspace = H5Dget_space(ds);
  if (fspace < 0) return lz_h5_fail(err, "%s: %s: H5Dget_space failed", file, obj);
  hsize_t count[ARRAY_RANK_MAX];
  int rank = 0;
  hid_t mspace = H5I_INVALID_HID;
  int rc = LZ_OK;
  if (select_rows(fspace, first, n, stride, count, &rank) < 0 ||
      (mspace = H5Screate_simple(rank, count, NULL)) < 0 ||
      H5Dread(ds, mem_type, mspace, fspace, dxpl, buf) < 0)
    rc = lz_h5_fail(err, "%s: %s: H5Dread of %" PRId64 " entries from %" PRId64 " every %" PRId64
                    " failed", file, obj, n, first, stride);
  lz_h5_close(&mspace);
  lz_h5_close(&fspace);
  return rc;
}

/* Dimension scales (the HDF5 high-level library) are what netCDF-4 itself writes, in parallel
 * too, so h5py, h5netcdf and xarray name the dimensions without guessing. */
int io_make_scale(const char *file, const char *obj, hid_t ds, const char *dim_name,
                  lz_err *err) {
  if (H5DSset_scale(ds, dim_name) < 0)
    return lz_h5_fail(err, "%s: %s: H5DSset_scale '%s' failed", file, obj, dim_name);
  return LZ_OK;
}

int io_attach_scale(const char *file, const char *obj, hid_t ds, hid_t scale,
                    unsigned dim, const char *dim_name, lz_err *err) {
  if (H5DSattach_scale(ds, scale, dim) < 0)
    return lz_h5_fail(err, "%s: %s: H5DSattach_scale of '%s' to dimension %u failed", file, obj,
                      dim_name, dim);
  return LZ_OK;
}

int io_label_dimension(const char *file, const char *obj, hid_t ds, unsigned dim,
                       const char *label, lz_err *err) {
  if (H5DSset_label(ds, dim, label) < 0)
    return lz_h5_fail(err, "%s: %s: H5DSset_label '%s' of dimension %u failed", file, obj, label,
                      dim);
  return LZ_OK;
}

int io_open_dataset(const char *file, hid_t loc, const char *obj, hid_t *out, lz_err *err) {
  *out = H5I_INVALID_HID;
  htri_t exists = H5Lexists(loc, obj, H5P_DEFAULT);
  if (exists <= 0)
    return lz_err_set(err, LZ_EJOB, "%s has no dataset %s: not an lrzoo output file, or one "
                      "from another lrzoo version", file, obj);
  *out = H5Dopen2(loc, obj, H5P_DEFAULT);
  if (*out < 0) return lz_h5_fail(err, "%s: %s: H5Dopen failed", file, obj);
  return LZ_OK;
}

/* The rank (1 to ARRAY_RANK_MAX) and dimensions of a dataset. */
int io_dataset_shape(const char *file, const char *obj, hid_t ds, int *rank,
                     hsize_t dims[ARRAY_RANK_MAX], lz_err *err) {
  hid_t space = H5Dget_space(ds);
  *rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  int rc = LZ_OK;
  if (*rank < 0)
    rc = lz_h5_fail(err, "%s: %s: reading its shape failed", file, obj);
  else if (*rank < 1 || *rank > ARRAY_RANK_MAX)
    rc = lz_err_set(err, LZ_EJOB, "%s: %s has %d dimensions", file, obj, *rank);
  else if (H5Sget_simple_extent_dims(space, dims, NULL) < 0)
    rc = lz_h5_fail(err, "%s: %s: reading its shape failed", file, obj);
  lz_h5_close(&space);
  return rc;
}

/* Length of dimension 0. */
int io_dataset_length(const char *file, const char *obj, hid_t ds, int64_t *len,
                      lz_err *err) {
  int rank = 0;
  hsize_t dims[ARRAY_RANK_MAX] = {0, 0, 0};
  int rc = io_dataset_shape(file, obj, ds, &rank, dims, err);
  *len = (int64_t)dims[0];
  return rc;
}
