/* Tests of src/config: job files -> lz_job, and the diagnostics of bad job files.
 *
 * Good files live in tests/data/jobs_good, bad ones in tests/jobs_bad. Each bad file starts with
 * one "# expect: LINE:COL: substring" line per error it must produce; the same lines are read by
 * the command-line tests, so the format is a contract. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lrzoo/config.h"
#include "lrzoo/memory.h"
#include "lrzoo/error.h"
#include "lrzoo/hash.h"
#include "lrzoo/job.h"
#include "lrzoo/results.h"

#define GOOD_DIR LZ_TEST_DATA_DIR "/data/jobs_good"
#define BAD_DIR LZ_TEST_DATA_DIR "/jobs_bad"
#define MIN_BAD_FILES 14

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */

#define assert_close(a, b, tol) assert_close_at((a), (b), (tol), #a, __FILE__, __LINE__)

static void assert_close_at(double a, double b, double tol, const char *what, const char *file,
                            int line) {
  if (fabs(a - b) <= tol * fmax(1.0, fabs(b))) return;
  fail_msg("%s:%d: %s = %.17g, expected %.17g (tolerance %g)", file, line, what, a, b, tol);
}

static lz_job *load_good(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", GOOD_DIR, name);
  lz_job *job = NULL;
  char *diag = NULL;
  int rc = lz_config_load(path, &job, &diag);
  if (rc != LZ_OK)
    fail_msg("%s: rc %s\n%s", path, lz_err_name(rc), diag ? diag : "(no diagnostics)");
  assert_null(diag);
  assert_non_null(job);
  return job;
}

static int parse_text(const char *text, lz_job **job, char **diag) {
  return lz_config_parse("inline.yaml", text, strlen(text), job, diag);
}

static lz_job *parse_good_text(const char *text) {
  lz_job *job = NULL;
  char *diag = NULL;
  int rc = parse_text(text, &job, &diag);
  if (rc != LZ_OK) fail_msg("rc %s\n%s", lz_err_name(rc), diag ? diag : "(no diagnostics)");
  assert_non_null(job);
  return job;
}

static const lz_axis *axis_named(const lz_job *job, const char *name) {
  for (size_t a = 0; a < job->naxes; ++a)
    if (strcmp(job->axes[a].name, name) == 0) return &job->axes[a];
  fail_msg("no axis named %s", name);
  return NULL;
}

static int axis_index(const lz_job *job, const char *name) {
  return (int)(axis_named(job, name) - job->axes);
}

static void assert_axis_names(const lz_job *job, const char *const *names) {
  size_t n = 0;
  while (names[n]) ++n;
  for (size_t a = 0; a < n && a < job->naxes; ++a) assert_string_equal(job->axes[a].name, names[a]);
  assert_int_equal(job->naxes, n);
}

static void assert_values(const lz_axis *ax, const double *expected, size_t n) {
  assert_int_equal(ax->len * ax->width, n);
  for (size_t i = 0; i < n; ++i) assert_close(ax->values[i], expected[i], 1e-12);
}

static void assert_mark(lz_mark m, int line, int col) {
  if (m.line != line || m.col != col)
    fail_msg("mark %d:%d, expected %d:%d", m.line, m.col, line, col);
}

static size_t count_lines(const char *text) {
  if (!text || !*text) return 0;
  size_t n = 1;
  for (; *text; ++text) n += *text == '\n';
  return n;
}

/* Axis indices of run r, in a buffer the caller frees. */
static size_t *coords_of_run(const lz_job *job, int64_t r) {
  size_t *idx = calloc(job->naxes, sizeof *idx);
  assert_non_null(idx);
  lz_job_run_coords(job, r, idx);
  return idx;
}

/* The run whose coordinates are idx (inverse of lz_job_run_coords). */
static int64_t run_of_coords(const lz_job *job, const size_t *idx) {
  int64_t r = 0;
  for (size_t a = 0; a < job->naxes; ++a) r = r * (int64_t)job->axes[a].len + (int64_t)idx[a];
  return r;
}

static char *read_whole_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t cap = 1 << 16;
  char *buf = malloc(cap + 1);
  assert_non_null(buf);
  *len = fread(buf, 1, cap, f);
  assert_true(*len < cap);
  buf[*len] = '\0';
  fclose(f);
  return buf;
}

/* Names of the *.yaml files of a directory, sorted, NULL-terminated. */
static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **yaml_files_in(const char *dir, size_t *count) {
  DIR *d = opendir(dir);
  if (!d) fail_msg("cannot open %s", dir);
  size_t n = 0, cap = 64;
  char **names = malloc((cap + 1) * sizeof *names);
  assert_non_null(names);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0) continue;
    if (n == cap) {
      cap *= 2;
      names = realloc(names, (cap + 1) * sizeof *names);
      assert_non_null(names);
    }
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, by_name);
  names[n] = NULL;
  *count = n;
  return names;
}

static void free_names(char **names) {
  for (size_t i = 0; names[i]; ++i) free(names[i]);
  free(names);
}

/* Checks the structural promises of job.h on any successfully parsed job. */
static void assert_job_is_consistent(const lz_job *job) {
  assert_true(job->naxes >= 1);
  assert_int_equal(job->lr.axis, (int)job->naxes - 1);
  assert_string_equal(job->axes[job->naxes - 1].name, "lr");
  int64_t nruns = 1, ninstances = 1;
  for (size_t a = 0; a < job->naxes; ++a) {
    const lz_axis *ax = &job->axes[a];
    assert_true(ax->len >= 1 && ax->width >= 1);
    assert_non_null(ax->values);
    assert_non_null(ax->units);
    assert_non_null(ax->description);
    assert_true(strlen(ax->description) > 0);
    assert_true((ax->type == LZ_AXIS_CHOICE) == (ax->labels != NULL));
    if (a > 0) assert_true(ax->group >= job->axes[a - 1].group);
    nruns *= (int64_t)ax->len;
    if (ax->group == LZ_AXIS_PROBLEM) ninstances *= (int64_t)ax->len;
  }
  assert_int_equal(job->nruns, nruns);
  assert_int_equal(job->ninstances, ninstances);
  assert_int_equal(job->runs_per_instance, nruns / ninstances);
  assert_int_equal(job->tiles_per_instance,
                   (job->runs_per_instance + job->tiles.runs - 1) / job->tiles.runs);
  assert_int_equal(job->ntiles, job->ninstances * job->tiles_per_instance);
  assert_true(job->run.record_every >= 1 && job->run.record_every <= job->run.max_iter);
  assert_non_null(job->name);
  assert_non_null(job->output);
  assert_non_null(job->path);
  assert_non_null(job->text);
  assert_int_equal(strlen(job->sha256), 64);
}

/* ------------------------------------------------------------------------------------------ */
/* Good files                                                                                 */

static void parse_should_fill_defaults_for_a_minimal_quadratic_job(void **state) {
  (void)state;
  lz_job *job = load_good("quadratic_defaults.yaml");
  assert_string_equal(job->name, "quadratic_defaults");
  assert_string_equal(job->output, "results/quadratic_defaults.h5");
  assert_int_equal(job->seed, 0);
  assert_int_equal(job->problem.kind, LZ_PROBLEM_QUADRATIC);
  assert_int_equal(job->run.max_iter, 10000);
  assert_close(job->run.tol_grad, 1e-10, 0);
  assert_close(job->run.diverge_above, 1e12, 0);
  assert_int_equal(job->run.record_every, 100);
  assert_int_equal(job->tiles.runs, 64);
  assert_int_equal(job->lr.relative_to, LZ_LR_ABSOLUTE);
  assert_int_equal(job->init.kind, LZ_INIT_POINT);
  assert_int_equal(job->init.replica_axis, -1);
  assert_int_equal(job->init.grid_axis[0], -1);
  assert_int_equal(job->init.grid_axis[1], -1);
  assert_int_equal(job->problem.quadratic.eigenvalues.axis, -1);
  assert_int_equal(job->problem.quadratic.eigenvalues.len, 2);
  assert_close(job->problem.quadratic.eigenvalues.value[1], 0.1, 0);
  assert_int_equal(job->init.point.axis, -1);
  assert_close(job->init.point.value[0], 9.0, 0);
  const char *const names[] = {"lr", NULL};
  assert_axis_names(job, names);
  assert_int_equal(job->axes[0].group, LZ_AXIS_LR);
  assert_int_equal(job->nruns, 1);
  assert_int_equal(job->ntiles, 1);
  assert_job_is_consistent(job);
  lz_job_destroy(&job);
  assert_null(job);
}

static void parse_should_keep_the_path_text_and_its_sha256(void **state) {
  (void)state;
  lz_job *job = load_good("quadratic_defaults.yaml");
  size_t len = 0;
  char *text = read_whole_file(GOOD_DIR "/quadratic_defaults.yaml", &len);
  char hex[65];
  assert_int_equal(lz_sha256_hex(text, len, hex), LZ_OK);
  assert_string_equal(job->path, GOOD_DIR "/quadratic_defaults.yaml");
  assert_int_equal(job->text_len, len);
  assert_memory_equal(job->text, text, len);
  assert_int_equal(job->text[len], '\0');
  assert_string_equal(job->sha256, hex);
  free(text);
  lz_job_destroy(&job);
}

static void parse_should_order_axes_problem_then_init_then_lr(void **state) {
  (void)state;
  lz_job *job = load_good("mf_balancing.yaml");
  const char *const names[] = {"n", "d", "imbalance", "replica", "lr", NULL};
  assert_axis_names(job, names);
  const lz_axis_group groups[] = {LZ_AXIS_PROBLEM, LZ_AXIS_PROBLEM, LZ_AXIS_INIT, LZ_AXIS_INIT,
                                  LZ_AXIS_LR};
  for (size_t a = 0; a < job->naxes; ++a) assert_int_equal(job->axes[a].group, groups[a]);
  assert_int_equal(job->problem.mf.n.axis, 0);
  assert_int_equal(job->problem.mf.d.axis, 1);
  assert_int_equal(job->init.imbalance.axis, 2);
  assert_int_equal(job->init.replica_axis, 3);
  assert_int_equal(job->lr.axis, 4);
  assert_int_equal(job->init.scale.axis, -1);
  assert_close(job->init.scale.value, 0.1, 0);
  const double n[] = {1, 16, 256}, d[] = {2}, replica[] = {0, 1, 2, 3, 4, 5, 6, 7};
  assert_values(axis_named(job, "n"), n, 3);
  assert_values(axis_named(job, "d"), d, 1);
  assert_values(axis_named(job, "replica"), replica, 8);
  assert_true(axis_named(job, "n")->is_integer);
  assert_true(axis_named(job, "replica")->is_integer);
  assert_false(axis_named(job, "lr")->is_integer);
  const lz_axis *lr = axis_named(job, "lr");
  assert_int_equal(lr->len, 40);
  assert_close(lr->values[0], 0.1, 0);
  assert_close(lr->values[39], 2.0, 0);
  assert_close(lr->values[1], 0.1 + 1.9 / 39, 1e-15);
  assert_int_equal(job->nruns, 3 * 3 * 8 * 40);
  assert_int_equal(job->ninstances, 3);
  assert_int_equal(job->runs_per_instance, 960);
  assert_int_equal(job->tiles_per_instance, 15);
  assert_int_equal(job->ntiles, 45);
  assert_int_equal(job->seed, 2022);
  assert_int_equal(job->lr.relative_to, LZ_LR_TWO_OVER_L);
  assert_int_equal(job->run.record_every, 100);
  assert_job_is_consistent(job);
  lz_job_destroy(&job);
}

static void parse_should_mark_values_where_they_are_written(void **state) {
  (void)state;
  lz_job *job = load_good("mf_balancing.yaml");
  assert_mark(job->problem.mark, 6, 9);         /* kind: mf */
  assert_mark(job->problem.mf.n.mark, 7, 6);       /* n: [1, 16, 256] */
  assert_mark(job->axes[job->problem.mf.n.axis].mark, 7, 6);
  assert_mark(job->problem.mf.d.mark, 8, 6);
  assert_mark(job->problem.mf.target.mark, 9, 11); /* target: {kind: gaussian ...} */
  assert_mark(job->init.mark, 12, 9);
  assert_mark(job->init.imbalance.mark, 14, 14);
  assert_mark(job->axes[job->init.replica_axis].mark, 15, 13);
  assert_mark(job->lr.mark, 17, 11);
  assert_mark(job->axes[job->lr.axis].mark, 17, 11);
  lz_job_destroy(&job);
}

