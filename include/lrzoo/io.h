/* The output file and target-matrix input. The only module that calls HDF5.
 *
 * Layout (DESIGN.md, README.md): provenance attributes on /, /axes/<axis>, /runs/run (scale),
 * /runs/<axis> (coordinates), /runs/<field> for every field of lz_run_fields that applies to
 * the job, the per-run arrays of lz_array_descs (/runs/trace/loss, /runs/trace/sharpness with
 * their step scales /runs/trace/<name>_step, /runs/orbit), and /tiles/{tile,done,first_run,
 * run_count}. Every dataset is created, at its full size and with early allocation, by
 * lz_out_create; afterwards only raw data is written, so the file's metadata is never in flux
 * and a killed job leaves a readable, resumable file. */
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

/* Bytes of raw data the output file of job will hold (every dataset at full size). */
double lz_out_size_estimate(const lz_job *job);

/* Serial. Checks that the file system holding path has room for bytes more. Creating the file
 * writes every dataset in full, and HDF5 does that from one rank inside collective calls: a disk
 * that fills up there would leave the other ranks waiting, so the job is refused up front. */
int lz_io_check_free_space(const char *path, double bytes, lz_err *err);

/* Collective on c. Opens an existing file to resume it. Fails with LZ_EJOB if the file was
 * made from a different job (job_sha256 differs) or is not an lrzoo file. Fills done[0..ntiles)
 * with the /tiles/done flags. */
int lz_out_open_resume(const lz_comm *c, const char *path, const lz_job *job, lz_out **out,
                       uint8_t *done, lz_err *err);

/* Independent (any single rank). Writes the tile's results into their hyperslabs, then sets
 * /tiles/done for it: a tile is marked only once its results are in the file. */
int lz_out_write_tile(lz_out *o, const lz_tile_result *tr, lz_err *err);

/* Collective. Closes the file and frees o; sets *o to NULL. Accepts NULL. Attributes are never
 * changed after creation, so a resumed file keeps the provenance of the run that created it. */
int lz_out_close(lz_out **o, lz_err *err);

/* Serial. Reads the n x n dataset `dataset` of the HDF5 file at path into a (row-major).
 * Errors name the file and the dataset, and say what shape was found. */
int lz_io_read_matrix(const char *path, const char *dataset, int64_t n, double *a, lz_err *err);

/* Serial. Checks that path holds an n x n numeric dataset, without reading it. */
int lz_io_check_matrix(const char *path, const char *dataset, int64_t n, lz_err *err);

/* The HDF5 library version, "1.10.8", for provenance and --version. */
void lz_io_hdf5_version(char *buf, size_t len);

/* What `lrzoo info` prints. */
typedef struct lz_out_info {
  char *name, *job_sha256, *lrzoo_version, *git_commit, *created_utc, *job_yaml;
  int64_t nruns, ntiles, tiles_done;
  int64_t status_counts[LZ_STATUS_COUNT];
} lz_out_info;

/* Serial. Reads the summary of an output file. Free with lz_out_info_free. */
int lz_out_read_info(const char *path, lz_out_info *info, lz_err *err);
void lz_out_info_free(lz_out_info *info);

#endif
