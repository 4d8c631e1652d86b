/* Values of keys: sweeps (numbers, lists and generated axes), names and choices, vectors and
 * vector axes, strings, integers, numbers and [lo, hi] ranges. */

#define _POSIX_C_SOURCE 200809L

#include "parser.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const generator_names[] = {"linspace", "logspace", "geomspace", NULL};

/* A list of numbers read for one key: a single number is fixed, anything else an axis. */
typedef struct numbers {
  double *v;
  size_t len;
  bool is_axis;
} numbers;

void *cfg_alloc_doubles(parser *p, size_t n) {
  double *v = n <= SIZE_MAX / sizeof *v ? malloc((n ? n : 1) * sizeof *v) : NULL;
  if (!v) p->oom = true;
  return v;
}

static bool read_one_number(parser *p, const yaml_node_t *n, const key_spec *k, numbers *out) {
  rule r = cfg_rule_of(k);
  r.forms = ", a list of them, or {linspace|logspace|geomspace: [start, stop, num]}";
  out->v = cfg_alloc_doubles(p, 1);
  out->len = 1;
  out->is_axis = false;
  return out->v && cfg_check_number(p, n, &r, &out->v[0]);
}

static bool read_number_list(parser *p, const yaml_node_t *list, const key_spec *k, numbers *out) {
  size_t len = cfg_list_size(list);
  if (len == 0) {
    cfg_report(p, cfg_mark_of(list), "%s is an empty list; give at least one value",
               cfg_label_of(k));
    return false;
  }
  if (len > AXIS_MAX_LEN) {
    cfg_report(p, cfg_mark_of(list), "%s has %zu values; an axis has at most %d", cfg_label_of(k),
               len, AXIS_MAX_LEN);
    return false;
  }
  if (!cfg_sweep_has_room(p, k->slot, len, cfg_mark_of(list))) return false;
  out->v = cfg_alloc_doubles(p, len);
  out->len = len;
  out->is_axis = true;
  if (!out->v) return false;
  rule r = cfg_rule_of(k);
  bool ok = true;
  for (size_t i = 0; i < len; ++i)
    if (!cfg_check_number(p, cfg_list_item(p, list, i), &r, &out->v[i])) ok = false;
  return ok;
}

static bool read_generator_args(parser *p, const yaml_node_t *args, const key_spec *k,
                                const char *gen, double *a, double *b, double *num) {
  char got[96], label[96];
  if (!cfg_is_list(args) || cfg_list_size(args) != 3) {
    cfg_report(
        p, cfg_mark_of(args), "%s: %s takes [start, stop, num]; got %s", cfg_label_of(k), gen,
        cfg_is_list(args) ? "a list of the wrong length" : cfg_describe(args, got, sizeof got));
    return false;
  }
  snprintf(label, sizeof label, "%s: %s start", cfg_label_of(k), gen);
  rule start = {label, C_FINITE, false, "", 0};
  bool ok = cfg_check_number(p, cfg_list_item(p, args, 0), &start, a);
  snprintf(label, sizeof label, "%s: %s stop", cfg_label_of(k), gen);
  rule stop = {label, C_FINITE, false, "", 0};
  ok = cfg_check_number(p, cfg_list_item(p, args, 1), &stop, b) && ok;
  snprintf(label, sizeof label, "%s: %s num", cfg_label_of(k), gen);
  rule count = {label, C_POSITIVE, true, "", 0};
  ok = cfg_check_number(p, cfg_list_item(p, args, 2), &count, num) && ok;
  if (ok && *num > AXIS_MAX_LEN) {
    cfg_report(p, cfg_mark_of(cfg_list_item(p, args, 2)),
               "%s must be at most %d (points on one axis), got %.0f", label, AXIS_MAX_LEN, *num);
    ok = false;
  }
  return ok;
}

