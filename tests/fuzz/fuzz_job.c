/* libFuzzer harness for the job-file parser (src/config/).
 *
 * Each input is the text of a job file, given to lz_config_parse as "fuzz.yaml". Besides the
 * sanitizers (ASan, UBSan, LeakSanitizer), the harness aborts when the result breaks what
 * include/lrzoo/config.h and job.h promise:
 *   - the return code is LZ_OK, LZ_EJOB or LZ_ENOMEM, and *out is set exactly on LZ_OK;
 *   - on success: no diagnostics; a job whose sweep is consistent (axes ordered problem, init,
 *     lr; every axis non-empty with finite values, integer axes whole; nruns = product of the
 *     axis lengths, 1 <= nruns <= 1e9; instances x runs per instance = nruns; tiles cover the
 *     runs; every parameter refers to an existing axis of the right kind; lr > 0 everywhere;
 *     run/tiles/analyze values in their documented ranges); the job keeps the exact input bytes
 *     and their SHA-256; the first and last run have an initial point of the problem's
 *     dimension; lz_job_print_summary (what `lrzoo validate` prints) runs on small sweeps;
 *   - on LZ_EJOB: diagnostics, one error per line, each "fuzz.yaml:LINE:COL: message" with
 *     LINE, COL >= 1 inside the input, sorted by position, at most 100 of them plus a final
 *     "fuzz.yaml: N more errors not listed"; or the single line "fuzz.yaml: out of memory ...".
 *     The text is valid UTF-8 without control characters (it goes to a terminal);
 *   - parsing the same bytes twice gives the same result (catches reads of uninitialized or
 *     freed state that the sanitizers let through);
 *   - one parse never holds more than PARSE_HEAP_LIMIT bytes of heap at once. The parser's
 *     limits (src/config/parser.h: 10^7 points per axis, 10^7 numbers per vector axis, 10^9
 *     runs) allow about 3 x 80 MB of axes in a job; a file of a few hundred bytes that makes
 *     every MPI rank hold gigabytes before it is refused is a bug.
 * A broken invariant prints what was wrong and calls abort(), which libFuzzer reports as a
 * crash and saves the input. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/allocator_interface.h>

#include "lrzoo/config.h"
#include "lrzoo/error.h"
#include "lrzoo/job.h"

#define FUZZ_PATH "fuzz.yaml"
#define MAX_DIAGNOSTICS 100          /* parser.h: listed errors, then "N more errors not listed" */
#define MAX_RUNS 1000000000LL        /* parser.h: a job has at most 1e9 runs */
#define SUMMARY_MAX_INSTANCES 100000 /* lz_job_print_summary loops over the instances */
#define POINT_MAX_DIM (1u << 20)     /* initial points checked up to this dimension */
#define PARSE_HEAP_LIMIT (512.0 * 1024 * 1024)

static const uint8_t *g_data;
static size_t g_size;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "\nfuzz_job: invariant violated: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nfuzz_job: input (%zu bytes): \"", g_size);
  for (size_t i = 0; i < g_size && i < 2048; ++i) {
    unsigned c = g_data[i];
    if (c == '\n') fputs("\\n", stderr);
    else if (c == '"' || c == '\\') fprintf(stderr, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f) fprintf(stderr, "\\x%02x", c);
    else fputc((int)c, stderr);
  }
  fprintf(stderr, "%s\"\n", g_size > 2048 ? "..." : "");
  abort();
}

#define CHECK(cond, ...)              \
  do {                                \
    if (!(cond)) fail(__VA_ARGS__);   \
  } while (0)

/* ---------------------------------------------------------------------------------------- */
/* Heap held during a parse, through the sanitizer allocator's hooks                        */

static int g_tracking;
static long long g_live, g_peak;

static void on_malloc(const volatile void *ptr, size_t size) {
  (void)ptr;
  if (!g_tracking) return;
  g_live += (long long)size;
  if (g_live > g_peak) g_peak = g_live;
}

static void on_free(const volatile void *ptr) {
  if (g_tracking && ptr) g_live -= (long long)__sanitizer_get_allocated_size((const void *)ptr);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (!__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free)) {
    fprintf(stderr, "fuzz_job: cannot install the allocator hooks\n");
    abort();
  }
  return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Diagnostics                                                                              */

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if there is none. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len;
  unsigned min;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) len = 2, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, min = 0x10000;
  else return 0;
  if (len > n) return 0;
  unsigned cp = c & (0xFFu >> (len + 1));
  for (size_t i = 1; i < len; ++i) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

