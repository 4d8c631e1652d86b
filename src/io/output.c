/* The output file: layout, provenance, tile writes, resume and summary.
 *
 * The pattern survives kill -9 of any rank (docs/design.md): every object is created at its
 * full size, contiguous, allocated early and filled, then flushed, all before any result is
 * written. After that only raw data changes, written independently by whichever rank ran the
 * tile, results first and the tile's done byte last. So the metadata on disk is final from the
 * start, and a rank killed at any moment leaves a file that opens and resumes.
 *
 * No MPI call here: the communicator only reaches HDF5's MPI-IO driver. */
#define _POSIX_C_SOURCE 200809L

#include "lrzoo/io.h"
#include "lrzoo/problem.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "h5util.h"

#define LZ_FORMAT_VERSION 1

/* Runs (and tiles) per block when generating coordinates: creating the file then needs a fixed
 * amount of memory whatever the size of the sweep. */
#define GENERATE_BLOCK ((int64_t)1 << 20)

#define OBJ_PATH_MAX 256

struct lz_out {
  char *path;
  int rank;
  int remove_on_close;     /* creation failed on this rank alone: the close removes the file */
  hid_t file;
  hid_t dxpl;              /* independent transfers: a tile is written by one rank alone */
  size_t nfields;
  hid_t *field_ds;         /* per lz_run_fields entry; H5I_INVALID_HID if this job lacks it */
  hid_t array_ds[LZ_ARRAY_COUNT];       /* H5I_INVALID_HID where the job has no such array */
  lz_array_shape shape[LZ_ARRAY_COUNT]; /* the job's, which every tile must match */
  hid_t done_ds;
  int64_t nruns, ntiles;
  lz_job tiling;           /* only the members lz_job_tile_runs reads: the job need not outlive o */
  unsigned char *gather;   /* one field of a tile, contiguous: lz_job_tile_capacity * 8 bytes */
  /* /pooled: npooled is 0 (and every id invalid) when the job has no invariant measure. */
  int64_t npooled;
  size_t npooled_fields;
  hid_t *pooled_field_ds;  /* per lz_pooled_fields entry; H5I_INVALID_HID if this job lacks it */
  hid_t pooled_array_ds[LZ_ARRAY_COUNT];
  hid_t pooled_done_ds;
};

/* ---- small helpers --------------------------------------------------------------------- */

static hid_t file_type_of(lz_dtype t) {
  switch (t) {
    case LZ_DT_INT8: return H5T_STD_I8LE;
    case LZ_DT_INT64: return H5T_STD_I64LE;
    case LZ_DT_DOUBLE: return H5T_IEEE_F64LE;
    case LZ_DT_UINT64: return H5T_STD_U64LE;
  }
  return H5I_INVALID_HID;
}

static hid_t mem_type_of(lz_dtype t) {
  switch (t) {
    case LZ_DT_INT8: return H5T_NATIVE_INT8;
    case LZ_DT_INT64: return H5T_NATIVE_INT64;
    case LZ_DT_DOUBLE: return H5T_NATIVE_DOUBLE;
    case LZ_DT_UINT64: return H5T_NATIVE_UINT64;
  }
  return H5I_INVALID_HID;
}

static size_t size_of(lz_dtype t) {
  switch (t) {
    case LZ_DT_INT8: return sizeof(int8_t);
    case LZ_DT_INT64: return sizeof(int64_t);
    case LZ_DT_DOUBLE: return sizeof(double);
    case LZ_DT_UINT64: return sizeof(uint64_t);
  }
  return 0;
}

static const char *str_or_empty(const char *s) { return s ? s : ""; }

/* Object paths are short by construction (fixed group names, axis names of at most
 * LZ_AXIS_NAME_MAX); a longer one would only be cut in messages, never in a lookup. */
static void join_path(char *buf, const char *group_path, const char *name) {
  int n = snprintf(buf, OBJ_PATH_MAX, "%s/%s", group_path, name);
  if (n < 0 || n >= OBJ_PATH_MAX) buf[OBJ_PATH_MAX - 1] = '\0';
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Label tables (choice axes, code fields) end with NULL. */
static size_t count_names(const char *const *names) {
  size_t n = 0;
  while (names && names[n]) ++n;
  return n;
}

/* ---- per-run arrays: where they live and what shape they have --------------------------- */

#define ARRAY_RANK_MAX 3

static int array_is_present(lz_array_shape s) { return s.len[0] > 0; }

/* A trace records every record_every GD steps and gets a scale of those steps. */
static int array_is_trace(lz_array_shape s) { return s.len[0] > 0 && s.record_every > 0; }

static int same_array_shape(lz_array_shape a, lz_array_shape b) {
  return a.len[0] == b.len[0] && a.len[1] == b.len[1] && a.record_every == b.record_every;
}

/* R x len[0] when each entry is one number, R x len[0] x len[1] otherwise. */
static int array_rank(lz_array_shape s) { return s.len[1] == 1 ? 2 : 3; }

static void array_dims(int64_t nruns, lz_array_shape s, hsize_t dims[ARRAY_RANK_MAX]) {
  dims[0] = (hsize_t)nruns;
  dims[1] = (hsize_t)s.len[0];
  dims[2] = (hsize_t)s.len[1];
}

/* "/runs" for the empty group, else "/runs/<group>". */
static void array_group_path(char *buf, const lz_array_desc *d) {
  if (d->group[0]) snprintf(buf, OBJ_PATH_MAX, "/runs/%s", d->group);
  else snprintf(buf, OBJ_PATH_MAX, "/runs");
}

static void array_path(char *buf, const lz_array_desc *d) {
  char group_path[OBJ_PATH_MAX];
  array_group_path(group_path, d);
  join_path(buf, group_path, d->name);
}

/* The dimension scale of a trace's steps, next to it: /runs/trace/loss_step. */
static void step_scale_name(char *buf, const lz_array_desc *d) {
  snprintf(buf, OBJ_PATH_MAX, "%s_step", d->name);
}

/* "30 x 5", "30 x 3 x 8": shapes in messages. */
static void shape_text(char *buf, size_t size, int rank, const hsize_t *dims) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < rank && used < size; ++i)
    used += (size_t)snprintf(buf + used, size - used, "%s%llu", i ? " x " : "",
                             (unsigned long long)dims[i]);
}

/* ---- attributes ------------------------------------------------------------------------ */

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