/* Like numpy.linspace / logspace / geomspace, ends included. */
void cfg_generate(generator gen, double a, double b, size_t num, double *v) {
  double step = num > 1 ? (b - a) / (double)(num - 1) : 0.0;
  if (gen == GEN_GEOMSPACE) {
    double sign = a < 0 ? -1.0 : 1.0, la = log10(fabs(a)), lb = log10(fabs(b));
    step = num > 1 ? (lb - la) / (double)(num - 1) : 0.0;
    for (size_t i = 0; i < num; ++i) v[i] = sign * pow(10.0, la + (double)i * step);
    v[0] = a;
    if (num > 1) v[num - 1] = b;
    return;
  }
  for (size_t i = 0; i < num; ++i) v[i] = a + (double)i * step;
  if (num > 1) v[num - 1] = b;
  if (gen == GEN_LOGSPACE)
    for (size_t i = 0; i < num; ++i) v[i] = pow(10.0, v[i]);
}

/* Generated values are checked one by one; the error points at start or stop when that end is
 * the culprit. Integer keys accept values within rounding of an integer. */
static bool check_generated(parser *p, const key_spec *k, const yaml_node_t *args, const char *gen,
                            numbers *nums) {
  rule r = cfg_rule_of(k);
  for (size_t i = 0; i < nums->len; ++i) {
    double v = nums->v[i];
    const yaml_node_t *at = i == 0 ? cfg_list_item(p, args, 0)
                          : i == nums->len - 1 ? cfg_list_item(p, args, 1) : args;
    if (!isfinite(v)) {
      cfg_report(p, cfg_mark_of(at),
                 "%s: %s gives %g at value %zu of %zu; every value must be finite", r.label, gen, v,
                 i + 1, nums->len);
      return false;
    }
    if (r.whole) {
      double whole = nearbyint(v);
      if (fabs(v - whole) > 1e-9 * fmax(1.0, fabs(whole)) || fabs(whole) > MAX_WHOLE) {
        cfg_report(p, cfg_mark_of(at), "%s must be integers, but %s gives %.6g at value %zu of %zu",
                   r.label, gen, v, i + 1, nums->len);
        return false;
      }
      nums->v[i] = v = whole;
    }
    if (!cfg_meets(r.check, v)) {
      cfg_report(p, cfg_mark_of(at), "%s must be %s, got %.6g (value %zu of %zu from %s)", r.label,
                 cfg_constraint_text(r.check, r.whole), v, i + 1, nums->len, gen);
      return false;
    }
  }
  return true;
}

static bool read_generated(parser *p, const yaml_node_t *map, const key_spec *k, numbers *out) {
  char got[96];
  if (cfg_map_size(map) != 1) {
    cfg_report(p, cfg_mark_of(map),
               "%s: a generated axis is a map with exactly one of linspace, logspace, "
               "geomspace; got %zu keys",
               cfg_label_of(k), cfg_map_size(map));
    return false;
  }
  const yaml_node_t *key = cfg_pair_key(p, map, 0), *args = cfg_pair_value(p, map, 0);
  int gen = cfg_find_name(generator_names, key);
  if (gen < 0) {
    cfg_report(p, cfg_mark_of(key),
               "%s: unknown generator %s; allowed: linspace, logspace, geomspace", cfg_label_of(k),
               cfg_describe(key, got, sizeof got));
    return false;
  }
  double a = 0, b = 0, num = 0;
  if (!read_generator_args(p, args, k, generator_names[gen], &a, &b, &num)) return false;
  if (gen == GEN_GEOMSPACE && !((a > 0 && b > 0) || (a < 0 && b < 0))) {
    cfg_report(p, cfg_mark_of(args),
               "%s: geomspace needs start and stop nonzero and of the same sign, "
               "got %g and %g",
               cfg_label_of(k), a, b);
    return false;
  }
  if (!cfg_sweep_has_room(p, k->slot, (size_t)num, cfg_mark_of(map))) return false;
  out->len = (size_t)num;
  out->is_axis = true;
  out->v = cfg_alloc_doubles(p, out->len);
  if (!out->v) return false;
  cfg_generate((generator)gen, a, b, out->len, out->v);
  return check_generated(p, k, args, generator_names[gen], out);
}

static bool read_sweep_values(parser *p, const yaml_node_t *n, const key_spec *k, numbers *out) {
  if (cfg_is_list(n)) return read_number_list(p, n, k, out);
  if (cfg_is_map(n)) return read_generated(p, n, k, out);
  return read_one_number(p, n, k, out);
}