/* Reads a decimal number >= 1 at *s; false if there is none. */
static bool read_position(const char **s, long long *out) {
  const char *p = *s;
  long long v = 0;
  if (*p < '1' || *p > '9') return false;
  while (*p >= '0' && *p <= '9') {
    if (v > 1000000000000LL) return false;
    v = v * 10 + (*p++ - '0');
  }
  *s = p;
  *out = v;
  return true;
}

static void check_diagnostics(const char *diag, size_t input_len) {
  static const char prefix[] = FUZZ_PATH ":";
  const size_t plen = sizeof prefix - 1;
  CHECK(diag != NULL, "LZ_EJOB without diagnostics");
  size_t total = strlen(diag);
  CHECK(total > 0, "LZ_EJOB with empty diagnostics");
  for (size_t i = 0; i < total;) {
    size_t n = utf8_len((const unsigned char *)diag + i, total - i);
    CHECK(n > 0, "diagnostics are not valid UTF-8 at byte %zu: %s", i, diag);
    unsigned c = (unsigned char)diag[i];
    CHECK(n > 1 || c == '\n' || (c >= 0x20 && c != 0x7f),
          "control character 0x%02x in diagnostics at byte %zu: %s", c, i, diag);
    i += n;
  }
  size_t lines = 0;
  long long prev_line = 0, prev_col = 0;
  bool summary_seen = false;
  for (const char *line = diag; line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    ++lines;
    CHECK(!summary_seen, "a diagnostic follows the last line of the list: %s", diag);
    CHECK(len > plen && strncmp(line, prefix, plen) == 0,
          "diagnostic line %zu does not start with \"" FUZZ_PATH ":\": %.*s", lines, (int)len,
          line);
    const char *p = line + plen;
    long long ln = 0, col = 0;
    if (*p == ' ') {
      /* "fuzz.yaml: N more errors not listed" after 100 listed ones, or out of memory alone */
      const char *rest = p + 1;
      long long more = 0;
      if (read_position(&rest, &more) && strncmp(rest, " more errors not listed", 23) == 0 &&
          (size_t)(rest + 23 - line) == len) {
        CHECK(lines == MAX_DIAGNOSTICS + 1, "\"more errors not listed\" after %zu lines: %s",
              lines - 1, diag);
      } else {
        CHECK(strncmp(p, " out of memory while reading the job file", 41) == 0 && lines == 1,
              "diagnostic line %zu has neither LINE:COL nor a known message: %.*s", lines,
              (int)len, line);
      }
      summary_seen = true;
    } else {
      CHECK(read_position(&p, &ln) && *p++ == ':' && read_position(&p, &col) && *p++ == ':' &&
                *p++ == ' ',
            "diagnostic line %zu is not \"" FUZZ_PATH ":LINE:COL: message\": %.*s", lines,
            (int)len, line);
      CHECK((size_t)(p - line) < len, "diagnostic line %zu has an empty message: %.*s", lines,
            (int)len, line);
      /* libyaml counts lines and characters; both stay below the byte count + 1. */
      CHECK(ln <= (long long)input_len + 1 && col <= (long long)input_len + 1,
            "position %lld:%lld beyond an input of %zu bytes: %.*s", ln, col, input_len,
            (int)len, line);
      CHECK(ln > prev_line || (ln == prev_line && col >= prev_col),
            "diagnostics not sorted by position at line %zu: %s", lines, diag);
      CHECK(lines <= MAX_DIAGNOSTICS, "more than %d diagnostics listed: %s", MAX_DIAGNOSTICS,
            diag);
      prev_line = ln;
      prev_col = col;
    }
    line = nl ? nl + 1 : NULL;
  }
}

/* ---------------------------------------------------------------------------------------- */
/* The job                                                                                  */

static void check_axis_ref(const lz_job *job, int axis, const char *what) {
  CHECK(axis >= -1 && axis < (int)job->naxes, "%s refers to axis %d of %zu", what, axis,
        job->naxes);
}