static void parse_should_make_lr_the_last_axis(void **state) {
  (void)state;
  size_t count = 0;
  char **names = yaml_files_in(GOOD_DIR, &count);
  assert_true(count >= 8);
  for (size_t i = 0; i < count; ++i) {
    lz_job *job = load_good(names[i]);
    assert_job_is_consistent(job);
    lz_job_destroy(&job);
  }
  free_names(names);
}

static void tiles_should_cover_every_run_once(void **state) {
  (void)state;
  lz_job *job = load_good("mf_lowrank.yaml");
  /* problem: n 2 x singular_values 2; per instance: imbalance 2 x replica 3 x lr 1. */
  assert_int_equal(job->ninstances, 4);
  assert_int_equal(job->runs_per_instance, 6);
  assert_int_equal(job->tiles.runs, 5);
  assert_int_equal(job->tiles_per_instance, 2);
  assert_int_equal(job->ntiles, 8);
  int64_t next = 0;
  for (int64_t t = 0; t < job->ntiles; ++t) {
    int64_t r0 = -1, count = -1;
    lz_job_tile_runs(job, t, &r0, &count);
    assert_int_equal(r0, next);
    assert_true(count >= 1 && count <= job->tiles.runs);
    assert_int_equal(lz_job_instance_of_run(job, r0), lz_job_instance_of_run(job, r0 + count - 1));
    next = r0 + count;
  }
  assert_int_equal(next, job->nruns);
  lz_job_destroy(&job);
}

static void parse_should_sweep_vectors_and_generated_axes(void **state) {
  (void)state;
  lz_job *job = load_good("quadratic_sweep.yaml");
  const char *const names[] = {"eigenvalues", "init_scale", "replica", "lr", NULL};
  assert_axis_names(job, names);
  const lz_axis *ev = axis_named(job, "eigenvalues");
  assert_int_equal(ev->type, LZ_AXIS_VECTOR);
  assert_int_equal(ev->len, 2);
  assert_int_equal(ev->width, 3);
  assert_int_equal(job->problem.quadratic.eigenvalues.axis, 0);
  assert_int_equal(job->problem.quadratic.eigenvalues.len, 3);
  assert_null(job->problem.quadratic.eigenvalues.value);
  const double eigen[] = {1.0, 0.1, 0.01, 2.0, 0.5, -0.1};
  assert_values(ev, eigen, 6);
  const double scale[] = {0.01, 0.1, 1.0};    /* geomspace */
  assert_values(axis_named(job, "init_scale"), scale, 3);
  const double lr[] = {0.01, 0.031622776601683791, 0.1, 0.31622776601683794, 1.0};  /* logspace */
  assert_values(axis_named(job, "lr"), lr, 5);
  assert_string_equal(job->name, "quadratic-sweep");
  assert_string_equal(job->output, "/tmp/lrzoo-quadratic-sweep.h5");
  assert_int_equal(job->seed, 7);
  assert_int_equal(job->run.max_iter, 1000);
  assert_int_equal(job->run.record_every, 10);  /* max_iter / 100 */
  assert_close(job->run.tol_grad, 0.0, 0);
  assert_int_equal(job->ninstances, 2);
  assert_int_equal(job->runs_per_instance, 60);
  assert_int_equal(job->ntiles, 8);

  size_t *idx = coords_of_run(job, job->runs_per_instance);  /* first run of instance 1 */
  lz_problem_params pp;
  lz_job_problem_params(job, idx, &pp);
  assert_int_equal(pp.quadratic.n_eigenvalues, 3);
  assert_close(pp.quadratic.eigenvalues[0], 2.0, 0);
  assert_close(pp.quadratic.eigenvalues[2], -0.1, 0);
  free(idx);
  lz_job_destroy(&job);
}

static void parse_should_sweep_activation_and_alpha_as_choice_axes(void **state) {
  (void)state;
  lz_job *job = load_good("mf_activation.yaml");
  const char *const names[] = {"n",          "d",       "activation", "alpha",
                               "init_scale", "replica", "lr",         NULL};
  assert_axis_names(job, names);
  const lz_axis *act = axis_named(job, "activation");
  assert_int_equal(act->type, LZ_AXIS_CHOICE);
  assert_ptr_equal(act->labels, lz_activation_names);
  const double codes[] = {LZ_ACT_RELU, LZ_ACT_LEAKY_RELU};
  assert_values(act, codes, 2);
  const double n[] = {2, 4, 6, 8}, alpha[] = {0.05, 0.1}, scale[] = {0.5};
  assert_values(axis_named(job, "n"), n, 4);
  assert_values(axis_named(job, "alpha"), alpha, 2);
  assert_values(axis_named(job, "init_scale"), scale, 1);  /* a list of one is still an axis */
  const double lr[] = {0.001, 0.01, 0.1, 1.0};
  assert_values(axis_named(job, "lr"), lr, 4);
  assert_int_equal(job->problem.mf.target.kind, LZ_TARGET_IDENTITY);
  assert_int_equal(job->run.max_iter, 50);
  assert_int_equal(job->run.record_every, 1);

  size_t *idx = calloc(job->naxes, sizeof *idx);
  idx[axis_index(job, "n")] = 3;
  idx[axis_index(job, "d")] = 1;
  idx[axis_index(job, "activation")] = 1;
  idx[axis_index(job, "alpha")] = 1;
  lz_problem_params pp;
  lz_job_problem_params(job, idx, &pp);
  assert_int_equal(pp.kind, LZ_PROBLEM_MF);
  assert_int_equal(pp.mf.n, 8);
  assert_int_equal(pp.mf.d, 3);
  assert_int_equal(pp.mf.activation, LZ_ACT_LEAKY_RELU);
  assert_close(pp.mf.alpha, 0.1, 0);
  assert_int_equal(pp.mf.target, LZ_TARGET_IDENTITY);
  assert_int_equal(lz_problem_params_dim(&pp), 48);
  free(idx);
  lz_job_destroy(&job);
}

static void gaussian_init_should_scale_x_and_y_by_the_imbalance(void **state) {
  (void)state;
  lz_job *job = load_good("mf_balancing.yaml");
  size_t *idx = calloc(job->naxes, sizeof *idx);
  idx[axis_index(job, "n")] = 2;  /* n = 256, d = 2: 512 entries in X and in Y */
  idx[axis_index(job, "replica")] = 3;
  lz_problem_params pp;
  lz_job_problem_params(job, idx, &pp);
  assert_int_equal(pp.mf.n, 256);
  assert_int_equal(pp.mf.d, 2);
  size_t dim = lz_problem_params_dim(&pp), half = dim / 2;
  double *x1 = malloc(dim * sizeof *x1), *x4 = malloc(dim * sizeof *x4);
  idx[axis_index(job, "imbalance")] = 0;  /* c = 1 */
  assert_int_equal(lz_job_initial_point(job, idx, &pp, x1), LZ_OK);
  idx[axis_index(job, "imbalance")] = 1;  /* c = 4 */
  assert_int_equal(lz_job_initial_point(job, idx, &pp, x4), LZ_OK);
  double nx1 = 0, ny1 = 0, nx4 = 0, ny4 = 0;
  for (size_t i = 0; i < half; ++i) {
    nx1 += x1[i] * x1[i];
    ny1 += x1[half + i] * x1[half + i];
    nx4 += x4[i] * x4[i];
    ny4 += x4[half + i] * x4[half + i];
  }
  double ratio1 = sqrt(nx1 / ny1), ratio4 = sqrt(nx4 / ny4);
  assert_close(ratio4 / ratio1, 4.0, 1e-12);  /* same replica: same direction, scaled */
  assert_close(ratio4, 4.0, 0.2);             /* 512 normal entries each: norms agree to ~5% */
  assert_close(sqrt(nx1 / (double)half), 0.1, 0.2);  /* init scale 0.1 */
  free(x1);
  free(x4);
  free(idx);
  lz_job_destroy(&job);
}

static void gaussian_init_should_not_depend_on_lr_but_on_replica(void **state) {
  (void)state;
  lz_job *job = load_good("mf_balancing.yaml");
  size_t *idx = coords_of_run(job, 1234);
  lz_problem_params pp;
  lz_job_problem_params(job, idx, &pp);
  size_t dim = lz_problem_params_dim(&pp);
  double *a = malloc(dim * sizeof *a), *b = malloc(dim * sizeof *b), *c = malloc(dim * sizeof *c);
  int lr = job->lr.axis, rep = job->init.replica_axis;
  idx[lr] = 0;
  assert_int_equal(lz_job_initial_point(job, idx, &pp, a), LZ_OK);
  idx[lr] = 17;
  assert_int_equal(lz_job_initial_point(job, idx, &pp, b), LZ_OK);
  assert_memory_equal(a, b, dim * sizeof *a);
  idx[rep] = (idx[rep] + 1) % job->axes[rep].len;
  assert_int_equal(lz_job_initial_point(job, idx, &pp, c), LZ_OK);
  assert_memory_not_equal(a, c, dim * sizeof *a);
  assert_int_equal(run_of_coords(job, idx) / job->runs_per_instance,
                   lz_job_instance_of_run(job, 1234));
  free(a);
  free(b);
  free(c);
  free(idx);
  lz_job_destroy(&job);
}

static void parse_should_read_a_scalar_target_and_a_point_axis(void **state) {
  (void)state;
  lz_job *job = load_good("mf_scalar_point.yaml");
  const char *const names[] = {"n", "d", "mu", "point", "lr", NULL};
  assert_axis_names(job, names);
  assert_int_equal(job->problem.mf.target.kind, LZ_TARGET_SCALAR);
  const double mu[] = {1.0, -2.0, 4.0};
  assert_values(axis_named(job, "mu"), mu, 3);
  const lz_axis *point = axis_named(job, "point");
  assert_int_equal(point->type, LZ_AXIS_VECTOR);
  assert_int_equal(point->width, 2);
  assert_int_equal(job->init.point.len, 2);
  assert_int_equal(job->problem.mf.activation.axis, -1);
  assert_close(job->problem.mf.activation.value, LZ_ACT_LEAKY_RELU, 0);
  assert_close(job->problem.mf.alpha.value, 0.01, 0);  /* default slope */

  size_t *idx = calloc(job->naxes, sizeof *idx);
  idx[axis_index(job, "mu")] = 2;
  idx[axis_index(job, "point")] = 1;
  lz_problem_params pp;
  lz_job_problem_params(job, idx, &pp);
  assert_close(pp.mf.mu, 4.0, 0);
  assert_int_equal(pp.mf.n, 1);
  assert_int_equal(pp.mf.d, 1);
  double x0[2];
  assert_int_equal(lz_job_initial_point(job, idx, &pp, x0), LZ_OK);
  assert_close(x0[0], 0.1, 0);
  assert_close(x0[1], 3.0, 0);
  free(idx);
  lz_job_destroy(&job);
}

static void parse_should_default_lowrank_rank_to_the_vector_length(void **state) {
  (void)state;
  lz_job *job = load_good("mf_lowrank.yaml");
  const char *const names[] = {"n", "d", "singular_values", "imbalance", "replica", "lr", NULL};
  assert_axis_names(job, names);
  assert_int_equal(job->problem.mf.target.kind, LZ_TARGET_LOWRANK);
  assert_int_equal(job->problem.mf.target.rank.axis, -1);
  assert_close(job->problem.mf.target.rank.value, 2, 0);
  const double imbalance[] = {1, 4};
  assert_values(axis_named(job, "imbalance"), imbalance, 2);
  size_t *idx = calloc(job->naxes, sizeof *idx);
  idx[axis_index(job, "singular_values")] = 1;
  lz_problem_params pp;
  lz_job_problem_params(job, idx, &pp);
  assert_int_equal(pp.mf.rank, 2);
  assert_int_equal(pp.mf.n_singular_values, 2);
  assert_close(pp.mf.singular_values[0], 1.0, 0);
  free(idx);
  lz_job_destroy(&job);
}

