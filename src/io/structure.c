/* Creating the structure: every group and dataset of the job, at its full size, with the
 * attributes and dimension scales that say how to read it. Collective, identical on every
 * rank; the data known up front comes afterwards (known_data.c). */
#include "output_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the ids held while creating ------------------------------------------------------- */

static void layout_free_axes(io_layout *l) {
  free(l->axis_ds);
  free(l->coord_ds);
  free(l->point_coord_ds);
  l->axis_ds = l->coord_ds = l->point_coord_ds = NULL;
}

int io_layout_init(io_layout *l, size_t naxes) {
  for (int g = 0; g < GROUP_COUNT; ++g) l->group[g] = H5I_INVALID_HID;
  for (int i = 0; i < FIXED_COUNT; ++i) l->fixed[i] = H5I_INVALID_HID;
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) l->step_scale[a] = H5I_INVALID_HID;
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

/* Datasets before the groups that hold them, subgroups before their parents. */
void io_layout_close(io_layout *l) {
  for (size_t a = 0; a < l->naxes && l->axis_ds; ++a) {
    lz_h5_close(&l->axis_ds[a]);
    lz_h5_close(&l->coord_ds[a]);
    lz_h5_close(&l->point_coord_ds[a]);
  }
  layout_free_axes(l);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) lz_h5_close(&l->step_scale[a]);
  for (int i = FIXED_COUNT - 1; i >= 0; --i) lz_h5_close(&l->fixed[i]);
  for (int g = GROUP_COUNT - 1; g >= 0; --g) lz_h5_close(&l->group[g]);
}

/* ---- the fixed groups and datasets ----------------------------------------------------- */

static int create_groups(lz_out *o, io_layout *l, const lz_job *job, lz_err *err) {
  int rc = LZ_OK;
  for (int g = 0; g < GROUP_COUNT && rc == LZ_OK; ++g) {
    const io_group_desc *d = &io_groups[g];
    if (!io_job_has(d->presence, job)) continue;
    hid_t parent = d->parent < 0 ? o->file : l->group[d->parent];
    rc = io_create_group(o->path, parent, io_link_name(d->path), d->path, d->description,
                         &l->group[g], err);
  }
  return rc;
}

static void storage_types(io_storage s, hid_t *file_type, hid_t *mem_type, const void **fill) {
  switch (s) {
    case STORE_INT64:
      *file_type = H5T_STD_I64LE, *mem_type = H5T_NATIVE_INT64, *fill = &io_fill_int64;
      return;
    case STORE_UINT8:
      *file_type = H5T_STD_U8LE, *mem_type = H5T_NATIVE_UINT8, *fill = &io_fill_uint8;
      return;
    case STORE_DOUBLE:
      *file_type = H5T_IEEE_F64LE, *mem_type = H5T_NATIVE_DOUBLE, *fill = &io_fill_nan;
      return;
  }
}

/* The done flags stay open in lz_out for the tile writes; the others only while creating. */
static hid_t *fixed_slot(lz_out *o, io_layout *l, io_fixed_id id) {
  if (id == FIXED_TILE_DONE) return &o->done_ds;
  if (id == FIXED_POOLED_DONE) return &o->pooled_done_ds;
  return &l->fixed[id];
}

/* One dataset of the table, if the job has it. */
static int create_fixed(lz_out *o, io_layout *l, const lz_job *job, io_fixed_id id,
                        lz_err *err) {
  const io_fixed_desc *d = &io_fixed[id];
  if (!io_job_has(d->presence, job)) return LZ_OK;
  io_ds_spec s = {io_link_name(d->path), 0, 0, 1, {(hsize_t)io_fixed_length(d, job), 0, 0},
                  NULL, d->units, d->description};
  storage_types(d->storage, &s.file_type, &s.mem_type, &s.fill);
  hid_t *out = fixed_slot(o, l, id);
  int rc = io_create_dataset(o->path, l->group[d->group], io_groups[d->group].path, &s, out, err);
  if (rc == LZ_OK && d->is_scale) rc = io_make_scale(o->path, d->path, *out, s.name, err);
  if (rc == LZ_OK && d->scale != NO_SCALE)
    rc = io_attach_scale(o->path, d->path, *out, l->fixed[d->scale], 0, io_fixed[d->scale].path,
                         err);
  if (rc == LZ_OK && d->dim_label)
    rc = io_label_dimension(o->path, d->path, *out, 0, d->dim_label, err);
  return rc;
}

