/* Resuming a file: a serial, read-only look first makes sure it was made from this job, with
 * this job's layout, and reads which tiles are done; only then is it reopened for writing. */
#include "output_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bytes a resumed file may have beyond its estimated size. */
#define RESUME_FILE_SLACK (64.0 * 1024 * 1024)

static int open_fixed(lz_out *o, io_fixed_id id, hid_t *out, lz_err *err) {
  return io_open_dataset(o->path, o->file, io_fixed[id].path, out, err);
}

/* Opens the dataset of every field of the table that applies to the job, under group. */
static int open_field_datasets(lz_out *o, const lz_job *job, const char *group,
                               const lz_field *fields, size_t nfields, hid_t *ds, lz_err *err) {
  int rc = LZ_OK;
  for (size_t i = 0; i < nfields && rc == LZ_OK; ++i) {
    if (!lz_field_applies(&fields[i], job)) continue;
    char obj[OBJ_PATH_MAX];
    io_join_path(obj, group, fields[i].name);
    rc = io_open_dataset(o->path, o->file, obj, &ds[i], err);
  }
  return rc;
}

static int open_run_datasets(lz_out *o, const lz_job *job, lz_err *err) {
  size_t nfields;
  const lz_field *fields = lz_run_fields(&nfields);
  int rc = open_field_datasets(o, job, io_groups[GROUP_RUNS].path, fields, nfields, o->field_ds,
                               err);
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a) {
    if (!io_array_is_present(o->shape[a])) continue;
    char obj[OBJ_PATH_MAX];
    io_array_path(obj, &lz_array_descs[a]);
    rc = io_open_dataset(o->path, o->file, obj, &o->array_ds[a], err);
  }
  if (rc == LZ_OK) rc = open_fixed(o, FIXED_TILE_DONE, &o->done_ds, err);
  return rc;
}

static int open_pooled_datasets(lz_out *o, const lz_job *job, lz_err *err) {
  size_t nfields;
  const lz_field *fields = lz_pooled_fields(&nfields);
  int rc = open_field_datasets(o, job, io_groups[GROUP_POOLED].path, fields, nfields,
                               o->pooled_field_ds, err);
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a) {
    if (!lz_array_descs[a].pooled || !io_array_is_present(o->shape[a])) continue;
    char obj[OBJ_PATH_MAX];
    io_pooled_array_path(obj, &lz_array_descs[a]);
    rc = io_open_dataset(o->path, o->file, obj, &o->pooled_array_ds[a], err);
  }
  if (rc == LZ_OK) rc = open_fixed(o, FIXED_POOLED_DONE, &o->pooled_done_ds, err);
  return rc;
}

static int check_same_job(hid_t file, const char *path, const lz_job *job, lz_err *err) {
  char *sha = NULL;
  int rc = io_read_string_attribute(file, path, "/", io_root_attr_names[ROOT_JOB_SHA256], &sha,
                                    err);
  if (rc == LZ_OK && strcmp(sha, job->sha256) != 0)
    rc = lz_err_set(err, LZ_EJOB, "%s was made from a different job file (job_sha256 %s, this "
                    "job %s); run it without --resume, or with the job file that made it",
                    path, sha, job->sha256);
  free(sha);
  int64_t version = 0;
  if (rc == LZ_OK)
    rc = io_read_int64_attribute(file, path, "/", io_root_attr_names[ROOT_FORMAT_VERSION], &version,
                                 err);
  if (rc == LZ_OK && version != LZ_FORMAT_VERSION)
    rc = lz_err_set(err, LZ_EJOB, "%s has format_version %" PRId64 "; this lrzoo writes and "
                    "resumes format_version %d", path, version, LZ_FORMAT_VERSION);
  return rc;
}

