/* The output file and target-matrix input. The only module that calls HDF5.
 *
 * Layout (docs/output-format.md): provenance attributes on /, /axes/<axis>, /runs/run (scale),
 * /runs/<axis> (coordinates), /runs/<field> for every field of lz_run_fields that applies to
 * the job, the per-run arrays of lz_array_descs (/runs/trace/loss, /runs/trace/sharpness with
 * their step scales /runs/trace/<name>_step, /runs/orbit, and with the invariant measure
 * /runs/{hist, hist_half1, gibbs, hist2d, gibbs2d, hist_obs, wells, moments}: doubles, or uint64
 * counts), and /tiles/{tile,done,first_run,run_count}.
 *
 * With the invariant measure on (analyze.invariant_measure.samples > 0) also: /runs/hist_edges
 * (bins + 1, attribute coords), /runs/hist_obs_edges (with an observable; attribute observable),
 * and /pooled, one entry per sweep point p < P = lz_job_npooled (a problem instance and an lr
 * value, pooled over the init axes): /pooled/point (scale), /pooled/{first_run,run_count,
 * run_stride} (its runs, as lz_job_pooled_runs), /pooled/<axis> for the problem and lr axes,
 * /pooled/<field> for lz_pooled_fields, /pooled/<name> for the pooled arrays, and /pooled/done.
 *
 * Every dataset is created, at its full size and with early allocation, by lz_out_create;
 * afterwards only raw data is written, so the file's metadata is never in flux and a killed job
 * leaves a readable, resumable file. */
#ifndef LRZOO_IO_H
#define LRZOO_IO_H

#include <stddef.h>
#include <stdint.h>

#include "lrzoo/comm.h"
#include "lrzoo/error.h"
#include "lrzoo/job.h"
#include "lrzoo/results.h"

typedef struct lz_provenance {
  const char *lrzoo_version;
  const char *git_commit;
  const char *created_utc;   /* ISO 8601 */
  const char *mpi_version;   /* MPI library version string */
  const char *blas;          /* BLAS library and kernel, e.g. "OpenBLAS 0.3.21 Haswell" */
  int mpi_ranks;
  int omp_threads;
  /* lz_env_switches_text() of rank 0, the same on every rank; NULL: this process's own */
  const char *environment;
} lz_provenance;

typedef struct lz_out lz_out;

/* Collective on c. Creates the file at path with every dataset, the provenance, the axes and
 * every run's coordinates. Fails with LZ_EJOB if path exists and overwrite is 0. *out is owned
 * by the caller (lz_out_close). A failure seen by every rank closes and removes the partial
 * file and leaves *out NULL. A failure on this rank alone returns the error with *out still
 * set: the caller agrees on the outcome with the other ranks, then every rank calls
 * lz_out_close, which removes the file. */
int lz_out_create(const lz_comm *c, const char *path, const lz_job *job,
                  const lz_provenance *prov, int overwrite, lz_out **out, lz_err *err);

/* Asked between the datasets while a file is created: nonzero stops the creation. Collective:
 * every rank calls it the same number of times and must get the same answer (the scheduler
 * agrees on its stop flag across the ranks). */
typedef struct lz_out_stop {
  int (*requested)(void *ctx);
  void *ctx;
} lz_out_stop;

/* lz_out_create that gives up when stop says so: LZ_ESTOPPED on every rank, the partial file
 * removed (it never had the output's name), *out NULL. stop may be NULL. */
int lz_out_create_stoppable(const lz_comm *c, const char *path, const lz_job *job,
                            const lz_provenance *prov, int overwrite, const lz_out_stop *stop,
                            lz_out **out, lz_err *err);

/* Bytes of raw data the output file of job will hold (every dataset at full size). */
double lz_out_size_estimate(const lz_job *job);

/* Serial. Checks that path can be created (not a directory; its nearest existing directory
 * writable and on a writable file system), and that the file system and the process's file
 * size limit (ulimit -f) have room for bytes more. Creating the file writes every dataset in
 * full, and HDF5 does that from one rank inside collective calls: a disk that fills up there
 * would leave the other ranks waiting, so the job is refused up front. */
int lz_io_check_output_path(const char *path, double bytes, lz_err *err);

/* One writer per output file (docs/cluster.md). Serial: rank 0 takes it before the output is
 * created, resumed or replaced, and holds it for the run's whole life. Creates path + ".lock"
 * (its directory must exist) holding an fcntl lock and the record "host pid slurm_job_id
 * start_time". Fails with LZ_EJOB, naming the holder, while another run holds it; a lock left
 * by a run that is gone is taken over, with a note on stderr. */
typedef struct lz_out_lock lz_out_lock;
int lz_out_lock_take(const char *path, lz_out_lock **lock, lz_err *err);

/* Removes the lock file and frees *lock; sets it to NULL. Accepts NULL. */
void lz_out_lock_release(lz_out_lock **lock);

/* Collective on c. Opens an existing file to resume it, with every dataset the job writes (the
 * /pooled ones too). Fails with LZ_EJOB if the file was made from a different job (job_sha256
 * differs), is not an lrzoo file, or shapes its per-run arrays, bin edges or /pooled otherwise
 * than this job. Fills done[0..ntiles) with the /tiles/done flags. */