static void parse_should_resolve_a_relative_target_path_against_the_job_directory(void **state) {
  (void)state;
  lz_job *job = load_good("mf_file.yaml");
  assert_int_equal(job->problem.mf.target.kind, LZ_TARGET_FILE);
  assert_string_equal(job->problem.mf.target.path, GOOD_DIR "/targets/a4.h5");
  assert_string_equal(job->problem.mf.target.dataset, "/A");
  assert_mark(job->problem.mf.target.mark, 6, 11);
  lz_problem_params pp;
  size_t *idx = coords_of_run(job, 0);
  lz_job_problem_params(job, idx, &pp);
  assert_string_equal(pp.mf.target_path, GOOD_DIR "/targets/a4.h5");
  free(idx);
  lz_job_destroy(&job);

#define FILE_TARGET_JOB(path) "problem: {kind: mf, n: 4, d: 1, target: {kind: file, path: " path \
                             ", dataset: A}}\ninit: {kind: gaussian}\nlr: {values: 0.1}\n"
  char buf[512];
  snprintf(buf, sizeof buf, "%s", FILE_TARGET_JOB("/data/a.h5"));
  char *diag = NULL;
  assert_int_equal(lz_config_parse("jobs/x.yaml", buf, strlen(buf), &job, &diag), LZ_OK);
  assert_string_equal(job->problem.mf.target.path, "/data/a.h5");  /* absolute: unchanged */
  lz_job_destroy(&job);
  snprintf(buf, sizeof buf, "%s", FILE_TARGET_JOB("a.h5"));
  assert_int_equal(lz_config_parse("x.yaml", buf, strlen(buf), &job, &diag), LZ_OK);
  assert_string_equal(job->problem.mf.target.path, "a.h5");  /* job file in the current directory */
  assert_string_equal(job->name, "x");
  lz_job_destroy(&job);
}

static void parse_should_build_grid_axes_like_numpy_linspace(void **state) {
  (void)state;
  lz_job *job = load_good("multiscale_grid.yaml");
  const char *const names[] = {"f0", "eps", "grid0", "grid1", "lr", NULL};
  assert_axis_names(job, names);
  const double grid0[] = {-2, -1, 0, 1, 2}, grid1[] = {-1, 0, 1};
  assert_values(axis_named(job, "grid0"), grid0, 5);
  assert_values(axis_named(job, "grid1"), grid1, 3);
  assert_int_equal(job->init.grid_dim, 2);
  assert_int_equal(job->init.grid_axis[0], 2);
  assert_int_equal(job->init.grid_axis[1], 3);
  assert_int_equal(job->init.grid_points[0], 5);
  assert_close(job->init.grid_lo[1], -1, 0);
  assert_close(job->init.grid_hi[0], 2, 0);
  assert_ptr_equal(axis_named(job, "f0")->labels, lz_f0_names);
  assert_int_equal(job->problem.multiscale.dim.axis, -1);
  assert_close(job->problem.multiscale.dim.value, 2, 0);
  assert_close(job->problem.multiscale.f1.value, LZ_F1_QUASIPERIODIC, 0);
  assert_close(job->problem.multiscale.ratio.value, 2.5, 0);
  /* amplitude defaults to eps, and follows it along its axis */
  assert_int_equal(job->problem.multiscale.amplitude.axis, job->problem.multiscale.eps.axis);
  assert_int_equal(job->problem.multiscale.eps.axis, 1);
  assert_int_equal(job->ninstances, 6);

  size_t *idx = calloc(job->naxes, sizeof *idx);
  idx[axis_index(job, "f0")] = 2;
  idx[axis_index(job, "eps")] = 1;
  idx[axis_index(job, "grid0")] = 4;
  idx[axis_index(job, "grid1")] = 0;
  lz_problem_params pp;
  lz_job_problem_params(job, idx, &pp);
  assert_int_equal(pp.multiscale.f0, LZ_F0_MATYAS);
  assert_int_equal(pp.multiscale.dim, 2);
  assert_close(pp.multiscale.eps, 1e-2, 0);
  assert_close(pp.multiscale.amplitude, 1e-2, 0);
  double x0[2];
  assert_int_equal(lz_job_initial_point(job, idx, &pp, x0), LZ_OK);
  assert_close(x0[0], 2, 0);
  assert_close(x0[1], -1, 0);
  free(idx);
  lz_job_destroy(&job);
}

static void parse_should_default_multiscale_amplitude_ratio_and_dim(void **state) {
  (void)state;
  lz_job *job = load_good("multiscale_point.yaml");
  const char *const names[] = {"f1", "lr", NULL};
  assert_axis_names(job, names);
  assert_ptr_equal(job->axes[0].labels, lz_f1_names);
  assert_int_equal(job->problem.multiscale.amplitude.axis, -1);
  assert_close(job->problem.multiscale.amplitude.value, 0.001, 0);
  assert_close(job->problem.multiscale.ratio.value, 1.6180339887498949, 0);
  assert_close(job->problem.multiscale.dim.value, 1, 0);
  assert_close(job->problem.multiscale.f0.value, LZ_F0_DOUBLE_WELL, 0);
  assert_int_equal(job->run.record_every, 1);
  lz_job_destroy(&job);
}

static void parse_should_make_single_element_lists_axes(void **state) {
  (void)state;
  lz_job *job = parse_good_text("problem: {kind: multiscale, f0: [matyas], dim: [2], eps: [0.1]}\n"
                                "init: {kind: point, x: [1, 2]}\n"
                                "lr: {values: [0.3]}\nrun:\ntiles:\n");
  const char *const expected[] = {"f0", "dim", "eps", "lr", NULL};  /* amplitude follows eps */
  assert_axis_names(job, expected);
  for (size_t a = 0; a < job->naxes; ++a) assert_int_equal(job->axes[a].len, 1);
  assert_int_equal(job->problem.multiscale.amplitude.axis, job->problem.multiscale.eps.axis);
  assert_int_equal(job->run.max_iter, 10000);  /* "run:" with nothing is the defaults */
  assert_int_equal(job->tiles.runs, 64);
  assert_string_equal(job->name, "inline");
  lz_job_destroy(&job);
}

static void parse_should_accept_whole_numbers_written_as_floats(void **state) {
  (void)state;
  lz_job *job = parse_good_text("problem: {kind: mf, n: 4.0, d: 1e1, target: {kind: lowrank, "
                                "singular_values: [2, 1], rank: 2}}\n"
                                "init: {kind: gaussian, replicas: 2e1}\n"
                                "lr: {values: 0.1}\nrun: {max_iter: 1e6, record_every: 1000}\n"
                                "seed: 9007199254740992\n");
  assert_close(job->problem.mf.n.value, 4, 0);
  assert_close(job->problem.mf.d.value, 10, 0);
  assert_int_equal(job->init.replicas, 20);
  assert_int_equal(axis_named(job, "replica")->len, 20);
  assert_int_equal(job->run.max_iter, 1000000);
  assert_int_equal(job->seed, 9007199254740992ull);
  assert_close(job->problem.mf.target.rank.value, 2, 0);
  lz_job_destroy(&job);
}

static void parse_should_round_generated_integer_axes_to_whole_numbers(void **state) {
  (void)state;
  lz_job *job = parse_good_text("problem: {kind: mf, n: {geomspace: [1, 1024, 11]}, "
                                "d: {logspace: [0, 2, 3]}, target: {kind: identity}}\n"
                                "init: {kind: gaussian, scale: 0.1}\nlr: {values: 0.1}\n");
  const double n[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}, d[] = {1, 10, 100};
  const lz_axis *ax = axis_named(job, "n");
  assert_int_equal(ax->len, 11);
  for (size_t i = 0; i < 11; ++i) assert_true(ax->values[i] == n[i]);  /* exact, not close */
  ax = axis_named(job, "d");
  for (size_t i = 0; i < 3; ++i) assert_true(ax->values[i] == d[i]);
  lz_job_destroy(&job);
}

static void parse_should_print_a_summary_of_every_good_file(void **state) {
  (void)state;
  size_t count = 0;
  char **names = yaml_files_in(GOOD_DIR, &count);
  FILE *out = fopen("/dev/null", "w");
  assert_non_null(out);
  for (size_t i = 0; i < count; ++i) {
    lz_job *job = load_good(names[i]);
    lz_job_print_summary(job, out);
    lz_job_destroy(&job);
  }
  fclose(out);
  free_names(names);
}

/* Axes and results share /runs, so no axis of any job may take a result's name. */
static void assert_no_axis_is_named_like_a_result(const char *dir) {
  size_t count = 0, nfields = 0;
  char **names = yaml_files_in(dir, &count);
  const lz_field *fields = lz_run_fields(&nfields);
  assert_true(count > 0);
  for (size_t i = 0; i < count; ++i) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    lz_job *job = NULL;
    char *diag = NULL;
    assert_int_equal(lz_config_load(path, &job, &diag), LZ_OK);
    for (size_t a = 0; a < job->naxes; ++a) {
      assert_string_not_equal(job->axes[a].name, "run");
      assert_string_not_equal(job->axes[a].name, "trace");
      for (size_t f = 0; f < nfields; ++f) assert_string_not_equal(job->axes[a].name, fields[f].name);
    }
    lz_job_destroy(&job);
  }
  free_names(names);
}

static void no_axis_of_any_shipped_job_should_share_a_name_with_a_result(void **state) {
  (void)state;
  assert_no_axis_is_named_like_a_result(GOOD_DIR);
  assert_no_axis_is_named_like_a_result(LZ_TEST_DATA_DIR "/data/jobs_layout");
  assert_no_axis_is_named_like_a_result(LZ_TEST_DATA_DIR "/../jobs");
}

/* ------------------------------------------------------------------------------------------ */
/* analyze                                                                                    */

/* A valid job without analyze or run; the analyze section given is appended at line 4. */
#define ANALYZE_BASE "problem: {kind: quadratic, eigenvalues: [1.0, 0.1]}\n" \
                     "init: {kind: point, x: [9.0, 1.0]}\nlr: {values: 0.5}\n"

enum { ORBIT = 1u, LYAPUNOV = 2u, SHARPNESS = 4u, MODEQ = 8u, ALL_ANALYSES = 15u };

/* The defaults of job.h for the analyses in `which`; lyapunov_steps = min(1000, max_iter). */
static void assert_default_analyses(const lz_job *job, unsigned which, int64_t lyapunov_steps) {
  if (which & ORBIT) {
    assert_int_equal(job->analyze.orbit.max_period, 64);
    assert_close(job->analyze.orbit.tol, 1e-9, 0);
  }
  if (which & LYAPUNOV) {
    assert_int_equal(job->analyze.lyapunov.iters, lyapunov_steps);
    assert_int_equal(job->analyze.lyapunov.transient, lyapunov_steps);
    assert_close(job->analyze.lyapunov.threshold, 0.01, 0);
  }
  if (which & SHARPNESS) assert_int_equal(job->analyze.sharpness.every, 0);
  if (which & MODEQ) {
    assert_int_equal(job->analyze.modified_equation.orders, 0);
    assert_int_equal(job->analyze.modified_equation.steps, 200);
    assert_int_equal(job->analyze.modified_equation.substeps, 32);
  }
}

static void assert_analysis_marks(const lz_job *job, int line, int col) {
  assert_mark(job->analyze.orbit.mark, line, col);
  assert_mark(job->analyze.lyapunov.mark, line, col);
  assert_mark(job->analyze.sharpness.mark, line, col);
  assert_mark(job->analyze.modified_equation.mark, line, col);
}

/* The job of base (3 lines) with this analyze section from line 4. */
static lz_job *parse_analyze_of(const char *base, const char *analyze) {
  char text[1024];
  snprintf(text, sizeof text, "%s%s", base, analyze);
  return parse_good_text(text);
}

static lz_job *parse_analyze(const char *analyze) { return parse_analyze_of(ANALYZE_BASE, analyze); }

/* A bad analyze section gives exactly these diagnostics. */
static void assert_analyze_error_of(const char *base, const char *analyze, const char *expected) {
  char text[1024];
  snprintf(text, sizeof text, "%s%s", base, analyze);
  lz_job *job = (lz_job *)1;
  char *diag = NULL;
  assert_int_equal(parse_text(text, &job, &diag), LZ_EJOB);
  assert_null(job);
  assert_string_equal(diag, expected);
  free(diag);
}

static void assert_analyze_error(const char *analyze, const char *expected) {
  assert_analyze_error_of(ANALYZE_BASE, analyze, expected);
}