static int write_scalar_attribute(hid_t loc, const char *file, const char *obj, const char *name,
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
static hid_t new_string_type(size_t bytes) {
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t < 0) return t;
  if (H5Tset_size(t, bytes ? bytes : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
      H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
    H5Tclose(t);
    return H5I_INVALID_HID;
  }
  return t;
}

static int write_string_attribute(hid_t loc, const char *file, const char *obj, const char *name,
                                  const char *value, lz_err *err) {
  value = str_or_empty(value);
  hid_t type = new_string_type(strlen(value) + 1);
  if (type < 0)
    return lz_h5_fail(err, "%s: %s: string type for attribute '%s' failed", file, obj, name);
  int rc = write_scalar_attribute(loc, file, obj, name, type, type, value, err);
  lz_h5_close(&type);
  return rc;
}

static int write_string_array_attribute(hid_t loc, const char *file, const char *obj,
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
  hid_t type = new_string_type(width);
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

static int write_int64_attribute(hid_t loc, const char *file, const char *obj, const char *name,
                                 int64_t value, lz_err *err) {
  return write_scalar_attribute(loc, file, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, err);
}

/* ---- datasets -------------------------------------------------------------------------- */

typedef struct ds_spec {
  const char *name;        /* link name in its group */
  hid_t file_type, mem_type;
  int rank;
  hsize_t dims[ARRAY_RANK_MAX];
  const void *fill;        /* in mem_type */
  const char *units;       /* NULL or "" when no unit applies */
  const char *description;
} ds_spec;

static const double fill_nan = NAN;
static const int64_t fill_int64 = 0;
static const int8_t fill_int8 = 0;
static const uint8_t fill_uint8 = 0;
static const uint64_t fill_uint64 = 0;

static const void *zero_or_nan_fill(lz_dtype t) {
  switch (t) {
    case LZ_DT_INT8: return &fill_int8;
    case LZ_DT_INT64: return &fill_int64;
    case LZ_DT_DOUBLE: return &fill_nan;
    case LZ_DT_UINT64: return &fill_uint64;
  }
  return NULL;
}

/* Contiguous, allocated and filled at creation: the dataset's metadata is then final, and
 * entries never written read as the fill value (NaN, 0) rather than stale bytes. */
static hid_t new_early_filled_dcpl(const ds_spec *s) {
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

static int describe_dataset(hid_t ds, const char *file, const char *obj, const ds_spec *s,
                            lz_err *err) {
  int rc = write_string_attribute(ds, file, obj, "description", s->description, err);
  if (rc == LZ_OK && s->units && s->units[0])
    rc = write_string_attribute(ds, file, obj, "units", s->units, err);
  /* xarray (CF decoding) masks entries equal to _FillValue: unwritten runs become missing.
   * Integers get none: their fill 0 is also a real value (an empty bin, a period of 0), and
   * decoding would turn every 0 into NaN and uint64 counts into float64, inexact past 2^53. */
  if (rc == LZ_OK && H5Tequal(s->mem_type, H5T_NATIVE_DOUBLE) > 0)
    rc = write_scalar_attribute(ds, file, obj, "_FillValue", s->file_type, s->mem_type, s->fill,
                                err);
  return rc;
}

static int create_dataset(const char *file, hid_t group, const char *group_path,
                          const ds_spec *s, hid_t *out, lz_err *err) {
  char obj[OBJ_PATH_MAX];
  join_path(obj, group_path, s->name);
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

static int create_group(const char *file, hid_t loc, const char *name, const char *path,
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
  return write_string_attribute(*out, file, path, "description", description, err);
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
static int write_rows(const char *file, const char *obj, hid_t ds, hid_t dxpl, hid_t mem_type,
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
static int read_rows(const char *file, const char *obj, hid_t ds, hid_t dxpl, hid_t mem_type,
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

/* ---- dimension scales ------------------------------------------------------------------ */

/* Dimension scales (the HDF5 high-level library) are what netCDF-4 itself writes, in parallel
 * too, so h5py, h5netcdf and xarray name the dimensions without guessing. */
static int make_scale(const char *file, const char *obj, hid_t ds, const char *dim_name,
                      lz_err *err) {
  if (H5DSset_scale(ds, dim_name) < 0)
    return lz_h5_fail(err, "%s: %s: H5DSset_scale '%s' failed", file, obj, dim_name);
  return LZ_OK;
}

static int attach_scale(const char *file, const char *obj, hid_t ds, hid_t scale,
                        unsigned dim, const char *dim_name, lz_err *err) {
  if (H5DSattach_scale(ds, scale, dim) < 0)
    return lz_h5_fail(err, "%s: %s: H5DSattach_scale of '%s' to dimension %u failed", file, obj,
                      dim_name, dim);
  return LZ_OK;
}

static int label_dimension(const char *file, const char *obj, hid_t ds, unsigned dim,
                           const char *label, lz_err *err) {
  if (H5DSset_label(ds, dim, label) < 0)
    return lz_h5_fail(err, "%s: %s: H5DSset_label '%s' of dimension %u failed", file, obj, label,
                      dim);
  return LZ_OK;
}

/* ---- the lz_out object ----------------------------------------------------------------- */

static void out_free(lz_out *o) {
  free(o->path);
  free(o->field_ds);
  free(o->pooled_field_ds);
  free(o->gather);
  free(o);
}

static lz_out *out_new(const char *path, const lz_job *job, int rank) {
  lz_out *o = calloc(1, sizeof *o);
  if (!o) return NULL;
  size_t nfields, npooled_fields;
  lz_run_fields(&nfields);
  lz_pooled_fields(&npooled_fields);
  o->path = malloc(strlen(path) + 1);
  o->field_ds = malloc(nfields * sizeof *o->field_ds);
  o->pooled_field_ds = malloc((npooled_fields ? npooled_fields : 1) * sizeof *o->pooled_field_ds);
  o->gather = malloc((size_t)lz_job_tile_capacity(job) * sizeof(double));
  if (!o->path || !o->field_ds || !o->pooled_field_ds || !o->gather) {
    out_free(o);
    return NULL;
  }
  strcpy(o->path, path);
  o->rank = rank;
  o->file = o->dxpl = o->done_ds = o->pooled_done_ds = H5I_INVALID_HID;
  o->nfields = nfields;
  for (size_t i = 0; i < nfields; ++i) o->field_ds[i] = H5I_INVALID_HID;
  o->npooled_fields = npooled_fields;
  for (size_t i = 0; i < npooled_fields; ++i) o->pooled_field_ds[i] = H5I_INVALID_HID;
  o->npooled = lz_job_samples_invariant_measure(job) ? lz_job_npooled(job) : 0;
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    o->array_ds[a] = o->pooled_array_ds[a] = H5I_INVALID_HID;
    o->shape[a] = lz_job_array_shape(job, (lz_array_id)a);
  }
  o->nruns = job->nruns;
  o->ntiles = job->ntiles;
  o->tiling.tiles.runs = job->tiles.runs;
  o->tiling.runs_per_instance = job->runs_per_instance;
  o->tiling.tiles_per_instance = job->tiles_per_instance;
  return o;
}

static void close_datasets(lz_out *o) {
  for (size_t i = 0; i < o->nfields; ++i) lz_h5_close(&o->field_ds[i]);
  for (size_t i = 0; i < o->npooled_fields; ++i) lz_h5_close(&o->pooled_field_ds[i]);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    lz_h5_close(&o->array_ds[a]);
    lz_h5_close(&o->pooled_array_ds[a]);
  }
  lz_h5_close(&o->pooled_done_ds);
  lz_h5_close(&o->done_ds);
  lz_h5_close(&o->dxpl);
}

/* Collective: every rank closes the same objects, then the file. */
static int hdf5_holds_a_broken_file = 0;

int lz_io_holds_a_broken_file(void) { return hdf5_holds_a_broken_file; }

static int out_close_and_free(lz_out *o, lz_err *err) {
  if (!o) return LZ_OK;
  close_datasets(o);
  int rc = LZ_OK;
  if (o->file >= 0 && H5Fclose(o->file) < 0) {
    rc = lz_h5_fail(err, "%s: H5Fclose failed", o->path);
    /* The identifier stays open, and HDF5's own shutdown, which runs when MPI is finalized,
     * then crashes on it (HDF5 1.10: H5F__close_cb after a failed flush). */
    hdf5_holds_a_broken_file = 1;
  }
  /* After the collective close; ranks still closing only keep the inode alive. */
  if (o->remove_on_close && o->rank == 0) remove(o->path);
  out_free(o);
  return rc;
}

static int new_independent_dxpl(lz_out *o, lz_err *err) {
  o->dxpl = H5Pcreate(H5P_DATASET_XFER);
  if (o->dxpl < 0 || H5Pset_dxpl_mpio(o->dxpl, H5FD_MPIO_INDEPENDENT) < 0)
    return lz_h5_fail(err, "%s: independent transfer property list failed", o->path);
  return LZ_OK;
}

/* Version 1.8 object headers lift the 64 KiB limit on an attribute (job_yaml can be long); the
 * high bound keeps the file readable by any HDF5 since 1.8 (older h5py, netCDF, MATLAB). */
static hid_t new_mpio_fapl(const lz_comm *c) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0) return fapl;
  if (H5Pset_fapl_mpio(fapl, c->comm, c->info) < 0 ||
      H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0) {
    H5Pclose(fapl);
    return H5I_INVALID_HID;
  }
  return fapl;
}

/* ---- creation: file and parent directories --------------------------------------------- */

/* mkdir -p of path's directory. Every rank calls it: mkdir is idempotent, so a rank that loses
 * the race just sees EEXIST, and every rank knows the directory exists when it returns. */
static int make_parent_directories(const char *path, lz_err *err) {
  size_t len = strlen(path);
  char *dir = malloc(len + 1);
  if (!dir) return lz_err_set(err, LZ_ENOMEM, "%s: no memory", path);
  memcpy(dir, path, len + 1);
  char *slash = strrchr(dir, '/');
  int rc = LZ_OK;
  if (slash && slash != dir) {
    *slash = '\0';
    for (char *p = dir + 1; rc == LZ_OK; ++p) {
      if (*p != '/' && *p != '\0') continue;
      char saved = *p;
      *p = '\0';
      if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        rc = lz_err_set(err, LZ_EIO, "%s: cannot create directory %s: %s", path, dir,
                        strerror(errno));
      *p = saved;
      if (saved == '\0') break;
    }
  }
  /* mkdir also says EEXIST for a file of that name, and the MPI-IO open would report either case
   * only as an unnamed error; say which it is. */
  const char *where = slash ? (slash == dir ? "/" : dir) : ".";
  struct stat st;
  if (rc == LZ_OK && (stat(where, &st) != 0 || !S_ISDIR(st.st_mode)))
    rc = lz_err_set(err, LZ_EIO, "%s: %s is not a directory", path, where);
  else if (rc == LZ_OK && access(where, W_OK | X_OK) != 0)
    rc = lz_err_set(err, LZ_EIO, "%s: cannot write in directory %s: %s", path, where,
                    strerror(errno));
  free(dir);
  return rc;
}

/* H5F_ACC_EXCL lets the MPI-IO open decide existence once, for all ranks, so no rank can see
 * the file that another rank has just created. */
static int create_file(lz_out *o, const lz_comm *c, int overwrite, lz_err *err) {
  hid_t fapl = new_mpio_fapl(c);
  hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
  int rc = LZ_OK;
  /* The root group, like every object, carries no timestamps (see new_early_filled_dcpl). */
  if (fapl < 0 || fcpl < 0 || H5Pset_obj_track_times(fcpl, 0) < 0)
    rc = lz_h5_fail(err, "%s: file creation or MPI-IO access properties failed", o->path);
  if (rc == LZ_OK)
    o->file = H5Fcreate(o->path, overwrite ? H5F_ACC_TRUNC : H5F_ACC_EXCL, fcpl, fapl);
  if (rc == LZ_OK && o->file < 0) {
    rc = lz_h5_fail(err, "%s: H5Fcreate failed", o->path);
    if (!overwrite && access(o->path, F_OK) == 0)
      rc = lz_err_set(err, LZ_EJOB, "%s exists; use --resume to continue it or --overwrite to "
                      "replace it", o->path);
  }
  lz_h5_close(&fcpl);
  lz_h5_close(&fapl);
  return rc;
}

/* ---- creation: root attributes --------------------------------------------------------- */

static int write_provenance(lz_out *o, const lz_job *job, const lz_provenance *prov,
                            lz_err *err) {
  char hdf5_version[32];
  lz_io_hdf5_version(hdf5_version, sizeof hdf5_version);
  const char *strings[][2] = {
      {"lrzoo_version", prov->lrzoo_version}, {"git_commit", prov->git_commit},
      {"job_name", job->name},                {"job_sha256", job->sha256},
      {"job_yaml", job->text},                {"hdf5_version", hdf5_version},
      {"mpi_version", prov->mpi_version},     {"blas", prov->blas},
      {"created_utc", prov->created_utc},
  };
  int rc = LZ_OK;
  for (size_t i = 0; i < sizeof strings / sizeof strings[0] && rc == LZ_OK; ++i)
    rc = write_string_attribute(o->file, o->path, "/", strings[i][0], strings[i][1], err);
  if (rc == LZ_OK)
    rc = write_scalar_attribute(o->file, o->path, "/", "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64,
                                &job->seed, err);
  if (rc == LZ_OK)
    rc = write_int64_attribute(o->file, o->path, "/", "mpi_ranks", prov->mpi_ranks, err);
  if (rc == LZ_OK)
    rc = write_int64_attribute(o->file, o->path, "/", "omp_threads", prov->omp_threads, err);
  if (rc == LZ_OK)
    rc = write_int64_attribute(o->file, o->path, "/", "format_version", LZ_FORMAT_VERSION, err);
  return rc;
}

/* ---- creation: the structure (collective, identical on every rank) --------------------- */

/* Ids that exist only while the file is being created; lz_out keeps the per-tile ones. */
typedef struct layout {
  hid_t axes, runs, trace, tiles, pooled;      /* groups (pooled: invariant measure only) */
  hid_t run_scale, tile_scale, point_scale;    /* /runs/run, /tiles/tile, /pooled/point */
  hid_t step_scale[LZ_ARRAY_COUNT];            /* /runs/trace/<name>_step of each trace */
  hid_t first_run, run_count;                  /* /tiles/first_run, /tiles/run_count */
  hid_t point_runs[3];                         /* /pooled/first_run, run_count, run_stride */
  hid_t hist_edges, obs_edges;                 /* /runs/hist_edges, /runs/hist_obs_edges */
  hid_t data, data_x, data_y;                  /* /data, /data/x, /data/y (mlp only) */
  hid_t *axis_ds;                              /* /axes/<name> */
  hid_t *coord_ds;                             /* /runs/<name> */
  hid_t *point_coord_ds;                       /* /pooled/<name> (problem and lr axes) */
  size_t naxes;
} layout;

static void layout_free_axes(layout *l) {
  free(l->axis_ds);
  free(l->coord_ds);
  free(l->point_coord_ds);
  l->axis_ds = l->coord_ds = l->point_coord_ds = NULL;
}

static int layout_init(layout *l, size_t naxes) {
  l->axes = l->runs = l->trace = l->tiles = l->pooled = H5I_INVALID_HID;
  l->run_scale = l->tile_scale = l->point_scale = H5I_INVALID_HID;
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) l->step_scale[a] = H5I_INVALID_HID;
  l->first_run = l->run_count = H5I_INVALID_HID;
  for (int i = 0; i < 3; ++i) l->point_runs[i] = H5I_INVALID_HID;
  l->hist_edges = l->obs_edges = H5I_INVALID_HID;
  l->data = l->data_x = l->data_y = H5I_INVALID_HID;
  l->naxes = naxes;
  l->axis_ds = malloc((naxes ? naxes : 1) * sizeof *l->axis_ds);
  l->coord_ds = malloc((naxes ? naxes : 1) * sizeof *l->coord_ds);
  l->point_coord_ds = malloc((naxes ? naxes : 1) * sizeof *l->point_coord_ds);
  if (!l->axis_ds || !l->coord_ds || !l->point_coord_ds) {
    layout_free_axes(l);
    return LZ_ENOMEM;
  }
  for (size_t a = 0; a < naxes; ++a)
    l->axis_ds[a] = l->coord_ds[a] = l->point_coord_ds[a] = H5I_INVALID_HID;
  return LZ_OK;
}

static void layout_close(layout *l) {
  for (size_t a = 0; a < l->naxes && l->axis_ds; ++a) {
    lz_h5_close(&l->axis_ds[a]);
    lz_h5_close(&l->coord_ds[a]);
    lz_h5_close(&l->point_coord_ds[a]);
  }
  layout_free_axes(l);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) lz_h5_close(&l->step_scale[a]);
  hid_t *ids[] = {&l->first_run, &l->run_count, &l->point_runs[0], &l->point_runs[1],
                  &l->point_runs[2], &l->hist_edges, &l->obs_edges, &l->data_x,
                  &l->data_y, &l->data, &l->run_scale,
                  &l->tile_scale, &l->point_scale, &l->trace, &l->tiles, &l->pooled, &l->runs,
                  &l->axes};
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; ++i) lz_h5_close(ids[i]);
}

/* /pooled exists when the job measures invariant measures (o->npooled is 0 otherwise). */
static int has_pooled(const lz_out *o) { return o->npooled > 0; }

static int create_groups(lz_out *o, layout *l, lz_err *err) {
  int rc = create_group(o->path, o->file, "axes", "/axes",
                        "the points of each sweep axis; /runs/<axis> gives each run's point",
                        &l->axes, err);
  if (rc == LZ_OK)
    rc = create_group(o->path, o->file, "runs", "/runs",
                      "one entry per run r = 0 .. R-1: its coordinates and results", &l->runs, err);
  if (rc == LZ_OK)
    rc = create_group(o->path, l->runs, "trace", "/runs/trace",
                      "per-run traces: <name> is R x K, its entry k recorded at GD step "
                      "<name>_step[k] = k * record_every", &l->trace, err);
  if (rc == LZ_OK)
    rc = create_group(o->path, o->file, "tiles", "/tiles",
                      "units of work: contiguous runs of one problem instance", &l->tiles, err);
  if (rc == LZ_OK && has_pooled(o))
    rc = create_group(o->path, o->file, "pooled", "/pooled",
                      "invariant measure pooled over the replicas of each sweep point",
                      &l->pooled, err);
  return rc;
}

static int create_index_scale(lz_out *o, hid_t group, const char *group_path, const char *name,
                              int64_t len, const char *units, const char *description,
                              hid_t *out, lz_err *err) {
  ds_spec s = {name, H5T_STD_I64LE, H5T_NATIVE_INT64, 1, {(hsize_t)len, 0}, &fill_int64, units,
               description};
  char obj[OBJ_PATH_MAX];
  join_path(obj, group_path, name);
  int rc = create_dataset(o->path, group, group_path, &s, out, err);
  if (rc == LZ_OK) rc = make_scale(o->path, obj, *out, name, err);
  return rc;
}

/* The group an array lives in (check_job_for_output has refused any other group name). */
static hid_t array_group(const layout *l, const lz_array_desc *d) {
  return d->group[0] ? l->trace : l->runs;
}

/* Each trace has its own scale: traces recorded at different periods (loss every record_every
 * steps, sharpness every analyze.sharpness.every) have different lengths and steps. */
