/* The layout of the output file: the one table of its fixed groups and datasets, which
 * creation, resume, `lrzoo info` and the size estimate all read, and the paths of the objects
 * that the field and array tables of src/core/results.c describe. */
#include "output_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const io_group_desc io_groups[GROUP_COUNT] = {
    [GROUP_AXES] = {"/axes", -1, IN_EVERY_JOB,
                    "the points of each sweep axis; /runs/<axis> gives each run's point"},
    [GROUP_RUNS] = {"/runs", -1, IN_EVERY_JOB,
                    "one entry per run r = 0 .. R-1: its coordinates and results"},
    [GROUP_TRACE] = {"/runs/trace", GROUP_RUNS, IN_EVERY_JOB,
                     "per-run traces: <name> is R x K, its entry k recorded at GD step "
                     "<name>_step[k] = k * record_every"},
    [GROUP_TILES] = {"/tiles", -1, IN_EVERY_JOB,
                     "units of work: contiguous runs of one problem instance"},
    [GROUP_POOLED] = {"/pooled", -1, WITH_INVARIANT_MEASURE,
                      "invariant measure pooled over the replicas of each sweep point"},
    [GROUP_DATA] = {"/data", -1, WITH_FITTED_DATA,
                    "the points the network is fitted to, from problem.data: generated, "
                    "y[i] = g0(x[i]) + amplitude sin(x[i] / eps), or listed"},
};

#define SCALE(path, group, length, presence, description) \
  {path, group, STORE_INT64, length, presence, 1, NO_SCALE, NULL, "", description}

const io_fixed_desc io_fixed[FIXED_COUNT] = {
    [FIXED_RUN] = SCALE("/runs/run", GROUP_RUNS, ONE_PER_RUN, IN_EVERY_JOB,
                        "run index r (dimension scale of every /runs dataset)"),
    [FIXED_TILE] = SCALE("/tiles/tile", GROUP_TILES, ONE_PER_TILE, IN_EVERY_JOB,
                         "tile index (dimension scale of every /tiles dataset)"),
    [FIXED_POINT] = SCALE("/pooled/point", GROUP_POOLED, ONE_PER_POINT, WITH_INVARIANT_MEASURE,
                          "sweep point p = 0 .. P-1, a problem instance and an lr value "
                          "(dimension scale of every /pooled dataset)"),
    [FIXED_HIST_EDGES] = {"/runs/hist_edges", GROUP_RUNS, STORE_DOUBLE, HIST_EDGES,
                          WITH_INVARIANT_MEASURE, 0, NO_SCALE, "edge", "",
                          "edges of the bins of hist, hist_half1 and gibbs (each "
                          "histogrammed coordinate, see coords) and of both axes of hist2d "
                          "and gibbs2d: bin b spans [edges[b], edges[b + 1]]"},
    [FIXED_OBS_EDGES] = {"/runs/hist_obs_edges", GROUP_RUNS, STORE_DOUBLE, OBSERVABLE_EDGES,
                         WITH_OBSERVABLE, 0, NO_SCALE, "edge", "",
                         "edges of the bins of hist_obs (the observable): bin b spans "
                         "[edges[b], edges[b + 1]]"},
    [FIXED_POINT_FIRST_RUN] = {"/pooled/first_run", GROUP_POOLED, STORE_INT64, ONE_PER_POINT,
                               WITH_INVARIANT_MEASURE, 0, FIXED_POINT, "point", "",
                               "first run of the sweep point; its runs are first_run + k * "
                               "run_stride, k < run_count"},
    [FIXED_POINT_RUN_COUNT] = {"/pooled/run_count", GROUP_POOLED, STORE_INT64, ONE_PER_POINT,
                               WITH_INVARIANT_MEASURE, 0, FIXED_POINT, "point", "",
                               "number of runs pooled into the sweep point (one per "
                               "combination of the init axes)"},
    [FIXED_POINT_RUN_STRIDE] = {"/pooled/run_stride", GROUP_POOLED, STORE_INT64, ONE_PER_POINT,
                                WITH_INVARIANT_MEASURE, 0, FIXED_POINT, "point", "",
                                "distance in the run index between consecutive runs of the "
                                "sweep point"},
    /* One byte for the whole group, so it has no point dimension. */
    [FIXED_POOLED_DONE] = {"/pooled/done", GROUP_POOLED, STORE_UINT8, JUST_ONE,
                           WITH_INVARIANT_MEASURE, 0, NO_SCALE, NULL, "",
                           "1 once every point of /pooled has been written (after the last "
                           "tile)"},
    [FIXED_TILE_DONE] = {"/tiles/done", GROUP_TILES, STORE_UINT8, ONE_PER_TILE, IN_EVERY_JOB, 0,
                         FIXED_TILE, "tile", "", "1 once the tile's results are in the file"},
    [FIXED_TILE_FIRST_RUN] = {"/tiles/first_run", GROUP_TILES, STORE_INT64, ONE_PER_TILE,
                              IN_EVERY_JOB, 0, FIXED_TILE, "tile", "", "first run of the tile"},
    [FIXED_TILE_RUN_COUNT] = {"/tiles/run_count", GROUP_TILES, STORE_INT64, ONE_PER_TILE,
                              IN_EVERY_JOB, 0, FIXED_TILE, "tile", "",
                              "number of runs in the tile: runs [first_run, first_run + "
                              "run_count)"},
    [FIXED_DATA_X] = {"/data/x", GROUP_DATA, STORE_DOUBLE, ONE_PER_DATA_POINT, WITH_FITTED_DATA,
                      0, NO_SCALE, "point", "", "the inputs x_i (in order of the loss's sum)"},
    [FIXED_DATA_Y] = {"/data/y", GROUP_DATA, STORE_DOUBLE, ONE_PER_DATA_POINT, WITH_FITTED_DATA,
                      0, NO_SCALE, "point", "", "the targets y_i"},
    [FIXED_DATA_WEIGHT] = {"/data/weight", GROUP_DATA, STORE_DOUBLE, ONE_PER_DATA_POINT,
                           WITH_FITTED_DATA, 0, NO_SCALE, "point", "",
                           "the weight q_i of each point in the loss (1/2) sum_i q_i r_i^2 "
                           "(1 / m each unless listed)"},
};