static void check_param(const lz_job *job, const lz_param *p, const char *what, bool used) {
  check_axis_ref(job, p->axis, what);
  if (p->axis >= 0) {
    CHECK(used, "%s is an axis although it does not apply", what);
    CHECK(job->axes[p->axis].type != LZ_AXIS_VECTOR && job->axes[p->axis].width == 1,
          "%s is a vector axis", what);
  } else if (used) {
    CHECK(isfinite(p->value), "%s is fixed at %g", what, p->value);
  }
}

static void check_vparam(const lz_job *job, const lz_vparam *v, const char *what) {
  check_axis_ref(job, v->axis, what);
  if (v->axis >= 0) {
    const lz_axis *ax = &job->axes[v->axis];
    CHECK(ax->type == LZ_AXIS_VECTOR && ax->width == v->len && v->len >= 1,
          "%s: axis of type %d and width %zu for a vector of %zu", what, (int)ax->type, ax->width,
          v->len);
  } else {
    CHECK(v->value != NULL && v->len >= 1, "%s: fixed vector %p of length %zu", what,
          (void *)v->value, v->len);
    for (size_t i = 0; i < v->len; ++i)
      CHECK(isfinite(v->value[i]), "%s[%zu] = %g", what, i, v->value[i]);
  }
}

static bool only_kind(const lz_job *job, lz_problem_kind k) { return job->problem.kind == k; }

static void check_initial_point(const lz_job *job, int64_t run) {
  size_t idx[LZ_MAX_AXES];
  lz_problem_params pp;
  lz_job_run_coords(job, run, idx);
  for (size_t a = 0; a < job->naxes; ++a)
    CHECK(idx[a] < job->axes[a].len, "run %lld: index %zu on axis %s of %zu", (long long)run,
          idx[a], job->axes[a].name, job->axes[a].len);
  lz_job_problem_params(job, idx, &pp);
  size_t dim = lz_problem_params_dim(&pp);
  CHECK(dim >= 1, "run %lld: problem of dimension 0", (long long)run);
  double lr = lz_job_lr_value(job, idx);
  CHECK(isfinite(lr) && lr > 0, "run %lld: lr %g", (long long)run, lr);
  if (dim > POINT_MAX_DIM) return;
  double *x0 = malloc(dim * sizeof *x0);
  if (!x0) return;
  int rc = lz_job_initial_point(job, idx, &pp, x0);
  CHECK(rc == LZ_OK, "run %lld: lz_job_initial_point returned %d for a valid job (dimension %zu)",
        (long long)run, rc, dim);
  for (size_t i = 0; i < dim; ++i)
    CHECK(isfinite(x0[i]), "run %lld: initial x[%zu] = %g", (long long)run, i, x0[i]);
  free(x0);
}