static int create_fixed_range(lz_out *o, io_layout *l, const lz_job *job, io_fixed_id first,
                              io_fixed_id last, lz_err *err) {
  int rc = LZ_OK;
  for (int id = first; id <= (int)last && rc == LZ_OK; ++id)
    rc = create_fixed(o, l, job, (io_fixed_id)id, err);
  return rc;
}

/* The group an array lives in (io_check_job_for_output has refused any other group name). */
static hid_t array_group(const io_layout *l, const lz_array_desc *d) {
  return l->group[d->group[0] ? GROUP_TRACE : GROUP_RUNS];
}

/* Each trace has its own scale: traces recorded at different periods (loss every record_every
 * steps, sharpness every analyze.sharpness.every) have different lengths and steps. */
static int create_step_scale(lz_out *o, io_layout *l, int a, lz_err *err) {
  const lz_array_desc *d = &lz_array_descs[a];
  char name[OBJ_PATH_MAX], group_path[OBJ_PATH_MAX], array[OBJ_PATH_MAX], scale[OBJ_PATH_MAX];
  char description[512];
  io_step_scale_name(name, d);
  io_array_group_path(group_path, d);
  io_array_path(array, d);
  io_step_scale_path(scale, d);
  snprintf(description, sizeof description, "GD step at which each entry of %s was recorded: "
           "entry k at step k * %" PRId64, array, o->shape[a].record_every);
  io_ds_spec s = {name, H5T_STD_I64LE, H5T_NATIVE_INT64, 1, {(hsize_t)o->shape[a].len[0], 0},
                  &io_fill_int64, "steps", description};
  int rc = io_create_dataset(o->path, array_group(l, d), group_path, &s, &l->step_scale[a], err);
  if (rc == LZ_OK) rc = io_make_scale(o->path, scale, l->step_scale[a], name, err);
  return rc;
}

static int create_scales(lz_out *o, const lz_job *job, io_layout *l, lz_err *err) {
  int rc = create_fixed(o, l, job, FIXED_RUN, err);
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a)
    if (io_array_is_trace(o->shape[a])) rc = create_step_scale(o, l, a, err);
  if (rc == LZ_OK) rc = create_fixed_range(o, l, job, FIXED_TILE, FIXED_POINT, err);
  return rc;
}

/* ---- the leading dimension of /runs and /pooled ---------------------------------------- */

/* One entry per run in /runs, one per sweep point in /pooled, with its scale. Coordinates,
 * fields and arrays are made the same way in both. */
typedef struct leading_dim {
  int pooled;              /* 0: /runs, 1: /pooled */
  hid_t group;
  const char *path;        /* "/runs" or "/pooled" */
  int64_t len;
  hid_t scale;
  const char *scale_path;  /* "/runs/run" or "/pooled/point" */
} leading_dim;

static leading_dim runs_dim(const lz_out *o, const io_layout *l) {
  leading_dim d = {0, l->group[GROUP_RUNS], io_groups[GROUP_RUNS].path, o->nruns,
                   l->fixed[FIXED_RUN], io_fixed[FIXED_RUN].path};
  return d;
}

static leading_dim pooled_dim(const lz_out *o, const io_layout *l) {
  leading_dim d = {1, l->group[GROUP_POOLED], io_groups[GROUP_POOLED].path, o->npooled,
                   l->fixed[FIXED_POINT], io_fixed[FIXED_POINT].path};
  return d;
}

