#define _POSIX_C_SOURCE 200809L  /* strnlen */
#include "lrzoo/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *lz_err_name(int code) {
  switch (code) {
    case LZ_OK: return "LZ_OK";
    case LZ_ENOMEM: return "LZ_ENOMEM";
    case LZ_EINVAL: return "LZ_EINVAL";
    case LZ_EJOB: return "LZ_EJOB";
    case LZ_EIO: return "LZ_EIO";
    case LZ_EHDF5: return "LZ_EHDF5";
    case LZ_EMPI: return "LZ_EMPI";
    case LZ_ESTOPPED: return "LZ_ESTOPPED";
    case LZ_ENUMERIC: return "LZ_ENUMERIC";
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
    case LZ_OK: return 0;
    case LZ_EJOB: return 2;
    case LZ_ESTOPPED: return 3;
    default: return 1;
  }
}
