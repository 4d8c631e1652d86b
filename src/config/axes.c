/* Sweep axes while parsing: one slot per parameter that can be swept, the room left in the
 * sweep, and the values a parameter takes over it. */

#include "parser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot_spec {
  const char *name;
  lz_axis_type type;
  lz_axis_group group;
  bool is_integer;
  const char *const *labels;
  const char *units;
  const char *description;
} slot_spec;

static const slot_spec slot_specs[SLOT_COUNT] = {
#define CFG_SLOT_SPEC(id, name, type, group, integer, labels, description, form, member) \
  [S_##id] = {name, type, group, integer, labels, "", description},
    CFG_SLOTS(CFG_SLOT_SPEC)
#undef CFG_SLOT_SPEC
};

/* Takes ownership of values. */
void cfg_add_axis(parser *p, slot_id s, double *values, size_t len, size_t width, lz_mark mark) {
  lz_axis *ax = &p->slot[s];
  const slot_spec *spec = &slot_specs[s];
  free(ax->values);  /* a slot is filled once; this only keeps a surprise from leaking */
  memset(ax, 0, sizeof *ax);
  snprintf(ax->name, sizeof ax->name, "%s", spec->name);
  ax->type = spec->type;
  ax->group = spec->group;
  ax->len = len;
  ax->width = width;
  ax->values = values;
  ax->labels = spec->labels;
  ax->is_integer = spec->is_integer;
  ax->units = spec->units;
  ax->description = spec->description;
  ax->mark = mark;
}

/* Whether an axis of len points still fits in the sweep: the product of the axes read so far
 * times len is at most MAX_RUNS. If not, the slot only records the axis' name, length and
 * place (values NULL) for cfg_check_run_count's message, and the caller must not make the values:
 * a few bytes of {linspace: [1, 2, 10000000]} on every key would otherwise have every rank
 * allocate and fill 80 MB per key before the sweep is refused. The caller then fails the key,
 * so that no parameter refers to the slot. */
bool cfg_sweep_has_room(parser *p, slot_id s, size_t len, lz_mark mark) {
  int64_t runs = 1;
  bool over = false;
  for (int t = 1; t < SLOT_COUNT && !over; ++t) {
    size_t other = p->slot[t].len;
    if (t == (int)s || other == 0) continue;
    if (runs > MAX_RUNS / (int64_t)other) over = true;
    else runs *= (int64_t)other;
  }
  if (len <= 1 || (!over && runs <= MAX_RUNS / (int64_t)len)) return true;
  cfg_add_axis(p, s, NULL, len, 1, mark);
  return false;
}

/* The values a parameter takes over the sweep (one when fixed). While parsing, axis holds a
 * slot id. */
const double *cfg_param_values(const parser *p, const lz_param *param, size_t *len) {
  if (param->axis > 0) {
    *len = p->slot[param->axis].len;
    return p->slot[param->axis].values;
  }
  *len = 1;
  return &param->value;
}

bool cfg_param_is_single(const parser *p, const lz_param *param) {
  size_t len;
  cfg_param_values(p, param, &len);
  return len == 1;
}

double cfg_param_min(const parser *p, const lz_param *param) {
  size_t len;
  const double *v = cfg_param_values(p, param, &len);
  double m = v[0];
  for (size_t i = 1; i < len; ++i) m = v[i] < m ? v[i] : m;
  return m;
}

bool cfg_param_takes(const parser *p, const lz_param *param, double value) {
  size_t len;
  const double *v = cfg_param_values(p, param, &len);
  for (size_t i = 0; i < len; ++i)
    if (v[i] == value) return true;
  return false;
}

const char *cfg_param_text(const parser *p, const lz_param *param, char *buf, size_t size) {
  size_t len;
  const double *v = cfg_param_values(p, param, &len);
  return cfg_format_values(v, len, buf, size);
}