static int create_step_scale(lz_out *o, layout *l, int a, lz_err *err) {
  const lz_array_desc *d = &lz_array_descs[a];
  char name[OBJ_PATH_MAX], group_path[OBJ_PATH_MAX], array[OBJ_PATH_MAX], description[512];
  step_scale_name(name, d);
  array_group_path(group_path, d);
  array_path(array, d);
  snprintf(description, sizeof description, "GD step at which each entry of %s was recorded: "
           "entry k at step k * %" PRId64, array, o->shape[a].record_every);
  return create_index_scale(o, array_group(l, d), group_path, name, o->shape[a].len[0], "steps",
                            description, &l->step_scale[a], err);
}

static int create_scales(lz_out *o, const lz_job *job, layout *l, lz_err *err) {
  int rc = create_index_scale(o, l->runs, "/runs", "run", job->nruns, "",
                              "run index r (dimension scale of every /runs dataset)",
                              &l->run_scale, err);
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a)
    if (array_is_trace(o->shape[a])) rc = create_step_scale(o, l, a, err);
  if (rc == LZ_OK)
    rc = create_index_scale(o, l->tiles, "/tiles", "tile", job->ntiles, "",
                            "tile index (dimension scale of every /tiles dataset)",
                            &l->tile_scale, err);
  if (rc == LZ_OK && has_pooled(o))
    rc = create_index_scale(o, l->pooled, "/pooled", "point", o->npooled, "",
                            "sweep point p = 0 .. P-1, a problem instance and an lr value "
                            "(dimension scale of every /pooled dataset)", &l->point_scale, err);
  return rc;
}

/* The leading dimension of a group's datasets, with its scale: one entry per run in /runs, one
 * per sweep point in /pooled. Coordinates, fields and arrays are made the same way in both. */
typedef struct leading_dim {
  int pooled;              /* 0: /runs, 1: /pooled */
  hid_t group;
  const char *path;        /* "/runs" or "/pooled" */
  int64_t len;
  hid_t scale;
  const char *scale_path;  /* "/runs/run" or "/pooled/point" */
  const char *label;       /* "run" or "point" */
} leading_dim;

static leading_dim runs_dim(const lz_out *o, const layout *l) {
  leading_dim d = {0, l->runs, "/runs", o->nruns, l->run_scale, "/runs/run", "run"};
  return d;
}

static leading_dim pooled_dim(const lz_out *o, const layout *l) {
  leading_dim d = {1, l->pooled, "/pooled", o->npooled, l->point_scale, "/pooled/point",
                   "point"};
  return d;
}

static int attach_leading_dimension(lz_out *o, const leading_dim *dim, const char *obj, hid_t ds,
                                    lz_err *err) {
  int rc = attach_scale(o->path, obj, ds, dim->scale, 0, dim->scale_path, err);
  if (rc == LZ_OK) rc = label_dimension(o->path, obj, ds, 0, dim->label, err);
  return rc;
}

static const char *const axis_group_names[] = {"problem", "init", "lr"};

static const char *label_of_code(const lz_axis *ax, size_t nlabels, double code) {
  long c = lround(code);
  return c >= 0 && (size_t)c < nlabels ? ax->labels[c] : "?";
}

static int write_choice_labels(lz_out *o, hid_t ds, const char *obj, const lz_axis *ax,
                               lz_err *err) {
  size_t nlabels = count_names(ax->labels);
  const char **present = malloc(ax->len * sizeof *present);
  if (!present) return lz_err_set(err, LZ_ENOMEM, "%s: %s: no memory for labels", o->path, obj);
  for (size_t i = 0; i < ax->len; ++i) present[i] = label_of_code(ax, nlabels, ax->values[i]);
  int rc = write_string_array_attribute(ds, o->path, obj, "labels", present, ax->len, err);
  free(present);
  if (rc == LZ_OK)
    rc = write_string_array_attribute(ds, o->path, obj, "labels_by_code",
                                      (const char *const *)ax->labels, nlabels, err);
  return rc;
}

static void axis_storage(const lz_axis *ax, hid_t *file_type, hid_t *mem_type, const void **fill) {
  if (ax->type == LZ_AXIS_CHOICE) {
    *file_type = H5T_STD_I8LE, *mem_type = H5T_NATIVE_INT8, *fill = &fill_int8;
  } else if (ax->type == LZ_AXIS_NUMBER && ax->is_integer) {
    *file_type = H5T_STD_I64LE, *mem_type = H5T_NATIVE_INT64, *fill = &fill_int64;
  } else {
    *file_type = H5T_IEEE_F64LE, *mem_type = H5T_NATIVE_DOUBLE, *fill = &fill_nan;
  }
}

/* /axes/<name>: 1-D axes are their own dimension scale (the netCDF coordinate variable). */
static int create_axis_dataset(lz_out *o, layout *l, const lz_axis *ax, hid_t *out, lz_err *err) {
  ds_spec s = {ax->name, 0, 0, 1, {ax->len, ax->width}, NULL, ax->units, ax->description};
  axis_storage(ax, &s.file_type, &s.mem_type, &s.fill);
  if (ax->type == LZ_AXIS_VECTOR) s.rank = 2;
  char obj[OBJ_PATH_MAX];
  join_path(obj, "/axes", ax->name);
  int rc = create_dataset(o->path, l->axes, "/axes", &s, out, err);
  if (rc == LZ_OK)
    rc = write_string_attribute(*out, o->path, obj, "group", axis_group_names[ax->group], err);
  if (rc == LZ_OK && ax->type == LZ_AXIS_CHOICE) rc = write_choice_labels(o, *out, obj, ax, err);
  if (rc == LZ_OK && ax->type == LZ_AXIS_VECTOR) {
    rc = label_dimension(o->path, obj, *out, 0, ax->name, err);
    if (rc == LZ_OK) rc = label_dimension(o->path, obj, *out, 1, "component", err);
  } else if (rc == LZ_OK) {
    rc = make_scale(o->path, obj, *out, ax->name, err);
  }
  return rc;
}

/* <dim>/<name>: each run's (or sweep point's) coordinate on the axis (VECTOR axes: the row
 * index in /axes). */
static int create_coordinate_dataset(lz_out *o, const leading_dim *dim, const lz_job *job,
                                     size_t a, hid_t *out, lz_err *err) {
  const lz_axis *ax = &job->axes[a];
  char description[512];
  if (ax->type == LZ_AXIS_VECTOR)
    snprintf(description, sizeof description, "row index into /axes/%s: %s", ax->name,
             str_or_empty(ax->description));
  else
    snprintf(description, sizeof description, "%s", str_or_empty(ax->description));
  ds_spec s = {ax->name, 0, 0, 1, {(hsize_t)dim->len, 0}, NULL, ax->units, description};
  if (ax->type == LZ_AXIS_VECTOR) {
    s.file_type = H5T_STD_I64LE, s.mem_type = H5T_NATIVE_INT64, s.fill = &fill_int64;
    s.units = "";
  } else {
    axis_storage(ax, &s.file_type, &s.mem_type, &s.fill);
  }
  char obj[OBJ_PATH_MAX];
  join_path(obj, dim->path, ax->name);
  int rc = create_dataset(o->path, dim->group, dim->path, &s, out, err);
  if (rc == LZ_OK)
    rc = write_string_attribute(*out, o->path, obj, "group", axis_group_names[ax->group], err);
  if (rc == LZ_OK && ax->type == LZ_AXIS_CHOICE)
    rc = write_string_array_attribute(*out, o->path, obj, "labels_by_code",
                                      (const char *const *)ax->labels, count_names(ax->labels),
                                      err);
  if (rc == LZ_OK && (int)a == job->lr.axis)
    rc = write_string_attribute(*out, o->path, obj, "relative_to",
                                job->lr.relative_to == LZ_LR_TWO_OVER_L ? "two_over_L" : "absolute",
                                err);
  if (rc == LZ_OK) rc = attach_leading_dimension(o, dim, obj, *out, err);
  return rc;
}

/* A sweep point pools the init axes, so /pooled has coordinates on the other axes only. */
static int is_pooled_axis(const lz_axis *ax) { return ax->group != LZ_AXIS_INIT; }

static int create_axes(lz_out *o, layout *l, const lz_job *job, lz_err *err) {
  const leading_dim runs = runs_dim(o, l), pooled = pooled_dim(o, l);
  int rc = LZ_OK;
  for (size_t a = 0; a < job->naxes && rc == LZ_OK; ++a)
    rc = create_axis_dataset(o, l, &job->axes[a], &l->axis_ds[a], err);
  for (size_t a = 0; a < job->naxes && rc == LZ_OK; ++a)
    rc = create_coordinate_dataset(o, &runs, job, a, &l->coord_ds[a], err);
  for (size_t a = 0; a < job->naxes && rc == LZ_OK && has_pooled(o); ++a)
    if (is_pooled_axis(&job->axes[a]))
      rc = create_coordinate_dataset(o, &pooled, job, a, &l->point_coord_ds[a], err);
  return rc;
}

/* An int8 code field (status, reason) names its codes the way a choice axis does. */
static int create_field_dataset(lz_out *o, const leading_dim *dim, const lz_field *f, hid_t *out,
                                lz_err *err) {
  ds_spec s = {f->name, file_type_of(f->type), mem_type_of(f->type), 1, {(hsize_t)dim->len, 0, 0},
               zero_or_nan_fill(f->type), f->units, f->description};
  char obj[OBJ_PATH_MAX];
  join_path(obj, dim->path, f->name);
  int rc = create_dataset(o->path, dim->group, dim->path, &s, out, err);
  if (rc == LZ_OK && f->labels)
    rc = write_string_array_attribute(*out, o->path, obj, "labels_by_code", f->labels,
                                      count_names(f->labels), err);
  if (rc == LZ_OK) rc = attach_leading_dimension(o, dim, obj, *out, err);
  return rc;
}

/* ---- creation: what says how to read the invariant measure ----------------------------- */

