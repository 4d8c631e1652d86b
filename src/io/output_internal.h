/* The output file's insides, shared by the files of src/io that make, resume, fill and read it.
 *
 * The pattern survives kill -9 of any rank (docs/design.md): every object is created at its
 * full size, contiguous, allocated early and filled, then flushed, all before any result is
 * written. After that only raw data changes, written independently by whichever rank ran the
 * tile, results first and the tile's done byte last. So the metadata on disk is final from the
 * start, and a rank killed at any moment leaves a file that opens and resumes.
 *
 * No MPI call in src/io: the communicator only reaches HDF5's MPI-IO driver.
 *
 * Private to src/io. Functions shared between its files start with io_, so that they cannot
 * meet a name of another module when the static libraries are linked together. */
#ifndef LRZOO_IO_OUTPUT_INTERNAL_H
#define LRZOO_IO_OUTPUT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

#include "lrzoo/io.h"
#include "lrzoo/results.h"

#include "h5util.h"

#define LZ_FORMAT_VERSION 1

/* Runs (and tiles) per block when generating coordinates or counting codes: creating the file
 * then needs a fixed amount of memory whatever the size of the sweep. */
#define GENERATE_BLOCK ((int64_t)1 << 20)

#define OBJ_PATH_MAX 256
#define ARRAY_RANK_MAX 3

/* The per-run fields that resume and `lrzoo info` read by name (entries of lz_run_fields). */
#define STATUS_FIELD "status"
#define ENGINE_FIELD "engine"

/* LZ_ESTOPPED (on every rank alike) if the creation's stop asks for it, else LZ_OK. */
int io_creation_stop_requested(const lz_out *o, lz_err *err);