const char *const io_root_attr_names[ROOT_ATTR_COUNT] = {
    [ROOT_LRZOO_VERSION] = "lrzoo_version", [ROOT_GIT_COMMIT] = "git_commit",
    [ROOT_JOB_NAME] = "job_name",           [ROOT_JOB_SHA256] = "job_sha256",
    [ROOT_JOB_YAML] = "job_yaml",           [ROOT_HDF5_VERSION] = "hdf5_version",
    [ROOT_MPILIB_VERSION] = "mpi_version",     [ROOT_BLAS] = "blas",
    [ROOT_CREATED_UTC] = "created_utc",     [ROOT_ENVIRONMENT] = "environment",
    [ROOT_SEED] = "seed",                   [ROOT_RANK_COUNT] = "mpi_ranks",
    [ROOT_OMP_THREADS] = "omp_threads",     [ROOT_FORMAT_VERSION] = "format_version",
};

int io_job_has(io_presence presence, const lz_job *job) {
  switch (presence) {
    case IN_EVERY_JOB: return 1;
    case WITH_INVARIANT_MEASURE: return lz_job_samples_invariant_measure(job);
    case WITH_OBSERVABLE:
      return lz_job_samples_invariant_measure(job) &&
             job->analyze.invariant_measure.observable.kind != LZ_OBS_NONE;
    case WITH_FITTED_DATA: return (lz_problem_kind_traits(job->problem.kind) & LZ_KIND_HAS_FITTED_DATA) != 0;
  }
  return 0;
}

/* Bin edges: bins + 1 values from lo to hi. */
int64_t io_fixed_length(const io_fixed_desc *d, const lz_job *job) {
  switch (d->length) {
    case ONE_PER_RUN: return job->nruns;
    case ONE_PER_TILE: return job->ntiles;
    case ONE_PER_POINT: return lz_job_npooled(job);
    case JUST_ONE: return 1;
    case HIST_EDGES: return job->analyze.invariant_measure.bins + 1;
    case OBSERVABLE_EDGES: return job->analyze.invariant_measure.observable.bins + 1;
    case ONE_PER_DATA_POINT: return job->problem.mlp.data.points;
  }
  return 0;
}

const char *io_link_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

