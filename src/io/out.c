/* The lz_out object: what a created or resumed file keeps open for the tile writes, and its
 * collective close. */
#include "output_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_free(lz_out *o) {
  free(o->path);
  free(o->building_path);
  free(o->field_ds);
  free(o->pooled_field_ds);
  free(o->gather);
  free(o);
}

lz_out *io_out_new(const char *path, const lz_job *job, int rank) {
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

/* Set once a close has failed; see lz_io_holds_a_broken_file. */
static int hdf5_holds_a_broken_file = 0;

int lz_io_holds_a_broken_file(void) { return hdf5_holds_a_broken_file; }

int io_out_close_and_free(lz_out *o, lz_err *err) {
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
  if (o->remove_on_close && o->rank == 0) remove(o->building_path ? o->building_path : o->path);
  out_free(o);
  return rc;
}

int io_new_independent_dxpl(lz_out *o, lz_err *err) {
  o->dxpl = H5Pcreate(H5P_DATASET_XFER);
  if (o->dxpl < 0 || H5Pset_dxpl_mpio(o->dxpl, H5FD_MPIO_INDEPENDENT) < 0)
    return lz_h5_fail(err, "%s: independent transfer property list failed", o->path);
  return LZ_OK;
}

/* Version 1.8 object headers lift the 64 KiB limit on an attribute (job_yaml can be long); the
 * high bound keeps the file readable by any HDF5 since 1.8 (older h5py, netCDF, MATLAB). */
hid_t io_new_mpio_fapl(const lz_comm *c) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0) return fapl;
  if (H5Pset_fapl_mpio(fapl, c->comm, c->info) < 0 ||
      H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0) {
    H5Pclose(fapl);
    return H5I_INVALID_HID;
  }
  return fapl;
}

int lz_out_close(lz_out **o, lz_err *err) {
  if (!o || !*o) return LZ_OK;
  int rc = io_out_close_and_free(*o, err);
  *o = NULL;
  return rc;
}

void lz_io_hdf5_version(char *buf, size_t len) {
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  snprintf(buf, len, "%u.%u.%u", maj, min, rel);
}