struct lz_out {
  char *path;
  /* While a new file is built: the name it is built under (path + ".creating"), renamed to
   * path once its layout is on disk; NULL after that, and for resumed files. */
  char *building_path;
  int rank;
  int remove_on_close;     /* creation failed on this rank alone: the close removes the file */
  const lz_out_stop *stop; /* while the file is created (NULL: never stop) */
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

/* ---- the fixed objects (layout.c) ------------------------------------------------------ */

/* Which jobs have an object. */
typedef enum io_presence {
  IN_EVERY_JOB,
  WITH_INVARIANT_MEASURE,  /* analyze.invariant_measure.samples > 0 */
  WITH_OBSERVABLE,         /* ... and an observable to histogram */
  WITH_FITTED_DATA         /* mlp: the points the network is fitted to */
} io_presence;

typedef enum io_group_id {
  GROUP_AXES, GROUP_RUNS, GROUP_TRACE, GROUP_TILES, GROUP_POOLED, GROUP_DATA, GROUP_COUNT
} io_group_id;

typedef struct io_group_desc {
  const char *path;
  int parent;              /* index into io_groups, or -1 for the root */
  io_presence presence;
  const char *description;
} io_group_desc;

extern const io_group_desc io_groups[GROUP_COUNT];

/* The datasets every file of a kind has whatever its axes, fields and arrays, in creation
 * order within each group. */
typedef enum io_fixed_id {
  FIXED_RUN, FIXED_TILE, FIXED_POINT,                                /* dimension scales */
  FIXED_HIST_EDGES, FIXED_OBS_EDGES,
  FIXED_POINT_FIRST_RUN, FIXED_POINT_RUN_COUNT, FIXED_POINT_RUN_STRIDE, FIXED_POOLED_DONE,
  FIXED_TILE_DONE, FIXED_TILE_FIRST_RUN, FIXED_TILE_RUN_COUNT,
  FIXED_DATA_X, FIXED_DATA_Y, FIXED_DATA_WEIGHT,
  FIXED_COUNT
} io_fixed_id;

typedef enum io_storage { STORE_INT64, STORE_UINT8, STORE_DOUBLE } io_storage;

/* What the length of a (one-dimensional) fixed dataset is. */
typedef enum io_length {
  ONE_PER_RUN, ONE_PER_TILE, ONE_PER_POINT, JUST_ONE, HIST_EDGES, OBSERVABLE_EDGES,
  ONE_PER_DATA_POINT
} io_length;

#define NO_SCALE (-1)

typedef struct io_fixed_desc {
  const char *path;
  io_group_id group;
  io_storage storage;
  io_length length;
  io_presence presence;
  int is_scale;            /* a dimension scale of its own name */
  int scale;               /* the io_fixed_id of the scale of dimension 0, or NO_SCALE */
  const char *dim_label;   /* label of dimension 0, or NULL */
  const char *units;
  const char *description;
} io_fixed_desc;

extern const io_fixed_desc io_fixed[FIXED_COUNT];

/* The provenance attributes on /, in the order lz_out_create writes them. */
typedef enum io_root_attr {
  ROOT_LRZOO_VERSION, ROOT_GIT_COMMIT, ROOT_JOB_NAME, ROOT_JOB_SHA256, ROOT_JOB_YAML,
  ROOT_HDF5_VERSION, ROOT_MPILIB_VERSION, ROOT_BLAS, ROOT_CREATED_UTC, ROOT_ENVIRONMENT, ROOT_SEED,
  ROOT_RANK_COUNT, ROOT_OMP_THREADS, ROOT_FORMAT_VERSION, ROOT_ATTR_COUNT
} io_root_attr;

extern const char *const io_root_attr_names[ROOT_ATTR_COUNT];

int io_job_has(io_presence presence, const lz_job *job);
int64_t io_fixed_length(const io_fixed_desc *d, const lz_job *job);
/* The last component of a path: the link name in its group. */
const char *io_link_name(const char *path);
size_t io_storage_bytes(io_storage s);

/* Refuses a job whose names or sizes the layout cannot hold (create and resume). */
int io_check_job_for_output(const lz_job *job, lz_err *err);
/* mkdir -p of the directory of path; says which component is not a directory. */
int io_make_parent_directories(const char *path, lz_err *err);

/* ---- paths and shapes (layout.c) ------------------------------------------------------- */

void io_join_path(char *buf, const char *group_path, const char *name);
void io_array_group_path(char *buf, const lz_array_desc *d);
void io_array_path(char *buf, const lz_array_desc *d);
void io_pooled_array_path(char *buf, const lz_array_desc *d);
void io_step_scale_name(char *buf, const lz_array_desc *d);
void io_step_scale_path(char *buf, const lz_array_desc *d);
void io_shape_text(char *buf, size_t size, int rank, const hsize_t *dims);
void io_array_dims(int64_t nruns, lz_array_shape s, hsize_t dims[ARRAY_RANK_MAX]);
size_t io_count_names(const char *const *names);

hid_t io_file_type_of(lz_dtype t);
hid_t io_mem_type_of(lz_dtype t);
size_t io_size_of(lz_dtype t);

static inline const char *io_str_or_empty(const char *s) { return s ? s : ""; }
static inline int64_t io_min64(int64_t a, int64_t b) { return a < b ? a : b; }

static inline int io_array_is_present(lz_array_shape s) { return s.len[0] > 0; }
/* A trace records every record_every GD steps and gets a scale of those steps. */
static inline int io_array_is_trace(lz_array_shape s) {
  return s.len[0] > 0 && s.record_every > 0;
}
static inline int io_same_array_shape(lz_array_shape a, lz_array_shape b) {
  return a.len[0] == b.len[0] && a.len[1] == b.len[1] && a.record_every == b.record_every;
}
/* R x len[0] when each entry is one number, R x len[0] x len[1] otherwise. */
static inline int io_array_rank(lz_array_shape s) { return s.len[1] == 1 ? 2 : 3; }

/* /pooled exists when the job measures invariant measures (o->npooled is 0 otherwise). */
static inline int io_has_pooled(const lz_out *o) { return o->npooled > 0; }
/* A sweep point pools the init axes, so /pooled has coordinates on the other axes only. */
static inline int io_is_pooled_axis(const lz_axis *ax) { return ax->group != LZ_AXIS_INIT; }

/* ---- attributes (attributes.c) --------------------------------------------------------- */

hid_t io_new_string_type(size_t bytes);
int io_write_scalar_attribute(hid_t loc, const char *file, const char *obj, const char *name,
                              hid_t file_type, hid_t mem_type, const void *value, lz_err *err);
int io_write_string_attribute(hid_t loc, const char *file, const char *obj, const char *name,
                              const char *value, lz_err *err);
int io_write_string_array_attribute(hid_t loc, const char *file, const char *obj,
                                    const char *name, const char *const *values, size_t n,
                                    lz_err *err);
int io_write_int64_attribute(hid_t loc, const char *file, const char *obj, const char *name,
                             int64_t value, lz_err *err);
int io_write_int64_array_attribute(hid_t loc, const char *file, const char *obj,
                                   const char *name, const int64_t *values, size_t n,
                                   lz_err *err);
/* Both fail with LZ_EJOB ("not an lrzoo output file") when the attribute is absent. */
int io_read_string_attribute(hid_t loc, const char *file, const char *obj, const char *name,
                             char **out, lz_err *err);
int io_read_int64_attribute(hid_t loc, const char *file, const char *obj, const char *name,
                            int64_t *value, lz_err *err);

/* ---- datasets, rows and dimension scales (datasets.c) ---------------------------------- */

typedef struct io_ds_spec {
  const char *name;        /* link name in its group */
  hid_t file_type, mem_type;
  int rank;
  hsize_t dims[ARRAY_RANK_MAX];
  const void *fill;        /* in mem_type */
  const char *units;       /* NULL or "" when no unit applies */
  const char *description;
} io_ds_spec;

extern const double io_fill_nan;
extern const int64_t io_fill_int64;
extern const int8_t io_fill_int8;
extern const uint8_t io_fill_uint8;

const void *io_zero_or_nan_fill(lz_dtype t);
int io_create_dataset(const char *file, hid_t group, const char *group_path,
                      const io_ds_spec *s, hid_t *out, lz_err *err);
int io_create_group(const char *file, hid_t loc, const char *name, const char *path,
                    const char *description, hid_t *out, lz_err *err);
/* Fails with LZ_EJOB when the file has no such dataset. */
int io_open_dataset(const char *file, hid_t loc, const char *obj, hid_t *out, lz_err *err);
int io_dataset_shape(const char *file, const char *obj, hid_t ds, int *rank,
                     hsize_t dims[ARRAY_RANK_MAX], lz_err *err);
int io_dataset_length(const char *file, const char *obj, hid_t ds, int64_t *len, lz_err *err);
/* n entries from `first` along dimension 0, the whole extent of the others. */
int io_write_rows(const char *file, const char *obj, hid_t ds, hid_t dxpl, hid_t mem_type,
                  int64_t first, int64_t n, const void *buf, const char *what, lz_err *err);
/* Entries first + k * stride, k < n, into buf, contiguous. */
int io_read_rows(const char *file, const char *obj, hid_t ds, hid_t dxpl, hid_t mem_type,
                 int64_t first, int64_t n, int64_t stride, void *buf, lz_err *err);
int io_make_scale(const char *file, const char *obj, hid_t ds, const char *dim_name,
                  lz_err *err);
int io_attach_scale(const char *file, const char *obj, hid_t ds, hid_t scale, unsigned dim,
                    const char *dim_name, lz_err *err);
int io_label_dimension(const char *file, const char *obj, hid_t ds, unsigned dim,
                       const char *label, lz_err *err);

/* ---- the lz_out object (out.c) --------------------------------------------------------- */

lz_out *io_out_new(const char *path, const lz_job *job, int rank);
/* Collective: every rank closes the same objects, then the file. */
int io_out_close_and_free(lz_out *o, lz_err *err);
int io_new_independent_dxpl(lz_out *o, lz_err *err);
hid_t io_new_mpio_fapl(const lz_comm *c);

/* ---- creation (provenance.c, structure.c, known_data.c) -------------------------------- */

/* How an axis's points are stored: choice codes in int8, whole numbers in int64, else double. */
void io_axis_storage(const lz_axis *ax, hid_t *file_type, hid_t *mem_type, const void **fill);

int io_write_provenance(lz_out *o, const lz_job *job, const lz_provenance *prov, lz_err *err);

/* Ids that exist only while the file is being created; lz_out keeps the per-tile ones. */
typedef struct io_layout {
  hid_t group[GROUP_COUNT];                    /* H5I_INVALID_HID where the job has none */
  hid_t fixed[FIXED_COUNT];                    /* except the done flags, which lz_out keeps */
  hid_t step_scale[LZ_ARRAY_COUNT];            /* /runs/trace/<name>_step of each trace */
  hid_t *axis_ds;                              /* /axes/<name> */
  hid_t *coord_ds;                             /* /runs/<name> */
  hid_t *point_coord_ds;                       /* /pooled/<name> (problem and lr axes) */
  size_t naxes;
} io_layout;

int io_layout_init(io_layout *l, size_t naxes);
void io_layout_close(io_layout *l);
/* Collective, identical on every rank: every object, at its full size. */
int io_create_structure(lz_out *o, io_layout *l, const lz_job *job, const lz_provenance *prov,
                        lz_err *err);
/* Rank 0 alone: the data known up front (scales, coordinates, tiles, edges, fitted data). */
int io_write_known_data(lz_out *o, io_layout *l, const lz_job *job, lz_err *err);
/* The points an mlp job fits, as /data holds them: x, y and weight (m each, in
 * io_fitted_data_ids' order) in one malloc'ed array, or NULL (out of memory, said in err). Both
 * creation (which writes them) and resume (which compares them) take them from here. */
enum { IO_FITTED_DATA_COUNT = 3 };
extern const io_fixed_id io_fitted_data_ids[IO_FITTED_DATA_COUNT];
double *io_fitted_data_of(const char *path, const lz_job *job, int64_t *m, lz_err *err);

#endif