static void analyze_should_default_every_analysis_when_the_section_is_absent(void **state) {
  (void)state;
  lz_job *job = load_good("quadratic_defaults.yaml");  /* max_iter 10000 */
  assert_default_analyses(job, ALL_ANALYSES, 1000);
  assert_analysis_marks(job, 0, 0);
  lz_job_destroy(&job);
}

static void analyze_should_default_every_analysis_when_the_section_is_empty(void **state) {
  (void)state;
  lz_job *job = parse_analyze("analyze:\n");
  assert_default_analyses(job, ALL_ANALYSES, 1000);
  assert_analysis_marks(job, 4, 9);  /* the empty value after "analyze:" */
  lz_job_destroy(&job);
  job = parse_analyze("analyze: {}\n");
  assert_default_analyses(job, ALL_ANALYSES, 1000);
  assert_analysis_marks(job, 4, 10);
  lz_job_destroy(&job);
  job = parse_analyze("analyze:\n  orbit:\n  lyapunov: ~\n  sharpness: null\n"
                      "  modified_equation:\n");
  assert_default_analyses(job, ALL_ANALYSES, 1000);
  assert_mark(job->analyze.orbit.mark, 5, 9);
  assert_mark(job->analyze.lyapunov.mark, 6, 13);
  assert_mark(job->analyze.sharpness.mark, 7, 14);
  assert_mark(job->analyze.modified_equation.mark, 8, 21);
  lz_job_destroy(&job);
}

static void analyze_should_default_the_analyses_a_job_leaves_out(void **state) {
  (void)state;
  lz_job *job = parse_analyze("analyze: {orbit: {max_period: 8}}\n");
  assert_default_analyses(job, ALL_ANALYSES & ~ORBIT, 1000);
  assert_int_equal(job->analyze.orbit.max_period, 8);
  assert_close(job->analyze.orbit.tol, 1e-9, 0);
  assert_mark(job->analyze.orbit.mark, 4, 18);
  assert_mark(job->analyze.lyapunov.mark, 4, 10);  /* absent: the analyze map */
  lz_job_destroy(&job);

  job = parse_analyze("analyze: {lyapunov: {threshold: 0.5}}\n");
  assert_default_analyses(job, ALL_ANALYSES & ~LYAPUNOV, 1000);
  assert_int_equal(job->analyze.lyapunov.iters, 1000);
  assert_int_equal(job->analyze.lyapunov.transient, 1000);
  assert_close(job->analyze.lyapunov.threshold, 0.5, 0);
  assert_mark(job->analyze.lyapunov.mark, 4, 21);
  lz_job_destroy(&job);

  job = parse_analyze("analyze: {sharpness: {every: 10}}\n");
  assert_default_analyses(job, ALL_ANALYSES & ~SHARPNESS, 1000);
  assert_int_equal(job->analyze.sharpness.every, 10);
  assert_mark(job->analyze.sharpness.mark, 4, 22);
  lz_job_destroy(&job);

  job = parse_analyze("analyze: {modified_equation: {orders: [1]}}\n");
  assert_default_analyses(job, ALL_ANALYSES & ~MODEQ, 1000);
  assert_int_equal(job->analyze.modified_equation.orders, 1u << 1);
  assert_int_equal(job->analyze.modified_equation.steps, 200);
  assert_int_equal(job->analyze.modified_equation.substeps, 32);
  assert_mark(job->analyze.modified_equation.mark, 4, 30);
  lz_job_destroy(&job);
}

static void analyze_should_put_every_key_in_job_analyze_and_make_no_axis(void **state) {
  (void)state;
  lz_job *job = parse_analyze(
      "analyze:\n"
      "  orbit: {max_period: 12, tol: 1.0e-6}\n"
      "  lyapunov: {iters: 250, transient: 50, threshold: 0}\n"
      "  sharpness: {every: 500}\n"
      "  modified_equation: {orders: [0, 2], steps: 1000000, substeps: 10000}\n"
      "run: {max_iter: 500}\n");
  assert_int_equal(job->analyze.orbit.max_period, 12);
  assert_close(job->analyze.orbit.tol, 1e-6, 0);
  assert_int_equal(job->analyze.lyapunov.iters, 250);
  assert_int_equal(job->analyze.lyapunov.transient, 50);
  assert_close(job->analyze.lyapunov.threshold, 0.0, 0);
  assert_int_equal(job->analyze.sharpness.every, 500);  /* = max_iter: allowed */
  assert_int_equal(job->analyze.modified_equation.orders, (1u << 0) | (1u << 2));
  assert_int_equal(job->analyze.modified_equation.steps, 1000000);  /* the largest allowed */
  assert_int_equal(job->analyze.modified_equation.substeps, 10000);
  assert_mark(job->analyze.orbit.mark, 5, 10);
  assert_mark(job->analyze.lyapunov.mark, 6, 13);
  assert_mark(job->analyze.sharpness.mark, 7, 14);
  assert_mark(job->analyze.modified_equation.mark, 8, 22);
  const char *const names[] = {"lr", NULL};
  assert_axis_names(job, names);
  assert_int_equal(job->nruns, 1);
  assert_job_is_consistent(job);
  lz_job_destroy(&job);
}

static void analyze_should_accept_zero_to_turn_analyses_off(void **state) {
  (void)state;
  lz_job *job = parse_analyze("analyze: {orbit: {max_period: 0}, lyapunov: {iters: 0},\n"
                              "  sharpness: {every: 0}, modified_equation: {orders: []}}\n");
  assert_int_equal(job->analyze.orbit.max_period, 0);
  assert_int_equal(job->analyze.lyapunov.iters, 0);
  assert_int_equal(job->analyze.lyapunov.transient, 1000);
  assert_int_equal(job->analyze.sharpness.every, 0);
  assert_int_equal(job->analyze.modified_equation.orders, 0);
  lz_job_destroy(&job);
}

static void modified_equation_orders_should_become_a_bit_mask(void **state) {
  (void)state;
  static const struct {
    const char *orders;
    unsigned mask;
  } cases[] = {{"[]", 0}, {"[0]", 1}, {"[1]", 2}, {"[2]", 4}, {"[2, 0]", 5}, {"[0, 1]", 3},
               {"[1, 2]", 6}, {"[0, 1, 2]", 7}, {"[2, 1, 0]", 7}, {"[1.0]", 2}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
    char analyze[128];
    snprintf(analyze, sizeof analyze, "analyze: {modified_equation: {orders: %s}}\n",
             cases[i].orders);
    lz_job *job = parse_analyze(analyze);
    if (job->analyze.modified_equation.orders != cases[i].mask)
      fail_msg("orders %s: mask %u, expected %u", cases[i].orders,
               job->analyze.modified_equation.orders, cases[i].mask);
    lz_job_destroy(&job);
  }
  lz_job *job = parse_analyze("analyze: {modified_equation: {steps: 10, substeps: 4}}\n");
  assert_int_equal(job->analyze.modified_equation.orders, 0);  /* no orders: off */
  assert_int_equal(job->analyze.modified_equation.steps, 10);
  assert_int_equal(job->analyze.modified_equation.substeps, 4);
  lz_job_destroy(&job);
}

static void lyapunov_defaults_should_follow_max_iter_wherever_run_is_written(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int64_t iters, transient;
  } cases[] = {
    /* min(1000, max_iter / 2) each, at least 1: the window fits in the run */
    {"run: {max_iter: 300}\nanalyze: {lyapunov: {threshold: 0.1}}\n", 150, 150},
    {"analyze: {lyapunov: {threshold: 0.1}}\nrun: {max_iter: 300}\n", 150, 150},
    {"analyze:\nrun: {max_iter: 300}\n", 150, 150},
    {"run: {max_iter: 300}\n", 150, 150},
    {"run: {max_iter: 2000}\n", 1000, 1000},
    {"run: {max_iter: 5000}\nanalyze: {}\n", 1000, 1000},
    {"analyze: {lyapunov: {iters: 2000}}\nrun: {max_iter: 300}\n", 2000, 150},
    {"analyze: {lyapunov: {transient: 7}}\nrun: {max_iter: 1}\n", 1, 7},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
    lz_job *job = parse_analyze(cases[i].text);
    if (job->analyze.lyapunov.iters != cases[i].iters ||
        job->analyze.lyapunov.transient != cases[i].transient)
      fail_msg("%s: iters %lld, transient %lld; expected %lld, %lld", cases[i].text,
               (long long)job->analyze.lyapunov.iters, (long long)job->analyze.lyapunov.transient,
               (long long)cases[i].iters, (long long)cases[i].transient);
    lz_job_destroy(&job);
  }
}

static void analyze_errors_should_say_what_is_allowed(void **state) {
  (void)state;
  assert_analyze_error("analyze: {sharpness: {every: 301}}\nrun: {max_iter: 300}\n",
                       "inline.yaml:4:30: sharpness.every must be 0 (no sharpness trace) or at "
                       "most max_iter (300), got 301");
  assert_analyze_error("analyze: [orbit]\n",
                       "inline.yaml:4:10: analyze must be a map with keys orbit, lyapunov, "
                       "sharpness, modified_equation, invariant_measure; got a list");
  assert_analyze_error("analyze: {orbit: 64}\n",
                       "inline.yaml:4:18: analyze.orbit must be a map with keys max_period, tol; "
                       "got '64'");
  assert_analyze_error("analyze: {modified_equation: {orders: 1}}\n",
                       "inline.yaml:4:39: modified_equation.orders must be a list of distinct "
                       "orders out of 0, 1, 2, e.g. [0, 1, 2] ([] for none); got '1'");
  assert_analyze_error("analyze: {modified_equation: {orders: [0, x]}}\n",
                       "inline.yaml:4:43: modified_equation.orders must be an integer 0, 1 or 2; "
                       "got 'x'");
  assert_analyze_error("analyze: {modified_equation: {substeps: 10001}}\n",
                       "inline.yaml:4:41: modified_equation.substeps must be >= 1 and <= 10000, "
                       "got 10001");
  assert_analyze_error("analyze: {modified_equation: {steps: 2.5}}\n",
                       "inline.yaml:4:38: modified_equation.steps must be an integer >= 1 and "
                       "<= 1000000; got '2.5', which is not an integer");
  assert_analyze_error("analyze: {lyapunov: {threshold: -0.1}}\n",
                       "inline.yaml:4:33: lyapunov.threshold must be >= 0, got -0.1");
  /* A bad max_iter is reported once; sharpness.every is not compared with its default. */
  assert_analyze_error("analyze: {sharpness: {every: 20000}}\nrun: {max_iter: 0}\n",
                       "inline.yaml:5:17: max_iter must be >= 1, got 0");
}

static void parse_should_read_the_analyze_section_of_the_design_example(void **state) {
  (void)state;
  lz_job *job = load_good("mf_balancing.yaml");
  assert_int_equal(job->analyze.orbit.max_period, 64);
  assert_close(job->analyze.orbit.tol, 1e-9, 0);
  assert_int_equal(job->analyze.lyapunov.iters, 5000);
  assert_int_equal(job->analyze.lyapunov.transient, 1000);  /* min(1000, max_iter 100000) */
  assert_close(job->analyze.lyapunov.threshold, 0.01, 0);
  assert_int_equal(job->analyze.sharpness.every, 1000);
  assert_int_equal(job->analyze.modified_equation.orders, 7);
  assert_int_equal(job->analyze.modified_equation.steps, 200);
  assert_int_equal(job->analyze.modified_equation.substeps, 32);
  assert_mark(job->analyze.orbit.mark, 25, 10);
  assert_mark(job->analyze.lyapunov.mark, 26, 13);
  assert_mark(job->analyze.sharpness.mark, 27, 14);
  assert_mark(job->analyze.modified_equation.mark, 28, 22);
  lz_job_destroy(&job);
}