/* Dimension 0 is labelled with the scale's own name: "run" or "point". */
static int attach_leading_dimension(lz_out *o, const leading_dim *dim, const char *obj, hid_t ds,
                                    lz_err *err) {
  int rc = io_attach_scale(o->path, obj, ds, dim->scale, 0, dim->scale_path, err);
  if (rc == LZ_OK) rc = io_label_dimension(o->path, obj, ds, 0, io_link_name(dim->scale_path),
                                           err);
  return rc;
}

/* ---- axes and coordinates -------------------------------------------------------------- */

static const char *const axis_group_names[] = {"problem", "init", "lr"};

static const char *label_of_code(const lz_axis *ax, size_t nlabels, double code) {
  long c = lround(code);
  return c >= 0 && (size_t)c < nlabels ? ax->labels[c] : "?";
}

static int write_choice_labels(lz_out *o, hid_t ds, const char *obj, const lz_axis *ax,
                               lz_err *err) {
  size_t nlabels = io_count_names(ax->labels);
  const char **present = malloc(ax->len * sizeof *present);
  if (!present) return lz_err_set(err, LZ_ENOMEM, "%s: %s: no memory for labels", o->path, obj);
  for (size_t i = 0; i < ax->len; ++i) present[i] = label_of_code(ax, nlabels, ax->values[i]);
  int rc = io_write_string_array_attribute(ds, o->path, obj, "labels", present, ax->len, err);
  free(present);
  if (rc == LZ_OK)
    rc = io_write_string_array_attribute(ds, o->path, obj, "labels_by_code",
                                         (const char *const *)ax->labels, nlabels, err);
  return rc;
}

void io_axis_storage(const lz_axis *ax, hid_t *file_type, hid_t *mem_type, const void **fill) {
  if (ax->type == LZ_AXIS_CHOICE) {
    *file_type = H5T_STD_I8LE, *mem_type = H5T_NATIVE_INT8, *fill = &io_fill_int8;
  } else if (ax->type == LZ_AXIS_NUMBER && ax->is_integer) {
    *file_type = H5T_STD_I64LE, *mem_type = H5T_NATIVE_INT64, *fill = &io_fill_int64;
  } else {
    *file_type = H5T_IEEE_F64LE, *mem_type = H5T_NATIVE_DOUBLE, *fill = &io_fill_nan;
  }
}

/* /axes/<name>: 1-D axes are their own dimension scale (the netCDF coordinate variable). */
static int create_axis_dataset(lz_out *o, io_layout *l, const lz_axis *ax, hid_t *out,
                               lz_err *err) {
  io_ds_spec s = {ax->name, 0, 0, 1, {ax->len, ax->width}, NULL, ax->units, ax->description};
  io_axis_storage(ax, &s.file_type, &s.mem_type, &s.fill);
  if (ax->type == LZ_AXIS_VECTOR) s.rank = 2;
  char obj[OBJ_PATH_MAX];
  io_join_path(obj, io_groups[GROUP_AXES].path, ax->name);
  int rc = io_create_dataset(o->path, l->group[GROUP_AXES], io_groups[GROUP_AXES].path, &s, out,
                             err);
  if (rc == LZ_OK)
    rc = io_write_string_attribute(*out, o->path, obj, "group", axis_group_names[ax->group], err);
  if (rc == LZ_OK && ax->type == LZ_AXIS_CHOICE) rc = write_choice_labels(o, *out, obj, ax, err);
  if (rc == LZ_OK && ax->type == LZ_AXIS_VECTOR) {
    rc = io_label_dimension(o->path, obj, *out, 0, ax->name, err);
    if (rc == LZ_OK) rc = io_label_dimension(o->path, obj, *out, 1, "component", err);
  } else if (rc == LZ_OK) {
    rc = io_make_scale(o->path, obj, *out, ax->name, err);
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
             io_str_or_empty(ax->description));
  else
    snprintf(description, sizeof description, "%s", io_str_or_empty(ax->description));
  io_ds_spec s = {ax->name, 0, 0, 1, {(hsize_t)dim->len, 0}, NULL, ax->units, description};
  if (ax->type == LZ_AXIS_VECTOR) {
    s.file_type = H5T_STD_I64LE, s.mem_type = H5T_NATIVE_INT64, s.fill = &io_fill_int64;
    s.units = "";
  } else {
    io_axis_storage(ax, &s.file_type, &s.mem_type, &s.fill);
  }
  char obj[OBJ_PATH_MAX];
  io_join_path(obj, dim->path, ax->name);
  int rc = io_create_dataset(o->path, dim->group, dim->path, &s, out, err);
  if (rc == LZ_OK)
    rc = io_write_string_attribute(*out, o->path, obj, "group", axis_group_names[ax->group], err);
  if (rc == LZ_OK && ax->type == LZ_AXIS_CHOICE)
    rc = io_write_string_array_attribute(*out, o->path, obj, "labels_by_code",
                                         (const char *const *)ax->labels,
                                         io_count_names(ax->labels), err);
  if (rc == LZ_OK && (int)a == job->lr.axis)
    rc = io_write_string_attribute(*out, o->path, obj, "relative_to",
                                   job->lr.relative_to == LZ_LR_TWO_OVER_L ? "two_over_L"
                                                                           : "absolute",
                                   err);
  if (rc == LZ_OK) rc = attach_leading_dimension(o, dim, obj, *out, err);
  return rc;
}

