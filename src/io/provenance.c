/* The provenance on /: what made the file, from which job, and under which environment
 * switches. Attributes are never changed after creation, so a resumed file keeps the provenance
 * of the run that created it. */
#define _POSIX_C_SOURCE 200809L

#include "output_internal.h"

#include <stdlib.h>

#include "lrzoo/env_switches.h"

/* The attribute is written collectively, so every rank must pass the same text: the scheduler
 * sends rank 0's (prov->environment). Without it (a single-process caller), this process's. */
static int write_environment(lz_out *o, const lz_provenance *prov, lz_err *err) {
  char *own = prov->environment ? NULL : lz_env_switches_text();
  const char *text = prov->environment ? prov->environment : own;
  if (!text)
    return lz_err_set(err, LZ_ENOMEM, "%s: no memory for the environment attribute", o->path);
  int rc = io_write_string_attribute(o->file, o->path, "/", io_root_attr_names[ROOT_ENVIRONMENT],
                                     text, err);
  free(own);
  return rc;
}

static int write_provenance_strings(lz_out *o, const lz_job *job, const lz_provenance *prov,
                                    lz_err *err) {
  char hdf5_version[32];
  lz_io_hdf5_version(hdf5_version, sizeof hdf5_version);
  const char *values[ROOT_ENVIRONMENT] = {
      [ROOT_LRZOO_VERSION] = prov->lrzoo_version, [ROOT_GIT_COMMIT] = prov->git_commit,
      [ROOT_JOB_NAME] = job->name,                [ROOT_JOB_SHA256] = job->sha256,
      [ROOT_JOB_YAML] = job->text,                [ROOT_HDF5_VERSION] = hdf5_version,
      [ROOT_MPILIB_VERSION] = prov->mpi_version,     [ROOT_BLAS] = prov->blas,
      [ROOT_CREATED_UTC] = prov->created_utc,
  };
  int rc = LZ_OK;
  for (int i = 0; i < ROOT_ENVIRONMENT && rc == LZ_OK; ++i)
    rc = io_write_string_attribute(o->file, o->path, "/", io_root_attr_names[i], values[i], err);
  return rc;
}

int io_write_provenance(lz_out *o, const lz_job *job, const lz_provenance *prov, lz_err *err) {
  const char *const *names = io_root_attr_names;
  int rc = write_provenance_strings(o, job, prov, err);
  if (rc == LZ_OK) rc = write_environment(o, prov, err);
  if (rc == LZ_OK)
    rc = io_write_scalar_attribute(o->file, o->path, "/", names[ROOT_SEED], H5T_STD_U64LE,
                                   H5T_NATIVE_UINT64, &job->seed, err);
  if (rc == LZ_OK)
    rc = io_write_int64_attribute(o->file, o->path, "/", names[ROOT_RANK_COUNT], prov->mpi_ranks,
                                  err);
  if (rc == LZ_OK)
    rc = io_write_int64_attribute(o->file, o->path, "/", names[ROOT_OMP_THREADS],
                                  prov->omp_threads, err);
  if (rc == LZ_OK)
    rc = io_write_int64_attribute(o->file, o->path, "/", names[ROOT_FORMAT_VERSION],
                                  LZ_FORMAT_VERSION, err);
  return rc;
}