static void analyze_defaults_should_follow_a_max_iter_written_after_them(void **state) {
  (void)state;
  lz_job *job = load_good("multiscale_point.yaml");  /* analyze at line 13, run at line 22 */
  assert_default_analyses(job, ORBIT, 10);
  assert_int_equal(job->analyze.lyapunov.iters, 5);  /* min(1000, max_iter 10 / 2) */
  assert_int_equal(job->analyze.lyapunov.transient, 4);
  assert_close(job->analyze.lyapunov.threshold, 0.05, 0);
  assert_int_equal(job->analyze.sharpness.every, 5);
  assert_int_equal(job->analyze.modified_equation.orders, (1u << 0) | (1u << 2));
  assert_int_equal(job->analyze.modified_equation.steps, 200);
  assert_int_equal(job->analyze.modified_equation.substeps, 8);
  assert_mark(job->analyze.orbit.mark, 14, 3);  /* absent: the analyze map */
  assert_mark(job->analyze.lyapunov.mark, 15, 5);
  assert_mark(job->analyze.sharpness.mark, 18, 5);
  assert_mark(job->analyze.modified_equation.mark, 20, 5);
  lz_job_destroy(&job);
}

/* ------------------------------------------------------------------------------------------ */
/* analyze.invariant_measure                                                                  */

/* Bases of 3 lines like ANALYZE_BASE: an mf problem with n swept (X is n x 2, state 2 n d >= 8),
 * and a multiscale problem of the given dim. */
#define MF_BASE "problem: {kind: mf, n: [2, 3], d: 2}\ninit: {kind: gaussian}\nlr: {values: 0.5}\n"
#define MULTISCALE_BASE(dim)                                                            \
  "problem: {kind: multiscale, f0: quadratic, dim: " dim ", eps: 0.01}\n"             \
  "init: {kind: gaussian}\nlr: {values: 0.5}\n"
/* The smallest invariant_measure; keys appended to it start at column 58. */
#define IM_MIN "analyze: {invariant_measure: {samples: 5, range: [0, 1]"

static void assert_coords(const lz_job *job, const int64_t *coords, size_t n) {
  assert_int_equal(job->analyze.invariant_measure.ncoords, n);
  for (size_t i = 0; i < n; ++i) assert_int_equal(job->analyze.invariant_measure.coords[i], coords[i]);
}

/* Off, with every other key at its default; coords and joint as for a 1-D or an mf problem. */
static void assert_invariant_measure_off(const lz_job *job) {
  static const int64_t first[] = {0};
  assert_int_equal(job->analyze.invariant_measure.samples, 0);
  assert_int_equal(job->analyze.invariant_measure.burn_in, 10000);
  assert_int_equal(job->analyze.invariant_measure.bins, 200);
  assert_coords(job, first, 1);
  assert_int_equal(job->analyze.invariant_measure.joint, 0);
  assert_int_equal(job->analyze.invariant_measure.observable.kind, LZ_OBS_NONE);
  assert_int_equal(job->analyze.invariant_measure.observable.bins, 100);
}

static void invariant_measure_should_be_off_unless_its_sub_map_is_written(void **state) {
  (void)state;
  lz_job *job = load_good("quadratic_defaults.yaml");
  assert_invariant_measure_off(job);
  assert_mark(job->analyze.invariant_measure.mark, 0, 0);
  lz_job_destroy(&job);
  job = parse_analyze("analyze: {orbit: {max_period: 3}}\n");
  assert_invariant_measure_off(job);
  assert_mark(job->analyze.invariant_measure.mark, 4, 10);  /* absent: the analyze map */
  lz_job_destroy(&job);
  job = parse_analyze("analyze:\n  invariant_measure:\n");
  assert_invariant_measure_off(job);
  assert_mark(job->analyze.invariant_measure.mark, 5, 21);  /* the null after the key */
  lz_job_destroy(&job);
  job = parse_analyze("analyze: {invariant_measure: ~, orbit: {max_period: 3}}\n");
  assert_invariant_measure_off(job);
  assert_mark(job->analyze.invariant_measure.mark, 4, 30);
  lz_job_destroy(&job);
  /* Off, a 2-D problem still has its default coords. */
  job = parse_analyze_of(MULTISCALE_BASE("2"), "");
  assert_int_equal(job->analyze.invariant_measure.samples, 0);
  assert_int_equal(job->analyze.invariant_measure.ncoords, 2);
  assert_int_equal(job->analyze.invariant_measure.joint, 1);
  lz_job_destroy(&job);
}

static void invariant_measure_should_default_coords_and_joint_from_the_problem(void **state) {
  (void)state;
  static const struct {
    const char *base;
    size_t ncoords;
    int joint;
  } cases[] = {
    {ANALYZE_BASE, 1, 0},               /* quadratic, 2 eigenvalues: [0] */
    {MF_BASE, 1, 0},                    /* mf: [0] */
    {MULTISCALE_BASE("1"), 1, 0},       /* multiscale of dimension 1: [0] */
    {MULTISCALE_BASE("2"), 2, 1},       /* of dimension 2: [0, 1] and their joint histogram */
    {MULTISCALE_BASE("[2]"), 2, 1},     /* a dim axis of one value */
    {MULTISCALE_BASE("[2, 1]"), 1, 0},  /* the smallest dimension is 1: [0] */
  };
  static const int64_t first_two[] = {0, 1};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
    lz_job *job = parse_analyze_of(cases[i].base, IM_MIN "}}\n");
    assert_int_equal(job->analyze.invariant_measure.samples, 5);
    assert_int_equal(job->analyze.invariant_measure.burn_in, 10000);
    assert_int_equal(job->analyze.invariant_measure.bins, 200);
    assert_close(job->analyze.invariant_measure.lo, 0, 0);
    assert_close(job->analyze.invariant_measure.hi, 1, 0);
    assert_coords(job, first_two, cases[i].ncoords);
    assert_int_equal(job->analyze.invariant_measure.joint, cases[i].joint);
    assert_int_equal(job->analyze.invariant_measure.observable.kind, LZ_OBS_NONE);
    assert_int_equal(job->analyze.invariant_measure.observable.bins, 100);
    assert_mark(job->analyze.invariant_measure.mark, 4, 30);
    assert_job_is_consistent(job);
    lz_job_destroy(&job);
  }
  /* Given coords: joint is on for two or more of them, unless it is turned off. */
  static const struct {
    const char *base, *keys;
    int joint;
  } joints[] = {
    {ANALYZE_BASE, ", coords: [1, 0]}}\n", 1},
    {ANALYZE_BASE, ", coords: [1]}}\n", 0},
    {ANALYZE_BASE, ", coords: [0, 1], joint: false}}\n", 0},
    {ANALYZE_BASE, ", coords: [0, 1], joint: FALSE}}\n", 0},
    {MULTISCALE_BASE("2"), ", coords: [1]}}\n", 0},
    {MULTISCALE_BASE("2"), ", joint: False}}\n", 0},
    {MULTISCALE_BASE("2"), ", joint: True}}\n", 1},
    {MF_BASE, ", coords: [5, 1, 7]}}\n", 1},
  };
  for (size_t i = 0; i < sizeof joints / sizeof *joints; ++i) {
    char analyze[256];
    snprintf(analyze, sizeof analyze, "%s%s", IM_MIN, joints[i].keys);
    lz_job *job = parse_analyze_of(joints[i].base, analyze);
    if (job->analyze.invariant_measure.joint != joints[i].joint)
      fail_msg("%s: joint %d, expected %d", analyze, job->analyze.invariant_measure.joint,
               joints[i].joint);
    lz_job_destroy(&job);
  }
}

static void invariant_measure_should_put_every_key_in_job_analyze_and_make_no_axis(void **state) {
  (void)state;
  lz_job *job = parse_analyze_of(MF_BASE,
                                 "analyze:\n"
                                 "  invariant_measure:\n"
                                 "    samples: 1.0e15\n"
                                 "    burn_in: 0\n"
                                 "    coords: [7, 0, 3]\n"
                                 "    bins: 300\n"
                                 "    range: [-0.5, 2.5e1]\n"
                                 "    joint: true\n"
                                 "    observable: {kind: x_entry, entry: [1, 1], bins: 7, "
                                 "range: [-2, 2]}\n");
  static const int64_t coords[] = {7, 0, 3};  /* 7 < 2 n d = 8 for n = 2 */
  assert_int_equal(job->analyze.invariant_measure.samples, 1000000000000000LL);  /* the most */
  assert_int_equal(job->analyze.invariant_measure.burn_in, 0);
  assert_coords(job, coords, 3);
  assert_int_equal(job->analyze.invariant_measure.bins, 300);
  assert_close(job->analyze.invariant_measure.lo, -0.5, 0);
  assert_close(job->analyze.invariant_measure.hi, 25, 0);
  assert_int_equal(job->analyze.invariant_measure.joint, 1);
  assert_int_equal(job->analyze.invariant_measure.observable.kind, LZ_OBS_X_ENTRY);
  assert_int_equal(job->analyze.invariant_measure.observable.entry[0], 1);  /* < n, d = 2 */
  assert_int_equal(job->analyze.invariant_measure.observable.entry[1], 1);
  assert_int_equal(job->analyze.invariant_measure.observable.bins, 7);
  assert_close(job->analyze.invariant_measure.observable.lo, -2, 0);
  assert_close(job->analyze.invariant_measure.observable.hi, 2, 0);
  assert_mark(job->analyze.invariant_measure.mark, 6, 5);  /* a block map: its first key */
  const char *const names[] = {"n", "d", "replica", "lr", NULL};
  assert_axis_names(job, names);
  assert_job_is_consistent(job);
  double edges[301];
  lz_job_hist_edges(job, edges);
  assert_close(edges[0], -0.5, 0);
  assert_close(edges[300], 25, 0);
  lz_job_destroy(&job);

  /* The other bounds: bins 1 and 100000, coords of every index of a 2-D state. */
  job = parse_analyze(IM_MIN ", bins: 1, coords: [1, 0], burn_in: 9007199254740992}}\n");
  assert_int_equal(job->analyze.invariant_measure.bins, 1);
  assert_int_equal(job->analyze.invariant_measure.burn_in, 9007199254740992LL);
  lz_job_destroy(&job);
  job = parse_analyze(IM_MIN ", bins: 100000, observable: {kind: f0, bins: 100000, "
                      "range: [0, 1]}}}\n");
  assert_int_equal(job->analyze.invariant_measure.bins, 100000);
  assert_int_equal(job->analyze.invariant_measure.observable.bins, 100000);
  lz_job_destroy(&job);
}

static void invariant_measure_should_read_every_observable_kind(void **state) {
  (void)state;
  static const struct {
    const char *base, *observable;
    int kind;
    int64_t bins;
    double lo, hi;
  } cases[] = {
    {ANALYZE_BASE, "", LZ_OBS_NONE, 100, 0, 0},
    {ANALYZE_BASE, ", observable: ~", LZ_OBS_NONE, 100, 0, 0},
    {ANALYZE_BASE, ", observable: {kind: f0, range: [0, 3]}", LZ_OBS_F0, 100, 0, 3},
    {MULTISCALE_BASE("2"), ", observable: {range: [-1, 1e3], kind: loss, bins: 20}", LZ_OBS_LOSS,
     20, -1, 1000},
    {MF_BASE, ", observable: {kind: x_entry, entry: [1, 0], range: [-4, 4]}", LZ_OBS_X_ENTRY,
     100, -4, 4},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
    char analyze[256];
    snprintf(analyze, sizeof analyze, "%s%s}}\n", IM_MIN, cases[i].observable);
    lz_job *job = parse_analyze_of(cases[i].base, analyze);
    if (job->analyze.invariant_measure.observable.kind != cases[i].kind)
      fail_msg("%s: kind %d, expected %d", analyze, job->analyze.invariant_measure.observable.kind,
               cases[i].kind);
    assert_string_equal(lz_observable_names[job->analyze.invariant_measure.observable.kind],
                        i < 2 ? "none" : i == 2 ? "f0" : i == 3 ? "loss" : "x_entry");
    assert_int_equal(job->analyze.invariant_measure.observable.bins, cases[i].bins);
    assert_close(job->analyze.invariant_measure.observable.lo, cases[i].lo, 0);
    assert_close(job->analyze.invariant_measure.observable.hi, cases[i].hi, 0);
    assert_int_equal(job->analyze.invariant_measure.observable.entry[0],
                     cases[i].kind == LZ_OBS_X_ENTRY ? 1 : 0);
    assert_int_equal(job->analyze.invariant_measure.observable.entry[1], 0);
    lz_job_destroy(&job);
  }
}

