/* The YAML document: loading it with libyaml, and the nodes it is walked by (kinds, sizes,
 * children, scalar text and how messages name a node). */

#include "parser.h"
#include "schema.h"

#include <stdio.h>
#include <string.h>

static lz_mark mark_from_yaml(yaml_mark_t m) {
  lz_mark out = {m.line < INT32_MAX ? (int)m.line + 1 : INT32_MAX,
                 m.column < INT32_MAX ? (int)m.column + 1 : INT32_MAX};
  return out;
}

lz_mark cfg_mark_of(const yaml_node_t *node) {
  return node ? mark_from_yaml(node->start_mark) : (lz_mark){1, 1};
}

static const yaml_node_t *node_at(const parser *p, int id) {
  return yaml_document_get_node(p->doc, id);
}

bool cfg_is_map(const yaml_node_t *n) { return n && n->type == YAML_MAPPING_NODE; }
bool cfg_is_list(const yaml_node_t *n) { return n && n->type == YAML_SEQUENCE_NODE; }
bool cfg_is_scalar(const yaml_node_t *n) { return n && n->type == YAML_SCALAR_NODE; }

size_t cfg_map_size(const yaml_node_t *map) {
  return (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
}

size_t cfg_list_size(const yaml_node_t *list) {
  return (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
}

const yaml_node_t *cfg_list_item(const parser *p, const yaml_node_t *list, size_t i) {
  return node_at(p, list->data.sequence.items.start[i]);
}

const yaml_node_t *cfg_pair_key(const parser *p, const yaml_node_t *map, size_t i) {
  return node_at(p, map->data.mapping.pairs.start[i].key);
}

const yaml_node_t *cfg_pair_value(const parser *p, const yaml_node_t *map, size_t i) {
  return node_at(p, map->data.mapping.pairs.start[i].value);
}

const char *cfg_text_of(const yaml_node_t *scalar) {
  return (const char *)scalar->data.scalar.value;
}

bool cfg_is_plain(const yaml_node_t *n) {
  return cfg_is_scalar(n) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

bool cfg_plain_text_is_one_of(const yaml_node_t *n, const char *const *words) {
  if (!cfg_is_plain(n)) return false;
  for (; *words; ++words)
    if (strcmp(cfg_text_of(n), *words) == 0) return true;
  return false;
}

bool cfg_is_null(const yaml_node_t *n) {
  static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
  return cfg_plain_text_is_one_of(n, nulls);
}

bool cfg_is_bool(const yaml_node_t *n) {
  /* YAML 1.1, which libyaml implements, reads all of these as booleans. */
  static const char *const bools[] = {"true", "True", "TRUE", "false", "False", "FALSE",
                                      "yes", "Yes", "YES", "no", "No", "NO",
                                      "on", "On", "ON", "off", "Off", "OFF", NULL};
  return cfg_plain_text_is_one_of(n, bools);
}

/* Scalar text the way a user wrote it, made safe to print: control bytes (binary files) are
 * replaced and long text is cut on a UTF-8 character boundary. */
const char *cfg_printable(const yaml_node_t *n, char *buf, size_t size) {
  const unsigned char *s = n->data.scalar.value;
  size_t len = n->data.scalar.length, limit = size > 8 ? size - 4 : 0, j = 0;
  for (size_t i = 0; i < len && j < limit; ++i)
    buf[j++] = (s[i] < 0x20 || s[i] == 0x7f) ? '?' : (char)s[i];
  if (j < len) {
    while (j > 0 && (s[j] & 0xC0) == 0x80) --j;
    if (size > 8) {
      memcpy(buf + j, "...", 3);
      j += 3;
    }
  }
  buf[j < size ? j : size - 1] = '\0';
  return buf;
}

/* "a map", "null", "bool 'yes'", "string '4'", "'abc'": what a "got ..." names. */
const char *cfg_describe(const yaml_node_t *n, char *buf, size_t size) {
  if (!n) return "nothing";
  if (n->type == YAML_MAPPING_NODE) return cfg_map_size(n) ? "a map" : "an empty map";
  if (n->type == YAML_SEQUENCE_NODE) return cfg_list_size(n) ? "a list" : "an empty list";
  if (n->type != YAML_SCALAR_NODE) return "nothing";
  if (cfg_is_null(n)) return "null";
  char text[64];
  cfg_printable(n, text, sizeof text);
  const char *what = cfg_is_bool(n) ? "bool " : cfg_is_plain(n) ? "" : "string ";
  snprintf(buf, size, "%s'%s'", what, text);
  return buf;
}

int cfg_find_name(const char *const *names, const yaml_node_t *n) {
  if (!cfg_is_scalar(n) || cfg_is_null(n) || strlen(cfg_text_of(n)) != n->data.scalar.length)
    return -1;
  for (int i = 0; names[i]; ++i)
    if (strcmp(cfg_text_of(n), names[i]) == 0) return i;
  return -1;
}

/* cfg_describe(), with the length of a non-empty list: what a "must be [lo, hi]" message got. */
const char *cfg_describe_sized(const yaml_node_t *n, char *buf, size_t size) {
  if (!cfg_is_list(n) || cfg_list_size(n) == 0) return cfg_describe(n, buf, size);
  snprintf(buf, size, "a list of %zu", cfg_list_size(n));
  return buf;
}

/* Loading the document. */

static lz_mark mark_at_offset(const char *text, size_t len, size_t offset) {
  lz_mark m = {1, 1};
  for (size_t i = 0; i < offset && i < len; ++i) {
    if (text[i] == '\n') m.line++, m.col = 1;
    else m.col++;
  }
  return m;
}

/* Tabs are the most common cause of "cannot start any token"; the column counts characters, but
 * indentation before a tab is ASCII, so it is also the byte offset within the line. */
static bool is_tab_at(const char *text, size_t len, yaml_mark_t m) {
  size_t i = 0;
  for (size_t line = 0; line < m.line && i < len; ++i)
    if (text[i] == '\n') ++line;
  return i + m.column < len && text[i + m.column] == '\t';
}

static void report_syntax_error(parser *p, const yaml_parser_t *yp, const char *text, size_t len) {
  if (p->stopped) return;  /* the read was cut short on purpose, the text is not at fault */
  if (yp->error == YAML_MEMORY_ERROR) {
    p->oom = true;
    return;
  }
  const char *problem = yp->problem ? yp->problem : "unreadable YAML";
  if (yp->error == YAML_READER_ERROR) {
    lz_mark at = mark_at_offset(text, len, yp->problem_offset);
    if (yp->problem_value >= 0)
      cfg_report(p, at, "YAML syntax error: %s (byte 0x%02x); a job file is UTF-8 text", problem,
                 (unsigned)yp->problem_value);
    else
      cfg_report(p, at, "YAML syntax error: %s; a job file is UTF-8 text", problem);
    return;
  }
  lz_mark at = mark_from_yaml(yp->problem_mark);
  const char *hint = is_tab_at(text, len, yp->problem_mark)
                         ? "; indent with spaces, YAML does not allow tabs there" : "";
  if (yp->context) {
    lz_mark ctx = mark_from_yaml(yp->context_mark);
    cfg_report(p, at, "YAML syntax error: %s (%s that starts at line %d, column %d)%s", problem,
               yp->context, ctx.line, ctx.col, hint);
  } else {
    cfg_report(p, at, "YAML syntax error: %s%s", problem, hint);
  }
}

/* libyaml reads the text through this, one buffer at a time, so a stop is seen after a buffer's
 * worth of scanning however long the document is; a refused read ends the load. */
typedef struct text_source {
  parser *p;
  const char *text;
  size_t len, at;
} text_source;

static int read_next_chunk(void *data, unsigned char *buffer, size_t size, size_t *size_read) {
  text_source *src = data;
  if (cfg_stop_is_requested(src->p)) return 0;
  size_t n = src->len - src->at < size ? src->len - src->at : size;
  memcpy(buffer, src->text + src->at, n);
  src->at += n;
  *size_read = n;
  return 1;
}

/* A second document after "---" would be silently ignored, so it is an error. */
static void check_single_document(parser *p, yaml_parser_t *yp, const char *text, size_t len) {
  yaml_document_t next;
  if (!yaml_parser_load(yp, &next)) {
    report_syntax_error(p, yp, text, len);
    return;
  }
  yaml_node_t *root = yaml_document_get_root_node(&next);
  if (root)
    cfg_report(p, mark_from_yaml(root->start_mark),
               "a job file holds one YAML document, but a second "
               "one starts here; remove it or split the file");
  yaml_document_delete(&next);
}

/* libyaml's scanner takes time quadratic in the depth of nested flow collections: 20000 levels
 * of [ or { (40 kB) take 5 to 9 s, 80000 levels 86 s. A job file needs 5 levels, so its events
 * are read once first, which stops at the first collection nested too deep (the scanner only
 * looks ahead about 1024 characters for a simple key). Syntax errors are left to the load. */
static bool check_nesting(parser *p, const char *text, size_t len) {
  yaml_parser_t yp;
  yaml_event_t ev;
  if (!yaml_parser_initialize(&yp)) {
    p->oom = true;
    return false;
  }
  text_source src = {p, text, len, 0};
  yaml_parser_set_input(&yp, read_next_chunk, &src);
  int depth = 0;
  bool ok = true, done = false;
  while (!done && yaml_parser_parse(&yp, &ev)) {
    if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
      if (++depth > MAX_NESTING) {
        cfg_report(p, mark_from_yaml(ev.start_mark),
                   "maps and lists are nested more than %d deep "
                   "here; a job file needs at most 5 levels",
                   MAX_NESTING);
        ok = false;
        done = true;
      }
    } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
      --depth;
    } else if (ev.type == YAML_STREAM_END_EVENT) {
      done = true;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&yp);
  return ok;
}

void cfg_parse_text(parser *p, const char *text, size_t len) {
  yaml_parser_t yp;
  yaml_document_t doc;
  if (!check_nesting(p, text, len) || p->stopped) return;
  if (!yaml_parser_initialize(&yp)) {
    p->oom = true;
    return;
  }
  text_source src = {p, text, len, 0};
  yaml_parser_set_input(&yp, read_next_chunk, &src);
  if (!yaml_parser_load(&yp, &doc)) {
    report_syntax_error(p, &yp, text, len);
  } else {
    p->doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
      char allowed[512];
      cfg_report(p, (lz_mark){1, 1}, "empty job file; expected a map with keys %s",
                 cfg_allowed_keys(&cfg_top_section, -1, allowed, sizeof allowed));
    } else {
      if (!cfg_stop_is_requested(p)) cfg_read_job(p, root);
      if (!cfg_stop_is_requested(p)) check_single_document(p, &yp, text, len);
    }
    p->doc = NULL;
    yaml_document_delete(&doc);
  }
  yaml_parser_delete(&yp);
}
