/* Bounded reads of the files lrzoo is given (include/lrzoo/input_file.h). */
#define _POSIX_C_SOURCE 200809L

#include "lrzoo/input_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of_file(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a plain file";
}

/* "64 MiB", "1.5 GiB": sizes in messages. */
static void format_bytes(int64_t bytes, char *buf, size_t size) {
  static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024 && u < 5) v /= 1024, ++u;
  if (u == 0) snprintf(buf, size, "%" PRId64 " bytes", bytes);
  else snprintf(buf, size, "%.4g %s", v, units[u]);
}

static int refuse_too_large(const char *path, const char *what, int64_t size, int64_t max_bytes,
                            lz_err *err) {
  char got[32], allowed[32];
  format_bytes(size, got, sizeof got);
  format_bytes(max_bytes, allowed, sizeof allowed);
  return lz_err_set(err, LZ_EJOB, "%s: the %s is too large: %s, more than the %s allowed", path,
                    what, got, allowed);
}

/* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused once it is open. */
static int open_regular_file(const char *path, const char *what, int64_t max_bytes, int *fd,
                             lz_err *err) {
  *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (*fd < 0)
    return lz_err_set(err, LZ_EJOB, "%s: cannot open the %s: %s", path, what, strerror(errno));
  struct stat st;
  int rc = LZ_OK;
  if (fstat(*fd, &st) != 0)
    rc = lz_err_set(err, LZ_EJOB, "%s: cannot stat the %s: %s", path, what, strerror(errno));
  else if (!S_ISREG(st.st_mode))
    rc = lz_err_set(err, LZ_EJOB, "%s: the %s is %s; it must be a regular file", path, what,
                    kind_of_file(st.st_mode));
  else if (max_bytes >= 0 && (int64_t)st.st_size > max_bytes)
    rc = refuse_too_large(path, what, (int64_t)st.st_size, max_bytes, err);
  if (rc != LZ_OK) {
    close(*fd);
    *fd = -1;
  }
  return rc;
}

int lz_input_check(const char *path, const char *what, int64_t max_bytes, lz_err *err) {
  int fd;
  int rc = open_regular_file(path, what, max_bytes, &fd, err);
  if (rc == LZ_OK) close(fd);
  return rc;
}

/* Reads at most cap bytes, whatever the file does meanwhile. */
static int read_at_most(int fd, const char *path, const char *what, char *buf, size_t cap,
                        size_t *len, lz_err *err) {
  *len = 0;
  while (*len < cap) {
    ssize_t got = read(fd, buf + *len, cap - *len);
    if (got == 0) return LZ_OK;
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      return lz_err_set(err, LZ_EJOB, "%s: cannot read the %s: %s", path, what, strerror(errno));
    *len += (size_t)got;
  }
  return LZ_OK;
}

int lz_input_read(const char *path, const char *what, int64_t max_bytes, char **text,
                  size_t *len, lz_err *err) {
  *text = NULL;
  *len = 0;
  int fd;
  int rc = open_regular_file(path, what, max_bytes, &fd, err);
  if (rc != LZ_OK) return rc;
  struct stat st;
  /* One byte more than the checked size: reading it means the file grew since the check. */
  size_t cap = fstat(fd, &st) == 0 ? (size_t)st.st_size + 1 : 1;
  char *buf = malloc(cap + 1);
  if (!buf) rc = lz_err_set(err, LZ_ENOMEM, "%s: out of memory reading the %s", path, what);
  if (rc == LZ_OK) rc = read_at_most(fd, path, what, buf, cap, len, err);
  close(fd);
  if (rc == LZ_OK && *len == cap)
    rc = lz_err_set(err, LZ_EJOB, "%s: the %s grew while it was read; read it when it is "
                    "complete", path, what);
  if (rc != LZ_OK) {
    free(buf);
    *len = 0;
    return rc;
  }
  buf[*len] = '\0';
  *text = buf;
  return LZ_OK;
}
