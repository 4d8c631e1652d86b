/* Diagnostics: each problem of a job file with its position, listed in file order as
 * "PATH:LINE:COL: message" lines, and the words that messages are made of. */

#define _POSIX_C_SOURCE 200809L

#include "parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct diagnostic {
  lz_mark at;
  size_t order;  /* discovery order: keeps the sort by position stable */
  char *msg;
} diagnostic;

void cfg_report(parser *p, lz_mark at, const char *fmt, ...) {
  if (p->ndiag == MAX_DIAGNOSTICS) {
    p->dropped++;
    return;
  }
  if (p->ndiag == p->diag_cap) {
    size_t cap = p->diag_cap ? 2 * p->diag_cap : 16;
    diagnostic *grown = realloc(p->diag, cap * sizeof *grown);
    if (!grown) {
      p->oom = true;
      return;
    }
    p->diag = grown;
    p->diag_cap = cap;
  }
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char *copy = strdup(msg);
  if (!copy) {
    p->oom = true;
    return;
  }
  /* Positions outside the file (defaults) still need a LINE:COL for tools that parse them. */
  if (at.line <= 0) at = (lz_mark){1, 1};
  p->diag[p->ndiag] = (diagnostic){at, p->ndiag, copy};
  p->ndiag++;
}

bool cfg_has_errors(const parser *p) { return p->ndiag > 0 || p->dropped > 0 || p->oom; }

static int by_position(const void *a, const void *b) {
  const diagnostic *x = a, *y = b;
  if (x->at.line != y->at.line) return x->at.line < y->at.line ? -1 : 1;
  if (x->at.col != y->at.col) return x->at.col < y->at.col ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* All diagnostics as "PATH:LINE:COL: message" lines, in file order. */
char *cfg_join_diagnostics(parser *p) {
  qsort(p->diag, p->ndiag, sizeof *p->diag, by_position);
  size_t size = 128 + strlen(p->path);
  for (size_t i = 0; i < p->ndiag; ++i) size += strlen(p->path) + strlen(p->diag[i].msg) + 48;
  char *out = malloc(size);
  if (!out) return NULL;
  size_t used = 0;
  for (size_t i = 0; i < p->ndiag; ++i)
    used += (size_t)snprintf(out + used, size - used, "%s%s:%d:%d: %s", i ? "\n" : "", p->path,
                             p->diag[i].at.line, p->diag[i].at.col, p->diag[i].msg);
  if (p->dropped)
    used += (size_t)snprintf(out + used, size - used, "%s%s: %zu more errors not listed",
                             used ? "\n" : "", p->path, p->dropped);
  if (p->oom && !p->ndiag)
    snprintf(out + used, size - used, "%s: out of memory while reading the job file", p->path);
  return out;
}

void cfg_free_diagnostics(parser *p) {
  for (size_t i = 0; i < p->ndiag; ++i) free(p->diag[i].msg);
  free(p->diag);
  p->diag = NULL;
  p->ndiag = 0;
}

const char *cfg_join_names(const char *const *names, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; names[i] && used < size; ++i)
    used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
  return buf;
}

/* "4" or "[1, 2, 4, ...]" for messages. */
const char *cfg_format_values(const double *v, size_t len, char *buf, size_t size) {
  if (len == 1) {
    snprintf(buf, size, "%.6g", v[0]);
    return buf;
  }
  size_t used = (size_t)snprintf(buf, size, "[");
  for (size_t i = 0; i < len && i < 6 && used < size; ++i)
    used += (size_t)snprintf(buf + used, size - used, "%s%.6g", i ? ", " : "", v[i]);
  if (used < size) snprintf(buf + used, size - used, "%s]", len > 6 ? ", ..." : "");
  return buf;
}
