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
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  char joined[LZ_ERR_MSG_MAX];
  snprintf(joined, sizeof joined, "%s%s", prefix, err->msg);
  memcpy(err->msg, joined, sizeof err->msg);
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
