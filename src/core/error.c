#define _POSIX_C_SOURCE 200809L  /* strnlen */
#include "lrzoo/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *lz_err_name(int code) {
  switch (code) {
#define LZ_ERR_NAME_CASE(name, value, exit_status, meaning) \
  case LZ_##name: return "LZ_" #name;
    LZ_ERRNO_MAP(LZ_ERR_NAME_CASE)
#undef LZ_ERR_NAME_CASE
    default: return "LZ_EUNKNOWN";
  }
}

int lz_err_set(lz_err *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

int lz_err_prefix(lz_err *err, const char *fmt, ...) {
  if (!err) return LZ_EINVAL;
  char prefix[LZ_ERR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  if (n <= 0) return err->code;
  size_t plen = (size_t)n < sizeof prefix ? (size_t)n : sizeof prefix - 1;
  size_t mlen = strnlen(err->msg, sizeof err->msg - 1);
  /* Keep the prefix whole and cut the old message if both do not fit. */
  if (plen + mlen > sizeof err->msg - 1) mlen = sizeof err->msg - 1 - plen;
  memmove(err->msg + plen, err->msg, mlen);
  memcpy(err->msg, prefix, plen);
  err->msg[plen + mlen] = '\0';
  return err->code;
}

int lz_exit_code(int code) {
  switch (code) {
#define LZ_ERR_EXIT_CASE(name, value, exit_status, meaning) \
  case LZ_##name: return exit_status;
    LZ_ERRNO_MAP(LZ_ERR_EXIT_CASE)
#undef LZ_ERR_EXIT_CASE
    default: return 1;
  }
}
