/* Reading one map against its key table: kinds, unknown, duplicate and other-kind keys,
 * required keys and defaults. */

#include "parser.h"

#include <stdio.h>
#include <string.h>

/* Optional sections written as "run:" with nothing after are the same as absent ones. */
const yaml_node_t *cfg_unless_null(const yaml_node_t *n) { return cfg_is_null(n) ? NULL : n; }

static bool key_applies(const key_spec *k, int kind) {
  return k->kinds == 0 || kind < 0 || (k->kinds & LZ_KIND_BIT(kind));
}

/* The key of that name which applies to the kind; else the first of that name (two kinds of
 * the problem map may each have a key of the same name). */
static int find_key(const section *sec, const yaml_node_t *key, int kind) {
  if (!cfg_is_scalar(key) || strlen(cfg_text_of(key)) != key->data.scalar.length) return -1;
  int first = -1;
  for (size_t i = 0; i < sec->nkeys; ++i)
    if (strcmp(cfg_text_of(key), sec->keys[i].name) == 0) {
      if (key_applies(&sec->keys[i], kind)) return (int)i;
      if (first < 0) first = (int)i;
    }
  return first;
}

/* Whether a key of the same name that applies to the kind comes before key i. */
static bool listed_before(const section *sec, size_t i, int kind) {
  for (size_t j = 0; j < i; ++j)
    if (key_applies(&sec->keys[j], kind) && strcmp(sec->keys[j].name, sec->keys[i].name) == 0)
      return true;
  return false;
}

/* Keys allowed in a section for one of its kinds (or all kinds when kind < 0). */
const char *cfg_allowed_keys(const section *sec, int kind, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < sec->nkeys && used < size; ++i)
    if (key_applies(&sec->keys[i], kind) && !listed_before(sec, i, kind))
      used +=
          (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "", sec->keys[i].name);
  return buf;
}

static void read_kind(parser *p, const section *sec, const yaml_node_t *map, section_read *r) {
  for (size_t i = 0; i < cfg_map_size(map); ++i)
    if (find_key(sec, cfg_pair_key(p, map, i), -1) == 0) {
      const yaml_node_t *value = cfg_pair_value(p, map, i);
      r->node[0] = value;
      r->ok[0] = cfg_read_name(p, value, &sec->keys[0], &r->kind);
      if (!r->ok[0]) r->kind = -1;
      return;
    }
  char names[256];
  cfg_report(p, cfg_mark_of(map), "missing required key 'kind' %s; allowed kinds: %s", sec->where,
             cfg_join_names(sec->kinds, names, sizeof names));
}

static void report_unknown_key(parser *p, const section *sec, const yaml_node_t *key, int kind) {
  char got[96], allowed[512];
  if (!cfg_is_scalar(key)) {
    cfg_report(p, cfg_mark_of(key), "keys %s must be plain names; got %s", sec->where,
               cfg_describe(key, got, sizeof got));
    return;
  }
  cfg_report(p, cfg_mark_of(key), "unknown key '%s' %s; allowed: %s",
             cfg_printable(key, got, sizeof got), sec->where,
             cfg_allowed_keys(sec, kind, allowed, sizeof allowed));
}

static void report_key_of_other_kind(parser *p, const section *sec, const yaml_node_t *key,
                                     int kind) {
  char allowed[512];
  const char *kind_name = sec->kinds[kind];
  cfg_report(p, cfg_mark_of(key), "key '%s' does not apply to %s kind %s; allowed for %s: %s",
             cfg_text_of(key), sec->name, kind_name, kind_name,
             cfg_allowed_keys(sec, kind, allowed, sizeof allowed));
}

/* Finds each key's value node; reports unknown, duplicate and other-kind keys. */
static void collect_keys(parser *p, const section *sec, const yaml_node_t *map, section_read *r) {
  const yaml_node_t *seen[MAX_SECTION_KEYS] = {0};
  for (size_t i = 0; i < cfg_map_size(map); ++i) {
    const yaml_node_t *key = cfg_pair_key(p, map, i);
    int k = find_key(sec, key, r->kind);
    if (k < 0) {
      report_unknown_key(p, sec, key, r->kind);
    } else if (seen[k]) {
      cfg_report(p, cfg_mark_of(key), "duplicate key '%s' %s (first given at line %d)",
                 sec->keys[k].name, sec->where, cfg_mark_of(seen[k]).line);
    } else {
      seen[k] = key;
      if (!key_applies(&sec->keys[k], r->kind)) report_key_of_other_kind(p, sec, key, r->kind);
      else if (!(sec->kinds && k == 0)) r->node[k] = cfg_pair_value(p, map, i);
    }
  }
}