bool cfg_read_sweep(parser *p, const yaml_node_t *n, const key_spec *k, lz_param *param) {
  numbers nums = {0};
  if (!read_sweep_values(p, n, k, &nums)) {
    free(nums.v);
    return false;
  }
  param->mark = cfg_mark_of(n);
  param->value = nums.v[0];
  param->axis = -1;
  if (nums.is_axis || (k->flags & F_ALWAYS_AXIS)) {
    cfg_add_axis(p, k->slot, nums.v, nums.len, 1, param->mark);
    param->axis = (int)k->slot;
  } else {
    free(nums.v);
  }
  return true;
}

bool cfg_read_name(parser *p, const yaml_node_t *n, const key_spec *k, int *code) {
  char got[96], allowed[256];
  *code = cfg_find_name(k->names, n);
  if (*code >= 0) return true;
  cfg_report(p, cfg_mark_of(n), "%s must be one of %s; got %s", cfg_label_of(k),
             cfg_join_names(k->names, allowed, sizeof allowed), cfg_describe(n, got, sizeof got));
  return false;
}

static bool read_choice_list(parser *p, const yaml_node_t *list, const key_spec *k,
                             lz_param *param) {
  size_t len = cfg_list_size(list);
  if (len == 0) {
    cfg_report(p, cfg_mark_of(list), "%s is an empty list; give at least one value",
               cfg_label_of(k));
    return false;
  }
  double *codes = cfg_alloc_doubles(p, len);
  if (!codes) return false;
  bool ok = true;
  for (size_t i = 0; i < len; ++i) {
    int code = 0;
    if (cfg_read_name(p, cfg_list_item(p, list, i), k, &code)) codes[i] = code;
    else ok = false;
  }
  if (!ok) {
    free(codes);
    return false;
  }
  param->value = codes[0];
  cfg_add_axis(p, k->slot, codes, len, 1, param->mark);
  param->axis = (int)k->slot;
  return true;
}

bool cfg_read_choice(parser *p, const yaml_node_t *n, const key_spec *k, lz_param *param) {
  param->mark = cfg_mark_of(n);
  param->axis = -1;
  if (cfg_is_list(n)) return read_choice_list(p, n, k, param);
  if (cfg_is_map(n)) {
    char allowed[256];
    cfg_report(p, cfg_mark_of(n), "%s must be one of %s, or a list of them; got a map",
               cfg_label_of(k), cfg_join_names(k->names, allowed, sizeof allowed));
    return false;
  }
  int code = 0;
  if (!cfg_read_name(p, n, k, &code)) return false;
  param->value = code;
  return true;
}

static bool read_fixed_vector(parser *p, const yaml_node_t *list, const key_spec *k,
                              lz_vparam *vp) {
  size_t len = cfg_list_size(list);
  if (len > VECTOR_MAX_LEN) {
    cfg_report(p, cfg_mark_of(list), "%s has %zu entries; at most %d are allowed", cfg_label_of(k),
               len, VECTOR_MAX_LEN);
    return false;
  }
  double *v = cfg_alloc_doubles(p, len);
  if (!v) return false;
  rule r = cfg_rule_of(k);
  bool ok = true;
  for (size_t i = 0; i < len; ++i)
    if (!cfg_check_number(p, cfg_list_item(p, list, i), &r, &v[i])) ok = false;
  if (!ok) {
    free(v);
    return false;
  }
  vp->axis = -1;
  vp->len = len;
  vp->value = v;
  return true;
}

/* Every row of a vector axis is a list of the same length as the first. */
static bool check_vector_rows(parser *p, const yaml_node_t *list, const key_spec *k,
                              size_t *width) {
  char got[96];
  size_t rows = cfg_list_size(list);
  bool ok = true;
  *width = 0;
  for (size_t i = 0; i < rows; ++i) {
    const yaml_node_t *row = cfg_list_item(p, list, i);
    if (!cfg_is_list(row)) {
      cfg_report(p, cfg_mark_of(row),
                 "%s: a vector axis is a list of lists of numbers; vector %zu is %s",
                 cfg_label_of(k), i + 1, cfg_describe(row, got, sizeof got));
      ok = false;
    } else if (i == 0) {
      *width = cfg_list_size(row);
      if (*width == 0 || *width > VECTOR_MAX_LEN) {
        cfg_report(p, cfg_mark_of(row), "%s: a vector has 1 to %d entries; vector 1 has %zu",
                   cfg_label_of(k), VECTOR_MAX_LEN, *width);
        return false;
      }
    } else if (cfg_list_size(row) != *width) {
      cfg_report(p, cfg_mark_of(row),
                 "%s: all vectors on an axis must have the same length; vector %zu "
                 "has %zu entries, vector 1 has %zu",
                 cfg_label_of(k), i + 1, cfg_list_size(row), *width);
      ok = false;
    }
  }
  if (ok && rows > AXIS_MAX_VALUES / *width) {
    cfg_report(p, cfg_mark_of(list),
               "%s: %zu vectors of %zu entries are too many (at most %d numbers)", cfg_label_of(k),
               rows, *width, AXIS_MAX_VALUES);
    ok = false;
  }
  return ok;
}