static int write_int64_array_attribute(hid_t loc, const char *file, const char *obj,
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

/* `coords`: the state indices histogrammed, in the order of the rows of hist, hist_half1, gibbs
 * and moments (ncoords of them) or of the two axes of the joint hist2d and gibbs2d. */
static int write_coords_attribute(lz_out *o, const lz_job *job, const char *obj, hid_t ds,
                                  size_t n, lz_err *err) {
  return write_int64_array_attribute(ds, o->path, obj, "coords",
                                     job->analyze.invariant_measure.coords, n, err);
}

/* `observable` (and `entry`, the row and column of X, for x_entry): what hist_obs counts. */
static int write_observable_attributes(lz_out *o, const lz_job *job, const char *obj, hid_t ds,
                                       lz_err *err) {
  const int kind = job->analyze.invariant_measure.observable.kind;
  int rc = write_string_attribute(ds, o->path, obj, "observable", lz_observable_names[kind], err);
  if (rc == LZ_OK && kind == LZ_OBS_X_ENTRY)
    rc = write_int64_array_attribute(ds, o->path, obj, "entry",
                                     job->analyze.invariant_measure.observable.entry, 2, err);
  return rc;
}

/* The table names the per-run dimensions: an array whose rows are the histogrammed coordinates
 * ("coordinate" first) or whose two axes are the first two of them ("bin0") says which
 * coordinates those are; hist_obs says which observable it counts. */
static int describe_measure_array(lz_out *o, const lz_job *job, int a, const char *obj, hid_t ds,
                                  lz_err *err) {
  const char *first_dim = str_or_empty(lz_array_descs[a].dims[0]);
  if (strcmp(first_dim, "coordinate") == 0)
    return write_coords_attribute(o, job, obj, ds, job->analyze.invariant_measure.ncoords, err);
  if (strcmp(first_dim, "bin0") == 0) return write_coords_attribute(o, job, obj, ds, 2, err);
  if (a == LZ_ARRAY_HIST_OBS) return write_observable_attributes(o, job, obj, ds, err);
  return LZ_OK;
}

/* Bin edges: bins + 1 values from lo to hi, known up front (rank 0 writes them). */
static int create_edges_dataset(lz_out *o, layout *l, const char *name, int64_t bins,
                                const char *description, hid_t *out, lz_err *err) {
  ds_spec s = {name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, {(hsize_t)(bins + 1), 0, 0},
               &fill_nan, "", description};
  char obj[OBJ_PATH_MAX];
  join_path(obj, "/runs", name);
  int rc = create_dataset(o->path, l->runs, "/runs", &s, out, err);
  if (rc == LZ_OK) rc = label_dimension(o->path, obj, *out, 0, "edge", err);
  return rc;
}

static int create_edges(lz_out *o, layout *l, const lz_job *job, lz_err *err) {
  const int64_t bins = job->analyze.invariant_measure.bins;
  const int64_t obs_bins = job->analyze.invariant_measure.observable.bins;
  int rc = create_edges_dataset(o, l, "hist_edges", bins,
                                "edges of the bins of hist, hist_half1 and gibbs (each "
                                "histogrammed coordinate, see coords) and of both axes of hist2d "
                                "and gibbs2d: bin b spans [edges[b], edges[b + 1]]",
                                &l->hist_edges, err);
  if (rc == LZ_OK)
    rc = write_coords_attribute(o, job, "/runs/hist_edges", l->hist_edges,
                                job->analyze.invariant_measure.ncoords, err);
  if (rc != LZ_OK || job->analyze.invariant_measure.observable.kind == LZ_OBS_NONE) return rc;
  rc = create_edges_dataset(o, l, "hist_obs_edges", obs_bins,
                            "edges of the bins of hist_obs (the observable): bin b spans "
                            "[edges[b], edges[b + 1]]", &l->obs_edges, err);
  if (rc == LZ_OK)
    rc = write_observable_attributes(o, job, "/runs/hist_obs_edges", l->obs_edges, err);
  return rc;
}

/* ---- creation: per-run and per-point results ------------------------------------------- */

/* Dimension 0 is the run (or the sweep point); the others are the per-run ones the table names
 * ("record" for a trace, "point" and "coordinate" for an orbit). A trace's dimension 1 also
 * gets its steps (traces are never pooled: check_job_for_output). */
static int name_array_dimensions(lz_out *o, layout *l, const leading_dim *dim, int a,
                                 const char *obj, hid_t ds, lz_err *err) {
  const lz_array_desc *d = &lz_array_descs[a];
  int rc = attach_leading_dimension(o, dim, obj, ds, err);
  if (rc == LZ_OK && array_is_trace(o->shape[a])) {
    char scale[OBJ_PATH_MAX], group_path[OBJ_PATH_MAX], name[OBJ_PATH_MAX];
    step_scale_name(name, d);
    array_group_path(group_path, d);
    join_path(scale, group_path, name);
    rc = attach_scale(o->path, obj, ds, l->step_scale[a], 1, scale, err);
  }
  for (int j = 0; j + 1 < array_rank(o->shape[a]) && rc == LZ_OK; ++j)
    if (d->dims[j]) rc = label_dimension(o->path, obj, ds, (unsigned)j + 1, d->dims[j], err);
  return rc;
}

/* An array of /runs (group: /runs or /runs/trace) or of /pooled (always the group itself). */
static int create_array_dataset(lz_out *o, layout *l, const lz_job *job, const leading_dim *dim,
                                int a, hid_t *out, lz_err *err) {
  const lz_array_desc *d = &lz_array_descs[a];
  const lz_array_shape shape = o->shape[a];
  ds_spec s = {d->name, file_type_of(d->type), mem_type_of(d->type), array_rank(shape),
               {0, 0, 0}, zero_or_nan_fill(d->type), d->units, d->description};
  array_dims(dim->len, shape, s.dims);
  char group_path[OBJ_PATH_MAX], obj[OBJ_PATH_MAX];
  if (dim->pooled) snprintf(group_path, sizeof group_path, "%s", dim->path);
  else array_group_path(group_path, d);
  join_path(obj, group_path, d->name);
  int rc = create_dataset(o->path, dim->pooled ? dim->group : array_group(l, d), group_path, &s,
                          out, err);
  if (rc == LZ_OK && array_is_trace(shape))
    rc = write_int64_attribute(*out, o->path, obj, "record_every", shape.record_every, err);
  if (rc == LZ_OK) rc = describe_measure_array(o, job, a, obj, *out, err);
  if (rc == LZ_OK) rc = name_array_dimensions(o, l, dim, a, obj, *out, err);
  return rc;
}

static int create_run_datasets(lz_out *o, layout *l, const lz_job *job, lz_err *err) {
  const leading_dim runs = runs_dim(o, l);
  size_t nfields;
  const lz_field *fields = lz_run_fields(&nfields);
  int rc = LZ_OK;
  for (size_t i = 0; i < nfields && rc == LZ_OK; ++i)
    if (lz_field_applies(&fields[i], job))
      rc = create_field_dataset(o, &runs, &fields[i], &o->field_ds[i], err);
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a)
    if (array_is_present(o->shape[a]))
      rc = create_array_dataset(o, l, job, &runs, a, &o->array_ds[a], err);
  if (rc == LZ_OK && lz_job_samples_invariant_measure(job)) rc = create_edges(o, l, job, err);
  return rc;
}

/* /pooled/first_run, run_count, run_stride: the runs of each point, as lz_job_pooled_runs. */
static const char *const point_runs_names[3] = {"first_run", "run_count", "run_stride"};
static const char *const point_runs_descriptions[3] = {
    "first run of the sweep point; its runs are first_run + k * run_stride, k < run_count",
    "number of runs pooled into the sweep point (one per combination of the init axes)",
    "distance in the run index between consecutive runs of the sweep point"};

static int create_point_runs(lz_out *o, layout *l, int i, lz_err *err) {
  const leading_dim pooled = pooled_dim(o, l);
  ds_spec s = {point_runs_names[i], H5T_STD_I64LE, H5T_NATIVE_INT64, 1,
               {(hsize_t)o->npooled, 0, 0}, &fill_int64, "", point_runs_descriptions[i]};
  char obj[OBJ_PATH_MAX];
  join_path(obj, "/pooled", s.name);
  int rc = create_dataset(o->path, l->pooled, "/pooled", &s, &l->point_runs[i], err);
  if (rc == LZ_OK) rc = attach_leading_dimension(o, &pooled, obj, l->point_runs[i], err);
  return rc;
}

/* One byte for the whole group, so it has no point dimension. */
static int create_pooled_done(lz_out *o, layout *l, lz_err *err) {
  ds_spec s = {"done", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, {1, 0, 0}, &fill_uint8, "",
               "1 once every point of /pooled has been written (after the last tile)"};
  return create_dataset(o->path, l->pooled, "/pooled", &s, &o->pooled_done_ds, err);
}

static int create_pooled_datasets(lz_out *o, layout *l, const lz_job *job, lz_err *err) {
  const leading_dim pooled = pooled_dim(o, l);
  int rc = LZ_OK;
  for (int i = 0; i < 3 && rc == LZ_OK; ++i) rc = create_point_runs(o, l, i, err);
  size_t nfields;
  const lz_field *fields = lz_pooled_fields(&nfields);
  for (size_t i = 0; i < nfields && rc == LZ_OK; ++i)
    if (lz_field_applies(&fields[i], job))
      rc = create_field_dataset(o, &pooled, &fields[i], &o->pooled_field_ds[i], err);
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a)
    if (lz_array_descs[a].pooled && array_is_present(o->shape[a]))
      rc = create_array_dataset(o, l, job, &pooled, a, &o->pooled_array_ds[a], err);
  if (rc == LZ_OK) rc = create_pooled_done(o, l, err);
  return rc;
}

static int create_tile_dataset(lz_out *o, layout *l, const char *name, hid_t file_type,
                               hid_t mem_type, const void *fill, const char *description,
                               hid_t *out, lz_err *err) {
  ds_spec s = {name, file_type, mem_type, 1, {(hsize_t)o->ntiles, 0}, fill, "", description};
  char obj[OBJ_PATH_MAX];
  join_path(obj, "/tiles", name);
  int rc = create_dataset(o->path, l->tiles, "/tiles", &s, out, err);
  if (rc == LZ_OK) rc = attach_scale(o->path, obj, *out, l->tile_scale, 0, "/tiles/tile", err);
  if (rc == LZ_OK) rc = label_dimension(o->path, obj, *out, 0, "tile", err);
  return rc;
}

static int create_tile_datasets(lz_out *o, layout *l, lz_err *err) {
  int rc = create_tile_dataset(o, l, "done", H5T_STD_U8LE, H5T_NATIVE_UINT8, &fill_uint8,
                               "1 once the tile's results are in the file", &o->done_ds, err);
  if (rc == LZ_OK)
    rc = create_tile_dataset(o, l, "first_run", H5T_STD_I64LE, H5T_NATIVE_INT64, &fill_int64,
                             "first run of the tile", &l->first_run, err);
  if (rc == LZ_OK)
    rc = create_tile_dataset(o, l, "run_count", H5T_STD_I64LE, H5T_NATIVE_INT64, &fill_int64,
                             "number of runs in the tile: runs [first_run, first_run + run_count)",
                             &l->run_count, err);
  return rc;
}

/* The problem fits data (mlp): they belong with the results, so that a figure or a refit needs
 * nothing but the file. */
static int has_data(const lz_job *job) { return job->problem.kind == LZ_PROBLEM_MLP; }

static int create_data_datasets(lz_out *o, layout *l, const lz_job *job, lz_err *err) {
  const int64_t m = job->problem.data.points;
  int rc = create_group(o->path, o->file, "data", "/data",
                        "the points the network is fitted to: y[i] = g0(x[i]) + amplitude "
                        "sin(x[i] / eps), from problem.data", &l->data, err);
  ds_spec sx = {"x", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, {(hsize_t)m, 0, 0}, &fill_nan, "",
                "the inputs x_i (in order of the loss's sum)"};
  ds_spec sy = {"y", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, {(hsize_t)m, 0, 0}, &fill_nan, "",
                "the targets y_i"};
  if (rc == LZ_OK) rc = create_dataset(o->path, l->data, "/data", &sx, &l->data_x, err);
  if (rc == LZ_OK) rc = label_dimension(o->path, "/data/x", l->data_x, 0, "point", err);
  if (rc == LZ_OK) rc = create_dataset(o->path, l->data, "/data", &sy, &l->data_y, err);
  if (rc == LZ_OK) rc = label_dimension(o->path, "/data/y", l->data_y, 0, "point", err);
  return rc;
}

static int create_structure(lz_out *o, layout *l, const lz_job *job, const lz_provenance *prov,
                            lz_err *err) {
  int rc = write_provenance(o, job, prov, err);
  if (rc == LZ_OK) rc = create_groups(o, l, err);
  if (rc == LZ_OK) rc = create_scales(o, job, l, err);
  if (rc == LZ_OK) rc = create_axes(o, l, job, err);
  if (rc == LZ_OK) rc = create_run_datasets(o, l, job, err);
  if (rc == LZ_OK && has_pooled(o)) rc = create_pooled_datasets(o, l, job, err);
  if (rc == LZ_OK) rc = create_tile_datasets(o, l, err);
  if (rc == LZ_OK && has_data(job)) rc = create_data_datasets(o, l, job, err);
  return rc;
}

/* ---- creation: data known up front (rank 0 writes it, in bounded blocks) --------------- */

typedef struct generator {
  const lz_job *job;
  size_t axis;     /* for fill_run_coordinate */
  int64_t every;   /* for fill_step: the trace's record_every */
  size_t *idx;     /* naxes scratch for lz_job_run_coords */
  void *block;     /* GENERATE_BLOCK values (or fewer, if the sweep is smaller) */
  void (*fill)(const struct generator *g, int64_t first, int64_t n, void *buf);
} generator;

static void fill_index(const generator *g, int64_t first, int64_t n, void *buf) {
  int64_t *v = buf;
  for (int64_t i = 0; i < n; ++i) v[i] = first + i;
}

static void fill_step(const generator *g, int64_t first, int64_t n, void *buf) {
  int64_t *v = buf;
  for (int64_t i = 0; i < n; ++i) v[i] = (first + i) * g->every;
}

static void fill_tile_first_run(const generator *g, int64_t first, int64_t n, void *buf) {
  int64_t *v = buf, count;
  for (int64_t i = 0; i < n; ++i) lz_job_tile_runs(g->job, first + i, &v[i], &count);
}

static void fill_tile_run_count(const generator *g, int64_t first, int64_t n, void *buf) {
  int64_t *v = buf, r0;
  for (int64_t i = 0; i < n; ++i) lz_job_tile_runs(g->job, first + i, &r0, &v[i]);
}

/* The value stored for axis point k: choice code, whole number, or the double itself. */
static void store_axis_value(const lz_axis *ax, double value, void *buf, size_t i) {
  if (ax->type == LZ_AXIS_CHOICE) ((int8_t *)buf)[i] = (int8_t)lround(value);
  else if (ax->type == LZ_AXIS_NUMBER && ax->is_integer) ((int64_t *)buf)[i] = llround(value);
  else ((double *)buf)[i] = value;
}

/* Run r's coordinate on g->axis into entry i of buf. */
static void store_run_coordinate(const generator *g, int64_t r, void *buf, int64_t i) {
  const lz_axis *ax = &g->job->axes[g->axis];
  lz_job_run_coords(g->job, r, g->idx);
  size_t k = g->idx[g->axis];
  if (ax->type == LZ_AXIS_VECTOR) ((int64_t *)buf)[i] = (int64_t)k;
  else store_axis_value(ax, ax->values[k], buf, (size_t)i);
}

static void fill_run_coordinate(const generator *g, int64_t first, int64_t n, void *buf) {
  for (int64_t i = 0; i < n; ++i) store_run_coordinate(g, first + i, buf, i);
}

/* A sweep point's runs differ only on init axes: its first run has its coordinates. */
static void fill_point_coordinate(const generator *g, int64_t first, int64_t n, void *buf) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t r, count, stride;
    lz_job_pooled_runs(g->job, first + i, &r, &count, &stride);
    store_run_coordinate(g, r, buf, i);
  }
}

static void fill_point_first_run(const generator *g, int64_t first, int64_t n, void *buf) {
  int64_t *v = buf, count, stride;
  for (int64_t i = 0; i < n; ++i) lz_job_pooled_runs(g->job, first + i, &v[i], &count, &stride);
}

