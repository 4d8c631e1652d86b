/* One writer per output file: the lock file OUT.lock next to the output (docs/cluster.md, "One
 * writer per output file"). Serial, rank 0.
 *
 * Whoever holds the fcntl lock on the lock file owns it; the record in it ("host pid
 * slurm_job_id start_time") names the owner for the others. A takeover rewrites the record in
 * place instead of replacing the file, so two takers always contend for the same fcntl lock.
 * Where the file system keeps no fcntl locks across hosts (Lustre with -o localflock, NFS with
 * local_lock), a record of another host is judged by its heartbeat: the owner touches the file
 * every LOCK_HEARTBEAT_SECONDS, and one untouched for LOCK_STALE_SECONDS is taken as gone. */
#define _DEFAULT_SOURCE  /* gethostname */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lrzoo/sysinfo.h"
#include "output_internal.h"

#define LOCK_HEARTBEAT_SECONDS 60
/* Ten heartbeats: room for a node's clock that is a few minutes off the file server's. */
#define LOCK_STALE_SECONDS 600
/* A lock file that vanishes between our open and our fcntl lock (its owner ended) is tried
 * again; more rounds than that mean something keeps replacing it. */
#define LOCK_ATTEMPTS 8

typedef struct lock_record {
  char host[256];
  long pid;
  char slurm_job[64];
  char since[64];
} lock_record;

struct lz_out_lock {
  char *path;
  int fd;
  pthread_t heartbeat;
  int heartbeat_running;
  int stopping;
  pthread_mutex_t mutex;
  pthread_cond_t wake;
};

typedef enum fcntl_outcome { FCNTL_TAKEN, FCNTL_HELD_BY_ANOTHER, FCNTL_UNSUPPORTED } fcntl_outcome;

static char *lock_path_of(const char *path) {
  size_t len = strlen(path);
  char *p = malloc(len + sizeof ".lock");
  if (p) {
    memcpy(p, path, len);
    memcpy(p + len, ".lock", sizeof ".lock");
  }
  return p;
}

static void describe_this_process(lock_record *r) {
  if (gethostname(r->host, sizeof r->host) != 0) snprintf(r->host, sizeof r->host, "unknown");
  r->host[sizeof r->host - 1] = '\0';
  r->pid = (long)getpid();
  const char *job = getenv("SLURM_JOB_ID");
  snprintf(r->slurm_job, sizeof r->slurm_job, "%s", job && *job && !strchr(job, ' ') ? job : "-");
  lz_utc_now(r->since, sizeof r->since);
}

static fcntl_outcome lock_whole_file(int fd) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(fd, F_SETLK, &fl) == 0) return FCNTL_TAKEN;
  return errno == EACCES || errno == EAGAIN ? FCNTL_HELD_BY_ANOTHER : FCNTL_UNSUPPORTED;
}

/* A record still being written by its creator reads as empty: host "", pid 0. */
static void read_record(int fd, lock_record *r) {
  memset(r, 0, sizeof *r);
  char text[512];
  ssize_t n = pread(fd, text, sizeof text - 1, 0);
  text[n > 0 ? n : 0] = '\0';
  if (sscanf(text, "%255s %ld %63s %63s", r->host, &r->pid, r->slurm_job, r->since) != 4)
    memset(r, 0, sizeof *r);
}

static int write_record(int fd, const char *lock_path, const lock_record *r, lz_err *err) {
  char text[512];
  int n = snprintf(text, sizeof text, "%s %ld %s %s\n", r->host, r->pid, r->slurm_job, r->since);
  if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n || fsync(fd) != 0)
    return lz_err_set(err, LZ_EIO, "%s: cannot write the lock file: %s", lock_path,
                      strerror(errno));
  return LZ_OK;
}

static void describe_holder(const lock_record *r, char *buf, size_t len) {
  if (!r->host[0]) {
    snprintf(buf, len, "a run that has not yet written its host and pid into it");
    return;
  }
  char job[96] = "no SLURM job";
  if (strcmp(r->slurm_job, "-") != 0) snprintf(job, sizeof job, "SLURM job %s", r->slurm_job);
  snprintf(buf, len, "host %s, pid %ld, %s, since %s", r->host, r->pid, job, r->since);
}

static int refuse_second_writer(const char *path, const char *lock_path, const lock_record *r,
                                lz_err *err) {
  char holder[512];
  describe_holder(r, holder, sizeof holder);
  return lz_err_set(err, LZ_EJOB, "%s is being written by another lrzoo run (%s; lock file %s); "
                    "wait for it to end, or stop it and then continue with --resume; if that run "
                    "is certainly gone, remove %s by hand", path, holder, lock_path, lock_path);
}

static int is_this_host(const lock_record *r) {
  lock_record me;
  describe_this_process(&me);
  return r->host[0] && strcmp(r->host, me.host) == 0;
}

static int process_is_gone(long pid) { return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH; }

static int heartbeat_is_old(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && difftime(time(NULL), st.st_mtime) > LOCK_STALE_SECONDS;
}