static bool read_vector_axis(parser *p, const yaml_node_t *list, const key_spec *k, lz_vparam *vp) {
  size_t rows = cfg_list_size(list), width = 0;
  if (rows > AXIS_MAX_LEN) {
    cfg_report(p, cfg_mark_of(list), "%s has %zu vectors; an axis has at most %d", cfg_label_of(k),
               rows, AXIS_MAX_LEN);
    return false;
  }
  if (!check_vector_rows(p, list, k, &width)) return false;
  if (!cfg_sweep_has_room(p, k->slot, rows, vp->mark)) return false;
  double *v = cfg_alloc_doubles(p, rows * width);
  if (!v) return false;
  rule r = cfg_rule_of(k);
  bool ok = true;
  for (size_t i = 0; i < rows; ++i) {
    const yaml_node_t *row = cfg_list_item(p, list, i);
    for (size_t j = 0; j < width; ++j)
      if (!cfg_check_number(p, cfg_list_item(p, row, j), &r, &v[i * width + j])) ok = false;
  }
  if (!ok) {
    free(v);
    return false;
  }
  cfg_add_axis(p, k->slot, v, rows, width, vp->mark);
  vp->axis = (int)k->slot;
  vp->len = width;
  vp->value = NULL;
  return true;
}

/* A plain list of numbers that is not swept (listed data): a list of lists is refused. */
bool cfg_read_fixed_list(parser *p, const yaml_node_t *n, const key_spec *k, lz_vparam *vp) {
  char got[96];
  vp->mark = cfg_mark_of(n);
  if (!cfg_is_list(n) || cfg_list_size(n) == 0 || cfg_is_list(cfg_list_item(p, n, 0))) {
    cfg_report(p, cfg_mark_of(n), "%s must be a non-empty list of numbers (it is not swept); got %s",
               cfg_label_of(k), cfg_describe(n, got, sizeof got));
    return false;
  }
  return read_fixed_vector(p, n, k, vp);
}

/* true or false, the YAML 1.2 spellings (YAML 1.1's yes, no, on, off are not taken). */
bool cfg_read_bool(parser *p, const yaml_node_t *n, const key_spec *k, int *dst) {
  static const char *const yes[] = {"true", "True", "TRUE", NULL};
  static const char *const no[] = {"false", "False", "FALSE", NULL};
  char got[96];
  if (cfg_plain_text_is_one_of(n, yes)) {
    *dst = 1;
  } else if (cfg_plain_text_is_one_of(n, no)) {
    *dst = 0;
  } else {
    cfg_report(p, cfg_mark_of(n), "%s must be true or false; got %s", cfg_label_of(k),
               cfg_describe(n, got, sizeof got));
    return false;
  }
  return true;
}

bool cfg_read_vector(parser *p, const yaml_node_t *n, const key_spec *k, lz_vparam *vp) {
  char got[96];
  vp->mark = cfg_mark_of(n);
  if (!cfg_is_list(n)) {
    cfg_report(p, cfg_mark_of(n),
               "%s must be a list of numbers, or a list of equal-length lists to sweep "
               "it; got %s",
               cfg_label_of(k), cfg_describe(n, got, sizeof got));
    return false;
  }
  if (cfg_list_size(n) == 0) {
    cfg_report(p, cfg_mark_of(n), "%s is an empty list; give at least one number", cfg_label_of(k));
    return false;
  }
  if (cfg_is_list(cfg_list_item(p, n, 0))) return read_vector_axis(p, n, k, vp);
  return read_fixed_vector(p, n, k, vp);
}