static void fill_point_run_count(const generator *g, int64_t first, int64_t n, void *buf) {
  int64_t *v = buf, r, stride;
  for (int64_t i = 0; i < n; ++i) lz_job_pooled_runs(g->job, first + i, &r, &v[i], &stride);
}

static void fill_point_run_stride(const generator *g, int64_t first, int64_t n, void *buf) {
  int64_t *v = buf, r, count;
  for (int64_t i = 0; i < n; ++i) lz_job_pooled_runs(g->job, first + i, &r, &count, &v[i]);
}

static int write_generated(lz_out *o, generator *g, void (*fill)(const generator *, int64_t,
                           int64_t, void *), hid_t ds, const char *obj, hid_t mem_type,
                           int64_t total, lz_err *err) {
  g->fill = fill;
  int rc = LZ_OK;
  for (int64_t first = 0; first < total && rc == LZ_OK; first += GENERATE_BLOCK) {
    int64_t n = min64(GENERATE_BLOCK, total - first);
    g->fill(g, first, n, g->block);
    rc = write_rows(o->path, obj, ds, o->dxpl, mem_type, first, n, g->block, "entries", err);
  }
  return rc;
}

static int write_axis_values(lz_out *o, hid_t ds, const lz_axis *ax, lz_err *err) {
  char obj[OBJ_PATH_MAX];
  join_path(obj, "/axes", ax->name);
  hid_t file_type, mem_type;
  const void *fill;
  axis_storage(ax, &file_type, &mem_type, &fill);
  size_t n = ax->len * ax->width;
  void *buf = malloc(n * sizeof(double));
  if (!buf) return lz_err_set(err, LZ_ENOMEM, "%s: %s: no memory", o->path, obj);
  for (size_t i = 0; i < n; ++i) store_axis_value(ax, ax->values[i], buf, i);
  int rc = write_rows(o->path, obj, ds, o->dxpl, mem_type, 0, (int64_t)ax->len, buf, "points",
                      err);
  free(buf);
  return rc;
}

static int write_axes_and_coordinates(lz_out *o, layout *l, generator *g, lz_err *err) {
  const lz_job *job = g->job;
  int rc = LZ_OK;
  for (size_t a = 0; a < job->naxes && rc == LZ_OK; ++a) {
    const lz_axis *ax = &job->axes[a];
    char obj[OBJ_PATH_MAX], point_obj[OBJ_PATH_MAX];
    join_path(obj, "/runs", ax->name);
    join_path(point_obj, "/pooled", ax->name);
    hid_t file_type, mem_type = H5T_NATIVE_INT64;
    const void *fill;
    if (ax->type != LZ_AXIS_VECTOR) axis_storage(ax, &file_type, &mem_type, &fill);
    g->axis = a;
    rc = write_axis_values(o, l->axis_ds[a], ax, err);
    if (rc == LZ_OK)
      rc = write_generated(o, g, fill_run_coordinate, l->coord_ds[a], obj, mem_type, job->nruns,
                           err);
    if (rc == LZ_OK && l->point_coord_ds[a] >= 0)
      rc = write_generated(o, g, fill_point_coordinate, l->point_coord_ds[a], point_obj, mem_type,
                           o->npooled, err);
  }
  return rc;
}

static int write_point_runs(lz_out *o, layout *l, generator *g, lz_err *err) {
  void (*const fills[3])(const generator *, int64_t, int64_t, void *) = {
      fill_point_first_run, fill_point_run_count, fill_point_run_stride};
  int rc = write_generated(o, g, fill_index, l->point_scale, "/pooled/point", H5T_NATIVE_INT64,
                           o->npooled, err);
  for (int i = 0; i < 3 && rc == LZ_OK; ++i) {
    char obj[OBJ_PATH_MAX];
    join_path(obj, "/pooled", point_runs_names[i]);
    rc = write_generated(o, g, fills[i], l->point_runs[i], obj, H5T_NATIVE_INT64, o->npooled,
                         err);
  }
  return rc;
}

static int write_edges(lz_out *o, const lz_job *job, hid_t ds, const char *obj, int64_t bins,
                       void (*edges_of)(const lz_job *, double *), lz_err *err) {
  double *edges = malloc((size_t)(bins + 1) * sizeof *edges);
  if (!edges) return lz_err_set(err, LZ_ENOMEM, "%s: %s: no memory", o->path, obj);
  edges_of(job, edges);
  int rc = write_rows(o->path, obj, ds, o->dxpl, H5T_NATIVE_DOUBLE, 0, bins + 1, edges, "edges",
                      err);
  free(edges);
  return rc;
}

static int write_measure_data(lz_out *o, layout *l, generator *g, lz_err *err) {
  const lz_job *job = g->job;
  int rc = write_point_runs(o, l, g, err);
  if (rc == LZ_OK)
    rc = write_edges(o, job, l->hist_edges, "/runs/hist_edges",
                     job->analyze.invariant_measure.bins, lz_job_hist_edges, err);
  if (rc == LZ_OK && l->obs_edges >= 0)
    rc = write_edges(o, job, l->obs_edges, "/runs/hist_obs_edges",
                     job->analyze.invariant_measure.observable.bins, lz_job_observable_edges,
                     err);
  return rc;
}

static int write_steps(lz_out *o, layout *l, generator *g, lz_err *err) {
  int rc = LZ_OK;
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a) {
    if (!array_is_trace(o->shape[a])) continue;
    char obj[OBJ_PATH_MAX], group_path[OBJ_PATH_MAX], name[OBJ_PATH_MAX];
    step_scale_name(name, &lz_array_descs[a]);
    array_group_path(group_path, &lz_array_descs[a]);
    join_path(obj, group_path, name);
    g->every = o->shape[a].record_every;
    rc = write_generated(o, g, fill_step, l->step_scale[a], obj, H5T_NATIVE_INT64,
                         o->shape[a].len[0], err);
  }
  return rc;
}

static int write_fitted_data(lz_out *o, layout *l, const lz_job *job, lz_err *err) {
  const int64_t m = job->problem.data.points;
  size_t *idx = calloc(job->naxes ? job->naxes : 1, sizeof *idx);
  double *x = malloc((size_t)m * sizeof *x), *y = malloc((size_t)m * sizeof *y);
  int rc = idx && x && y ? LZ_OK
                         : lz_err_set(err, LZ_ENOMEM, "%s: no memory for the %" PRId64
                                      " data points", o->path, m);
  if (rc == LZ_OK) {
    lz_problem_params pp;
    lz_job_problem_params(job, idx, &pp);  /* the data do not depend on any sweep axis */
    lz_mlp_data(&pp, x, y);
    rc = write_rows(o->path, "/data/x", l->data_x, o->dxpl, H5T_NATIVE_DOUBLE, 0, m, x, "points",
                    err);
  }
  if (rc == LZ_OK)
    rc = write_rows(o->path, "/data/y", l->data_y, o->dxpl, H5T_NATIVE_DOUBLE, 0, m, y, "points",
                    err);
  free(idx);
  free(x);
  free(y);
  return rc;
}

static int write_known_data(lz_out *o, layout *l, const lz_job *job, lz_err *err) {
  int64_t most = job->nruns > job->ntiles ? job->nruns : job->ntiles;
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a)
    if (array_is_trace(o->shape[a]) && o->shape[a].len[0] > most) most = o->shape[a].len[0];
  generator g = {job, 0, 0, NULL, NULL, NULL};
  g.block = malloc((size_t)min64(most, GENERATE_BLOCK) * sizeof(double));
  g.idx = malloc((job->naxes ? job->naxes : 1) * sizeof *g.idx);
  int rc = g.block && g.idx ? LZ_OK
                            : lz_err_set(err, LZ_ENOMEM, "%s: no memory for coordinates", o->path);
  const hid_t i64 = H5T_NATIVE_INT64;
  if (rc == LZ_OK)
    rc = write_generated(o, &g, fill_index, l->run_scale, "/runs/run", i64, job->nruns, err);
  if (rc == LZ_OK)
    rc = write_generated(o, &g, fill_index, l->tile_scale, "/tiles/tile", i64, job->ntiles, err);
  if (rc == LZ_OK) rc = write_steps(o, l, &g, err);
  if (rc == LZ_OK)
    rc = write_generated(o, &g, fill_tile_first_run, l->first_run, "/tiles/first_run", i64,
                         job->ntiles, err);
  if (rc == LZ_OK)
    rc = write_generated(o, &g, fill_tile_run_count, l->run_count, "/tiles/run_count", i64,
                         job->ntiles, err);
  if (rc == LZ_OK) rc = write_axes_and_coordinates(o, l, &g, err);
  if (rc == LZ_OK && has_pooled(o)) rc = write_measure_data(o, l, &g, err);
  if (rc == LZ_OK && has_data(job)) rc = write_fitted_data(o, l, job, err);
  free(g.block);
  free(g.idx);
  return rc;
}

/* ---- creation: the whole sequence ------------------------------------------------------ */

/* Coordinates share /runs with the scales, the results and the arrays without a group. */
static int is_taken_in_runs(const char *name) {
  int taken = strcmp(name, "run") == 0 || strcmp(name, "trace") == 0 ||
              strcmp(name, "hist_edges") == 0 || strcmp(name, "hist_obs_edges") == 0;
  size_t nfields;
  const lz_field *fields = lz_run_fields(&nfields);
  for (size_t i = 0; i < nfields; ++i) taken |= strcmp(name, fields[i].name) == 0;
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    const lz_array_desc *d = &lz_array_descs[a];
    char step[OBJ_PATH_MAX];
    step_scale_name(step, d);
    if (!d->group[0]) taken |= strcmp(name, d->name) == 0 || strcmp(name, step) == 0;
  }
  return taken;
}

/* The coordinates of /pooled share it with what io itself puts there; its fields and arrays are
 * among the /runs ones, which is_taken_in_runs already keeps axis names away from. */
static int is_taken_in_pooled(const char *name) {
  static const char *const own[] = {"point", "first_run", "run_count", "run_stride", "done"};
  int taken = 0;
  for (size_t i = 0; i < sizeof own / sizeof own[0]; ++i) taken |= strcmp(name, own[i]) == 0;
  return taken;
}

/* src/config validates the section; these are the values the layout indexes with, so a job
 * built some other way cannot make io read past a table. */
static int check_invariant_measure(const lz_job *job, lz_err *err) {
  if (!lz_job_samples_invariant_measure(job)) return LZ_OK;
  const size_t ncoords = job->analyze.invariant_measure.ncoords;
  const int kind = job->analyze.invariant_measure.observable.kind;
  if (ncoords < 1 || ncoords > LZ_IM_MAX_COORDS || job->analyze.invariant_measure.bins < 1 ||
      (job->analyze.invariant_measure.joint && ncoords < 2))
    return lz_err_set(err, LZ_EINVAL, "job '%s': invariant measure of %zu coordinates (joint %d) "
                      "in %" PRId64 " bins", str_or_empty(job->name), ncoords,
                      job->analyze.invariant_measure.joint, job->analyze.invariant_measure.bins);
  if (kind < 0 || (size_t)kind >= count_names(lz_observable_names) ||
      (kind != LZ_OBS_NONE && job->analyze.invariant_measure.observable.bins < 1))
    return lz_err_set(err, LZ_EINVAL, "job '%s': observable %d in %" PRId64 " bins",
                      str_or_empty(job->name), kind,
                      job->analyze.invariant_measure.observable.bins);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    const lz_array_desc *d = &lz_array_descs[a];
    if (d->pooled && (d->group[0] || lz_job_array_shape(job, (lz_array_id)a).record_every > 0))
      return lz_err_set(err, LZ_EINVAL, "array '%s' is pooled, but only arrays of /runs itself "
                        "that are not traces can be", d->name);
  }
  for (size_t a = 0; a < job->naxes; ++a)
    if (is_pooled_axis(&job->axes[a]) && is_taken_in_pooled(job->axes[a].name))
      return lz_err_set(err, LZ_EINVAL, "axis '%s' has the name of a dataset in /pooled",
                        job->axes[a].name);
  return LZ_OK;
}

static int check_job_for_output(const lz_job *job, lz_err *err) {
  if (job->nruns < 1 || job->ntiles < 1 || job->tiles.runs < 1 || job->run.record_every < 1 ||
      job->run.max_iter < 0)
    return lz_err_set(err, LZ_EINVAL, "job '%s': nothing to write (runs %" PRId64 ", tiles %" PRId64
                      ", tile size %" PRId64 ")", str_or_empty(job->name), job->nruns, job->ntiles,
                      job->tiles.runs);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    const lz_array_desc *d = &lz_array_descs[a];
    if (d->group[0] && strcmp(d->group, "trace") != 0)
      return lz_err_set(err, LZ_EINVAL, "array '%s' belongs to group '%s', but /runs has only "
                        "the group 'trace'", d->name, d->group);
  }
  for (size_t a = 0; a < job->naxes; ++a)
    if (is_taken_in_runs(job->axes[a].name))
      return lz_err_set(err, LZ_EINVAL, "axis '%s' has the name of a dataset in /runs",
                        job->axes[a].name);
  return check_invariant_measure(job, err);
}