size_t io_storage_bytes(io_storage s) {
  switch (s) {
    case STORE_INT64: return sizeof(int64_t);
    case STORE_UINT8: return sizeof(uint8_t);
    case STORE_DOUBLE: return sizeof(double);
  }
  return 0;
}

/* ---- paths and shapes ------------------------------------------------------------------ */

/* Object paths are short by construction (fixed group names, axis names of at most
 * LZ_AXIS_NAME_MAX); a longer one would only be cut in messages, never in a lookup. */
void io_join_path(char *buf, const char *group_path, const char *name) {
  int n = snprintf(buf, OBJ_PATH_MAX, "%s/%s", group_path, name);
  if (n < 0 || n >= OBJ_PATH_MAX) buf[OBJ_PATH_MAX - 1] = '\0';
}

/* "/runs" for the empty group, else "/runs/<group>" (only "trace": io_check_job_for_output). */
void io_array_group_path(char *buf, const lz_array_desc *d) {
  if (d->group[0]) io_join_path(buf, io_groups[GROUP_RUNS].path, d->group);
  else snprintf(buf, OBJ_PATH_MAX, "%s", io_groups[GROUP_RUNS].path);
}

void io_array_path(char *buf, const lz_array_desc *d) {
  char group_path[OBJ_PATH_MAX];
  io_array_group_path(group_path, d);
  io_join_path(buf, group_path, d->name);
}

void io_pooled_array_path(char *buf, const lz_array_desc *d) {
  io_join_path(buf, io_groups[GROUP_POOLED].path, d->name);
}

/* The dimension scale of a trace's steps, next to it: /runs/trace/loss_step. */
void io_step_scale_name(char *buf, const lz_array_desc *d) {
  snprintf(buf, OBJ_PATH_MAX, "%s_step", d->name);
}

void io_step_scale_path(char *buf, const lz_array_desc *d) {
  char group_path[OBJ_PATH_MAX], name[OBJ_PATH_MAX];
  io_step_scale_name(name, d);
  io_array_group_path(group_path, d);
  io_join_path(buf, group_path, name);
}

/* "30 x 5", "30 x 3 x 8": shapes in messages. */
void io_shape_text(char *buf, size_t size, int rank, const hsize_t *dims) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < rank && used < size; ++i)
    used += (size_t)snprintf(buf + used, size - used, "%s%llu", i ? " x " : "",
                             (unsigned long long)dims[i]);
}

void io_array_dims(int64_t nruns, lz_array_shape s, hsize_t dims[ARRAY_RANK_MAX]) {
  dims[0] = (hsize_t)nruns;
  dims[1] = (hsize_t)s.len[0];
  dims[2] = (hsize_t)s.len[1];
}

/* Label tables (choice axes, code fields) end with NULL. */
size_t io_count_names(const char *const *names) {
  size_t n = 0;
  while (names && names[n]) ++n;
  return n;
}

hid_t io_file_type_of(lz_dtype t) {
  switch (t) {
    case LZ_DT_INT8: return H5T_STD_I8LE;
    case LZ_DT_INT64: return H5T_STD_I64LE;
    case LZ_DT_DOUBLE: return H5T_IEEE_F64LE;
    case LZ_DT_UINT64: return H5T_STD_U64LE;
  }
  return H5I_INVALID_HID;
}

hid_t io_mem_type_of(lz_dtype t) {
  switch (t) {
    case LZ_DT_INT8: return H5T_NATIVE_INT8;
    case LZ_DT_INT64: return H5T_NATIVE_INT64;
    case LZ_DT_DOUBLE: return H5T_NATIVE_DOUBLE;
    case LZ_DT_UINT64: return H5T_NATIVE_UINT64;
  }
  return H5I_INVALID_HID;
}

size_t io_size_of(lz_dtype t) {
  switch (t) {
    case LZ_DT_INT8: return sizeof(int8_t);
    case LZ_DT_INT64: return sizeof(int64_t);
    case LZ_DT_DOUBLE: return sizeof(double);
    case LZ_DT_UINT64: return sizeof(uint64_t);
  }
  return 0;
}

/* ---- names a job's axes cannot take ---------------------------------------------------- */