static int check_same_size(const char *path, const lz_out *o, hid_t status, hid_t done,
                           lz_err *err) {
  int64_t runs = 0, tiles = 0;
  char status_path[OBJ_PATH_MAX];
  io_join_path(status_path, io_groups[GROUP_RUNS].path, STATUS_FIELD);
  int rc = io_dataset_length(path, status_path, status, &runs, err);
  if (rc == LZ_OK) rc = io_dataset_length(path, io_fixed[FIXED_TILE_DONE].path, done, &tiles, err);
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
  int rc = io_open_dataset(path, file, obj, &ds, err);
  if (rc == LZ_OK) rc = io_dataset_shape(path, obj, ds, &rank, dims, err);
  int same = rc == LZ_OK && rank == want_rank &&
             memcmp(dims, want_dims, (size_t)rank * sizeof dims[0]) == 0;
  if (rc == LZ_OK && !same) {
    char got_text[96], want_text[96];
    io_shape_text(got_text, sizeof got_text, rank, dims);
    io_shape_text(want_text, sizeof want_text, want_rank, want_dims);
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
  io_array_dims(o->nruns, want, want_dims);
  hid_t ds = H5I_INVALID_HID;
  int rc = check_dataset_dims(path, file, obj, io_array_rank(want), want_dims, &ds, err);
  int64_t every = 0;
  if (rc == LZ_OK && io_array_is_trace(want))
    rc = io_read_int64_attribute(ds, path, obj, "record_every", &every, err);
  if (rc == LZ_OK && io_array_is_trace(want) && every != want.record_every)
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
    io_array_path(obj, &lz_array_descs[a]);
    if (io_array_is_present(o->shape[a])) rc = check_present_array(path, file, o, a, obj, err);
    else rc = check_presence(path, file, obj, 0, err);
  }
  return rc;
}

/* Every fixed group and dataset: this job's length where the job has it, absent where not. */
static int check_fixed_objects(const char *path, hid_t file, const lz_job *job, lz_err *err) {
  int rc = LZ_OK;
  for (int g = 0; g < GROUP_COUNT && rc == LZ_OK; ++g)
    if (!io_job_has(io_groups[g].presence, job))
      rc = check_presence(path, file, io_groups[g].path, 0, err);
  for (int id = 0; id < FIXED_COUNT && rc == LZ_OK; ++id) {
    const io_fixed_desc *d = &io_fixed[id];
    if (io_job_has(d->presence, job))
      rc = check_length(path, file, d->path, io_fixed_length(d, job), err);
    else rc = check_presence(path, file, d->path, 0, err);
  }
  return rc;
}

/* The pooled fields and arrays this job has, at P points. */
static int check_pooled_results(const char *path, hid_t file, const lz_out *o,
                                const lz_job *job, lz_err *err) {
  int rc = LZ_OK;
  size_t nfields;
  const lz_field *fields = lz_pooled_fields(&nfields);
  for (size_t i = 0; i < nfields && rc == LZ_OK && io_has_pooled(o); ++i) {
    char obj[OBJ_PATH_MAX];
    io_join_path(obj, io_groups[GROUP_POOLED].path, fields[i].name);
    if (lz_field_applies(&fields[i], job)) rc = check_length(path, file, obj, o->npooled, err);
  }
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK && io_has_pooled(o); ++a) {
    if (!lz_array_descs[a].pooled) continue;
    char obj[OBJ_PATH_MAX];
    io_pooled_array_path(obj, &lz_array_descs[a]);
    hsize_t want_dims[ARRAY_RANK_MAX];
    io_array_dims(o->npooled, o->shape[a], want_dims);
    if (io_array_is_present(o->shape[a]))
      rc = check_dataset_dims(path, file, obj, io_array_rank(o->shape[a]), want_dims, NULL, err);
    else
      rc = check_presence(path, file, obj, 0, err);
  }
  return rc;
}

/* The data points a resumed run fits are those the file's first runs fitted: a data file
 * edited between the runs would mix two problems in one file. */
static int check_same_data(const char *path, hid_t file, const lz_job *job, lz_err *err) {
  if (!io_job_has(io_fixed[FIXED_DATA_X].presence, job)) return LZ_OK;
  int64_t m;
  double *want = io_fitted_data_of(path, job, &m, err);
  double *got = want ? malloc((size_t)m * sizeof *got) : NULL;
  int rc = got ? LZ_OK : lz_err_set(err, LZ_ENOMEM, "%s: no memory to compare /data", path);
  for (int k = 0; k < IO_FITTED_DATA_COUNT && rc == LZ_OK; ++k) {
    const char *obj = io_fixed[io_fitted_data_ids[k]].path;
    hid_t ds = H5I_INVALID_HID;
    rc = io_open_dataset(path, file, obj, &ds, err);
    if (rc == LZ_OK)
      rc = io_read_rows(path, obj, ds, H5P_DEFAULT, H5T_NATIVE_DOUBLE, 0, m, 1, got, err);
    lz_h5_close(&ds);
    if (rc == LZ_OK && memcmp(got, want + k * m, (size_t)m * sizeof *got) != 0)
      rc = lz_err_set(err, LZ_EJOB, "%s: %s differs from the data this job reads now (was the "
                      "data file changed?); run it without --resume", path, obj);
  }
  free(want);
  free(got);
  return rc;
}

/* The largest file --resume opens for this job: the size it was created with, and slack for
 * what HDF5 adds as the file is written. */