static int build_file(lz_out *o, const lz_comm *c, const lz_job *job, const lz_provenance *prov,
                      int *failed_alone, lz_err *err) {
  layout l;
  if (layout_init(&l, job->naxes) != LZ_OK)
    return lz_err_set(err, LZ_ENOMEM, "%s: no memory", o->path);
  int rc = new_independent_dxpl(o, err);
  if (rc == LZ_OK) rc = create_structure(o, &l, job, prov, err);
  /* Only rank 0 writes the known data. A failure there is reported by rank 0 alone, after it
   * has taken part in the remaining collective steps, so the other ranks never wait on it. */
  int rank0_rc = LZ_OK;
  lz_err rank0_err = {0};
  if (rc == LZ_OK && c->rank == 0) rank0_rc = write_known_data(o, &l, job, &rank0_err);
  layout_close(&l);
  if (rc == LZ_OK && H5Fflush(o->file, H5F_SCOPE_GLOBAL) < 0)
    rc = lz_h5_fail(err, "%s: H5Fflush after creating the layout failed", o->path);
  if (rc == LZ_OK && rank0_rc != LZ_OK) {
    if (err) *err = rank0_err;
    rc = rank0_rc;
    *failed_alone = 1;
  }
  return rc;
}

int lz_out_create(const lz_comm *c, const char *path, const lz_job *job,
                  const lz_provenance *prov, int overwrite, lz_out **out, lz_err *err) {
  if (!out) return lz_err_set(err, LZ_EINVAL, "lz_out_create: out is NULL");
  *out = NULL;
  if (!c || !path || !job || !prov)
    return lz_err_set(err, LZ_EINVAL, "lz_out_create: NULL argument");
  lz_h5_silence_automatic_errors();
  int rc = check_job_for_output(job, err);
  if (rc == LZ_OK) rc = make_parent_directories(path, err);
  if (rc != LZ_OK) return rc;
  lz_out *o = out_new(path, job, c->rank);
  if (!o) return lz_err_set(err, LZ_ENOMEM, "%s: no memory", path);
  rc = create_file(o, c, overwrite, err);
  int created = rc == LZ_OK, failed_alone = 0;
  if (rc == LZ_OK) rc = build_file(o, c, job, prov, &failed_alone, err);
  o->remove_on_close = rc != LZ_OK && created;
  if (rc != LZ_OK && failed_alone) {
    /* The other ranks succeeded and hold the file open. Closing is collective, so this rank
     * must not close alone: it hands o back with the error, the caller agrees on the outcome
     * (lz_sched_agree) and then every rank calls lz_out_close, which removes the file. */
    *out = o;
    return rc;
  }
  if (rc != LZ_OK) {
    out_close_and_free(o, NULL);
    return rc;
  }
  *out = o;
  return LZ_OK;
}

/* ---- resume ---------------------------------------------------------------------------- */

/* Reads a string attribute of either storage (fixed or variable length) into malloc'd text. */
static int read_string_attribute(hid_t loc, const char *file, const char *obj, const char *name,
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
    mtype = new_string_type(size + 1);
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

static int read_int64_attribute(hid_t loc, const char *file, const char *obj, const char *name,
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

static int open_dataset(const char *file, hid_t loc, const char *obj, hid_t *out, lz_err *err) {
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
static int dataset_shape(const char *file, const char *obj, hid_t ds, int *rank,
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
static int dataset_length(const char *file, const char *obj, hid_t ds, int64_t *len,
                          lz_err *err) {
  int rank = 0;
  hsize_t dims[ARRAY_RANK_MAX] = {0, 0, 0};
  int rc = dataset_shape(file, obj, ds, &rank, dims, err);
  *len = (int64_t)dims[0];
  return rc;
}

/* Opens the dataset of every field of the table that applies to the job, under group. */
static int open_field_datasets(lz_out *o, const lz_job *job, const char *group,
                               const lz_field *fields, size_t nfields, hid_t *ds, lz_err *err) {
  int rc = LZ_OK;
  for (size_t i = 0; i < nfields && rc == LZ_OK; ++i) {
    if (!lz_field_applies(&fields[i], job)) continue;
    char obj[OBJ_PATH_MAX];
    join_path(obj, group, fields[i].name);
    rc = open_dataset(o->path, o->file, obj, &ds[i], err);
  }
  return rc;
}

static int open_run_datasets(lz_out *o, const lz_job *job, lz_err *err) {
  size_t nfields;
  const lz_field *fields = lz_run_fields(&nfields);
  int rc = open_field_datasets(o, job, "/runs", fields, nfields, o->field_ds, err);
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a) {
    if (!array_is_present(o->shape[a])) continue;
    char obj[OBJ_PATH_MAX];
    array_path(obj, &lz_array_descs[a]);
    rc = open_dataset(o->path, o->file, obj, &o->array_ds[a], err);
  }
  if (rc == LZ_OK) rc = open_dataset(o->path, o->file, "/tiles/done", &o->done_ds, err);
  return rc;
}

static int open_pooled_datasets(lz_out *o, const lz_job *job, lz_err *err) {
  size_t nfields;
  const lz_field *fields = lz_pooled_fields(&nfields);
  int rc = open_field_datasets(o, job, "/pooled", fields, nfields, o->pooled_field_ds, err);
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a) {
    if (!lz_array_descs[a].pooled || !array_is_present(o->shape[a])) continue;
    char obj[OBJ_PATH_MAX];
    join_path(obj, "/pooled", lz_array_descs[a].name);
    rc = open_dataset(o->path, o->file, obj, &o->pooled_array_ds[a], err);
  }
  if (rc == LZ_OK) rc = open_dataset(o->path, o->file, "/pooled/done", &o->pooled_done_ds, err);
  return rc;
}

static int check_same_job(hid_t file, const char *path, const lz_job *job, lz_err *err) {
  char *sha = NULL;
  int rc = read_string_attribute(file, path, "/", "job_sha256", &sha, err);
  if (rc == LZ_OK && strcmp(sha, job->sha256) != 0)
    rc = lz_err_set(err, LZ_EJOB, "%s was made from a different job file (job_sha256 %s, this "
                    "job %s); run it without --resume, or with the job file that made it",
                    path, sha, job->sha256);
  free(sha);
  int64_t version = 0;
  if (rc == LZ_OK) rc = read_int64_attribute(file, path, "/", "format_version", &version, err);
  if (rc == LZ_OK && version != LZ_FORMAT_VERSION)
    rc = lz_err_set(err, LZ_EJOB, "%s has format_version %" PRId64 "; this lrzoo writes and "
                    "resumes format_version %d", path, version, LZ_FORMAT_VERSION);
  return rc;
}

static int check_same_size(const char *path, const lz_out *o, hid_t status, hid_t done,
                           lz_err *err) {
  int64_t runs = 0, tiles = 0;
  int rc = dataset_length(path, "/runs/status", status, &runs, err);
  if (rc == LZ_OK) rc = dataset_length(path, "/tiles/done", done, &tiles, err);
  if (rc == LZ_OK && (runs != o->nruns || tiles != o->ntiles))
    rc = lz_err_set(err, LZ_EJOB, "%s holds %" PRId64 " runs in %" PRId64 " tiles, but the job "
                    "has %" PRId64 " runs in %" PRId64 " tiles", path, runs, tiles, o->nruns,
                    o->ntiles);
  return rc;
}

/* Same job text means the same analyze section, so these only catch a file written by an
 * lrzoo that shaped its datasets differently; resuming it would mix two layouts in one file. */
static int check_dataset_dims(const char *path, hid_t file, const char *obj, int want_rank,
                              const hsize_t *want_dims, hid_t *out, lz_err *err) {
  hid_t ds = H5I_INVALID_HID;
  int rank = 0;
  hsize_t dims[ARRAY_RANK_MAX] = {0, 0, 0};
  int rc = open_dataset(path, file, obj, &ds, err);
  if (rc == LZ_OK) rc = dataset_shape(path, obj, ds, &rank, dims, err);
  int same = rc == LZ_OK && rank == want_rank &&
             memcmp(dims, want_dims, (size_t)rank * sizeof dims[0]) == 0;
  if (rc == LZ_OK && !same) {
    char got_text[96], want_text[96];
    shape_text(got_text, sizeof got_text, rank, dims);
    shape_text(want_text, sizeof want_text, want_rank, want_dims);
    rc = lz_err_set(err, LZ_EJOB, "%s: %s is %s, but this job's is %s; run it without --resume",
                    path, obj, got_text, want_text);
  }
  if (rc == LZ_OK && out) *out = ds;
  else lz_h5_close(&ds);
  return rc;
}

static int check_length(const char *path, hid_t file, const char *obj, int64_t len,
                        lz_err *err) {
  const hsize_t dims[1] = {(hsize_t)len};
  return check_dataset_dims(path, file, obj, 1, dims, NULL, err);
}

static int check_present_array(const char *path, hid_t file, const lz_out *o, int a,
                               const char *obj, lz_err *err) {
  const lz_array_shape want = o->shape[a];
  hsize_t want_dims[ARRAY_RANK_MAX];
  array_dims(o->nruns, want, want_dims);
  hid_t ds = H5I_INVALID_HID;
  int rc = check_dataset_dims(path, file, obj, array_rank(want), want_dims, &ds, err);
  int64_t every = 0;
  if (rc == LZ_OK && array_is_trace(want))
    rc = read_int64_attribute(ds, path, obj, "record_every", &every, err);
  if (rc == LZ_OK && array_is_trace(want) && every != want.record_every)
    rc = lz_err_set(err, LZ_EJOB, "%s: %s records every %" PRId64 " steps, but this job's every %"
                    PRId64 "; run it without --resume", path, obj, every, want.record_every);
  lz_h5_close(&ds);
  return rc;
}

/* Present datasets must have this job's shape, absent ones must not be in the file. */
static int check_presence(const char *path, hid_t file, const char *obj, int present,
                          lz_err *err) {
  if (present || H5Lexists(file, obj, H5P_DEFAULT) <= 0) return LZ_OK;
  return lz_err_set(err, LZ_EJOB, "%s holds %s, which this job does not have; run it without "
                    "--resume", path, obj);
}

static int check_array_shapes(const char *path, hid_t file, const lz_out *o, lz_err *err) {
  int rc = LZ_OK;
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a) {
    char obj[OBJ_PATH_MAX];
    array_path(obj, &lz_array_descs[a]);
    if (array_is_present(o->shape[a])) rc = check_present_array(path, file, o, a, obj, err);
    else rc = check_presence(path, file, obj, 0, err);
  }
  return rc;
}

static int check_edges(const char *path, hid_t file, const lz_job *job, lz_err *err) {
  const int has_im = lz_job_samples_invariant_measure(job);
  const int has_obs = has_im && job->analyze.invariant_measure.observable.kind != LZ_OBS_NONE;
  int rc = check_presence(path, file, "/runs/hist_edges", has_im, err);
  if (rc == LZ_OK && has_im)
    rc = check_length(path, file, "/runs/hist_edges", job->analyze.invariant_measure.bins + 1,
                      err);
  if (rc == LZ_OK) rc = check_presence(path, file, "/runs/hist_obs_edges", has_obs, err);
  if (rc == LZ_OK && has_obs)
    rc = check_length(path, file, "/runs/hist_obs_edges",
                      job->analyze.invariant_measure.observable.bins + 1, err);
  return rc;
}

/* Every /pooled dataset this job has, at P points. */
static int check_pooled_shapes(const char *path, hid_t file, const lz_out *o, const lz_job *job,
                               lz_err *err) {
  int rc = check_presence(path, file, "/pooled", has_pooled(o), err);
  if (rc != LZ_OK || !has_pooled(o)) return rc;
  const char *const lengths[] = {"/pooled/point", "/pooled/first_run", "/pooled/run_count",
                                 "/pooled/run_stride"};
  for (size_t i = 0; i < sizeof lengths / sizeof lengths[0] && rc == LZ_OK; ++i)
    rc = check_length(path, file, lengths[i], o->npooled, err);
  size_t nfields;
  const lz_field *fields = lz_pooled_fields(&nfields);
  for (size_t i = 0; i < nfields && rc == LZ_OK; ++i) {
    char obj[OBJ_PATH_MAX];
    join_path(obj, "/pooled", fields[i].name);
    if (lz_field_applies(&fields[i], job)) rc = check_length(path, file, obj, o->npooled, err);
  }
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a) {
    if (!lz_array_descs[a].pooled) continue;
    char obj[OBJ_PATH_MAX];
    join_path(obj, "/pooled", lz_array_descs[a].name);
    hsize_t want_dims[ARRAY_RANK_MAX];
    array_dims(o->npooled, o->shape[a], want_dims);
    if (array_is_present(o->shape[a]))
      rc = check_dataset_dims(path, file, obj, array_rank(o->shape[a]), want_dims, NULL, err);
    else
      rc = check_presence(path, file, obj, 0, err);
  }
  if (rc == LZ_OK) rc = check_length(path, file, "/pooled/done", 1, err);
  return rc;
}