static void invariant_measure_errors_should_say_what_is_allowed(void **state) {
  (void)state;
  static const struct {
    const char *base, *analyze, *expected;
  } cases[] = {
    {ANALYZE_BASE, "analyze: {invariant_measure: {range: [0, 1]}}\n",
     "inline.yaml:4:30: missing required key 'samples' in analyze.invariant_measure: the number "
     "of iterates counted after burn_in, an integer >= 1"},
    {ANALYZE_BASE, "analyze: {invariant_measure: {}}\n",
     "inline.yaml:4:30: missing required key 'samples' in analyze.invariant_measure: the number "
     "of iterates counted after burn_in, an integer >= 1\n"
     "inline.yaml:4:30: missing required key 'range' in analyze.invariant_measure: the "
     "histogram range [lo, hi], two finite numbers with lo < hi"},
    {ANALYZE_BASE, "analyze: {invariant_measure: 5}\n",
     "inline.yaml:4:30: analyze.invariant_measure must be a map with keys samples, burn_in, "
     "coords, bins, range, joint, observable; got '5'"},
    {ANALYZE_BASE, "analyze: {invariant_measure: {samples: 0, range: [0, 1]}}\n",
     "inline.yaml:4:40: invariant_measure.samples must be >= 1 and <= 1e+15, got 0"},
    {ANALYZE_BASE, "analyze: {invariant_measure: {samples: 2.0e15, range: [0, 1]}}\n",
     "inline.yaml:4:40: invariant_measure.samples must be >= 1 and <= 1e+15, got 2.0e15"},
    {ANALYZE_BASE, IM_MIN ", burn_in: -1}}\n",
     "inline.yaml:4:67: invariant_measure.burn_in must be >= 0, got -1"},
    {ANALYZE_BASE, IM_MIN ", burn_in: 1.0e16}}\n",
     "inline.yaml:4:67: invariant_measure.burn_in must be an integer of at most 2^53 = "
     "9007199254740992 in magnitude; got '1.0e16'"},
    {ANALYZE_BASE, "analyze: {invariant_measure: {samples: 5, range: [1, 1]}}\n",
     "inline.yaml:4:50: invariant_measure.range must be [lo, hi] with lo < hi; got [1, 1]"},
    {ANALYZE_BASE, "analyze: {invariant_measure: {samples: 5, range: [0, .inf]}}\n",
     "inline.yaml:4:54: invariant_measure.range hi must be a finite number; got '.inf'"},
    {ANALYZE_BASE, "analyze: {invariant_measure: {samples: 5, range: [0]}}\n",
     "inline.yaml:4:50: invariant_measure.range must be [lo, hi], two finite numbers with "
     "lo < hi; got a list of 1"},
    {ANALYZE_BASE, IM_MIN ", coords: [0, 2]}}\n",
     "inline.yaml:4:70: invariant_measure.coords must be < 2, the state dimension (quadratic: "
     "one entry per eigenvalue); got 2"},
    {MULTISCALE_BASE("[1, 2]"), IM_MIN ", coords: [0, 1]}}\n",
     "inline.yaml:4:70: invariant_measure.coords must be < 1, the smallest state dimension of "
     "the sweep (dim is swept ([1, 2] at line 1)); got 1"},
    {ANALYZE_BASE, IM_MIN ", coords: [1, 1]}}\n",
     "inline.yaml:4:70: invariant_measure.coords lists coordinate 1 twice (first at line 4, "
     "column 67); give each coordinate at most once"},
    {ANALYZE_BASE, IM_MIN ", coords: []}}\n",
     "inline.yaml:4:66: invariant_measure.coords must be a list of 1 to 8 distinct state "
     "indices, e.g. [0] or [0, 1]; got an empty list"},
    {MF_BASE, IM_MIN ", coords: [0, 1, 2, 3, 4, 5, 6, 7, 8]}}\n",
     "inline.yaml:4:66: invariant_measure.coords must be a list of 1 to 8 distinct state "
     "indices, e.g. [0] or [0, 1]; got a list of 9"},
    {ANALYZE_BASE, IM_MIN ", coords: 0}}\n",
     "inline.yaml:4:66: invariant_measure.coords must be a list of 1 to 8 distinct state "
     "indices, e.g. [0] or [0, 1]; got '0'"},
    {ANALYZE_BASE, IM_MIN ", coords: [-1]}}\n",
     "inline.yaml:4:67: invariant_measure.coords must be >= 0, got -1"},
    {ANALYZE_BASE, IM_MIN ", joint: true}}\n",
     "inline.yaml:4:65: invariant_measure.joint: true is the 2-D histogram of coords[0] and "
     "coords[1], so it needs 2 or more coords, but coords is [0] (the default); add a "
     "coordinate or set joint: false"},
    {MULTISCALE_BASE("2"), IM_MIN ", joint: true, coords: [1]}}\n",
     "inline.yaml:4:65: invariant_measure.joint: true is the 2-D histogram of coords[0] and "
     "coords[1], so it needs 2 or more coords, but coords is [1]; add a coordinate or set "
     "joint: false"},
    {ANALYZE_BASE, IM_MIN ", joint: yes}}\n",
     "inline.yaml:4:65: invariant_measure.joint must be true or false; got bool 'yes'"},
    {ANALYZE_BASE, IM_MIN ", joint: \"true\"}}\n",
     "inline.yaml:4:65: invariant_measure.joint must be true or false; got string 'true'"},
    {ANALYZE_BASE, IM_MIN ", bins: 0}}\n",
     "inline.yaml:4:64: invariant_measure.bins must be >= 1 and <= 100000, got 0"},
    {ANALYZE_BASE, IM_MIN ", bin: 10}}\n",
     "inline.yaml:4:58: unknown key 'bin' in analyze.invariant_measure; allowed: samples, "
     "burn_in, coords, bins, range, joint, observable"},
    {ANALYZE_BASE, IM_MIN ", observable: {kind: x_entry, entry: [0, 0], range: [0, 1]}}}\n",
     "inline.yaml:4:77: observable kind x_entry is an entry of the mf factor X, so it is only "
     "allowed for problem kind mf, not quadratic; use f0 or loss"},
    {ANALYZE_BASE, IM_MIN ", observable: {kind: none, range: [0, 1]}}}\n",
     "inline.yaml:4:77: observable kind must be one of f0, loss, x_entry; got 'none'"},
    {ANALYZE_BASE, IM_MIN ", observable: {range: [0, 1]}}}\n",
     "inline.yaml:4:70: missing required key 'kind' in analyze.invariant_measure.observable; "
     "allowed kinds: f0, loss, x_entry"},
    {ANALYZE_BASE, IM_MIN ", observable: {kind: f0, entry: [0, 0], range: [0, 1]}}}\n",
     "inline.yaml:4:81: key 'entry' does not apply to analyze.invariant_measure.observable kind "
     "f0; allowed for f0: kind, bins, range"},
    {ANALYZE_BASE, IM_MIN ", observable: {kind: loss}}}\n",
     "inline.yaml:4:70: missing required key 'range' in analyze.invariant_measure.observable: "
     "the histogram range [lo, hi] of the observable, with lo < hi"},
    {ANALYZE_BASE, IM_MIN ", observable: {kind: loss, bins: 100001, range: [0, 1]}}}\n",
     "inline.yaml:4:89: observable.bins must be >= 1 and <= 100000, got 100001"},
    {ANALYZE_BASE, IM_MIN ", observable: {kind: loss, range: [1, 0]}}}\n",
     "inline.yaml:4:90: observable.range must be [lo, hi] with lo < hi; got [1, 0]"},
    {MF_BASE, IM_MIN ", observable: {kind: x_entry, range: [0, 1]}}}\n",
     "inline.yaml:4:70: missing required key 'entry' in analyze.invariant_measure.observable for "
     "kind x_entry: [i, j], the row and column of the entry of X (0 <= i < n, 0 <= j < d)"},
    {MF_BASE, IM_MIN ", observable: {kind: x_entry, entry: [2, 1], range: [0, 1]}}}\n",
     "inline.yaml:4:94: observable.entry row must be < n for every instance (X is n x d, "
     "n = [2, 3]); got 2"},
    {MF_BASE, IM_MIN ", observable: {kind: x_entry, entry: [0, 2], range: [0, 1]}}}\n",
     "inline.yaml:4:97: observable.entry column must be < d for every instance (X is n x d, "
     "d = 2); got 2"},
    {MF_BASE, IM_MIN ", observable: {kind: x_entry, entry: 1, range: [0, 1]}}}\n",
     "inline.yaml:4:93: observable.entry must be [i, j], the row and column of an entry of the "
     "n x d factor X; got '1'"},
    {MF_BASE, IM_MIN ", observable: {kind: x_entry, entry: [0.5, 0], range: [0, 1]}}}\n",
     "inline.yaml:4:94: observable.entry must be an integer >= 0; got '0.5', which is not an "
     "integer"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i)
    assert_analyze_error_of(cases[i].base, cases[i].analyze, cases[i].expected);
}

/* The joint histogram grows with bins^2: 100000 bins cannot fit, whatever the machine. The
 * others grow with bins x runs in a tile (tests/jobs_bad/too_much_tile_histogram_memory.yaml). */
static void invariant_measure_should_be_refused_when_its_histograms_do_not_fit(void **state) {
  (void)state;
  static const char joint_advice[] = "lower invariant_measure.bins or set joint: false";
  static const struct {
    const char *analyze, *prefix, *advice;
  } cases[] = {
    {IM_MIN ", coords: [0, 1], bins: 100000}}\n",  /* joint by default: at bins */
     "inline.yaml:4:80: sweep too large for memory: the invariant-measure sampler's histograms "
     "(100000 bins per coordinate, and bins squared jointly, ", joint_advice},
    {IM_MIN ", coords: [0, 1], bins: 100000, joint: true}}\n",
     "inline.yaml:4:95: sweep too large for memory: the invariant-measure sampler's histograms "
     "(100000 bins per coordinate, and bins squared jointly, ", joint_advice},
    {IM_MIN ", coords: [0, 1], bins: 100000, joint: true}, orbit: {max_period: 1.0e9}}\n",
     "inline.yaml:4:95: sweep too large for memory: ", joint_advice},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
    char text[1024];
    snprintf(text, sizeof text, "%s%s", ANALYZE_BASE, cases[i].analyze);
    lz_job *job = (lz_job *)1;
    char *diag = NULL;
    assert_int_equal(parse_text(text, &job, &diag), LZ_EJOB);
    assert_null(job);
    assert_int_equal(count_lines(diag), 1);
    if (strncmp(diag, cases[i].prefix, strlen(cases[i].prefix)) != 0)
      fail_msg("got:\n%s\nexpected it to start with:\n%s", diag, cases[i].prefix);
    if (!strstr(diag, cases[i].advice)) fail_msg("no \"%s\" in:\n%s", cases[i].advice, diag);
    free(diag);
  }
  /* Without the joint histogram the same bins fit. */
  lz_job *job = parse_analyze(IM_MIN ", coords: [0, 1], bins: 100000, joint: false}}\n");
  assert_int_equal(job->analyze.invariant_measure.joint, 0);
  lz_job_destroy(&job);
}

static void parse_should_read_the_invariant_measure_of_the_good_files(void **state) {
  (void)state;
  lz_job *job = load_good("multiscale_grid.yaml");  /* dim 2 */
  static const int64_t first_two[] = {0, 1}, first[] = {0};
  assert_int_equal(job->analyze.invariant_measure.samples, 200000);
  assert_int_equal(job->analyze.invariant_measure.burn_in, 500);
  assert_coords(job, first_two, 2);  /* the default of a 2-D problem */
  assert_int_equal(job->analyze.invariant_measure.joint, 1);
  assert_int_equal(job->analyze.invariant_measure.bins, 64);
  assert_close(job->analyze.invariant_measure.lo, -2.5, 0);
  assert_close(job->analyze.invariant_measure.hi, 2.5, 0);
  assert_int_equal(job->analyze.invariant_measure.observable.kind, LZ_OBS_F0);
  assert_int_equal(job->analyze.invariant_measure.observable.bins, 100);
  assert_close(job->analyze.invariant_measure.observable.lo, 0, 0);
  assert_close(job->analyze.invariant_measure.observable.hi, 4, 0);
  assert_mark(job->analyze.invariant_measure.mark, 20, 5);
  assert_default_analyses(job, ALL_ANALYSES, 1000);  /* the other analyses keep their defaults */
  double edges[65];
  lz_job_hist_edges(job, edges);
  assert_close(edges[0], -2.5, 0);
  assert_close(edges[32], 0, 1e-15);
  assert_close(edges[64], 2.5, 0);
  lz_job_destroy(&job);

  job = load_good("quadratic_invariant_measure.yaml");  /* flow map, keys in any order */
  assert_int_equal(job->analyze.invariant_measure.samples, 1000000);
  assert_int_equal(job->analyze.invariant_measure.burn_in, 10000);
  assert_coords(job, first, 1);
  assert_int_equal(job->analyze.invariant_measure.joint, 0);
  assert_int_equal(job->analyze.invariant_measure.bins, 200);
  assert_close(job->analyze.invariant_measure.lo, -3, 0);
  assert_close(job->analyze.invariant_measure.hi, 3, 0);
  assert_int_equal(job->analyze.invariant_measure.observable.kind, LZ_OBS_NONE);
  assert_mark(job->analyze.invariant_measure.mark, 12, 22);
  assert_int_equal(job->analyze.orbit.max_period, 64);
  assert_int_equal(job->analyze.modified_equation.orders, 7);
  lz_job_destroy(&job);
}

/* ------------------------------------------------------------------------------------------ */
/* Bad files                                                                                  */

typedef struct expectation {
  char where[32];     /* "LINE:COL" */
  char substr[512];
} expectation;

static size_t read_expectations(const char *text, expectation *out, size_t max) {
  size_t n = 0;
  const char *prefix = "# expect: ";
  for (const char *line = text; line && *line;
       line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
    if (strncmp(line, prefix, strlen(prefix)) != 0) continue;
    const char *s = line + strlen(prefix), *end = strchr(s, '\n');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    const char *colon = memchr(s, ':', len);
    const char *second = colon ? memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) : NULL;
    assert_non_null(second);
    assert_true(n < max);
    snprintf(out[n].where, sizeof out[n].where, "%.*s", (int)(second - s), s);
    const char *msg = second + 1;
    while (*msg == ' ') ++msg;
    snprintf(out[n].substr, sizeof out[n].substr, "%.*s", (int)(len - (size_t)(msg - s)), msg);
    ++n;
  }
  return n;
}