bool cfg_read_string(parser *p, const yaml_node_t *n, const key_spec *k, char **dst) {
  char got[96];
  if (!cfg_is_scalar(n) || cfg_is_null(n)) {
    cfg_report(p, cfg_mark_of(n), "%s must be a string; got %s", cfg_label_of(k),
               cfg_describe(n, got, sizeof got));
    return false;
  }
  if (strlen(cfg_text_of(n)) != n->data.scalar.length) {
    cfg_report(p, cfg_mark_of(n), "%s must not contain NUL characters", cfg_label_of(k));
    return false;
  }
  if (n->data.scalar.length == 0) {
    cfg_report(p, cfg_mark_of(n), "%s must not be empty", cfg_label_of(k));
    return false;
  }
  /* Strings reach the terminal and file names: control characters could rewrite the screen. */
  for (const unsigned char *c = (const unsigned char *)cfg_text_of(n); *c; ++c)
    if (*c < 0x20 || *c == 0x7f) {
      cfg_report(p, cfg_mark_of(n), "%s must not contain control characters (found 0x%02x)",
                 cfg_label_of(k), (unsigned)*c);
      return false;
    }
  /* The name makes the default output results/<name>.h5 and names the job in messages. */
  if (k->offset == OFF(name) && (strchr(cfg_text_of(n), '/') || cfg_text_of(n)[0] == '.')) {
    cfg_report(p, cfg_mark_of(n),
               "name must not contain '/' or start with '.' (it names the default "
               "output results/<name>.h5); got '%s'; set output for another place",
               cfg_text_of(n));
    return false;
  }
  free(*dst);
  *dst = strdup(cfg_text_of(n));
  if (!*dst) p->oom = true;
  return *dst != NULL;
}

static bool is_absolute_path(const char *path) { return path[0] == '/'; }

/* A relative path of an input file means "next to the job file", wherever lrzoo is started
 * from. */
void cfg_resolve_next_to_job(parser *p, char **path) {
  const char *slash = strrchr(p->path, '/');
  if (!*path || is_absolute_path(*path) || !slash) return;
  size_t dir_len = (size_t)(slash - p->path) + 1, len = strlen(*path);
  char *full = malloc(dir_len + len + 1);
  if (!full) {
    p->oom = true;
    return;
  }
  memcpy(full, p->path, dir_len);
  memcpy(full + dir_len, *path, len + 1);
  free(*path);
  *path = full;
}

bool cfg_read_int(parser *p, const yaml_node_t *n, const key_spec *k, int64_t *dst) {
  rule r = cfg_rule_of(k);
  r.whole = true;
  double v = 0;
  if (!cfg_check_number(p, n, &r, &v)) return false;
  *dst = (int64_t)v;
  return true;
}

bool cfg_read_number(parser *p, const yaml_node_t *n, const key_spec *k, double *dst) {
  rule r = cfg_rule_of(k);
  return cfg_check_number(p, n, &r, dst);
}

/* [lo, hi]: two finite numbers with lo < hi. */
bool cfg_read_range(parser *p, const yaml_node_t *n, const key_spec *k, double *lo, double *hi) {
  char got[96], label[96];
  if (!cfg_is_list(n) || cfg_list_size(n) != 2) {
    cfg_report(p, cfg_mark_of(n), "%s must be [lo, hi], two finite numbers with lo < hi; got %s",
               cfg_label_of(k), cfg_describe_sized(n, got, sizeof got));
    return false;
  }
  double v[2] = {0.0, 0.0};
  bool ok = true;
  for (size_t i = 0; i < 2; ++i) {
    snprintf(label, sizeof label, "%s %s", cfg_label_of(k), i ? "hi" : "lo");
    rule r = {label, C_FINITE, false, "", 0};
    if (!cfg_check_number(p, cfg_list_item(p, n, i), &r, &v[i])) ok = false;
  }
  if (ok && !(v[0] < v[1])) {
    cfg_report(p, cfg_mark_of(n), "%s must be [lo, hi] with lo < hi; got %s", cfg_label_of(k),
               cfg_format_values(v, 2, got, sizeof got));
    ok = false;
  }
  if (ok) {
    *lo = v[0];
    *hi = v[1];
  }
  return ok;
}