/* Serial and read-only: a file that belongs to another job is never opened for writing. */
static int read_resume_state(const char *path, const lz_out *o, const lz_job *job,
                             uint8_t *done, lz_err *err) {
  hid_t file = H5I_INVALID_HID, status = H5I_INVALID_HID, done_ds = H5I_INVALID_HID;
  int rc = lz_h5_open_read_only(path, &file, err);
  if (rc == LZ_EHDF5 && err) {
    char why[LZ_ERR_MSG_MAX];
    snprintf(why, sizeof why, "%s", err->msg);
    rc = lz_err_set(err, LZ_EJOB, "cannot resume %.200s, it is not a complete lrzoo output file "
                    "(killed while it was being created?); --overwrite starts it again. HDF5: "
                    "%.700s", path, why);
  }
  if (rc == LZ_OK) rc = check_same_job(file, path, job, err);
  if (rc == LZ_OK) rc = open_dataset(path, file, "/runs/status", &status, err);
  if (rc == LZ_OK) rc = open_dataset(path, file, "/tiles/done", &done_ds, err);
  if (rc == LZ_OK) rc = check_same_size(path, o, status, done_ds, err);
  if (rc == LZ_OK) rc = check_array_shapes(path, file, o, err);
  if (rc == LZ_OK) rc = check_edges(path, file, job, err);
  if (rc == LZ_OK) rc = check_presence(path, file, "/data", has_data(job), err);
  if (rc == LZ_OK && has_data(job))
    rc = check_length(path, file, "/data/x", job->problem.data.points, err);
  if (rc == LZ_OK) rc = check_pooled_shapes(path, file, o, job, err);
  if (rc == LZ_OK)
    rc = read_rows(path, "/tiles/done", done_ds, H5P_DEFAULT, H5T_NATIVE_UINT8, 0, o->ntiles, 1,
                   done, err);
  lz_h5_close(&done_ds);
  lz_h5_close(&status);
  lz_h5_close(&file);
  return rc;
}

static int open_for_writing(lz_out *o, const lz_comm *c, const lz_job *job, lz_err *err) {
  hid_t fapl = new_mpio_fapl(c);
  int rc = LZ_OK;
  if (fapl < 0) rc = lz_h5_fail(err, "%s: MPI-IO file access properties failed", o->path);
  if (rc == LZ_OK && (o->file = H5Fopen(o->path, H5F_ACC_RDWR, fapl)) < 0)
    rc = lz_h5_fail(err, "%s: H5Fopen (read-write, MPI-IO) failed", o->path);
  lz_h5_close(&fapl);
  if (rc == LZ_OK) rc = new_independent_dxpl(o, err);
  if (rc == LZ_OK) rc = open_run_datasets(o, job, err);
  if (rc == LZ_OK && has_pooled(o)) rc = open_pooled_datasets(o, job, err);
  return rc;
}

int lz_out_open_resume(const lz_comm *c, const char *path, const lz_job *job, lz_out **out,
                       uint8_t *done, lz_err *err) {
  if (!out) return lz_err_set(err, LZ_EINVAL, "lz_out_open_resume: out is NULL");
  *out = NULL;
  if (!c || !path || !job || !done)
    return lz_err_set(err, LZ_EINVAL, "lz_out_open_resume: NULL argument");
  lz_h5_silence_automatic_errors();
  int rc = check_job_for_output(job, err);
  if (rc == LZ_OK && access(path, F_OK) != 0)
    rc = lz_err_set(err, LZ_EJOB, "%s: cannot resume: %s", path, strerror(errno));
  if (rc != LZ_OK) return rc;
  lz_out *o = out_new(path, job, c->rank);
  if (!o) return lz_err_set(err, LZ_ENOMEM, "%s: no memory", path);
  /* done[] is read before the collective open, which cannot complete on any rank until every
   * rank has entered it (HDF5 duplicates the communicator and MPI-IO opens the file). So no
   * rank can return and write a tile while another is still reading the flags. */
  rc = read_resume_state(path, o, job, done, err);
  if (rc == LZ_OK) rc = open_for_writing(o, c, job, err);
  if (rc != LZ_OK) {
    out_close_and_free(o, NULL);
    return rc;
  }
  *out = o;
  return LZ_OK;
}

/* ---- tile writes (independent) --------------------------------------------------------- */

static int check_tile(const lz_out *o, const lz_tile_result *tr, lz_err *err) {
  if (tr->tile < 0 || tr->tile >= o->ntiles)
    return lz_err_set(err, LZ_EINVAL, "%s: tile %" PRId64 " is not in [0, %" PRId64 ")", o->path,
                      tr->tile, o->ntiles);
  int64_t r0, count;
  lz_job_tile_runs(&o->tiling, tr->tile, &r0, &count);
  if (tr->r0 != r0 || tr->count != count)
    return lz_err_set(err, LZ_EINVAL, "%s: tile %" PRId64 " holds runs [%" PRId64 ", %" PRId64
                      "), not [%" PRId64 ", %" PRId64 ")", o->path, tr->tile, r0, r0 + count,
                      tr->r0, tr->r0 + tr->count);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    char obj[OBJ_PATH_MAX];
    array_path(obj, &lz_array_descs[a]);
    const lz_array_shape got = tr->shape[a], want = o->shape[a];
    if (!same_array_shape(got, want))
      return lz_err_set(err, LZ_EINVAL, "%s: tile %" PRId64 " has %" PRId64 " x %" PRId64
                        " entries of %s per run (recorded every %" PRId64 " steps), the file %"
                        PRId64 " x %" PRId64 " (every %" PRId64 ")", o->path, tr->tile,
                        got.len[0], got.len[1], obj, got.record_every, want.len[0], want.len[1],
                        want.record_every);
    if (array_is_present(want) && !tr->array[a])
      return lz_err_set(err, LZ_EINVAL, "%s: tile %" PRId64 " has no values for %s", o->path,
                        tr->tile, obj);
  }
  return LZ_OK;
}

/* The tile's runs hold one field at f->offset of each lz_run_result; the file wants them
 * contiguous. */
static void gather_field(const lz_field *f, const lz_tile_result *tr, unsigned char *buf) {
  size_t size = size_of(f->type);
  for (int64_t i = 0; i < tr->count; ++i)
    memcpy(buf + (size_t)i * size, (const unsigned char *)&tr->runs[i] + f->offset, size);
}

static int write_tile_fields(lz_out *o, const lz_tile_result *tr, lz_err *err) {
  size_t nfields;
  const lz_field *fields = lz_run_fields(&nfields);
  int rc = LZ_OK;
  for (size_t i = 0; i < nfields && rc == LZ_OK; ++i) {
    if (o->field_ds[i] < 0) continue;
    char obj[OBJ_PATH_MAX];
    join_path(obj, "/runs", fields[i].name);
    gather_field(&fields[i], tr, o->gather);
    rc = write_rows(o->path, obj, o->field_ds[i], o->dxpl, mem_type_of(fields[i].type), tr->r0,
                    tr->count, o->gather, "runs", err);
  }
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a) {
    if (o->array_ds[a] < 0) continue;
    char obj[OBJ_PATH_MAX];
    array_path(obj, &lz_array_descs[a]);
    rc = write_rows(o->path, obj, o->array_ds[a], o->dxpl, mem_type_of(lz_array_descs[a].type),
                    tr->r0, tr->count, tr->array[a], "runs", err);
  }
  return rc;
}

static int mark_tile_done(lz_out *o, int64_t tile, lz_err *err) {
  const uint8_t one = 1;
  return write_rows(o->path, "/tiles/done", o->done_ds, o->dxpl, H5T_NATIVE_UINT8, tile, 1, &one,
                    "tiles", err);
}

int lz_out_write_tile(lz_out *o, const lz_tile_result *tr, lz_err *err) {
  if (!o || !tr) return lz_err_set(err, LZ_EINVAL, "lz_out_write_tile: NULL argument");
  int rc = check_tile(o, tr, err);
  /* The done byte goes last: a rank killed in between leaves the tile to be redone. */
  if (rc == LZ_OK) rc = write_tile_fields(o, tr, err);
  if (rc == LZ_OK) rc = mark_tile_done(o, tr->tile, err);
  if (rc != LZ_OK) lz_err_prefix(err, "tile %" PRId64 ": ", tr->tile);
  return rc;
}

/* ---- reading runs back, and the pooled sweep points (independent) ---------------------- */

static int check_strided_runs(const lz_out *o, int64_t first, int64_t count, int64_t stride,
                              lz_err *err) {
  /* The last run, first + (count - 1) * stride, is tested without computing it (overflow). */
  if (first < 0 || count < 0 || stride < 1 || first >= o->nruns ||
      (count > 0 && count - 1 > (o->nruns - 1 - first) / stride))
    return lz_err_set(err, LZ_EINVAL, "%s: runs %" PRId64 " + k * %" PRId64 ", k < %" PRId64
                      ", are not all in [0, %" PRId64 ")", o->path, first, stride, count,
                      o->nruns);
  return LZ_OK;
}

/* The file holds one field contiguously; runs[] wants it at f->offset of each run. */
static void scatter_field(const lz_field *f, const unsigned char *buf, int64_t count,
                          lz_run_result *runs) {
  size_t size = size_of(f->type);
  for (int64_t k = 0; k < count; ++k)
    memcpy((unsigned char *)&runs[k] + f->offset, buf + (size_t)k * size, size);
}

static int read_run_fields(lz_out *o, int64_t first, int64_t count, int64_t stride,
                           lz_run_result *runs, lz_err *err) {
  size_t nfields;
  const lz_field *fields = lz_run_fields(&nfields);
  /* One field at a time: count values of at most 8 bytes, whatever R is. */
  unsigned char *buf = malloc((size_t)count * sizeof(double));
  if (!buf) return lz_err_set(err, LZ_ENOMEM, "%s: no memory to read %" PRId64 " runs", o->path,
                              count);
  int rc = LZ_OK;
  for (size_t i = 0; i < nfields && rc == LZ_OK; ++i) {
    if (o->field_ds[i] < 0) continue;
    char obj[OBJ_PATH_MAX];
    join_path(obj, "/runs", fields[i].name);
    rc = read_rows(o->path, obj, o->field_ds[i], o->dxpl, mem_type_of(fields[i].type), first,
                   count, stride, buf, err);
    if (rc == LZ_OK) scatter_field(&fields[i], buf, count, runs);
  }
  free(buf);
  return rc;
}

static int read_run_arrays(lz_out *o, int64_t first, int64_t count, int64_t stride,
                           void *const *arrays, lz_err *err) {
  int rc = LZ_OK;
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK && arrays; ++a) {
    if (o->array_ds[a] < 0 || !arrays[a]) continue;
    char obj[OBJ_PATH_MAX];
    array_path(obj, &lz_array_descs[a]);
    rc = read_rows(o->path, obj, o->array_ds[a], o->dxpl, mem_type_of(lz_array_descs[a].type),
                   first, count, stride, arrays[a], err);
  }
  return rc;
}

int lz_out_read_runs(lz_out *o, int64_t first, int64_t count, int64_t stride,
                     lz_run_result *runs, void *const *arrays, lz_err *err) {
  if (!o || (count > 0 && !runs))
    return lz_err_set(err, LZ_EINVAL, "lz_out_read_runs: NULL argument");
  int rc = check_strided_runs(o, first, count, stride, err);
  if (rc != LZ_OK || count == 0) return rc;
  rc = read_run_fields(o, first, count, stride, runs, err);
  if (rc == LZ_OK) rc = read_run_arrays(o, first, count, stride, arrays, err);
  return rc;
}

static int check_pooled_point(const lz_out *o, int64_t point, lz_err *err) {
  if (!has_pooled(o))
    return lz_err_set(err, LZ_EINVAL, "%s has no /pooled: the job measures no invariant measure",
                      o->path);
  if (point < 0 || point >= o->npooled)
    return lz_err_set(err, LZ_EINVAL, "%s: pooled point %" PRId64 " is not in [0, %" PRId64 ")",
                      o->path, point, o->npooled);
  return LZ_OK;
}

static int write_pooled_fields(lz_out *o, int64_t point, const lz_pooled_result *pr,
                               lz_err *err) {
  size_t nfields;
  const lz_field *fields = lz_pooled_fields(&nfields);
  int rc = LZ_OK;
  for (size_t i = 0; i < nfields && rc == LZ_OK; ++i) {
    if (o->pooled_field_ds[i] < 0) continue;
    char obj[OBJ_PATH_MAX];
    join_path(obj, "/pooled", fields[i].name);
    rc = write_rows(o->path, obj, o->pooled_field_ds[i], o->dxpl, mem_type_of(fields[i].type),
                    point, 1, (const unsigned char *)pr + fields[i].offset, "points", err);
  }
  return rc;
}