static int create_axes(lz_out *o, io_layout *l, const lz_job *job, lz_err *err) {
  const leading_dim runs = runs_dim(o, l), pooled = pooled_dim(o, l);
  int rc = LZ_OK;
  for (size_t a = 0; a < job->naxes && rc == LZ_OK; ++a)
    rc = create_axis_dataset(o, l, &job->axes[a], &l->axis_ds[a], err);
  for (size_t a = 0; a < job->naxes && rc == LZ_OK; ++a)
    rc = create_coordinate_dataset(o, &runs, job, a, &l->coord_ds[a], err);
  for (size_t a = 0; a < job->naxes && rc == LZ_OK && io_has_pooled(o); ++a)
    if (io_is_pooled_axis(&job->axes[a]))
      rc = create_coordinate_dataset(o, &pooled, job, a, &l->point_coord_ds[a], err);
  return rc;
}

/* An int8 code field (status, reason) names its codes the way a choice axis does. */
static int create_field_dataset(lz_out *o, const leading_dim *dim, const lz_field *f, hid_t *out,
                                lz_err *err) {
  io_ds_spec s = {f->name, io_file_type_of(f->type), io_mem_type_of(f->type), 1,
                  {(hsize_t)dim->len, 0, 0}, io_zero_or_nan_fill(f->type), f->units,
                  f->description};
  char obj[OBJ_PATH_MAX];
  io_join_path(obj, dim->path, f->name);
  int rc = io_create_dataset(o->path, dim->group, dim->path, &s, out, err);
  if (rc == LZ_OK && f->labels)
    rc = io_write_string_array_attribute(*out, o->path, obj, "labels_by_code", f->labels,
                                         io_count_names(f->labels), err);
  if (rc == LZ_OK) rc = attach_leading_dimension(o, dim, obj, *out, err);
  return rc;
}

/* `coords`: the state indices histogrammed, in the order of the rows of hist, hist_half1, gibbs
 * and moments (ncoords of them) or of the two axes of the joint hist2d and gibbs2d. */
static int write_coords_attribute(lz_out *o, const lz_job *job, const char *obj, hid_t ds,
                                  size_t n, lz_err *err) {
  return io_write_int64_array_attribute(ds, o->path, obj, "coords",
                                        job->analyze.invariant_measure.coords, n, err);
}

/* `observable` (and `entry`, the row and column of X, for x_entry): what hist_obs counts. */
static int write_observable_attributes(lz_out *o, const lz_job *job, const char *obj, hid_t ds,
                                       lz_err *err) {
  const int kind = job->analyze.invariant_measure.observable.kind;
  int rc = io_write_string_attribute(ds, o->path, obj, "observable", lz_observable_names[kind],
                                     err);
  if (rc == LZ_OK && kind == LZ_OBS_X_ENTRY)
    rc = io_write_int64_array_attribute(ds, o->path, obj, "entry",
                                        job->analyze.invariant_measure.observable.entry, 2, err);
  return rc;
}