/* A diagnostics line that is "PATH:WHERE: ..." with the substring in its message. */
static bool line_matches(const char *line, size_t len, const char *path, const expectation *e) {
  char prefix[1200];
  snprintf(prefix, sizeof prefix, "%s:%s: ", path, e->where);
  size_t plen = strlen(prefix);
  if (len < plen || strncmp(line, prefix, plen) != 0) return false;
  char *msg = strndup(line + plen, len - plen);
  bool found = strstr(msg, e->substr) != NULL;
  free(msg);
  return found;
}

static void check_bad_file(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", BAD_DIR, name);
  size_t len = 0;
  char *text = read_whole_file(path, &len);
  expectation expect[16];
  size_t nexpect = read_expectations(text, expect, 16);
  if (nexpect == 0) fail_msg("%s has no '# expect: LINE:COL: message' line", name);

  lz_job *job = (lz_job *)1;
  char *diag = NULL;
  int rc = lz_config_load(path, &job, &diag);
  if (rc != LZ_EJOB) fail_msg("%s: expected LZ_EJOB, got %s", name, lz_err_name(rc));
  assert_null(job);
  assert_non_null(diag);
  if (count_lines(diag) != nexpect)
    fail_msg("%s: expected %zu diagnostics, got %zu:\n%s", name, nexpect, count_lines(diag), diag);
  bool used[16] = {false};
  for (size_t e = 0; e < nexpect; ++e) {
    bool found = false;
    size_t k = 0;
    for (const char *line = diag; line && !found; ++k) {
      const char *end = strchr(line, '\n');
      size_t llen = end ? (size_t)(end - line) : strlen(line);
      if (!used[k] && line_matches(line, llen, path, &expect[e])) used[k] = found = true;
      line = end ? end + 1 : NULL;
    }
    if (!found)
      fail_msg("%s: no diagnostic at %s containing \"%s\"; got:\n%s", name, expect[e].where,
               expect[e].substr, diag);
  }
  free(diag);
  free(text);
}

static void parse_should_report_every_bad_file_with_its_expected_errors(void **state) {
  (void)state;
  size_t count = 0;
  char **names = yaml_files_in(BAD_DIR, &count);
  if (count < MIN_BAD_FILES)
    fail_msg("only %zu bad job files in %s; expected at least %d", count, BAD_DIR, MIN_BAD_FILES);
  for (size_t i = 0; i < count; ++i) check_bad_file(names[i]);
  free_names(names);
}

static void parse_should_report_errors_one_per_line_without_trailing_newline(void **state) {
  (void)state;
  lz_job *job = NULL;
  char *diag = NULL;
  assert_int_equal(parse_text("problem: {kind: quadratic, eigenvalues: [1]}\n"
                              "init: {kind: gaussian, scale: 0}\n"
                              "lr: {values: [0.1, -1]}\nfoo: 1\n", &job, &diag), LZ_EJOB);
  assert_null(job);
  assert_string_equal(diag, "inline.yaml:2:31: init scale must be > 0, got 0\n"
                            "inline.yaml:3:20: lr value h must be > 0, got -1\n"
                            "inline.yaml:4:1: unknown key 'foo' at top level; allowed: name, seed, "
                            "output, problem, init, lr, run, analyze, tiles");
  free(diag);
}

static void load_should_report_a_missing_file_as_path_and_reason(void **state) {
  (void)state;
  lz_job *job = (lz_job *)1;
  char *diag = NULL;
  assert_int_equal(lz_config_load("/nonexistent/job.yaml", &job, &diag), LZ_EJOB);
  assert_null(job);
  assert_string_equal(diag,
                      "/nonexistent/job.yaml: cannot open the job file: No such file or directory");
  free(diag);
}

/* ------------------------------------------------------------------------------------------ */
/* Robustness                                                                                 */

static char *nested_maps(int depth) {
  size_t size = (size_t)depth * 6 + 16;
  char *s = malloc(size);
  size_t used = 0;
  used += (size_t)snprintf(s + used, size - used, "problem: ");
  for (int i = 0; i < depth; ++i) used += (size_t)snprintf(s + used, size - used, "{a: ");
  used += (size_t)snprintf(s + used, size - used, "1");
  for (int i = 0; i < depth; ++i) s[used++] = '}';
  s[used] = '\0';
  return s;
}

static char *nested_lists(int depth) {
  char *s = malloc(2 * (size_t)depth + 1);
  for (int i = 0; i < depth; ++i) s[i] = '[', s[2 * depth - 1 - i] = ']';
  s[2 * depth] = '\0';
  return s;
}

