/* What ranks do to an open file once it exists: write a tile's results (independently, the
 * done byte last), read runs back for pooling, and write the pooled sweep points. Only raw data
 * changes here: every object was created, at its full size, with the file. */
#include "output_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- tile writes ---------------------------------------------------------------------- */

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
    io_array_path(obj, &lz_array_descs[a]);
    const lz_array_shape got = tr->shape[a], want = o->shape[a];
    if (!io_same_array_shape(got, want))
      return lz_err_set(err, LZ_EINVAL, "%s: tile %" PRId64 " has %" PRId64 " x %" PRId64
                        " entries of %s per run (recorded every %" PRId64 " steps), the file %"
                        PRId64 " x %" PRId64 " (every %" PRId64 ")", o->path, tr->tile,
                        got.len[0], got.len[1], obj, got.record_every, want.len[0], want.len[1],
                        want.record_every);
    if (io_array_is_present(want) && !tr->array[a])
      return lz_err_set(err, LZ_EINVAL, "%s: tile %" PRId64 " has no values for %s", o->path,
                        tr->tile, obj);
  }
  return LZ_OK;
}

/* The tile's runs hold one field at f->offset of each lz_run_result; the file wants them
 * contiguous. */
static void gather_field(const lz_field *f, const lz_tile_result *tr, unsigned char *buf) {
  size_t size = io_size_of(f->type);
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
    io_join_path(obj, io_groups[GROUP_RUNS].path, fields[i].name);
    gather_field(&fields[i], tr, o->gather);
    rc = io_write_rows(o->path, obj, o->field_ds[i], o->dxpl, io_mem_type_of(fields[i].type),
                       tr->r0, tr->count, o->gather, "runs", err);
  }
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a) {
    if (o->array_ds[a] < 0) continue;
    char obj[OBJ_PATH_MAX];
    io_array_path(obj, &lz_array_descs[a]);
    rc = io_write_rows(o->path, obj, o->array_ds[a], o->dxpl,
                       io_mem_type_of(lz_array_descs[a].type), tr->r0, tr->count, tr->array[a],
                       "runs", err);
  }
  return rc;
}

static int mark_tile_done(lz_out *o, int64_t tile, lz_err *err) {
  const uint8_t one = 1;
  return io_write_rows(o->path, io_fixed[FIXED_TILE_DONE].path, o->done_ds, o->dxpl,
                       H5T_NATIVE_UINT8, tile, 1, &one, "tiles", err);
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

/* ---- reading runs back, and the pooled sweep points ------------------------------------ */

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
  size_t size = io_size_of(f->type);
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
    io_join_path(obj, io_groups[GROUP_RUNS].path, fields[i].name);
    rc = io_read_rows(o->path, obj, o->field_ds[i], o->dxpl, io_mem_type_of(fields[i].type), first,
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
    io_array_path(obj, &lz_array_descs[a]);
    rc = io_read_rows(o->path, obj, o->array_ds[a], o->dxpl, io_mem_type_of(lz_array_descs[a].type),
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
  if (!io_has_pooled(o))
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
    io_join_path(obj, io_groups[GROUP_POOLED].path, fields[i].name);
    rc = io_write_rows(o->path, obj, o->pooled_field_ds[i], o->dxpl, io_mem_type_of(fields[i].type),
                       point, 1, (const unsigned char *)pr + fields[i].offset, "points", err);
  }
  return rc;
}

static int write_pooled_arrays(lz_out *o, int64_t point, void *const *arrays, lz_err *err) {
  int rc = LZ_OK;
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK && arrays; ++a) {
    if (o->pooled_array_ds[a] < 0 || !arrays[a]) continue;
    char obj[OBJ_PATH_MAX];
    io_pooled_array_path(obj, &lz_array_descs[a]);
    rc = io_write_rows(o->path, obj, o->pooled_array_ds[a], o->dxpl,
                       io_mem_type_of(lz_array_descs[a].type), point, 1, arrays[a], "points", err);
  }
  return rc;
}

int lz_out_write_pooled(lz_out *o, int64_t point, const lz_pooled_result *pr,
                        void *const *arrays, lz_err *err) {
  if (!o || !pr) return lz_err_set(err, LZ_EINVAL, "lz_out_write_pooled: NULL argument");
  int rc = check_pooled_point(o, point, err);
  if (rc == LZ_OK) rc = write_pooled_fields(o, point, pr, err);
  if (rc == LZ_OK) rc = write_pooled_arrays(o, point, arrays, err);
  if (rc != LZ_OK && io_has_pooled(o)) lz_err_prefix(err, "pooled point %" PRId64 ": ", point);
  return rc;
}

int lz_out_mark_pooled(lz_out *o, lz_err *err) {
  if (!o) return lz_err_set(err, LZ_EINVAL, "lz_out_mark_pooled: NULL argument");
  if (!io_has_pooled(o))
    return lz_err_set(err, LZ_EINVAL, "%s has no /pooled: the job measures no invariant measure",
                      o->path);
  const uint8_t one = 1;
  return io_write_rows(o->path, io_fixed[FIXED_POOLED_DONE].path, o->pooled_done_ds, o->dxpl,
                       H5T_NATIVE_UINT8, 0, 1, &one, "flag", err);
}