/* The table names the per-run dimensions: an array whose rows are the histogrammed coordinates
 * ("coordinate" first) or whose two axes are the first two of them ("bin0") says which
 * coordinates those are; hist_obs says which observable it counts. */
static int describe_measure_array(lz_out *o, const lz_job *job, int a, const char *obj, hid_t ds,
                                  lz_err *err) {
  const char *first_dim = io_str_or_empty(lz_array_descs[a].dims[0]);
  if (strcmp(first_dim, "coordinate") == 0)
    return write_coords_attribute(o, job, obj, ds, job->analyze.invariant_measure.ncoords, err);
  if (strcmp(first_dim, "bin0") == 0) return write_coords_attribute(o, job, obj, ds, 2, err);
  if (a == LZ_ARRAY_HIST_OBS) return write_observable_attributes(o, job, obj, ds, err);
  return LZ_OK;
}

/* Dimension 0 is the run (or the sweep point); the others are the per-run ones the table names
 * ("record" for a trace, "point" and "coordinate" for an orbit). A trace's dimension 1 also
 * gets its steps (traces are never pooled: io_check_job_for_output). */
static int name_array_dimensions(lz_out *o, io_layout *l, const leading_dim *dim, int a,
                                 const char *obj, hid_t ds, lz_err *err) {
  const lz_array_desc *d = &lz_array_descs[a];
  int rc = attach_leading_dimension(o, dim, obj, ds, err);
  if (rc == LZ_OK && io_array_is_trace(o->shape[a])) {
    char scale[OBJ_PATH_MAX];
    io_step_scale_path(scale, d);
    rc = io_attach_scale(o->path, obj, ds, l->step_scale[a], 1, scale, err);
  }
  for (int j = 0; j + 1 < io_array_rank(o->shape[a]) && rc == LZ_OK; ++j)
    if (d->dims[j]) rc = io_label_dimension(o->path, obj, ds, (unsigned)j + 1, d->dims[j], err);
  return rc;
}

/* An array of /runs (group: /runs or /runs/trace) or of /pooled (always the group itself). */
static int create_array_dataset(lz_out *o, io_layout *l, const lz_job *job, const leading_dim *dim,
                                int a, hid_t *out, lz_err *err) {
  const lz_array_desc *d = &lz_array_descs[a];
  const lz_array_shape shape = o->shape[a];
  io_ds_spec s = {d->name, io_file_type_of(d->type), io_mem_type_of(d->type),
                  io_array_rank(shape), {0, 0, 0}, io_zero_or_nan_fill(d->type), d->units,
                  d->description};
  io_array_dims(dim->len, shape, s.dims);
  char group_path[OBJ_PATH_MAX], obj[OBJ_PATH_MAX];
  if (dim->pooled) snprintf(group_path, sizeof group_path, "%s", dim->path);
  else io_array_group_path(group_path, d);
  io_join_path(obj, group_path, d->name);
  int rc = io_create_dataset(o->path, dim->pooled ? dim->group : array_group(l, d), group_path, &s,
                             out, err);
  if (rc == LZ_OK && io_array_is_trace(shape))
    rc = io_write_int64_attribute(*out, o->path, obj, "record_every", shape.record_every, err);
  if (rc == LZ_OK) rc = describe_measure_array(o, job, a, obj, *out, err);
  if (rc == LZ_OK) rc = name_array_dimensions(o, l, dim, a, obj, *out, err);
  return rc;
}

int io_creation_stop_requested(const lz_out *o, lz_err *err) {
  if (o->stop && o->stop->requested(o->stop->ctx))
    return lz_err_set(err, LZ_ESTOPPED, "%s: stopped by a signal or the stop file while the file "
                      "was created; nothing written", o->path);
  return LZ_OK;
}

/* The per-run datasets are where creation spends its time (each is allocated and filled in
 * full), so the stop is asked before each. */