static void expect_rejected(const char *what, const char *text, size_t len) {
  lz_job *job = (lz_job *)1;
  char *diag = NULL;
  int rc = lz_config_parse("tricky.yaml", text, len, &job, &diag);
  if (rc != LZ_EJOB) fail_msg("%s: expected LZ_EJOB, got %s", what, lz_err_name(rc));
  assert_null(job);
  if (!diag || count_lines(diag) < 1) fail_msg("%s: no diagnostics", what);
  for (const char *line = diag; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
    if (strncmp(line, "tricky.yaml:", 12) != 0)
      fail_msg("%s: line without position: %s", what, line);
  free(diag);
}

static void parse_should_never_crash_on_tricky_input(void **state) {
  (void)state;
  static const char junk[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe\x01\x02problem: \x80\x81";
  static const char *const tricky[] = {
    "", "\n\n# only a comment\n", "[]", "{}", "null", "~", "42", "'text'", "{", "}", "[", ":",
    "- - -", "problem:", "problem: null\ninit: null\nlr: null",
    "problem: []\ninit: {}\nlr: []",
    "a: &x [*x]\n",
    "problem: &p {kind: quadratic, eigenvalues: &e [*e, *p]}\n"
    "init: {kind: point, x: *p}\nlr: {values: *e}\n",
    "problem: *undefined\n",
    "problem: {kind: quadratic, eigenvalues: [1]}\ninit: {kind: gaussian}\nlr: &v {values: *v}\n",
    "? [complex, key]\n: 1\n<<: {merge: 1}\n",
    "problem: {kind: mf, n: 1e999, d: 99999999999999999999999}\n"
    "init: {kind: gaussian, replicas: 1e300}\n"
    "lr: {values: {logspace: [0, 400, 3]}}\n",
    "problem: {kind: mf, n: 0x10, d: -0, target: {kind: gaussian, scale: .nan}}\n"
    "init: {kind: grid}\n"
    "lr: {values: {linspace: [1, 2, 1e30]}}\n",
    "problem: {kind: quadratic, eigenvalues: [[]]}\ninit: {kind: point, x: []}\nlr: {values: {}}\n",
    "problem: {kind: quadratic, eigenvalues: [1, [2]]}\ninit: {kind: point, x: [[1], 2]}\n"
    "lr: {values: {a: 1, b: 2}}\n",
    "problem: {kind: quadratic, eigenvalues: [1]}\ninit: {kind: point, x: [1]}\n"
    "lr: {values: {linspace: [1, 2]}}\n",
    "problem: {kind: \"\\0\", eigenvalues: [1]}\ninit: {kind: point, x: [1]}\n"
    "lr: {values: 1}\nname: \"a\\0b\"\n",
    "problem:\n\tkind: mf\n",
    "--- 1\n--- 2\n",
    "%YAML 1.1\n%YAML 1.1\n---\na: 1\n",
    "problem: !!binary aGVsbG8=\ninit: !custom {kind: gaussian}\nlr: {values: !!float 1}\n",
  };
  for (size_t i = 0; i < sizeof tricky / sizeof *tricky; ++i)
    expect_rejected(tricky[i], tricky[i], strlen(tricky[i]));
  expect_rejected("binary junk", junk, sizeof junk - 1);
  expect_rejected("NULL text", NULL, 0);

  char *deep = nested_maps(100);
  expect_rejected("100-deep nested map", deep, strlen(deep));
  free(deep);
  deep = nested_lists(5000);
  expect_rejected("5000-deep nested list", deep, strlen(deep));
  free(deep);

  /* Aliases multiply work without multiplying text: a billion laughs must stay cheap. */
  size_t size = 1 << 14, used = 0;
  char *laughs = malloc(size);
  used += (size_t)snprintf(laughs + used, size - used, "l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n");
  for (int i = 1; i < 9; ++i) {
    used += (size_t)snprintf(laughs + used, size - used, "l%d: &l%d [", i, i);
    for (int j = 0; j < 10; ++j)
      used += (size_t)snprintf(laughs + used, size - used, "%s*l%d", j ? ", " : "", i - 1);
    used += (size_t)snprintf(laughs + used, size - used, "]\n");
  }
  snprintf(laughs + used, size - used, "problem: {kind: quadratic, eigenvalues: *l8}\n"
           "init: {kind: point, x: *l8}\nlr: {values: *l8}\n");
  expect_rejected("billion laughs", laughs, strlen(laughs));
  free(laughs);
}

/* splitmix64: a fixed, portable stream, so a failing mutation can be replayed. */
static uint64_t next_random(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static size_t mutate(char *buf, size_t len, size_t cap, uint64_t *rng) {
  static const char yaml_chars[] = "[]{}:,-#&*!|>'\"%@ \n\t0123456789.e+-~abz";
  size_t at = len ? (size_t)(next_random(rng) % len) : 0;
  switch (next_random(rng) % 5) {
    case 0: buf[at] = yaml_chars[next_random(rng) % (sizeof yaml_chars - 1)]; break;
    case 1: buf[at] = (char)(next_random(rng) & 0xff); break;
    case 2: if (len) { memmove(buf + at, buf + at + 1, len - at - 1); --len; } break;
    case 3:
      if (len < cap) {
        memmove(buf + at + 1, buf + at, len - at);
        buf[at] = yaml_chars[next_random(rng) % (sizeof yaml_chars - 1)];
        ++len;
      }
      break;
    default: {
      size_t from = (size_t)(next_random(rng) % (len + 1)), n = (size_t)(next_random(rng) % 24);
      if (from + n > len) n = len - from;
      if (len + n <= cap) {
        memmove(buf + at + n, buf + at, len - at);
        memmove(buf + at, buf + (from >= at ? from + n : from), n);
        len += n;
      }
    }
  }
  return len;
}

static void check_parsed_job(const lz_job *job) {
  assert_job_is_consistent(job);
  size_t *idx = coords_of_run(job, job->nruns - 1);
  lz_problem_params pp;
  lz_job_problem_params(job, idx, &pp);
  size_t dim = lz_problem_params_dim(&pp);
  if (dim <= 100000) {
    double *x0 = malloc((dim ? dim : 1) * sizeof *x0);
    assert_int_equal(lz_job_initial_point(job, idx, &pp, x0), LZ_OK);
    free(x0);
  }
  free(idx);
}

static void parse_should_survive_mutated_job_files(void **state) {
  (void)state;
  size_t count = 0;
  char **names = yaml_files_in(GOOD_DIR, &count);
  uint64_t rng = 20240601;
  int accepted = 0, rejected = 0;
  for (size_t f = 0; f < count; ++f) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", GOOD_DIR, names[f]);
    size_t len = 0;
    char *original = read_whole_file(path, &len);
    size_t cap = len + 256;
    char *buf = malloc(cap);
    for (int trial = 0; trial < 150; ++trial) {
      memcpy(buf, original, len);
      size_t n = len;
      for (int m = (int)(next_random(&rng) % 3); m >= 0; --m) n = mutate(buf, n, cap, &rng);
      lz_job *job = NULL;
      char *diag = NULL;
      int rc = lz_config_parse(path, buf, n, &job, &diag);
      if (rc == LZ_OK) {
        assert_null(diag);
        check_parsed_job(job);
        ++accepted;
      } else {
        if (rc != LZ_EJOB) fail_msg("%s trial %d: %s", names[f], trial, lz_err_name(rc));
        assert_null(job);
        assert_true(count_lines(diag) >= 1);
        ++rejected;
      }
      lz_job_destroy(&job);
      free(diag);
    }
    free(buf);
    free(original);
  }
  free_names(names);
  assert_true(accepted > 0 && rejected > 0);
}

/* ---- memory limit ------------------------------------------------------------------------ */

#define MIB (1024.0 * 1024.0)
static const char dense_3000[] =
    "problem:\n  kind: mf\n  n: 3000\n  d: 2\ninit: {kind: gaussian}\nlr: {values: 0.1}\n";

static int parse_with_limit(const char *text, double bytes, lz_job **job, char **diag) {
  lz_config_limits lim = {bytes, 1, "--memory-limit", NULL};
  return lz_config_parse_with("inline.yaml", text, strlen(text), &lim, job, diag);
}

/* The 3000 x 3000 target and its transpose take 137 MiB, and building the instance adds the
 * BLAS probe's 23 MiB: a 100 MiB limit cannot hold them with the libraries and the runs, 1 GiB
 * can. */
static void a_job_above_the_memory_limit_should_be_refused_at_n(void **state) {
  (void)state;
  lz_job *job = (lz_job *)1;
  char *diag = NULL;
  assert_int_equal(parse_with_limit(dense_3000, 100 * MIB, &job, &diag), LZ_EJOB);
  assert_null(job);
  const char *prefix = "inline.yaml:3:6: sweep too large for memory: the problem instance (0.16 GiB)";
  if (strncmp(diag, prefix, strlen(prefix)) != 0) fail_msg("got:\n%s", diag);
  assert_non_null(strstr(diag, "above the limit of 0.10 GiB (--memory-limit)"));
  assert_non_null(strstr(diag, "reduce n (a dense target"));
  free(diag);
  assert_int_equal(parse_with_limit(dense_3000, 1024 * MIB, &job, &diag), LZ_OK);
  assert_null(diag);
  assert_true(job->memory_estimate > 68.7 * MIB + 64 * MIB);
  assert_true(job->memory_estimate < 250 * MIB);
  lz_job_destroy(&job);
}

static lz_memory_estimate estimate_parts_of(const char *text, int threads) {
  lz_job *job = parse_good_text(text);
  lz_memory_estimate est;
  lz_job_memory_estimate(job, threads, &est);
  assert_true(est.total == est.part[LZ_MEM_PROBLEM] + est.part[LZ_MEM_RUNS] +
                               est.part[LZ_MEM_RESULTS] + est.part[LZ_MEM_SAMPLER] +
                               est.part[LZ_MEM_LIBRARIES]);
  lz_job_destroy(&job);
  return est;
}

static double estimate_of(const char *text, int threads) {
  return estimate_parts_of(text, threads).total;
}

/* Each allocation the estimate counts must move it by what it allocates. */
static void the_memory_estimate_should_grow_with_what_the_job_allocates(void **state) {
  (void)state;
  static const char quad[] = "problem: {kind: quadratic, eigenvalues: [1.0]}\n"
                             "init: {kind: gaussian, replicas: 64}\nlr: {values: 0.1}\n";
  static const char one_run[] = "problem: {kind: quadratic, eigenvalues: [1.0]}\n"
                                "init: {kind: gaussian}\nlr: {values: 0.1}\n";
  char text[512];
  double base = estimate_of(quad, 1);
  /* one tile's loss traces: 64 runs x (10^6 + 1) records, worker's and master's copy */
  snprintf(text, sizeof text, "%srun: {max_iter: 1000000, record_every: 1}\n", quad);
  double traces = estimate_of(text, 1) - base;
  assert_true(fabs(traces - 2.0 * 64 * 8 * 1000001) < 0.01 * traces);
  /* a tile never holds more runs than an instance has: tiles.runs 10^8 on one run costs one */
  snprintf(text, sizeof text, "%stiles: {runs: 100000000}\n", one_run);
  assert_true(estimate_of(text, 1) == estimate_of(one_run, 1));
  /* a dense target: 8 n^2 bytes, rows padded to 8 doubles, and as much for its transpose up to
   * n = 4096, plus (while it is built) the BLAS probe's four n x 128 d blocks; a lowrank one
   * 2 n k doubles */
  lz_memory_estimate dense = estimate_parts_of(
      "problem: {kind: mf, n: 1000, d: 2}\ninit: {kind: gaussian}\nlr: {values: 0.1}\n", 1);
  assert_true(dense.part[LZ_MEM_PROBLEM] >= 2 * 8.0 * 1000 * 1000);
  assert_true(dense.part[LZ_MEM_PROBLEM] <= 2 * 8.0 * 1000 * 1008 + 32.0 * 1000 * 2 * 128 + 4096);
  lz_memory_estimate large = estimate_parts_of(
      "problem: {kind: mf, n: 5000, d: 2}\ninit: {kind: gaussian}\nlr: {values: 0.1}\n", 1);
  assert_true(large.part[LZ_MEM_PROBLEM] >= 8.0 * 5000 * 5000);
  assert_true(large.part[LZ_MEM_PROBLEM] <= 8.0 * 5000 * 5008 + 32.0 * 5000 * 2 * 128 + 4096);
  lz_memory_estimate lowrank = estimate_parts_of(
      "problem: {kind: mf, n: 100000, d: 2, target: {kind: lowrank, singular_values: [1, 2, 3]}}\n"
      "init: {kind: gaussian}\nlr: {values: 0.1}\n", 1);
  assert_true(lowrank.part[LZ_MEM_PROBLEM] >= 8.0 * 2 * 100000 * 3);
  assert_true(lowrank.part[LZ_MEM_PROBLEM] <= 8.0 * 4 * 100000 * 3 + 8192);
  /* small problems run one per thread: run scratch scales with threads */
  double one = estimate_of(ANALYZE_BASE "analyze: {orbit: {max_period: 100000}}\n", 1);
  double four = estimate_of(ANALYZE_BASE "analyze: {orbit: {max_period: 100000}}\n", 4);
  assert_true(four - one > 3 * 8.0 * 2 * 100000);
}

static void memory_sizes_should_parse_with_binary_units(void **state) {
  (void)state;
  double b = 0;
  assert_int_equal(lz_memory_parse_size("4G", &b), 0);
  assert_true(b == 4.0 * 1024 * MIB);
  assert_int_equal(lz_memory_parse_size("512MiB", &b), 0);
  assert_true(b == 512 * MIB);
  assert_int_equal(lz_memory_parse_size("1.5t", &b), 0);
  assert_true(b == 1.5 * 1024 * 1024 * MIB);
  assert_int_equal(lz_memory_parse_size("2000000000", &b), 0);
  assert_true(b == 2e9);
  const char *bad[] = {"", "G", "-1G", "0", "4X", "4GG", "nan", "inf", "1e400"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; ++i)
    if (lz_memory_parse_size(bad[i], &b) == 0) fail_msg("'%s' was accepted", bad[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(parse_should_fill_defaults_for_a_minimal_quadratic_job),
    cmocka_unit_test(parse_should_keep_the_path_text_and_its_sha256),
    cmocka_unit_test(parse_should_order_axes_problem_then_init_then_lr),
    cmocka_unit_test(parse_should_mark_values_where_they_are_written),
    cmocka_unit_test(parse_should_make_lr_the_last_axis),
    cmocka_unit_test(tiles_should_cover_every_run_once),
    cmocka_unit_test(parse_should_sweep_vectors_and_generated_axes),
    cmocka_unit_test(parse_should_sweep_activation_and_alpha_as_choice_axes),
    cmocka_unit_test(gaussian_init_should_scale_x_and_y_by_the_imbalance),
    cmocka_unit_test(gaussian_init_should_not_depend_on_lr_but_on_replica),
    cmocka_unit_test(parse_should_read_a_scalar_target_and_a_point_axis),
    cmocka_unit_test(parse_should_default_lowrank_rank_to_the_vector_length),
    cmocka_unit_test(parse_should_resolve_a_relative_target_path_against_the_job_directory),
    cmocka_unit_test(parse_should_build_grid_axes_like_numpy_linspace),
    cmocka_unit_test(parse_should_default_multiscale_amplitude_ratio_and_dim),
    cmocka_unit_test(parse_should_make_single_element_lists_axes),
    cmocka_unit_test(parse_should_accept_whole_numbers_written_as_floats),
    cmocka_unit_test(parse_should_round_generated_integer_axes_to_whole_numbers),
    cmocka_unit_test(parse_should_print_a_summary_of_every_good_file),
    cmocka_unit_test(no_axis_of_any_shipped_job_should_share_a_name_with_a_result),
    cmocka_unit_test(analyze_should_default_every_analysis_when_the_section_is_absent),
    cmocka_unit_test(analyze_should_default_every_analysis_when_the_section_is_empty),
    cmocka_unit_test(analyze_should_default_the_analyses_a_job_leaves_out),
    cmocka_unit_test(analyze_should_put_every_key_in_job_analyze_and_make_no_axis),
    cmocka_unit_test(analyze_should_accept_zero_to_turn_analyses_off),
    cmocka_unit_test(modified_equation_orders_should_become_a_bit_mask),
    cmocka_unit_test(lyapunov_defaults_should_follow_max_iter_wherever_run_is_written),
    cmocka_unit_test(analyze_errors_should_say_what_is_allowed),
    cmocka_unit_test(parse_should_read_the_analyze_section_of_the_design_example),
    cmocka_unit_test(analyze_defaults_should_follow_a_max_iter_written_after_them),
    cmocka_unit_test(invariant_measure_should_be_off_unless_its_sub_map_is_written),
    cmocka_unit_test(invariant_measure_should_default_coords_and_joint_from_the_problem),
    cmocka_unit_test(invariant_measure_should_put_every_key_in_job_analyze_and_make_no_axis),
    cmocka_unit_test(invariant_measure_should_read_every_observable_kind),
    cmocka_unit_test(invariant_measure_errors_should_say_what_is_allowed),
    cmocka_unit_test(invariant_measure_should_be_refused_when_its_histograms_do_not_fit),
    cmocka_unit_test(parse_should_read_the_invariant_measure_of_the_good_files),
    cmocka_unit_test(parse_should_report_every_bad_file_with_its_expected_errors),
    cmocka_unit_test(parse_should_report_errors_one_per_line_without_trailing_newline),
    cmocka_unit_test(load_should_report_a_missing_file_as_path_and_reason),
    cmocka_unit_test(parse_should_never_crash_on_tricky_input),
    cmocka_unit_test(parse_should_survive_mutated_job_files),
    cmocka_unit_test(a_job_above_the_memory_limit_should_be_refused_at_n),
    cmocka_unit_test(the_memory_estimate_should_grow_with_what_the_job_allocates),
    cmocka_unit_test(memory_sizes_should_parse_with_binary_units),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