static void check_job(const lz_job *job) {
  CHECK(job->path && strcmp(job->path, FUZZ_PATH) == 0, "job path %s", job->path);
  CHECK(job->text && job->text_len == g_size && memcmp(job->text, g_data, g_size) == 0 &&
            job->text[g_size] == '\0',
        "the job does not keep the input bytes (%zu of %zu)", job->text_len, g_size);
  CHECK(strlen(job->sha256) == 64 && strspn(job->sha256, "0123456789abcdef") == 64,
        "sha256 '%s'", job->sha256);
  CHECK(job->name && job->name[0] && job->output && job->output[0], "name or output empty");
  CHECK((unsigned)job->problem.kind < LZ_PROBLEM_KIND_COUNT, "problem kind %d",
        (int)job->problem.kind);
  CHECK((unsigned)job->init.kind <= LZ_INIT_GRID, "init kind %d", (int)job->init.kind);
  CHECK(job->lr.relative_to == LZ_LR_ABSOLUTE || job->lr.relative_to == LZ_LR_TWO_OVER_L,
        "lr relative_to %d", (int)job->lr.relative_to);

  /* Axes: ordered problem, init, lr; lr last and exactly once. */
  CHECK(job->naxes >= 1 && job->naxes <= LZ_MAX_AXES && job->axes, "%zu axes", job->naxes);
  int64_t runs = 1, instances = 1;
  for (size_t a = 0; a < job->naxes; ++a) {
    const lz_axis *ax = &job->axes[a];
    CHECK(ax->len >= 1 && ax->width >= 1 && ax->values, "axis %s: len %zu width %zu", ax->name,
          ax->len, ax->width);
    CHECK(memchr(ax->name, '\0', sizeof ax->name) && ax->name[0], "axis %zu has a bad name", a);
    CHECK(a == 0 || job->axes[a - 1].group <= ax->group, "axis %s (group %d) after group %d",
          ax->name, (int)ax->group, (int)job->axes[a - 1].group);
    CHECK((ax->group == LZ_AXIS_LR) == (a == job->naxes - 1), "axis %s of group %d at %zu of %zu",
          ax->name, (int)ax->group, a, job->naxes);
    CHECK(ax->type == LZ_AXIS_VECTOR || ax->width == 1, "axis %s: width %zu", ax->name,
          ax->width);
    CHECK(ax->len <= (size_t)MAX_RUNS / ax->width, "axis %s: %zu x %zu values", ax->name,
          ax->len, ax->width);
    for (size_t i = 0; i < ax->len * ax->width; ++i) {
      double v = ax->values[i];
      CHECK(isfinite(v), "axis %s value %zu is %g", ax->name, i, v);
      CHECK(!ax->is_integer || v == floor(v), "integer axis %s value %zu is %.17g", ax->name, i,
            v);
      if (ax->type == LZ_AXIS_CHOICE) {
        CHECK(ax->labels && v >= 0 && v < 16, "choice axis %s value %g", ax->name, v);
        for (int k = 0; k <= (int)v; ++k)
          CHECK(ax->labels[k] != NULL, "choice axis %s: code %g has no label", ax->name, v);
      }
    }
    CHECK(runs <= MAX_RUNS / (int64_t)ax->len, "more than %lld runs", MAX_RUNS);
    runs *= (int64_t)ax->len;
    if (ax->group == LZ_AXIS_PROBLEM) instances *= (int64_t)ax->len;
  }
  CHECK(job->nruns == runs && runs >= 1, "nruns %lld, product of the axes %lld",
        (long long)job->nruns, (long long)runs);
  CHECK(job->ninstances == instances && job->runs_per_instance >= 1 &&
            job->ninstances * job->runs_per_instance == job->nruns,
        "instances %lld x runs per instance %lld != nruns %lld", (long long)job->ninstances,
        (long long)job->runs_per_instance, (long long)job->nruns);
  CHECK(job->tiles.runs >= 1 && job->tiles_per_instance >= 1 &&
            job->tiles_per_instance ==
                (job->runs_per_instance + job->tiles.runs - 1) / job->tiles.runs &&
            job->ntiles == job->ninstances * job->tiles_per_instance,
        "tiles: %lld runs each, %lld per instance, %lld in all", (long long)job->tiles.runs,
        (long long)job->tiles_per_instance, (long long)job->ntiles);

  /* lr */
  CHECK(job->lr.axis == (int)job->naxes - 1, "lr axis %d of %zu", job->lr.axis, job->naxes);
  const lz_axis *lr = &job->axes[job->lr.axis];
  CHECK(strcmp(lr->name, "lr") == 0, "lr axis named %s", lr->name);
  for (size_t i = 0; i < lr->len; ++i)
    CHECK(lr->values[i] > 0, "lr value %zu is %g", i, lr->values[i]);

  /* Parameters */
  bool quad = only_kind(job, LZ_PROBLEM_QUADRATIC), mf = only_kind(job, LZ_PROBLEM_MF),
       ms = only_kind(job, LZ_PROBLEM_MULTISCALE);
  if (quad) check_vparam(job, &job->problem.quadratic.eigenvalues, "eigenvalues");
  check_param(job, &job->problem.mf.n, "n", mf);
  check_param(job, &job->problem.mf.d, "d", mf);
  check_param(job, &job->problem.mf.activation, "activation", mf);
  check_param(job, &job->problem.mf.alpha, "alpha", mf);
  check_param(job, &job->problem.mf.target.scale, "target.scale", mf);
  check_param(job, &job->problem.mf.target.mu, "target.mu", mf);
  check_param(job, &job->problem.mf.target.rank, "target.rank", mf);
  if (mf && job->problem.mf.target.kind == LZ_TARGET_LOWRANK)
    check_vparam(job, &job->problem.mf.target.singular_values, "singular_values");
  if (mf && job->problem.mf.target.kind == LZ_TARGET_FILE)
    CHECK(job->problem.mf.target.path && job->problem.mf.target.dataset,
          "file target without path");
  check_param(job, &job->problem.multiscale.f0, "f0", ms);
  check_param(job, &job->problem.multiscale.dim, "dim", ms);
  check_param(job, &job->problem.multiscale.f1, "f1", ms);
  check_param(job, &job->problem.multiscale.eps, "eps", ms);
  check_param(job, &job->problem.multiscale.amplitude, "amplitude", ms);
  check_param(job, &job->problem.multiscale.ratio, "ratio", ms);
  if (only_kind(job, LZ_PROBLEM_MLP)) {
    const bool listed = job->problem.mlp.data.x != NULL, from_file = job->problem.mlp.data.path;
    CHECK(!(listed && from_file), "mlp data both listed and from a file");
    CHECK(from_file || job->problem.mlp.data.points >= 1, "mlp data of %lld points",
          (long long)job->problem.mlp.data.points);
    CHECK(!listed || job->problem.mlp.data.y, "listed mlp data without y");
    CHECK(job->problem.mlp.weight_decay >= 0, "weight_decay %g", job->problem.mlp.weight_decay);
  }
  bool gaussian = job->init.kind == LZ_INIT_GAUSSIAN;
  check_param(job, &job->init.scale, "init.scale", gaussian);
  check_param(job, &job->init.imbalance, "init.imbalance", gaussian);
  if (job->init.kind == LZ_INIT_POINT) check_vparam(job, &job->init.point, "init.x");
  if (gaussian) {
    check_axis_ref(job, job->init.replica_axis, "replica");
    CHECK(job->init.replica_axis >= 0 && job->init.replicas >= 1 &&
              job->axes[job->init.replica_axis].len == (size_t)job->init.replicas,
          "gaussian init: replica axis %d, replicas %lld", job->init.replica_axis,
          (long long)job->init.replicas);
  }
  if (job->init.kind == LZ_INIT_GRID) {
    CHECK(job->init.grid_dim >= 1 && job->init.grid_dim <= LZ_GRID_MAX_DIM, "grid dim %zu",
          job->init.grid_dim);
    for (size_t i = 0; i < job->init.grid_dim; ++i) {
      check_axis_ref(job, job->init.grid_axis[i], "grid axis");
      CHECK(job->init.grid_axis[i] >= 0 && job->init.grid_lo[i] < job->init.grid_hi[i] &&
                job->axes[job->init.grid_axis[i]].len == (size_t)job->init.grid_points[i],
            "grid coordinate %zu", i);
    }
  }

  /* run, analyze: the documented ranges */
  CHECK(job->run.max_iter >= 1, "max_iter %lld", (long long)job->run.max_iter);
  CHECK(job->run.record_every >= 1 && job->run.record_every <= job->run.max_iter,
        "record_every %lld with max_iter %lld", (long long)job->run.record_every,
        (long long)job->run.max_iter);
  CHECK(job->run.record_x >= 0 && job->run.record_x <= 16, "record_x %lld",
        (long long)job->run.record_x);
  CHECK(job->run.tol_grad >= 0 && isfinite(job->run.tol_grad) && job->run.diverge_above > 0 &&
            isfinite(job->run.diverge_above),
        "tol_grad %g, diverge_above %g", job->run.tol_grad, job->run.diverge_above);
  CHECK(job->analyze.orbit.max_period >= 0 && job->analyze.orbit.tol > 0, "orbit %lld %g",
        (long long)job->analyze.orbit.max_period, job->analyze.orbit.tol);
  CHECK(job->analyze.lyapunov.iters >= 0 && job->analyze.lyapunov.transient >= 0 &&
            job->analyze.lyapunov.threshold >= 0,
        "lyapunov");
  CHECK(job->analyze.sharpness.every >= 0 && job->analyze.sharpness.every <= job->run.max_iter,
        "sharpness.every %lld with max_iter %lld", (long long)job->analyze.sharpness.every,
        (long long)job->run.max_iter);
  CHECK(job->analyze.modified_equation.orders <= 7, "orders %u",
        job->analyze.modified_equation.orders);
  if (lz_job_samples_invariant_measure(job)) {
    const __typeof__(job->analyze.invariant_measure) *im = &job->analyze.invariant_measure;
    CHECK(im->bins >= 1 && im->bins <= 100000 && im->lo < im->hi && isfinite(im->lo) &&
              isfinite(im->hi) && im->burn_in >= 0,
          "invariant_measure bins %lld range [%g, %g]", (long long)im->bins, im->lo, im->hi);
    CHECK(im->ncoords >= 1 && im->ncoords <= LZ_IM_MAX_COORDS, "%zu coords", im->ncoords);
    CHECK(!im->joint || im->ncoords >= 2, "joint with %zu coords", im->ncoords);
    if (im->observable.kind != LZ_OBS_NONE)
      CHECK(im->observable.bins >= 1 && im->observable.bins <= 100000 &&
                im->observable.lo < im->observable.hi,
            "observable bins %lld range [%g, %g]", (long long)im->observable.bins,
            im->observable.lo, im->observable.hi);
  }

  /* What the run does first with a job: the parameters and initial point of a run. */
  check_initial_point(job, 0);
  check_initial_point(job, job->nruns - 1);

  /* What `lrzoo validate` prints. */
  if (job->ninstances <= SUMMARY_MAX_INSTANCES) {
    static FILE *devnull;
    if (!devnull) devnull = fopen("/dev/null", "w");
    if (devnull) lz_job_print_summary(job, devnull);
  }
}