/* An axis name that is a fixed object of the group (/runs/run, /runs/trace, /pooled/done...). */
static int is_fixed_in_group(const char *name, io_group_id group) {
  int taken = 0;
  for (int i = 0; i < FIXED_COUNT; ++i)
    taken |= io_fixed[i].group == group && strcmp(name, io_link_name(io_fixed[i].path)) == 0;
  for (int g = 0; g < GROUP_COUNT; ++g)
    taken |= io_groups[g].parent == (int)group &&
             strcmp(name, io_link_name(io_groups[g].path)) == 0;
  return taken;
}

/* Coordinates share /runs with the scales, the results and the arrays without a group. */
static int is_taken_in_runs(const char *name) {
  int taken = is_fixed_in_group(name, GROUP_RUNS);
  size_t nfields;
  const lz_field *fields = lz_run_fields(&nfields);
  for (size_t i = 0; i < nfields; ++i) taken |= strcmp(name, fields[i].name) == 0;
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    const lz_array_desc *d = &lz_array_descs[a];
    char step[OBJ_PATH_MAX];
    io_step_scale_name(step, d);
    if (!d->group[0]) taken |= strcmp(name, d->name) == 0 || strcmp(name, step) == 0;
  }
  return taken;
}

/* src/config validates the section; these are the values the layout indexes with, so a job
 * built some other way cannot make io read past a table. The fields and arrays of /pooled are
 * among the /runs ones, which is_taken_in_runs already keeps axis names away from. */
static int check_invariant_measure(const lz_job *job, lz_err *err) {
  if (!lz_job_samples_invariant_measure(job)) return LZ_OK;
  const size_t ncoords = job->analyze.invariant_measure.ncoords;
  const int kind = job->analyze.invariant_measure.observable.kind;
  if (ncoords < 1 || ncoords > LZ_IM_MAX_COORDS || job->analyze.invariant_measure.bins < 1 ||
      (job->analyze.invariant_measure.joint && ncoords < 2))
    return lz_err_set(err, LZ_EINVAL, "job '%s': invariant measure of %zu coordinates (joint %d) "
                      "in %" PRId64 " bins", io_str_or_empty(job->name), ncoords,
                      job->analyze.invariant_measure.joint, job->analyze.invariant_measure.bins);
  if (kind < 0 || (size_t)kind >= io_count_names(lz_observable_names) ||
      (kind != LZ_OBS_NONE && job->analyze.invariant_measure.observable.bins < 1))
    return lz_err_set(err, LZ_EINVAL, "job '%s': observable %d in %" PRId64 " bins",
                      io_str_or_empty(job->name), kind,
                      job->analyze.invariant_measure.observable.bins);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    const lz_array_desc *d = &lz_array_descs[a];
    if (d->pooled && (d->group[0] || lz_job_array_shape(job, (lz_array_id)a).record_every > 0))
      return lz_err_set(err, LZ_EINVAL, "array '%s' is pooled, but only arrays of /runs itself "
                        "that are not traces can be", d->name);
  }
  for (size_t a = 0; a < job->naxes; ++a)
    if (io_is_pooled_axis(&job->axes[a]) && is_fixed_in_group(job->axes[a].name, GROUP_POOLED))
      return lz_err_set(err, LZ_EINVAL, "axis '%s' has the name of a dataset in /pooled",
                        job->axes[a].name);
  return LZ_OK;
}

int io_check_job_for_output(const lz_job *job, lz_err *err) {
  if (job->nruns < 1 || job->ntiles < 1 || job->tiles.runs < 1 || job->run.record_every < 1 ||
      job->run.max_iter < 0)
    return lz_err_set(err, LZ_EINVAL, "job '%s': nothing to write (runs %" PRId64 ", tiles %" PRId64
                      ", tile size %" PRId64 ")", io_str_or_empty(job->name), job->nruns,
                      job->ntiles, job->tiles.runs);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    const lz_array_desc *d = &lz_array_descs[a];
    if (d->group[0] && strcmp(d->group, io_link_name(io_groups[GROUP_TRACE].path)) != 0)
      return lz_err_set(err, LZ_EINVAL, "array '%s' belongs to group '%s', but /runs has only "
                        "the group 'trace'", d->name, d->group);
  }
  for (size_t a = 0; a < job->naxes; ++a)
    if (is_taken_in_runs(job->axes[a].name))
      return lz_err_set(err, LZ_EINVAL, "axis '%s' has the name of a dataset in /runs",
                        job->axes[a].name);
  return check_invariant_measure(job, err);
}
