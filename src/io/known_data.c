/* The data known before any run: the scales' indices, the tiles' runs, the axes and every run's
 * coordinates, the runs of each sweep point, bin edges and the fitted data. Rank 0 writes it, in
 * blocks of GENERATE_BLOCK entries, so creating a file needs a fixed amount of memory. */
#include "output_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "lrzoo/problem.h"

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
    int64_t n = io_min64(GENERATE_BLOCK, total - first);
    g->fill(g, first, n, g->block);
    rc = io_write_rows(o->path, obj, ds, o->dxpl, mem_type, first, n, g->block, "entries", err);
  }
  return rc;
}

static int write_axis_values(lz_out *o, hid_t ds, const lz_axis *ax, lz_err *err) {
  char obj[OBJ_PATH_MAX];
  io_join_path(obj, io_groups[GROUP_AXES].path, ax->name);
  hid_t file_type, mem_type;
  const void *fill;
  io_axis_storage(ax, &file_type, &mem_type, &fill);
  size_t n = ax->len * ax->width;
  void *buf = malloc(n * sizeof(double));
  if (!buf) return lz_err_set(err, LZ_ENOMEM, "%s: %s: no memory", o->path, obj);
  for (size_t i = 0; i < n; ++i) store_axis_value(ax, ax->values[i], buf, i);
  int rc = io_write_rows(o->path, obj, ds, o->dxpl, mem_type, 0, (int64_t)ax->len, buf, "points",
                         err);
  free(buf);
  return rc;
}