static int create_run_datasets(lz_out *o, io_layout *l, const lz_job *job, lz_err *err) {
  const leading_dim runs = runs_dim(o, l);
  size_t nfields;
  const lz_field *fields = lz_run_fields(&nfields);
  int rc = LZ_OK;
  for (size_t i = 0; i < nfields && rc == LZ_OK; ++i)
    if (lz_field_applies(&fields[i], job)) {
      rc = io_creation_stop_requested(o, err);
      if (rc == LZ_OK) rc = create_field_dataset(o, &runs, &fields[i], &o->field_ds[i], err);
    }
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a)
    if (io_array_is_present(o->shape[a])) {
      rc = io_creation_stop_requested(o, err);
      if (rc == LZ_OK) rc = create_array_dataset(o, l, job, &runs, a, &o->array_ds[a], err);
    }
  return rc;
}

/* Bin edges, with what says which coordinates or which observable they bin. */
static int create_edges(lz_out *o, io_layout *l, const lz_job *job, lz_err *err) {
  int rc = create_fixed_range(o, l, job, FIXED_HIST_EDGES, FIXED_OBS_EDGES, err);
  hid_t hist = l->fixed[FIXED_HIST_EDGES], obs = l->fixed[FIXED_OBS_EDGES];
  if (rc == LZ_OK && hist >= 0)
    rc = write_coords_attribute(o, job, io_fixed[FIXED_HIST_EDGES].path, hist,
                                job->analyze.invariant_measure.ncoords, err);
  if (rc == LZ_OK && obs >= 0)
    rc = write_observable_attributes(o, job, io_fixed[FIXED_OBS_EDGES].path, obs, err);
  return rc;
}

/* /pooled/first_run, run_count, run_stride (as lz_job_pooled_runs), then the pooled results,
 * then the done flag. */
static int create_pooled_datasets(lz_out *o, io_layout *l, const lz_job *job, lz_err *err) {
  const leading_dim pooled = pooled_dim(o, l);
  int rc = create_fixed_range(o, l, job, FIXED_POINT_FIRST_RUN, FIXED_POINT_RUN_STRIDE, err);
  size_t nfields;
  const lz_field *fields = lz_pooled_fields(&nfields);
  for (size_t i = 0; i < nfields && rc == LZ_OK; ++i)
    if (lz_field_applies(&fields[i], job))
      rc = create_field_dataset(o, &pooled, &fields[i], &o->pooled_field_ds[i], err);
  for (int a = 0; a < LZ_ARRAY_COUNT && rc == LZ_OK; ++a)
    if (lz_array_descs[a].pooled && io_array_is_present(o->shape[a]))
      rc = create_array_dataset(o, l, job, &pooled, a, &o->pooled_array_ds[a], err);
  if (rc == LZ_OK) rc = create_fixed(o, l, job, FIXED_POOLED_DONE, err);
  return rc;
}

int io_create_structure(lz_out *o, io_layout *l, const lz_job *job, const lz_provenance *prov,
                        lz_err *err) {
  int rc = io_write_provenance(o, job, prov, err);
  if (rc == LZ_OK) rc = create_groups(o, l, job, err);
  if (rc == LZ_OK) rc = create_scales(o, job, l, err);
  if (rc == LZ_OK) rc = create_axes(o, l, job, err);
  if (rc == LZ_OK) rc = create_run_datasets(o, l, job, err);
  if (rc == LZ_OK) rc = create_edges(o, l, job, err);
  if (rc == LZ_OK) rc = io_creation_stop_requested(o, err);
  if (rc == LZ_OK && io_has_pooled(o)) rc = create_pooled_datasets(o, l, job, err);
  if (rc == LZ_OK) rc = io_creation_stop_requested(o, err);
  if (rc == LZ_OK) rc = create_fixed_range(o, l, job, FIXED_TILE_DONE, FIXED_TILE_RUN_COUNT, err);
  if (rc == LZ_OK) rc = create_fixed_range(o, l, job, FIXED_DATA_X, FIXED_DATA_WEIGHT, err);
  return rc;
}