/* ---------------------------------------------------------------------------------------- */

static int parse(const uint8_t *data, size_t size, lz_job **job, char **diag) {
  /* lz_config_parse reads exactly len bytes: a copy of that size lets ASan catch reads past
   * them (libFuzzer's own buffer is also exact, but this keeps the harness honest when data
   * comes from elsewhere). */
  char *copy = malloc(size ? size : 1);
  if (!copy) return LZ_ENOMEM;
  if (size) memcpy(copy, data, size);
  g_live = g_peak = 0;
  g_tracking = 1;
  int rc = lz_config_parse(FUZZ_PATH, copy, size, job, diag);
  g_tracking = 0;
  free(copy);
  if (getenv("LZ_FUZZ_VERBOSE"))
    fprintf(stderr, "fuzz_job: rc %d, peak heap %.1f MiB during the parse%s%s\n", rc,
            (double)g_peak / (1024.0 * 1024.0), *diag ? ", diagnostics:\n" : "",
            *diag ? *diag : "");
  CHECK((double)g_peak <= PARSE_HEAP_LIMIT,
        "the parse held %.1f MiB of heap at once (limit %.0f MiB), rc %d%s%.300s",
        (double)g_peak / (1024.0 * 1024.0), PARSE_HEAP_LIMIT / (1024.0 * 1024.0), rc,
        *diag ? ": " : "", *diag ? *diag : "");
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  g_data = data;
  g_size = size;
  lz_job *job = NULL;
  char *diag = NULL;
  int rc = parse(data, size, &job, &diag);
  CHECK(rc == LZ_OK || rc == LZ_EJOB || rc == LZ_ENOMEM, "lz_config_parse returned %d", rc);
  if (rc == LZ_OK) {
    CHECK(job != NULL, "LZ_OK without a job");
    CHECK(diag == NULL, "LZ_OK with diagnostics: %s", diag);
    check_job(job);
  } else {
    CHECK(job == NULL, "error %d with a job", rc);
    if (rc == LZ_EJOB) check_diagnostics(diag, size);
  }

  /* The same bytes again: the same outcome, word for word. */
  lz_job *again = NULL;
  char *diag_again = NULL;
  int rc_again = parse(data, size, &again, &diag_again);
  CHECK(rc_again == rc, "second parse returned %d, first %d", rc_again, rc);
  CHECK((diag == NULL) == (diag_again == NULL) && (!diag || strcmp(diag, diag_again) == 0),
        "second parse gave other diagnostics:\n%s\n---- first:\n%s", diag_again ? diag_again : "",
        diag ? diag : "");
  if (job) {
    CHECK(again && again->nruns == job->nruns && again->naxes == job->naxes &&
              strcmp(again->sha256, job->sha256) == 0,
          "second parse gave another job");
    for (size_t a = 0; a < job->naxes; ++a)
      CHECK(again->axes[a].len == job->axes[a].len &&
                memcmp(again->axes[a].values, job->axes[a].values,
                       job->axes[a].len * job->axes[a].width * sizeof(double)) == 0,
            "second parse gave other values on axis %s", job->axes[a].name);
  }

  lz_job_destroy(&job);
  lz_job_destroy(&again);
  CHECK(job == NULL, "lz_job_destroy did not clear the pointer");
  free(diag);
  free(diag_again);
  return 0;
}