static int write_axes_and_coordinates(lz_out *o, io_layout *l, generator *g, lz_err *err) {
  const lz_job *job = g->job;
  int rc = LZ_OK;
  for (size_t a = 0; a < job->naxes && rc == LZ_OK; ++a) {
    const lz_axis *ax = &job->axes[a];
    char obj[OBJ_PATH_MAX], point_obj[OBJ_PATH_MAX];
    io_join_path(obj, io_groups[GROUP_RUNS].path, ax->name);
    io_join_path(point_obj, io_groups[GROUP_POOLED].path, ax->name);
    hid_t file_type, mem_type = H5T_NATIVE_INT64;
    const void *fill;
    if (ax->type != LZ_AXIS_VECTOR) io_axis_storage(ax, &file_type, &mem_type, &fill);
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

static int write_edges(lz_out *o, const lz_job *job, hid_t ds, const char *obj, int64_t bins,
                       void (*edges_of)(const lz_job *, double *), lz_err *err) {
  double *edges = malloc((size_t)(bins + 1) * sizeof *edges);
  if (!edges) return lz_err_set(err, LZ_ENOMEM, "%s: %s: no memory", o->path, obj);
  edges_of(job, edges);
  int rc = io_write_rows(o->path, obj, ds, o->dxpl, H5T_NATIVE_DOUBLE, 0, bins + 1, edges, "edges",
                         err);
  free(edges);
  return rc;
}

static int write_steps(lz_out *o, io_layout *l, generator *g, lz_err *err) {
  int rc = LZ_OK;
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a) {
    if (!io_array_is_trace(o->shape[a])) continue;
    char obj[OBJ_PATH_MAX];
    io_step_scale_path(obj, &lz_array_descs[a]);
    g->every = o->shape[a].record_every;
    rc = write_generated(o, g, fill_step, l->step_scale[a], obj, H5T_NATIVE_INT64,
                         o->shape[a].len[0], err);
  }
  return rc;
}

const io_fixed_id io_fitted_data_ids[IO_FITTED_DATA_COUNT] = {FIXED_DATA_X, FIXED_DATA_Y,
                                                              FIXED_DATA_WEIGHT};

double *io_fitted_data_of(const char *path, const lz_job *job, int64_t *m, lz_err *err) {
  *m = io_fixed_length(&io_fixed[FIXED_DATA_X], job);
  double *data = malloc(IO_FITTED_DATA_COUNT * (size_t)*m * sizeof *data);
  if (!data) {
    lz_err_set(err, LZ_ENOMEM, "%s: no memory for the %" PRId64 " data points", path, *m);
    return NULL;
  }
  size_t idx[LZ_MAX_AXES] = {0};
  lz_problem_params pp;
  lz_job_problem_params(job, idx, &pp);  /* the data do not depend on any sweep axis */
  lz_mlp_data(&pp, data, data + *m);
  lz_mlp_data_weights(&pp, data + 2 * *m);
  return data;
}

static int write_fitted_data(lz_out *o, io_layout *l, const lz_job *job, lz_err *err) {
  int64_t m;
  double *data = io_fitted_data_of(o->path, job, &m, err);
  int rc = data ? LZ_OK : LZ_ENOMEM;
  for (int k = 0; k < IO_FITTED_DATA_COUNT && rc == LZ_OK; ++k) {
    const io_fixed_id id = io_fitted_data_ids[k];
    rc = io_write_rows(o->path, io_fixed[id].path, l->fixed[id], o->dxpl, H5T_NATIVE_DOUBLE, 0,
                       m, data + k * m, "points", err);
  }
  free(data);
  return rc;
}

typedef void (*fill_fn)(const generator *g, int64_t first, int64_t n, void *buf);

/* The int64 datasets of the table whose every entry follows from the job. */
static const struct {
  io_fixed_id id;
  fill_fn fill;
} generated[] = {
    {FIXED_RUN, fill_index},
    {FIXED_TILE, fill_index},
    {FIXED_POINT, fill_index},
    {FIXED_POINT_FIRST_RUN, fill_point_first_run},
    {FIXED_POINT_RUN_COUNT, fill_point_run_count},
    {FIXED_POINT_RUN_STRIDE, fill_point_run_stride},
    {FIXED_TILE_FIRST_RUN, fill_tile_first_run},
    {FIXED_TILE_RUN_COUNT, fill_tile_run_count},
};

static int write_generated_fixed(lz_out *o, io_layout *l, generator *g, lz_err *err) {
  int rc = LZ_OK;
  for (size_t i = 0; i < sizeof generated / sizeof generated[0] && rc == LZ_OK; ++i) {
    const io_fixed_desc *d = &io_fixed[generated[i].id];
    if (l->fixed[generated[i].id] < 0) continue;  /* not in this job */
    rc = write_generated(o, g, generated[i].fill, l->fixed[generated[i].id], d->path,
                         H5T_NATIVE_INT64, io_fixed_length(d, g->job), err);
  }
  return rc;
}

static int write_all_edges(lz_out *o, io_layout *l, const lz_job *job, lz_err *err) {
  const io_fixed_desc *hist = &io_fixed[FIXED_HIST_EDGES], *obs = &io_fixed[FIXED_OBS_EDGES];
  int rc = LZ_OK;
  if (l->fixed[FIXED_HIST_EDGES] >= 0)
    rc = write_edges(o, job, l->fixed[FIXED_HIST_EDGES], hist->path,
                     job->analyze.invariant_measure.bins, lz_job_hist_edges, err);
  if (rc == LZ_OK && l->fixed[FIXED_OBS_EDGES] >= 0)
    rc = write_edges(o, job, l->fixed[FIXED_OBS_EDGES], obs->path,
                     job->analyze.invariant_measure.observable.bins, lz_job_observable_edges,
                     err);
  return rc;
}

int io_write_known_data(lz_out *o, io_layout *l, const lz_job *job, lz_err *err) {
  int64_t most = job->nruns > job->ntiles ? job->nruns : job->ntiles;
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a)
    if (io_array_is_trace(o->shape[a]) && o->shape[a].len[0] > most) most = o->shape[a].len[0];
  generator g = {job, 0, 0, NULL, NULL, NULL};
  g.block = malloc((size_t)io_min64(most, GENERATE_BLOCK) * sizeof(double));
  g.idx = malloc((job->naxes ? job->naxes : 1) * sizeof *g.idx);
  int rc = g.block && g.idx ? LZ_OK
                            : lz_err_set(err, LZ_ENOMEM, "%s: no memory for coordinates", o->path);
  if (rc == LZ_OK) rc = write_generated_fixed(o, l, &g, err);
  if (rc == LZ_OK) rc = write_steps(o, l, &g, err);
  if (rc == LZ_OK) rc = write_axes_and_coordinates(o, l, &g, err);
  if (rc == LZ_OK) rc = write_all_edges(o, l, job, err);
  if (rc == LZ_OK && l->fixed[FIXED_DATA_X] >= 0) rc = write_fitted_data(o, l, job, err);
  free(g.block);
  free(g.idx);
  return rc;
}