static int64_t resumable_file_bound(const lz_job *job) {
  double bytes = 1.25 * lz_out_size_estimate(job) + RESUME_FILE_SLACK;
  return bytes < 9e18 ? (int64_t)bytes : INT64_MAX;
}

/* Serial and read-only: a file that belongs to another job is never opened for writing. */
static int read_resume_state(const char *path, const lz_out *o, const lz_job *job,
                             uint8_t *done, lz_err *err) {
  hid_t file = H5I_INVALID_HID, status = H5I_INVALID_HID, done_ds = H5I_INVALID_HID;
  int rc = lz_h5_open_read_only(path, "output file", resumable_file_bound(job), &file, err);
  if (rc == LZ_EHDF5 && err) {
    char why[LZ_ERR_MSG_MAX];
    snprintf(why, sizeof why, "%s", err->msg);
    rc = lz_err_set(err, LZ_EJOB, "cannot resume %.200s, it is not a complete lrzoo output file "
                    "(killed while it was being created?); --overwrite starts it again. HDF5: "
                    "%.700s", path, why);
  }
  const char *done_path = io_fixed[FIXED_TILE_DONE].path;
  char status_path[OBJ_PATH_MAX];
  io_join_path(status_path, io_groups[GROUP_RUNS].path, STATUS_FIELD);
  if (rc == LZ_OK) rc = check_same_job(file, path, job, err);
  if (rc == LZ_OK) rc = io_open_dataset(path, file, status_path, &status, err);
  if (rc == LZ_OK) rc = io_open_dataset(path, file, done_path, &done_ds, err);
  if (rc == LZ_OK) rc = check_same_size(path, o, status, done_ds, err);
  if (rc == LZ_OK) rc = check_array_shapes(path, file, o, err);
  if (rc == LZ_OK) rc = check_fixed_objects(path, file, job, err);
  if (rc == LZ_OK) rc = check_same_data(path, file, job, err);
  if (rc == LZ_OK) rc = check_pooled_results(path, file, o, job, err);
  if (rc == LZ_OK)
    rc = io_read_rows(path, done_path, done_ds, H5P_DEFAULT, H5T_NATIVE_UINT8, 0, o->ntiles, 1,
                      done, err);
  lz_h5_close(&done_ds);
  lz_h5_close(&status);
  lz_h5_close(&file);
  return rc;
}

static int open_for_writing(lz_out *o, const lz_comm *c, const lz_job *job, lz_err *err) {
  hid_t fapl = io_new_mpio_fapl(c);
  int rc = LZ_OK;
  if (fapl < 0) rc = lz_h5_fail(err, "%s: MPI-IO file access properties failed", o->path);
  if (rc == LZ_OK && (o->file = H5Fopen(o->path, H5F_ACC_RDWR, fapl)) < 0)
    rc = lz_h5_fail(err, "%s: H5Fopen (read-write, MPI-IO) failed", o->path);
  lz_h5_close(&fapl);
  if (rc == LZ_OK) rc = io_new_independent_dxpl(o, err);
  if (rc == LZ_OK) rc = open_run_datasets(o, job, err);
  if (rc == LZ_OK && io_has_pooled(o)) rc = open_pooled_datasets(o, job, err);
  return rc;
}

int lz_out_open_resume(const lz_comm *c, const char *path, const lz_job *job, lz_out **out,
                       uint8_t *done, lz_err *err) {
  if (!out) return lz_err_set(err, LZ_EINVAL, "lz_out_open_resume: out is NULL");
  *out = NULL;
  if (!c || !path || !job || !done)
    return lz_err_set(err, LZ_EINVAL, "lz_out_open_resume: NULL argument");
  lz_h5_silence_automatic_errors();
  int rc = io_check_job_for_output(job, err);
  if (rc == LZ_OK && access(path, F_OK) != 0)
    rc = lz_err_set(err, LZ_EJOB, "%s: cannot resume: %s", path, strerror(errno));
  if (rc != LZ_OK) return rc;
  lz_out *o = io_out_new(path, job, c->rank);
  if (!o) return lz_err_set(err, LZ_ENOMEM, "%s: no memory", path);
  /* done[] is read before the collective open, which cannot complete on any rank until every
   * rank has entered it (HDF5 duplicates the communicator and MPI-IO opens the file). So no
   * rank can return and write a tile while another is still reading the flags. */
  rc = read_resume_state(path, o, job, done, err);
  if (rc == LZ_OK) rc = open_for_writing(o, c, job, err);
  if (rc != LZ_OK) {
    io_out_close_and_free(o, NULL);
    return rc;
  }
  *out = o;
  return LZ_OK;
}
