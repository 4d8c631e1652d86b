/* One number of a job file: its YAML text read as a finite number or integer, checked
 * against a constraint, and every way that can fail worded for the user. */

#include "parser.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { NUM_OK, NUM_NOT_A_NUMBER, NUM_NOT_FINITE, NUM_NOT_WHOLE, NUM_TOO_LARGE } num_status;

static bool looks_like_yaml_infinity_or_nan(const char *s) {
  static const char *const specials[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
                                         "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN", NULL};
  for (size_t i = 0; specials[i]; ++i)
    if (strcmp(s, specials[i]) == 0) return true;
  return false;
}

/* Quoted scalars are strings in YAML, so "4" is not accepted where a number is expected. */
static num_status parse_number(const yaml_node_t *n, bool whole, double *out) {
  if (!cfg_is_plain(n) || cfg_is_null(n) || cfg_is_bool(n)) return NUM_NOT_A_NUMBER;
  const char *s = cfg_text_of(n);
  size_t len = n->data.scalar.length;
  if (strlen(s) != len ||
      !(s[0] == '+' || s[0] == '-' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9')))
    return looks_like_yaml_infinity_or_nan(s) ? NUM_NOT_FINITE : NUM_NOT_A_NUMBER;
  if (looks_like_yaml_infinity_or_nan(s)) return NUM_NOT_FINITE;
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (end != s + len) return NUM_NOT_A_NUMBER;
  if (!isfinite(v)) return NUM_NOT_FINITE;
  if (whole) {
    /* strtoll for integer text: strtod would round 2^53 + 1 to 2^53 without a word. */
    errno = 0;
    long long i = strtoll(s, &end, 10);
    bool integer_text = end == s + len;
    if (integer_text && (errno == ERANGE || i > (long long)MAX_WHOLE || i < -(long long)MAX_WHOLE))
      return NUM_TOO_LARGE;
    if (integer_text) v = (double)i;
    if (v != floor(v)) return NUM_NOT_WHOLE;
    if (fabs(v) > MAX_WHOLE) return NUM_TOO_LARGE;
  }
  *out = v;
  return NUM_OK;
}

bool cfg_meets(constraint c, double v) {
  switch (c) {
    case C_FINITE: return isfinite(v);
    case C_POSITIVE: return v > 0;
    case C_NONNEG: return v >= 0;
    case C_GT_ONE: return v > 1;
    case C_OPEN_UNIT: return v > 0 && v < 1;
    case C_SMALL_DIM: return v >= 1 && v <= LZ_MULTISCALE_MAX_DIM;
    case C_ORDER: return v == 0 || v == 1 || v == 2;
  }
  return false;
}

const char *cfg_constraint_text(constraint c, bool whole) {
  switch (c) {
    case C_FINITE: return "";
    case C_POSITIVE: return whole ? ">= 1" : "> 0";
    case C_NONNEG: return ">= 0";
    case C_GT_ONE: return "> 1";
    case C_OPEN_UNIT: return "in (0, 1)";
    case C_SMALL_DIM: return "from 1 to 16";
    case C_ORDER: return "0, 1 or 2";
  }
  return "";
}

/* ">= 1", or ">= 1 and <= 10000" with an upper bound. */
static const char *range_text(const rule *r, char *buf, size_t size) {
  const char *c = cfg_constraint_text(r->check, r->whole);
  if (r->max > 0) snprintf(buf, size, "%s%s<= %.15g", c, *c ? " and " : "", r->max);
  else snprintf(buf, size, "%s", c);
  return buf;
}

/* "an integer >= 1", "a number in (0, 1)". */
static const char *expected_text(const rule *r, char *buf, size_t size) {
  char range[64];
  const char *c = range_text(r, range, sizeof range);
  snprintf(buf, size, "%s%s%s", r->whole ? "an integer" : "a number", *c ? " " : "", c);
  return buf;
}

bool cfg_check_number(parser *p, const yaml_node_t *n, const rule *r, double *out) {
  char expected[64], got[96];
  double v = 0;
  switch (parse_number(n, r->whole, &v)) {
    case NUM_OK: break;
    case NUM_NOT_A_NUMBER:
      cfg_report(p, cfg_mark_of(n), "%s must be %s%s; got %s", r->label,
                 expected_text(r, expected, sizeof expected), r->forms,
                 cfg_describe(n, got, sizeof got));
      return false;
    case NUM_NOT_FINITE:
      cfg_report(p, cfg_mark_of(n), "%s must be a finite number; got %s", r->label,
                 cfg_describe(n, got, sizeof got));
      return false;
    case NUM_NOT_WHOLE:
      cfg_report(p, cfg_mark_of(n), "%s must be %s; got %s, which is not an integer", r->label,
                 expected_text(r, expected, sizeof expected), cfg_describe(n, got, sizeof got));
      return false;
    case NUM_TOO_LARGE:
      cfg_report(p, cfg_mark_of(n),
                 "%s must be an integer of at most 2^53 = %.0f in magnitude; got %s", r->label,
                 MAX_WHOLE, cfg_describe(n, got, sizeof got));
      return false;
  }
  if (!cfg_meets(r->check, v) || (r->max > 0 && v > r->max)) {
    cfg_report(p, cfg_mark_of(n), "%s must be %s, got %s", r->label,
               range_text(r, expected, sizeof expected), cfg_printable(n, got, sizeof got));
    return false;
  }
  *out = v;
  return true;
}

const char *cfg_label_of(const key_spec *k) { return k->label ? k->label : k->name; }

rule cfg_rule_of(const key_spec *k) {
  rule r = {cfg_label_of(k), k->check, (k->flags & F_INTEGER) || k->type == T_INT, "", k->max};
  return r;
}