/* Why the lock of another run no longer holds, or NULL when it does. */
static const char *why_stale(int fd, const lock_record *r, fcntl_outcome got) {
  if (got == FCNTL_HELD_BY_ANOTHER) return NULL;
  if (is_this_host(r) && got == FCNTL_TAKEN) return "its fcntl lock was free";
  if (is_this_host(r) && process_is_gone(r->pid)) return "its process no longer exists";
  if (!is_this_host(r) && heartbeat_is_old(fd))
    return "its heartbeat stopped more than 10 minutes ago";
  return NULL;
}

/* 1 when fd is still the file at lock_path: its owner may have removed it since we opened it,
 * and a lock on a removed file guards nothing. */
static int still_names_the_file(int fd, const char *lock_path) {
  struct stat by_fd, by_path;
  return fstat(fd, &by_fd) == 0 && stat(lock_path, &by_path) == 0 &&
         by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino;
}

static int record_names_this_process(int fd) {
  lock_record r;
  read_record(fd, &r);
  return is_this_host(&r) && r.pid == (long)getpid();
}

static void *beat(void *arg) {
  lz_out_lock *l = arg;
  pthread_mutex_lock(&l->mutex);
  while (!l->stopping) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += LOCK_HEARTBEAT_SECONDS;
    if (pthread_cond_timedwait(&l->wake, &l->mutex, &until) == ETIMEDOUT && !l->stopping)
      futimens(l->fd, NULL);  /* NULL: the file server's clock, where there is one */
  }
  pthread_mutex_unlock(&l->mutex);
  return NULL;
}

static lz_out_lock *new_lock(char *lock_path, int fd) {
  lz_out_lock *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->path = lock_path;
  l->fd = fd;
  pthread_mutex_init(&l->mutex, NULL);
  pthread_cond_init(&l->wake, NULL);
  l->heartbeat_running = pthread_create(&l->heartbeat, NULL, beat, l) == 0;
  return l;
}

/* One round: creates the lock file, or judges the one there. *retry asks for another round. */
static int try_to_lock(const char *path, char *lock_path, lz_out_lock **lock, int *retry,
                       lz_err *err) {
  *retry = 0;
  int fd = open(lock_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  int created = fd >= 0;
  if (!created && errno == EEXIST) fd = open(lock_path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *retry = errno == ENOENT;
    return *retry ? LZ_OK : lz_err_set(err, LZ_EIO, "%s: cannot create the lock file %s: %s",
                                       path, lock_path, strerror(errno));
  }
  fcntl_outcome got = lock_whole_file(fd);
  int rc = LZ_OK;
  if (got != FCNTL_HELD_BY_ANOTHER && !still_names_the_file(fd, lock_path)) {
    *retry = 1;
  } else if (!created || got == FCNTL_HELD_BY_ANOTHER) {
    lock_record holder;
    read_record(fd, &holder);
    const char *why = why_stale(fd, &holder, got);
    char who[512];
    describe_holder(&holder, who, sizeof who);
    if (why)
      fprintf(stderr, "lrzoo: %s: taking over the stale lock of %s: %s\n", lock_path, who, why);
    else
      rc = refuse_second_writer(path, lock_path, &holder, err);
  }
  if (rc == LZ_OK && !*retry) {
    lock_record me;
    describe_this_process(&me);
    rc = write_record(fd, lock_path, &me, err);
    /* Our own new file: nobody else's, so it goes with the failure. */
    if (rc != LZ_OK && created) unlink(lock_path);
  }
  if (rc == LZ_OK && !*retry) {
    *lock = new_lock(lock_path, fd);
    if (*lock) return LZ_OK;
    unlink(lock_path);
    rc = lz_err_set(err, LZ_ENOMEM, "%s: no memory", path);
  }
  close(fd);
  return rc;
}

int lz_out_lock_take(const char *path, lz_out_lock **lock, lz_err *err) {
  if (!lock) return lz_err_set(err, LZ_EINVAL, "lz_out_lock_take: lock is NULL");
  *lock = NULL;
  char *lock_path = path ? lock_path_of(path) : NULL;
  if (!lock_path) return lz_err_set(err, LZ_ENOMEM, "lz_out_lock_take: no memory");
  /* The output's directory is made now, not with the file: the lock comes first. */
  int rc = io_make_parent_directories(path, err), retry = 1;
  for (int round = 0; rc == LZ_OK && retry && round < LOCK_ATTEMPTS; ++round)
    rc = try_to_lock(path, lock_path, lock, &retry, err);
  if (rc == LZ_OK && retry)
    rc = lz_err_set(err, LZ_EIO, "%s: the lock file %s kept being replaced while it was taken; "
                    "is another run starting on it?", path, lock_path);
  if (!*lock) free(lock_path);
  return rc;
}

void lz_out_lock_release(lz_out_lock **lock) {
  if (!lock || !*lock) return;
  lz_out_lock *l = *lock;
  if (l->heartbeat_running) {
    pthread_mutex_lock(&l->mutex);
    l->stopping = 1;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->mutex);
    pthread_join(l->heartbeat, NULL);
  }
  /* Removed while still held, so that nobody can take the lock of a file about to vanish. A
   * file that is no longer ours (taken over as stale while we were stopped) stays. */
  if (still_names_the_file(l->fd, l->path) && record_names_this_process(l->fd)) unlink(l->path);
  close(l->fd);
  pthread_cond_destroy(&l->wake);
  pthread_mutex_destroy(&l->mutex);
  free(l->path);
  free(l);
  *lock = NULL;
}
