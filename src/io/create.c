/* lz_out_create: the file, its parent directories, and the whole sequence of creation, with
 * the agreement on failures that keeps every rank's collective calls matched. */
#include "output_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p of path's directory. Every rank calls it: mkdir is idempotent, so a rank that loses
 * the race just sees EEXIST, and every rank knows the directory exists when it returns. */
int io_make_parent_directories(const char *path, lz_err *err) {
  size_t len = strlen(path);
  char *dir = malloc(len + 1);
  if (!dir) return lz_err_set(err, LZ_ENOMEM, "%s: no memory", path);
  memcpy(dir, path, len + 1);
  char *slash = strrchr(dir, '/');
  int rc = LZ_OK;
  if (slash && slash != dir) {
    *slash = '\0';
    for (char *p = dir + 1; rc == LZ_OK; ++p) {
      if (*p != '/' && *p != '\0') continue;
      char saved = *p;
      *p = '\0';
      if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        rc = lz_err_set(err, LZ_EIO, "%s: cannot create directory %s: %s", path, dir,
                        strerror(errno));
      *p = saved;
      if (saved == '\0') break;
    }
  }
  /* mkdir also says EEXIST for a file of that name, and the MPI-IO open would report either case
   * only as an unnamed error; say which it is. */
  const char *where = slash ? (slash == dir ? "/" : dir) : ".";
  struct stat st;
  if (rc == LZ_OK && (stat(where, &st) != 0 || !S_ISDIR(st.st_mode)))
    rc = lz_err_set(err, LZ_EIO, "%s: %s is not a directory", path, where);
  else if (rc == LZ_OK && access(where, W_OK | X_OK) != 0)
    rc = lz_err_set(err, LZ_EIO, "%s: cannot write in directory %s: %s", path, where,
                    strerror(errno));
  free(dir);
  return rc;
}

/* A new file is built under a name of its own and takes its real name only once its layout is
 * on disk (publish_file), so a run killed while it creates the file leaves no half-built file
 * under the output's name: the next run starts afresh, and --overwrite keeps the old file until
 * the new one replaces it. The scheduler checks that path is free under the output's lock; the
 * check here serves callers without one and runs before any collective call. */
static int create_file(lz_out *o, const lz_comm *c, int overwrite, lz_err *err) {
  if (!overwrite && access(o->path, F_OK) == 0)
    return lz_err_set(err, LZ_EJOB, "%s exists; use --resume to continue it or --overwrite to "
                      "replace it", o->path);
  size_t len = strlen(o->path);
  o->building_path = malloc(len + sizeof ".creating");
  if (!o->building_path) return lz_err_set(err, LZ_ENOMEM, "%s: no memory", o->path);
  memcpy(o->building_path, o->path, len);
  memcpy(o->building_path + len, ".creating", sizeof ".creating");
  hid_t fapl = io_new_mpio_fapl(c);
  hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
  int rc = LZ_OK;
  /* The root group, like every object, carries no timestamps (see datasets.c). */
  if (fapl < 0 || fcpl < 0 || H5Pset_obj_track_times(fcpl, 0) < 0)
    rc = lz_h5_fail(err, "%s: file creation or MPI-IO access properties failed", o->path);
  if (rc == LZ_OK) o->file = H5Fcreate(o->building_path, H5F_ACC_TRUNC, fcpl, fapl);
  if (rc == LZ_OK && o->file < 0)
    rc = lz_h5_fail(err, "%s: H5Fcreate of %s failed", o->path, o->building_path);
  lz_h5_close(&fcpl);
  lz_h5_close(&fapl);
  return rc;
}

/* Rank 0 gives the built file its real name (atomically replacing an old file under
 * --overwrite); the open handles of every rank keep working, as they follow the inode. */
static int publish_file(lz_out *o, const lz_comm *c, lz_err *err) {
  int rc = LZ_OK;
  if (c->rank == 0 && rename(o->building_path, o->path) != 0)
    rc = lz_err_set(err, LZ_EIO, "%s: cannot rename %s to it: %s", o->path, o->building_path,
                    strerror(errno));
  if (rc == LZ_OK) {
    free(o->building_path);
    o->building_path = NULL;
  }
  return rc;
}

static int build_file(lz_out *o, const lz_comm *c, const lz_job *job, const lz_provenance *prov,
                      int *failed_alone, lz_err *err) {
  io_layout l;
  if (io_layout_init(&l, job->naxes) != LZ_OK)
    return lz_err_set(err, LZ_ENOMEM, "%s: no memory", o->path);
  int rc = io_new_independent_dxpl(o, err);
  if (rc == LZ_OK) rc = io_create_structure(o, &l, job, prov, err);
  /* Only rank 0 writes the known data. A failure there is reported by rank 0 alone, after it
   * has taken part in the remaining collective steps, so the other ranks never wait on it. */
  int rank0_rc = LZ_OK;
  lz_err rank0_err = {0};
  if (rc == LZ_OK && c->rank == 0) rank0_rc = io_write_known_data(o, &l, job, &rank0_err);
  io_layout_close(&l);
  if (rc == LZ_OK && H5Fflush(o->file, H5F_SCOPE_GLOBAL) < 0)
    rc = lz_h5_fail(err, "%s: H5Fflush after creating the layout failed", o->path);
  if (rc == LZ_OK && rank0_rc == LZ_OK) rank0_rc = publish_file(o, c, &rank0_err);
  if (rc == LZ_OK && rank0_rc != LZ_OK) {
    if (err) *err = rank0_err;
    rc = rank0_rc;
    *failed_alone = 1;
  }
  return rc;
}

int lz_out_create(const lz_comm *c, const char *path, const lz_job *job,
                  const lz_provenance *prov, int overwrite, lz_out **out, lz_err *err) {
  return lz_out_create_stoppable(c, path, job, prov, overwrite, NULL, out, err);
}

int lz_out_create_stoppable(const lz_comm *c, const char *path, const lz_job *job,
                            const lz_provenance *prov, int overwrite, const lz_out_stop *stop,
                            lz_out **out, lz_err *err) {
  if (!out) return lz_err_set(err, LZ_EINVAL, "lz_out_create: out is NULL");
  *out = NULL;
  if (!c || !path || !job || !prov)
    return lz_err_set(err, LZ_EINVAL, "lz_out_create: NULL argument");
  lz_h5_silence_automatic_errors();
  int rc = io_check_job_for_output(job, err);
  if (rc == LZ_OK) rc = io_make_parent_directories(path, err);
  if (rc != LZ_OK) return rc;
  lz_out *o = io_out_new(path, job, c->rank);
  if (!o) return lz_err_set(err, LZ_ENOMEM, "%s: no memory", path);
  o->stop = stop;
  rc = create_file(o, c, overwrite, err);
  int created = rc == LZ_OK, failed_alone = 0;
  if (rc == LZ_OK) rc = build_file(o, c, job, prov, &failed_alone, err);
  o->remove_on_close = rc != LZ_OK && created;
  if (rc != LZ_OK && failed_alone) {
    /* The other ranks succeeded and hold the file open. Closing is collective, so this rank
     * must not close alone: it hands o back with the error, the caller agrees on the outcome
     * (lz_sched_agree) and then every rank calls lz_out_close, which removes the file. */
    *out = o;
    return rc;
  }
  if (rc != LZ_OK) {
    io_out_close_and_free(o, NULL);
    return rc;
  }
  o->stop = NULL;  /* only the creation asks it */
  *out = o;
  return LZ_OK;
}