static int write_pooled_arrays(lz_out *o, int64_t point, void *const *arrays, lz_err *err) {
  int rc = LZ_OK;
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK && arrays; ++a) {
    if (o->pooled_array_ds[a] < 0 || !arrays[a]) continue;
    char obj[OBJ_PATH_MAX];
    join_path(obj, "/pooled", lz_array_descs[a].name);
    rc = write_rows(o->path, obj, o->pooled_array_ds[a], o->dxpl,
                    mem_type_of(lz_array_descs[a].type), point, 1, arrays[a], "points", err);
  }
  return rc;
}

int lz_out_write_pooled(lz_out *o, int64_t point, const lz_pooled_result *pr,
                        void *const *arrays, lz_err *err) {
  if (!o || !pr) return lz_err_set(err, LZ_EINVAL, "lz_out_write_pooled: NULL argument");
  int rc = check_pooled_point(o, point, err);
  if (rc == LZ_OK) rc = write_pooled_fields(o, point, pr, err);
  if (rc == LZ_OK) rc = write_pooled_arrays(o, point, arrays, err);
  if (rc != LZ_OK && has_pooled(o)) lz_err_prefix(err, "pooled point %" PRId64 ": ", point);
  return rc;
}

int lz_out_mark_pooled(lz_out *o, lz_err *err) {
  if (!o) return lz_err_set(err, LZ_EINVAL, "lz_out_mark_pooled: NULL argument");
  if (!has_pooled(o))
    return lz_err_set(err, LZ_EINVAL, "%s has no /pooled: the job measures no invariant measure",
                      o->path);
  const uint8_t one = 1;
  return write_rows(o->path, "/pooled/done", o->pooled_done_ds, o->dxpl, H5T_NATIVE_UINT8, 0, 1,
                    &one, "flag", err);
}

int lz_out_close(lz_out **o, lz_err *err) {
  if (!o || !*o) return LZ_OK;
  int rc = out_close_and_free(*o, err);
  *o = NULL;
  return rc;
}

/* ---- summary (serial, read-only) ------------------------------------------------------- */

static int count_done_tiles(const char *path, hid_t ds, int64_t ntiles, int64_t *done,
                            uint8_t *buf, lz_err *err) {
  *done = 0;
  int rc = LZ_OK;
  for (int64_t first = 0; first < ntiles && rc == LZ_OK; first += GENERATE_BLOCK) {
    int64_t n = min64(GENERATE_BLOCK, ntiles - first);
    rc = read_rows(path, "/tiles/done", ds, H5P_DEFAULT, H5T_NATIVE_UINT8, first, n, 1, buf,
                   err);
    for (int64_t i = 0; i < n && rc == LZ_OK; ++i) *done += buf[i] != 0;
  }
  return rc;
}

/* How many runs hold each code 0 .. ncodes - 1 of the int8 field `name` (status, engine). */
static int count_codes(const char *path, const char *name, hid_t ds, int64_t nruns,
                       int ncodes, int64_t *counts, int8_t *buf, lz_err *err) {
  memset(counts, 0, (size_t)ncodes * sizeof counts[0]);
  int rc = LZ_OK;
  for (int64_t first = 0; first < nruns && rc == LZ_OK; first += GENERATE_BLOCK) {
    int64_t n = min64(GENERATE_BLOCK, nruns - first);
    rc = read_rows(path, name, ds, H5P_DEFAULT, H5T_NATIVE_INT8, first, n, 1, buf, err);
    for (int64_t i = 0; i < n && rc == LZ_OK; ++i)
      if (buf[i] >= 0 && buf[i] < ncodes) ++counts[buf[i]];
  }
  return rc;
}

static int read_info_strings(hid_t file, const char *path, lz_out_info *info, lz_err *err) {
  struct { const char *name; char **dst; } strings[] = {
      {"job_name", &info->name},         {"job_sha256", &info->job_sha256},
      {"lrzoo_version", &info->lrzoo_version}, {"git_commit", &info->git_commit},
      {"created_utc", &info->created_utc}, {"job_yaml", &info->job_yaml},
  };
  int rc = LZ_OK;
  for (size_t i = 0; i < sizeof strings / sizeof strings[0] && rc == LZ_OK; ++i)
    rc = read_string_attribute(file, path, "/", strings[i].name, strings[i].dst, err);
  return rc;
}

static int read_info_counts(hid_t file, const char *path, lz_out_info *info, lz_err *err) {
  hid_t status = H5I_INVALID_HID, done = H5I_INVALID_HID;
  int rc = open_dataset(path, file, "/runs/status", &status, err);
  if (rc == LZ_OK) rc = open_dataset(path, file, "/tiles/done", &done, err);
  if (rc == LZ_OK) rc = dataset_length(path, "/runs/status", status, &info->nruns, err);
  if (rc == LZ_OK) rc = dataset_length(path, "/tiles/done", done, &info->ntiles, err);
  int64_t most = info->nruns > info->ntiles ? info->nruns : info->ntiles;
  void *buf = rc == LZ_OK ? malloc((size_t)min64(most > 0 ? most : 1, GENERATE_BLOCK)) : NULL;
  if (rc == LZ_OK && !buf) rc = lz_err_set(err, LZ_ENOMEM, "%s: no memory", path);
  if (rc == LZ_OK) rc = count_done_tiles(path, done, info->ntiles, &info->tiles_done, buf, err);
  if (rc == LZ_OK)
    rc = count_codes(path, "/runs/status", status, info->nruns, LZ_STATUS_COUNT,
                     info->status_counts, buf, err);
  /* Files written before /runs/engine existed have none: their counts stay -1. */
  hid_t engine = H5I_INVALID_HID;
  for (int e = 0; e < LZ_ENGINE_COUNT; ++e) info->engine_counts[e] = -1;
  if (rc == LZ_OK && H5Lexists(file, "/runs/engine", H5P_DEFAULT) > 0) {
    rc = open_dataset(path, file, "/runs/engine", &engine, err);
    if (rc == LZ_OK)
      rc = count_codes(path, "/runs/engine", engine, info->nruns, LZ_ENGINE_COUNT,
                       info->engine_counts, buf, err);
  }
  free(buf);
  lz_h5_close(&engine);
  lz_h5_close(&done);
  lz_h5_close(&status);
  return rc;
}

/* -1 for a file without /pooled (no invariant measure), else its done flag. */
static int read_pooled_done(hid_t file, const char *path, lz_out_info *info, lz_err *err) {
  info->pooled_done = -1;
  if (H5Lexists(file, "/pooled", H5P_DEFAULT) <= 0) return LZ_OK;
  hid_t ds = H5I_INVALID_HID;
  uint8_t done = 0;
  int rc = open_dataset(path, file, "/pooled/done", &ds, err);
  if (rc == LZ_OK)
    rc = read_rows(path, "/pooled/done", ds, H5P_DEFAULT, H5T_NATIVE_UINT8, 0, 1, 1, &done, err);
  if (rc == LZ_OK) info->pooled_done = done != 0;
  lz_h5_close(&ds);
  return rc;
}

int lz_out_read_info(const char *path, lz_out_info *info, lz_err *err) {
  if (!path || !info) return lz_err_set(err, LZ_EINVAL, "lz_out_read_info: NULL argument");
  memset(info, 0, sizeof *info);
  lz_h5_silence_automatic_errors();
  hid_t file = H5I_INVALID_HID;
  int rc = lz_h5_open_read_only(path, &file, err);
  if (rc == LZ_OK) rc = read_info_strings(file, path, info, err);
  if (rc == LZ_OK) rc = read_info_counts(file, path, info, err);
  if (rc == LZ_OK) rc = read_pooled_done(file, path, info, err);
  lz_h5_close(&file);
  if (rc != LZ_OK) lz_out_info_free(info);
  return rc;
}

void lz_out_info_free(lz_out_info *info) {
  if (!info) return;
  free(info->name);
  free(info->job_sha256);
  free(info->lrzoo_version);
  free(info->git_commit);
  free(info->created_utc);
  free(info->job_yaml);
  memset(info, 0, sizeof *info);
}

void lz_io_hdf5_version(char *buf, size_t len) {
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  snprintf(buf, len, "%u.%u.%u", maj, min, rel);
}

static double field_bytes(const lz_field *f) { return f->type == LZ_DT_INT8 ? 1.0 : 8.0; }

/* /pooled and the bin edges: 0 without an invariant measure. */
static double measure_size_estimate(const lz_job *job) {
  if (!lz_job_samples_invariant_measure(job)) return 0.0;
  const double P = (double)lz_job_npooled(job);
  double bytes = 8.0 * (double)(job->analyze.invariant_measure.bins + 1) + 1.0;  /* + done */
  if (job->analyze.invariant_measure.observable.kind != LZ_OBS_NONE)
    bytes += 8.0 * (double)(job->analyze.invariant_measure.observable.bins + 1);
  double per_point = 4.0 * 8.0;  /* point, first_run, run_count, run_stride */
  for (size_t a = 0; a < job->naxes; ++a) per_point += is_pooled_axis(&job->axes[a]) ? 8.0 : 0.0;
  size_t nfields = 0;
  const lz_field *fields = lz_pooled_fields(&nfields);
  for (size_t f = 0; f < nfields; ++f)
    if (lz_field_applies(&fields[f], job)) per_point += field_bytes(&fields[f]);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a)
    if (lz_array_descs[a].pooled)
      per_point += 8.0 * (double)lz_array_shape_size(lz_job_array_shape(job, (lz_array_id)a));
  return bytes + per_point * P;
}

/* Upper bounds where the storage depends on the axis type: 8 bytes per coordinate. Every array
 * entry is 8 bytes (a double or a uint64 count). */
double lz_out_size_estimate(const lz_job *job) {
  size_t nfields = 0;
  const lz_field *fields = lz_run_fields(&nfields);
  double per_run = 8.0 * (double)job->naxes + 8.0;  /* coordinates and the run index */
  for (size_t f = 0; f < nfields; ++f)
    if (lz_field_applies(&fields[f], job)) per_run += field_bytes(&fields[f]);
  double steps = 0.0;
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    lz_array_shape s = lz_job_array_shape(job, (lz_array_id)a);
    per_run += 8.0 * (double)lz_array_shape_size(s);
    if (array_is_trace(s)) steps += 8.0 * (double)s.len[0];
  }
  double axes = 0.0;
  for (size_t a = 0; a < job->naxes; ++a)
    axes += 8.0 * (double)(job->axes[a].len * job->axes[a].width);
  return per_run * (double)job->nruns + 25.0 * (double)job->ntiles + axes + steps +
         measure_size_estimate(job) + (double)job->text_len;
}

int lz_io_check_output_path(const char *path, double bytes, lz_err *err) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == dir) slash[1] = '\0';
  else if (slash) *slash = '\0';
  else snprintf(dir, sizeof dir, ".");
  struct statvfs fs;
  /* The directory may not exist yet (it is created with the file): check the nearest parent. */
  while (statvfs(dir, &fs) != 0) {
    char *up = strrchr(dir, '/');
    if (!up || up == dir) {
      snprintf(dir, sizeof dir, "%s", up == dir ? "/" : ".");
      if (statvfs(dir, &fs) != 0) return LZ_OK;  /* nothing to measure: let creation report */
      break;
    }
    *up = '\0';
  }
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return lz_err_set(err, LZ_EJOB, "%s is a directory; -o and output name the file to write",
                      path);
  if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
    return lz_err_set(err, LZ_EIO, "%s: %s is not a directory; choose another -o", path, dir);
  if (fs.f_flag & ST_RDONLY)
    return lz_err_set(err, LZ_EIO, "%s: %s is on a read-only file system; choose another -o",
                      path, dir);
  if (access(dir, W_OK | X_OK) != 0)
    return lz_err_set(err, LZ_EIO, "%s: cannot create files in %s: %s; choose another -o", path,
                      dir, strerror(errno));
  /* Tests reach the write-failure path through this (see tests/integration/faults.sh). */
  const char *skip = getenv("LZ_TEST_SKIP_SPACE_CHECK");
  if (skip && *skip == '1') return LZ_OK;
  double avail = (double)fs.f_bavail * (double)fs.f_frsize;
  /* 5% and 16 MiB of slack for HDF5's metadata. */
  double need = bytes * 1.05 + 16.0 * 1024 * 1024;
  struct rlimit fsize;
  if (getrlimit(RLIMIT_FSIZE, &fsize) == 0 && fsize.rlim_cur != RLIM_INFINITY &&
      (double)fsize.rlim_cur < need)
    return lz_err_set(err, LZ_EIO, "%s: the output needs %.3g GB but this process may write "
                      "files of at most %.3g GB (ulimit -f, or the batch system's file size "
                      "limit); raise the limit or shrink the job (fewer runs, or a larger "
                      "run.record_every for shorter traces)", path, need / 1e9,
                      (double)fsize.rlim_cur / 1e9);
  if (avail >= need) return LZ_OK;
  return lz_err_set(err, LZ_EIO, "%s: the output needs %.3g GB and the file system holding it "
                    "has %.3g GB free; free space, choose another -o, or shrink the job (fewer "
                    "runs, or a larger run.record_every for shorter traces)", path, need / 1e9,
                    avail / 1e9);
}