static void apply_default(parser *p, const key_spec *k, section_read *r, size_t i) {
  if (k->flags & F_DEFAULT_LATER) return;
  void *dst = (char *)p->job + k->offset;
  switch (k->type) {
    case T_NAME: r->code[i] = (int)k->dflt; break;
    /* seed is a uint64_t: writing it through int64_t is allowed (same size, signedness only). */
    case T_INT: *(int64_t *)dst = (int64_t)k->dflt; break;
    case T_NUMBER: *(double *)dst = k->dflt; break;
    case T_SWEEP:
    case T_CHOICE: *(lz_param *)dst = (lz_param){-1, k->dflt, {0, 0}}; break;
    default: break;
  }
}

/* Every key's default, as for an absent optional map. */
void cfg_apply_defaults(parser *p, const section *sec, section_read *r) {
  for (size_t i = sec->kinds ? 1 : 0; i < sec->nkeys; ++i) apply_default(p, &sec->keys[i], r, i);
}

static bool read_value(parser *p, const key_spec *k, const yaml_node_t *n, section_read *r,
                       size_t i) {
  void *dst = (char *)p->job + k->offset;
  switch (k->type) {
    case T_NAME: return cfg_read_name(p, n, k, &r->code[i]);
    case T_STRING: return cfg_read_string(p, n, k, (char **)dst);
    case T_INT: return cfg_read_int(p, n, k, (int64_t *)dst);
    case T_NUMBER: return cfg_read_number(p, n, k, (double *)dst);
    case T_SWEEP: return cfg_read_sweep(p, n, k, (lz_param *)dst);
    case T_CHOICE: return cfg_read_choice(p, n, k, (lz_param *)dst);
    case T_VECTOR: return cfg_read_vector(p, n, k, (lz_vparam *)dst);
    case T_SPECIAL: return true;
  }
  return false;
}

static void report_missing_key(parser *p, const section *sec, const key_spec *k, int kind,
                               lz_mark at) {
  char for_kind[64] = "";
  if (sec->kinds && k->kinds) snprintf(for_kind, sizeof for_kind, " for kind %s", sec->kinds[kind]);
  cfg_report(p, at, "missing required key '%s' %s%s%s%s", k->name, sec->where, for_kind,
             k->help ? ": " : "", k->help ? k->help : "");
}

static void read_keys(parser *p, const section *sec, section_read *r) {
  lz_mark at = r->map ? cfg_mark_of(r->map) : p->top_mark;
  for (size_t i = sec->kinds ? 1 : 0; i < sec->nkeys; ++i) {
    const key_spec *k = &sec->keys[i];
    if (!key_applies(k, r->kind)) continue;
    if (r->node[i]) {
      r->ok[i] = read_value(p, k, r->node[i], r, i);
      if (!r->ok[i]) apply_default(p, k, r, i);  /* keeps later checks on sane values */
    } else if (k->flags & F_REQUIRED) {
      report_missing_key(p, sec, k, r->kind, at);
    } else {
      apply_default(p, k, r, i);
      r->ok[i] = true;
    }
  }
}

/* Reads a map against its table. map may be NULL for an absent optional section (defaults
 * only). Returns false when the kind-specific keys could not be read. */
bool cfg_read_section(parser *p, const section *sec, const yaml_node_t *map, section_read *r) {
  memset(r, 0, sizeof *r);
  r->kind = -1;
  if (map && !cfg_is_map(map)) {
    char got[96], allowed[512];
    cfg_report(p, cfg_mark_of(map), "%s must be a map with keys %s; got %s", sec->name,
               cfg_allowed_keys(sec, -1, allowed, sizeof allowed),
               cfg_describe(map, got, sizeof got));
    /* Later checks read run and tiles values even when their section was unreadable. */
    if (!sec->kinds) cfg_apply_defaults(p, sec, r);
    return false;
  }
  r->map = map;
  if (map && sec->kinds) read_kind(p, sec, map, r);
  if (map) collect_keys(p, sec, map, r);
  if (sec->kinds && r->kind < 0) return false;
  read_keys(p, sec, r);
  return true;
}
