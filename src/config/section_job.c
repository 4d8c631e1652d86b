/* The whole job file: the top-level map, its sections in the order they depend on each other,
 * and the default name and output. */

#include "parser.h"
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "jobs/balancing.yaml" -> "balancing". */
static char *name_from_path(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t len = strlen(base);
  if (len > 5 && strcmp(base + len - 5, ".yaml") == 0) len -= 5;
  else if (len > 4 && strcmp(base + len - 4, ".yml") == 0) len -= 4;
  if (len == 0) {
    base = "job";
    len = 3;
  }
  char *name = malloc(len + 1);
  if (name) {
    memcpy(name, base, len);
    name[len] = '\0';
  }
  return name;
}

static void set_default_names(parser *p) {
  lz_job *job = p->job;
  if (!job->name) job->name = name_from_path(p->path);
  if (!job->name) {
    p->oom = true;
    return;
  }
  if (!job->output) {
    size_t size = strlen(job->name) + sizeof "results/.h5";
    job->output = malloc(size);
    if (job->output) snprintf(job->output, size, "results/%s.h5", job->name);
    else p->oom = true;
  }
}

void cfg_read_job(parser *p, const yaml_node_t *root) {
  char got[96], allowed[512];
  p->top_mark = cfg_mark_of(root);
  if (!cfg_is_map(root)) {
    cfg_report(p, cfg_mark_of(root), "a job file is a map with keys %s; got %s",
               cfg_allowed_keys(&cfg_top_section, -1, allowed, sizeof allowed),
               cfg_describe(root, got, sizeof got));
    return;
  }
  section_read r;
  p->read_root = true;
  cfg_read_section(p, &cfg_top_section, root, &r);
  if (r.node[TOP_PROBLEM]) cfg_read_problem(p, r.node[TOP_PROBLEM]);
  if (r.node[TOP_INIT]) cfg_read_init(p, r.node[TOP_INIT]);
  if (r.node[TOP_LR]) cfg_read_lr(p, r.node[TOP_LR]);
  cfg_read_run(p, cfg_unless_null(r.node[TOP_RUN]));
  cfg_read_analyze(p, r.node[TOP_ANALYZE]);  /* after run: its defaults follow max_iter */
  cfg_read_tiles(p, cfg_unless_null(r.node[TOP_TILES]));
  set_default_names(p);
}