int lz_out_open_resume(const lz_comm *c, const char *path, const lz_job *job, lz_out **out,
                       uint8_t *done, lz_err *err);

/* Independent (any single rank). Writes the tile's results into their hyperslabs, then sets
 * /tiles/done for it: a tile is marked only once its results are in the file. */
int lz_out_write_tile(lz_out *o, const lz_tile_result *tr, lz_err *err);

/* Independent. Reads back runs first + k * stride (k < count): every /runs field that applies
 * to the job into runs[k] (through the field table's offsets; other members are left as they
 * are), and row k of each present per-run array a into arrays[a] (caller-allocated, count x
 * lz_array_shape_size elements of 8 bytes, a double or a uint64_t as the array's type; arrays
 * or arrays[a] NULL skips). Strided hyperslabs: no memory proportional to R. Used to pool the
 * invariant measure after the last tile: rows written by other ranks (independent MPI-IO, no
 * caching in HDF5) are read once those ranks have returned from lz_out_write_tile, so the
 * caller pools only after every rank has finished its tiles. Fails with LZ_EINVAL if a run is
 * outside [0, R). */
int lz_out_read_runs(lz_out *o, int64_t first, int64_t count, int64_t stride,
                     lz_run_result *runs, void *const *arrays, lz_err *err);

/* Independent. Writes pooled point p (0 <= p < P): every /pooled field that applies, from pr,
 * and for each pooled array a present in the job, one row from arrays[a] (arrays or arrays[a]
 * NULL skips). Fails with LZ_EINVAL if the job has no invariant measure. */
int lz_out_write_pooled(lz_out *o, int64_t point, const lz_pooled_result *pr,
                        void *const *arrays, lz_err *err);

/* Independent. Sets /pooled/done to 1; call it once every point is written (a killed job then
 * redoes the pooling on resume). Fails with LZ_EINVAL if the job has no invariant measure. */
int lz_out_mark_pooled(lz_out *o, lz_err *err);

/* Collective. Closes the file and frees o; sets *o to NULL. Accepts NULL. Attributes are never
 * changed after creation, so a resumed file keeps the provenance of the run that created it. */
int lz_out_close(lz_out **o, lz_err *err);

/* Serial. Reads the n x n dataset `dataset` of the HDF5 file at path into a (row-major).
 * Errors name the file and the dataset, and say what shape was found. */
int lz_io_read_matrix(const char *path, const char *dataset, int64_t n, double *a, lz_err *err);
/* Rows [row0, row1) of it into a ((row1 - row0) x n, row-major), as one hyperslab: a member of
 * a team reads only the rows it keeps. team NULL: serial. Else collective over team->comm,
 * every member with its own rows, through MPI-IO. */
int lz_io_read_matrix_rows(const lz_comm *team, const char *path, const char *dataset,
                           int64_t n, int64_t row0, int64_t row1, double *a, lz_err *err);

/* Serial. Checks that path holds an n x n numeric dataset of finite values, reading it a
 * block of rows at a time. */
int lz_io_check_matrix(const char *path, const char *dataset, int64_t n, lz_err *err);

/* Data points of an mlp read from a file: x, y and weight (NULL when the file has none), each
 * `points` long and owned by the caller (lz_io_free_data_points). */
typedef struct lz_data_points {
  double *x, *y, *weight;
  int64_t points;
} lz_data_points;
#define LZ_IO_MAX_DATA_POINTS 10000000

/* Serial. Reads the 1-D datasets x, y and (if present) weight of the HDF5 file at path: one
 * length from 1 to LZ_IO_MAX_DATA_POINTS, finite values, weights >= 0 with a positive sum.
 * Errors name the file and the dataset and say what was found. */
int lz_io_read_data_points(const char *path, lz_data_points *out, lz_err *err);
void lz_io_free_data_points(lz_data_points *d);

/* The HDF5 library version, "1.10.8", for provenance and --version. */
void lz_io_hdf5_version(char *buf, size_t len);

/* 1 after an output file failed to close (a write error while it was built: disk full, file
 * size limit). HDF5 keeps it open and would crash closing it when MPI is finalized, so the
 * caller must end the process without finalizing (the file itself has been removed). */
int lz_io_holds_a_broken_file(void);

/* What `lrzoo info` prints. */
typedef struct lz_out_info {
  char *name, *job_sha256, *lrzoo_version, *git_commit, *created_utc, *job_yaml;
  char *environment;         /* "NAME=value" lines of the switches set at creation (the root
                                attribute `environment`); NULL for a file that has none */
  int64_t nruns, ntiles, tiles_done;
  int64_t status_counts[LZ_STATUS_COUNT];
  int64_t engine_counts[LZ_ENGINE_COUNT];  /* runs per engine (/runs/engine); -1: no such data */
  int pooled_done;           /* /pooled/done: 0 or 1; -1 when the file has no /pooled */
} lz_out_info;

/* Serial. Reads the summary of an output file. Free with lz_out_info_free. */
int lz_out_read_info(const char *path, lz_out_info *info, lz_err *err);
void lz_out_info_free(lz_out_info *info);

#endif
