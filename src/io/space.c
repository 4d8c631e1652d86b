/* Before creating a file: how large it will be, and whether its path and file system can take
 * it. Serial, rank 0. */
#include "output_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lrzoo/env_switches.h"

static double field_bytes(const lz_field *f) { return f->type == LZ_DT_INT8 ? 1.0 : 8.0; }

/* Every dataset of the fixed table the job has. */
static double fixed_size_estimate(const lz_job *job) {
  double bytes = 0.0;
  for (int id = 0; id < FIXED_COUNT; ++id)
    if (io_job_has(io_fixed[id].presence, job))
      bytes += (double)io_storage_bytes(io_fixed[id].storage) *
               (double)io_fixed_length(&io_fixed[id], job);
  return bytes;
}

/* The pooled coordinates, fields and arrays: 0 without an invariant measure. */
static double pooled_results_size_estimate(const lz_job *job) {
  if (!lz_job_samples_invariant_measure(job)) return 0.0;
  double per_point = 0.0;
  for (size_t a = 0; a < job->naxes; ++a) per_point += io_is_pooled_axis(&job->axes[a]) ? 8.0 : 0.0;
  size_t nfields = 0;
  const lz_field *fields = lz_pooled_fields(&nfields);
  for (size_t f = 0; f < nfields; ++f)
    if (lz_field_applies(&fields[f], job)) per_point += field_bytes(&fields[f]);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a)
    if (lz_array_descs[a].pooled)
      per_point += 8.0 * (double)lz_array_shape_size(lz_job_array_shape(job, (lz_array_id)a));
  return per_point * (double)lz_job_npooled(job);
}

/* Upper bounds where the storage depends on the axis type: 8 bytes per coordinate. Every array
 * entry is 8 bytes (a double or a uint64 count). */
double lz_out_size_estimate(const lz_job *job) {
  size_t nfields = 0;
  const lz_field *fields = lz_run_fields(&nfields);
  double per_run = 8.0 * (double)job->naxes;  /* coordinates */
  for (size_t f = 0; f < nfields; ++f)
    if (lz_field_applies(&fields[f], job)) per_run += field_bytes(&fields[f]);
  double steps = 0.0;
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    lz_array_shape s = lz_job_array_shape(job, (lz_array_id)a);
    per_run += 8.0 * (double)lz_array_shape_size(s);
    if (io_array_is_trace(s)) steps += 8.0 * (double)s.len[0];
  }
  double axes = 0.0;
  for (size_t a = 0; a < job->naxes; ++a)
    axes += 8.0 * (double)(job->axes[a].len * job->axes[a].width);
  return per_run * (double)job->nruns + fixed_size_estimate(job) + axes + steps +
         pooled_results_size_estimate(job) + (double)job->text_len;
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
  const char *skip = getenv(lz_env_switches[LZ_ENV_SKIP_SPACE_CHECK].name);
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
