/* `lrzoo info`: the summary of an output file, serial and read-only. */
#include "output_internal.h"

#include <stdlib.h>
#include <string.h>

static int count_done_tiles(const char *path, hid_t ds, int64_t ntiles, int64_t *done,
                            uint8_t *buf, lz_err *err) {
  *done = 0;
  int rc = LZ_OK;
  for (int64_t first = 0; first < ntiles && rc == LZ_OK; first += GENERATE_BLOCK) {
    int64_t n = io_min64(GENERATE_BLOCK, ntiles - first);
    rc = io_read_rows(path, io_fixed[FIXED_TILE_DONE].path, ds, H5P_DEFAULT, H5T_NATIVE_UINT8,
                      first, n, 1, buf, err);
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
    int64_t n = io_min64(GENERATE_BLOCK, nruns - first);
    rc = io_read_rows(path, name, ds, H5P_DEFAULT, H5T_NATIVE_INT8, first, n, 1, buf, err);
    for (int64_t i = 0; i < n && rc == LZ_OK; ++i)
      if (buf[i] >= 0 && buf[i] < ncodes) ++counts[buf[i]];
  }
  return rc;
}

static int read_info_strings(hid_t file, const char *path, lz_out_info *info, lz_err *err) {
  struct { io_root_attr attr; char **dst; } strings[] = {
      {ROOT_JOB_NAME, &info->name},           {ROOT_JOB_SHA256, &info->job_sha256},
      {ROOT_LRZOO_VERSION, &info->lrzoo_version}, {ROOT_GIT_COMMIT, &info->git_commit},
      {ROOT_CREATED_UTC, &info->created_utc}, {ROOT_JOB_YAML, &info->job_yaml},
  };
  int rc = LZ_OK;
  for (size_t i = 0; i < sizeof strings / sizeof strings[0] && rc == LZ_OK; ++i)
    rc = io_read_string_attribute(file, path, "/", io_root_attr_names[strings[i].attr],
                                  strings[i].dst, err);
  return rc;
}

/* Files written before the switches were recorded have no attribute: environment stays NULL. */
static int read_info_environment(hid_t file, const char *path, lz_out_info *info, lz_err *err) {
  const char *name = io_root_attr_names[ROOT_ENVIRONMENT];
  if (H5Aexists(file, name) <= 0) return LZ_OK;
  return io_read_string_attribute(file, path, "/", name, &info->environment, err);
}

/* Files written before /runs/engine existed have none: their counts stay -1. */
static int count_engines(hid_t file, const char *path, lz_out_info *info, int8_t *buf,
                         lz_err *err) {
  char engine_path[OBJ_PATH_MAX];
  io_join_path(engine_path, io_groups[GROUP_RUNS].path, ENGINE_FIELD);
  for (int e = 0; e < LZ_ENGINE_COUNT; ++e) info->engine_counts[e] = -1;
  if (H5Lexists(file, engine_path, H5P_DEFAULT) <= 0) return LZ_OK;
  hid_t engine = H5I_INVALID_HID;
  int rc = io_open_dataset(path, file, engine_path, &engine, err);
  if (rc == LZ_OK)
    rc = count_codes(path, engine_path, engine, info->nruns, LZ_ENGINE_COUNT,
                     info->engine_counts, buf, err);
  lz_h5_close(&engine);
  return rc;
}

static int read_info_counts(hid_t file, const char *path, lz_out_info *info, lz_err *err) {
  hid_t status = H5I_INVALID_HID, done = H5I_INVALID_HID;
  const char *done_path = io_fixed[FIXED_TILE_DONE].path;
  char status_path[OBJ_PATH_MAX];
  io_join_path(status_path, io_groups[GROUP_RUNS].path, STATUS_FIELD);
  int rc = io_open_dataset(path, file, status_path, &status, err);
  if (rc == LZ_OK) rc = io_open_dataset(path, file, done_path, &done, err);
  if (rc == LZ_OK) rc = io_dataset_length(path, status_path, status, &info->nruns, err);
  if (rc == LZ_OK) rc = io_dataset_length(path, done_path, done, &info->ntiles, err);
  int64_t most = info->nruns > info->ntiles ? info->nruns : info->ntiles;
  void *buf = rc == LZ_OK ? malloc((size_t)io_min64(most > 0 ? most : 1, GENERATE_BLOCK)) : NULL;
  if (rc == LZ_OK && !buf) rc = lz_err_set(err, LZ_ENOMEM, "%s: no memory", path);
  if (rc == LZ_OK) rc = count_done_tiles(path, done, info->ntiles, &info->tiles_done, buf, err);
  if (rc == LZ_OK)
    rc = count_codes(path, status_path, status, info->nruns, LZ_STATUS_COUNT,
                     info->status_counts, buf, err);
  if (rc == LZ_OK) rc = count_engines(file, path, info, buf, err);
  free(buf);
  lz_h5_close(&done);
  lz_h5_close(&status);
  return rc;
}

/* -1 for a file without /pooled (no invariant measure), else its done flag. */
static int read_pooled_done(hid_t file, const char *path, lz_out_info *info, lz_err *err) {
  const char *done_path = io_fixed[FIXED_POOLED_DONE].path;
  info->pooled_done = -1;
  if (H5Lexists(file, io_groups[GROUP_POOLED].path, H5P_DEFAULT) <= 0) return LZ_OK;
  hid_t ds = H5I_INVALID_HID;
  uint8_t done = 0;
  int rc = io_open_dataset(path, file, done_path, &ds, err);
  if (rc == LZ_OK)
    rc = io_read_rows(path, done_path, ds, H5P_DEFAULT, H5T_NATIVE_UINT8, 0, 1, 1, &done, err);
  if (rc == LZ_OK) info->pooled_done = done != 0;
  lz_h5_close(&ds);
  return rc;
}

int lz_out_read_info(const char *path, lz_out_info *info, lz_err *err) {
  if (!path || !info) return lz_err_set(err, LZ_EINVAL, "lz_out_read_info: NULL argument");
  memset(info, 0, sizeof *info);
  lz_h5_silence_automatic_errors();
  hid_t file = H5I_INVALID_HID;
  /* Any size: info reads a few attributes and counts, not the datasets. */
  int rc = lz_h5_open_read_only(path, "output file", -1, &file, err);
  if (rc == LZ_OK) rc = read_info_strings(file, path, info, err);
  if (rc == LZ_OK) rc = read_info_environment(file, path, info, err);
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
  free(info->environment);
  memset(info, 0, sizeof *info);
}
