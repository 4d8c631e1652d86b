/* src/io under MPI: the layout lz_out_create makes, independent tile writes from any rank,
 * resume, target matrices and `lrzoo info`, checked through HDF5 directly, h5py and h5dump.
 *
 * Runs under mpiexec -n 1 and -n 2 (every test is collective: all ranks run them in order).
 * The job is built by hand, so these tests do not depend on src/config.
 *
 * Extra modes for the kill -9 experiment (not run by ctest):
 *   test_io --slow-writer PATH MILLISECONDS [--resume]
 *                                             writes a large job's tiles one by one, slowly
 *   test_io --verify PATH                     checks every tile marked done holds its values */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "lrzoo/env_switches.h"
#include "lrzoo/hash.h"
#include "lrzoo/io.h"

static lz_comm world;
static char test_dir[256];

/* ---- a job built by hand ----------------------------------------------------------------- */

static const char job_text_a[] = "name: io-test\nseed: 42\n# job A\n";
static const char job_text_b[] = "name: io-test\nseed: 42\n# job B, edited\n";

static char *copy_string(const char *s) {
  char *c = malloc(strlen(s) + 1);
  assert_non_null(c);
  strcpy(c, s);
  return c;
}

static double *copy_values(const double *v, size_t n) {
  double *c = malloc(n * sizeof *c);
  assert_non_null(c);
  memcpy(c, v, n * sizeof *c);
  return c;
}

static void set_axis(lz_axis *ax, const char *name, lz_axis_type type, lz_axis_group group,
                     size_t len, size_t width, const double *values, const char *units) {
  memset(ax, 0, sizeof *ax);
  snprintf(ax->name, sizeof ax->name, "%s", name);
  ax->type = type;
  ax->group = group;
  ax->len = len;
  ax->width = width;
  ax->values = copy_values(values, len * width);
  ax->units = units;
  ax->description = name;
}

static void fix_param(lz_param *p, double value) {
  p->axis = -1;
  p->value = value;
}

/* The analyze section with every analysis on: orbits of up to 3 points, a sharpness trace every
 * 4 steps (loss is every 5: the two traces differ in length and steps), all drift orders. */
static void analyze_everything(lz_job *job) {
  job->analyze.orbit.max_period = 3;
  job->analyze.orbit.tol = 1e-9;
  job->analyze.lyapunov.iters = 10;
  job->analyze.lyapunov.transient = 10;
  job->analyze.lyapunov.threshold = 0.01;
  job->analyze.sharpness.every = 4;
  job->analyze.modified_equation.orders = 7;
  job->analyze.modified_equation.steps = 10;
  job->analyze.modified_equation.substeps = 4;
}

static void analyze_nothing(lz_job *job) {
  job->analyze.orbit.max_period = 0;
  job->analyze.orbit.tol = 0;
  job->analyze.lyapunov.iters = 0;
  job->analyze.lyapunov.transient = 0;
  job->analyze.lyapunov.threshold = 0;
  job->analyze.sharpness.every = 0;
  job->analyze.modified_equation.orders = 0;
  job->analyze.modified_equation.steps = 0;
  job->analyze.modified_equation.substeps = 0;
}

/* What every hand-built job shares: its text (hence job_sha256), name and seed. */
static lz_job *new_job(const char *text, size_t naxes) {
  lz_job *job = calloc(1, sizeof *job);
  assert_non_null(job);
  job->path = copy_string("io-test.yaml");
  job->text = copy_string(text);
  job->text_len = strlen(text);
  assert_int_equal(lz_sha256_hex(job->text, job->text_len, job->sha256), LZ_OK);
  job->name = copy_string("io-test");
  job->seed = 42;
  job->output = copy_string("unused.h5");
  job->naxes = naxes;
  job->axes = calloc(job->naxes, sizeof *job->axes);
  assert_non_null(job->axes);
  return job;
}

/* The sweep's counts, as src/config derives them. */
static void set_sweep(lz_job *job, int64_t ninstances, int64_t runs_per_instance,
                      int64_t tile_runs) {
  job->tiles.runs = tile_runs;
  job->ninstances = ninstances;
  job->runs_per_instance = runs_per_instance;
  job->nruns = ninstances * runs_per_instance;
  job->tiles_per_instance = (runs_per_instance + tile_runs - 1) / tile_runs;
  job->ntiles = ninstances * job->tiles_per_instance;
}

/* activation (choice, 3) x n (integer, 1) x point (vector 2 x 3) x lr (lr_len): 3 instances of
 * 2 * lr_len runs. With lr_len = 5 and tile_runs = 4: 30 runs, 9 tiles of 4, 4, 2 runs. The
 * factors are 4 x 1 (d = 1): an mf state of 8 numbers. Every analysis is on. */
static lz_job *make_job(const char *text, size_t lr_len, int64_t tile_runs) {
  lz_job *job = new_job(text, 4);
  job->problem.kind = LZ_PROBLEM_MF;
  const double activation[] = {LZ_ACT_LEAKY_RELU, LZ_ACT_NONE, LZ_ACT_RELU};
  const double n[] = {4};
  const double point[] = {1.0, -2.0, 0.5, 0.25, 3.0, -1.0};
  double *lr = malloc(lr_len * sizeof *lr);
  assert_non_null(lr);
  for (size_t i = 0; i < lr_len; ++i) lr[i] = 0.1 + 1.8 * (double)i / (double)lr_len;
  set_axis(&job->axes[0], "activation", LZ_AXIS_CHOICE, LZ_AXIS_PROBLEM, 3, 1, activation, "");
  job->axes[0].labels = lz_activation_names;
  set_axis(&job->axes[1], "n", LZ_AXIS_NUMBER, LZ_AXIS_PROBLEM, 1, 1, n, "");
  job->axes[1].is_integer = 1;
  set_axis(&job->axes[2], "point", LZ_AXIS_VECTOR, LZ_AXIS_INIT, 2, 3, point, "");
  set_axis(&job->axes[3], "lr", LZ_AXIS_NUMBER, LZ_AXIS_LR, lr_len, 1, lr, "2/L");
  free(lr);
  job->problem.mf.activation.axis = 0;
  job->problem.mf.n.axis = 1;
  fix_param(&job->problem.mf.d, 1);
  fix_param(&job->problem.mf.alpha, 0.1);
  fix_param(&job->problem.mf.target.scale, 1);
  fix_param(&job->problem.mf.target.mu, 1);
  fix_param(&job->problem.mf.target.rank, 1);
  job->problem.mf.target.kind = LZ_TARGET_IDENTITY;
  job->problem.quadratic.eigenvalues.axis = -1;
  job->problem.mf.target.singular_values.axis = -1;
  job->init.kind = LZ_INIT_POINT;
  job->init.point.axis = 2;
  job->init.replica_axis = -1;
  job->lr.axis = 3;
  job->lr.relative_to = LZ_LR_TWO_OVER_L;
  job->run.max_iter = 20;
  job->run.record_every = 5;
  set_sweep(job, 3, 2 * (int64_t)lr_len, tile_runs);
  analyze_everything(job);
  return job;
}

/* The invariant measure on, set by hand: coordinates 1 and 0 (in that order, so that coords is
 * seen to come from the job), 6 bins over [-2, 3], the joint histogram, and an observable in 4
 * bins over [0, 2] (x_entry: X[1][0]). */
static void measure_invariant(lz_job *job, lz_observable observable) {
  job->analyze.invariant_measure.samples = 1000;
  job->analyze.invariant_measure.burn_in = 10;
  job->analyze.invariant_measure.ncoords = 2;
  job->analyze.invariant_measure.coords[0] = 1;
  job->analyze.invariant_measure.coords[1] = 0;
  job->analyze.invariant_measure.bins = 6;
  job->analyze.invariant_measure.lo = -2.0;
  job->analyze.invariant_measure.hi = 3.0;
  job->analyze.invariant_measure.joint = 1;
  job->analyze.invariant_measure.observable.kind = (int)observable;
  job->analyze.invariant_measure.observable.entry[0] = 1;
  job->analyze.invariant_measure.observable.entry[1] = 0;
  job->analyze.invariant_measure.observable.bins = 4;
  job->analyze.invariant_measure.observable.lo = 0.0;
  job->analyze.invariant_measure.observable.hi = 2.0;
}

static const char job_text_multiscale[] = "name: io-test\nseed: 42\n# multiscale\n";

/* f0 (choice: quadratic, double_well) x eps (2) x replica (3, an init axis) x lr (4): 4
 * instances of 12 runs, 48 runs in tiles of 5 (5, 5, 2 per instance: 12 tiles). A 2-D state.
 * The invariant measure pools the 3 replicas of each (f0, eps, lr): 16 sweep points of 3 runs,
 * 4 apart. Every analysis is on; the observable is f0. */
static lz_job *multiscale_job(size_t replicas, size_t lr_len) {
  lz_job *job = new_job(job_text_multiscale, 4);
  job->problem.kind = LZ_PROBLEM_MULTISCALE;
  const double f0[] = {LZ_F0_QUADRATIC, LZ_F0_DOUBLE_WELL};
  const double eps[] = {1e-3, 1e-2};
  double replica[8], lr[8];
  assert_true(replicas <= 8 && lr_len <= 8);
  for (size_t i = 0; i < replicas; ++i) replica[i] = (double)i;
  for (size_t i = 0; i < lr_len; ++i) lr[i] = 0.1 + 0.4 * (double)i;
  set_axis(&job->axes[0], "f0", LZ_AXIS_CHOICE, LZ_AXIS_PROBLEM, 2, 1, f0, "");
  job->axes[0].labels = lz_f0_names;
  set_axis(&job->axes[1], "eps", LZ_AXIS_NUMBER, LZ_AXIS_PROBLEM, 2, 1, eps, "");
  set_axis(&job->axes[2], "replica", LZ_AXIS_NUMBER, LZ_AXIS_INIT, replicas, 1, replica, "");
  job->axes[2].is_integer = 1;
  set_axis(&job->axes[3], "lr", LZ_AXIS_NUMBER, LZ_AXIS_LR, lr_len, 1, lr, "");
  job->problem.multiscale.f0.axis = 0;
  job->problem.multiscale.eps.axis = 1;
  fix_param(&job->problem.multiscale.dim, 2);
  fix_param(&job->problem.multiscale.f1, LZ_F1_SINE);
  fix_param(&job->problem.multiscale.amplitude, 1e-3);
  fix_param(&job->problem.multiscale.ratio, 1.618);
  job->problem.quadratic.eigenvalues.axis = -1;
  job->problem.mf.target.singular_values.axis = -1;
  job->init.kind = LZ_INIT_GAUSSIAN;
  fix_param(&job->init.scale, 1.0);
  job->init.replicas = (int64_t)replicas;
  job->init.replica_axis = 2;
  job->init.point.axis = -1;
  job->lr.axis = 3;
  job->lr.relative_to = LZ_LR_ABSOLUTE;
  job->run.max_iter = 20;
  job->run.record_every = 5;
  set_sweep(job, 4, (int64_t)(replicas * lr_len), 5);
  analyze_everything(job);
  measure_invariant(job, LZ_OBS_F0);
  return job;
}

static lz_job *measured_multiscale_job(void) { return multiscale_job(3, 4); }

static lz_job *small_job(void) { return make_job(job_text_a, 5, 4); }

/* The small job with every analysis off: no orbit, Lyapunov, drift or sharpness results. */
static lz_job *plain_job(void) {
  lz_job *job = small_job();
  analyze_nothing(job);
  return job;
}

/* A quadratic with one eigenvalue: its orbit points are single numbers. */
static lz_job *one_dimensional_job(void) {
  lz_job *job = small_job();
  job->problem.kind = LZ_PROBLEM_QUADRATIC;
  job->problem.quadratic.eigenvalues.len = 1;
  job->problem.quadratic.eigenvalues.value = copy_values((const double[]){2.0}, 1);
  return job;
}

/* The small mf job with the invariant measure: no Gibbs arrays or fields, no wells. 15 sweep
 * points (3 instances x 5 lr values) of the 2 initial points, 5 runs apart. */
static lz_job *measured_mf_job(void) {
  lz_job *job = small_job();
  measure_invariant(job, LZ_OBS_X_ENTRY);
  return job;
}

/* ---- the results every run should get ----------------------------------------------------- */

static lz_array_shape shape_of(const lz_job *job, int a) {
  return lz_job_array_shape(job, (lz_array_id)a);
}

/* What run (or pooled point) k measured: counts past 2^53, infinities, NaN and -0.0. */
static void expected_measure(int64_t k, lz_im_result *im) {
  im->samples = ((int64_t)1 << 53) + 1 + 2 * k;
  im->outside_fraction = (double)(k % 5) / 8.0;
  im->temperature = 0.001 * (double)k;
  im->temperature_fit = k % 4 == 0 ? -0.0 : 0.0011 * (double)k;
  im->f0_mean = (double)k / 3.0;
  im->gibbs_tv = 1.0 / (double)(k + 2);
  im->gibbs_kl = k % 3 == 0 ? INFINITY : (double)k / 11.0;
  im->gibbs_w1 = ldexp(1.0, -1060 - (int)(k % 9));
  im->halves_tv = (double)k / 1024.0;
  im->gibbs2d_tv = (double)k / 5.0;
  im->gibbs2d_kl = (double)k / 13.0;
  im->sample_variance = 2.0 + (double)k;
  im->variance_linear = k % 2 ? NAN : (double)k / 17.0;
  im->transitions = 3 * k;
  im->residence_mean = (double)k + 0.5;
}

static void expected_run(const lz_job *job, int64_t r, lz_run_result *res) {
  memset(res, 0, sizeof *res);
  expected_measure(r, &res->im);
  res->status = (int8_t)(1 + r % 5);
  res->reason = (int8_t)(r % LZ_REASON_COUNT);
  res->iterations = 1000 + 7 * r;
  res->period = r % 4;
  res->h = 0.1 * (double)r;
  res->loss = 1.0 / (double)(r + 1);
  /* signed zeros and subnormals must survive bitwise */
  res->grad_norm = r % 3 == 0 ? -0.0 : ldexp(1.0, -1070 + (int)(r % 50));
  res->f0 = (double)r;
  res->sharpness_init = 2.0 + (double)r;
  res->sharpness_final = 3.0 - (double)r;
  res->sharpness_h = r % 4 == 1 ? -INFINITY : (double)r / 9.0;
  res->recurrence = ldexp(1.0, -1074 + (int)(r % 3));
  res->lyapunov = -0.5 + (double)r / 64.0;
  res->lyapunov_transverse = r % 2 ? -0.0 : (double)r / 32.0;
  res->lyapunov_steps = 10 - r % 3;
  for (int k = 0; k < LZ_MODEQ_ORDERS; ++k) res->drift[k] = ldexp((double)r + 1.0, -10 * k);
  res->norm_x = sqrt((double)r);
  res->norm_y = -(double)r / 3.0;
  res->balance = r == 7 ? INFINITY : 1e300 * (double)r;
  res->scalar_gap = (double)r / 7.0;
  res->trace_len = shape_of(job, LZ_ARRAY_LOSS).len[0] - r % 2;
  res->sharpness_len = shape_of(job, LZ_ARRAY_SHARPNESS).len[0] - r % 3;
}

/* Entry j of run r's row of array a (row-major over the per-run dimensions), as lz_run_one
 * leaves it: NaN past what the run recorded, with signed zeros, subnormals and infinities in
 * between. */
static double expected_entry(int a, int64_t r, int64_t j, lz_array_shape s,
                             const lz_run_result *res) {
  switch (a) {
    case LZ_ARRAY_LOSS:
      return j < res->trace_len ? (double)r + (double)j / 8.0 : NAN;
    case LZ_ARRAY_SHARPNESS:
      if (j >= res->sharpness_len) return NAN;
      if (j == 1) return r % 2 ? -0.0 : ldexp(1.0, -1060 - (int)(r % 7));
      return 100.0 + (double)r - (double)j / 16.0;
    case LZ_ARRAY_ORBIT: {
      int64_t point = j / s.len[1], coordinate = j % s.len[1];
      if (point >= res->period) return NAN;
      if (coordinate == 0) return r % 2 ? -INFINITY : -0.0;
      return (double)r * 1000.0 + (double)point * 10.0 + (double)coordinate;
    }
  }
  /* the invariant measure's doubles: Gibbs probabilities, well shares, moments */
  if (j == 1) return r % 2 ? -0.0 : ldexp(1.0, -1070 + (int)(r % 3));
  return (double)a + (double)r / 64.0 + (double)j / 4096.0;
}

/* Entry j of a count array: past 2^53 (where a double would round), up to UINT64_MAX, and 0. */
static uint64_t expected_count(int a, int64_t r, int64_t j) {
  switch (a) {
    case LZ_ARRAY_HIST: return ((uint64_t)1 << 53) + 1 + 1000 * (uint64_t)r + 2 * (uint64_t)j;
    case LZ_ARRAY_HIST_HALF1: return UINT64_MAX - 31 * (uint64_t)r - (uint64_t)j;
    case LZ_ARRAY_HIST2D: return j % 3 == 0 ? 0 : ((uint64_t)r << 40) + (uint64_t)j;
  }
  return 7 * (uint64_t)r + (uint64_t)j;
}

/* Entry j of run r's row of array a as its 8 stored bytes (a double's bits, or a count), so
 * that every array is compared bitwise the same way. res is only read for the run's own
 * arrays (traces, orbit), never for the invariant measure's. */
static uint64_t expected_bits(int a, int64_t r, int64_t j, lz_array_shape s,
                              const lz_run_result *res) {
  if (lz_array_descs[a].type == LZ_DT_UINT64) return expected_count(a, r, j);
  double v = expected_entry(a, r, j, s, res);
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  return bits;
}

/* Pooled point p gets values no run has. */
#define POOLED_BASE 100000

static uint64_t pooled_bits(int a, int64_t p, int64_t j, lz_array_shape s) {
  return expected_bits(a, POOLED_BASE + p, j, s, NULL);
}

static void expected_pooled(int64_t p, lz_pooled_result *pr) {
  memset(pr, 0, sizeof *pr);
  expected_measure(POOLED_BASE + p, &pr->im);
}

static void fill_tile(const lz_job *job, int64_t tile, lz_tile_result *tr) {
  tr->tile = tile;
  lz_job_tile_runs(job, tile, &tr->r0, &tr->count);
  for (int64_t i = 0; i < tr->count; ++i) {
    int64_t r = tr->r0 + i;
    expected_run(job, r, &tr->runs[i]);
    for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
      int64_t per_run = lz_array_shape_size(tr->shape[a]);
      uint64_t *row = (uint64_t *)tr->array[a] + i * per_run;
      for (int64_t j = 0; j < per_run; ++j)
        row[j] = expected_bits(a, r, j, tr->shape[a], &tr->runs[i]);
    }
  }
}

static void alloc_tile_or_fail(lz_tile_result *tr, const lz_job *job) {
  lz_err err = {0};
  if (lz_tile_result_alloc(tr, job, &err) != LZ_OK) fail_msg("%s", err.msg);
}

typedef int (*tile_choice)(int64_t tile, int rank, int size);

static int round_robin(int64_t tile, int rank, int size) { return tile % size == rank; }
static int round_robin_but_short_tiles(int64_t tile, int rank, int size) {
  return tile % 3 != 2 && tile % size == rank;
}
static int rank_zero_only(int64_t tile, int rank, int size) { return rank == 0; }
static int first_four_round_robin(int64_t tile, int rank, int size) {
  return tile < 4 && tile % size == rank;
}

static void write_tiles(lz_out *out, const lz_job *job, tile_choice choose) {
  lz_tile_result tr;
  lz_err err = {0};
  alloc_tile_or_fail(&tr, job);
  for (int64_t t = 0; t < job->ntiles; ++t) {
    if (!choose(t, world.rank, world.size)) continue;
    fill_tile(job, t, &tr);
    int rc = lz_out_write_tile(out, &tr, &err);
    if (rc != LZ_OK) fail_msg("tile %lld: %s", (long long)t, err.msg);
  }
  lz_tile_result_free(&tr);
}

/* ---- helpers ------------------------------------------------------------------------------ */

static void test_path(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", test_dir, name);
}

/* Every file of these tests goes into one fresh directory under $TMPDIR, made by rank 0 and
 * removed at the end: tests never write into the directory they are started from. */
static void make_test_dir(void) {
  if (world.rank == 0) {
    const char *tmp = getenv("TMPDIR");
    snprintf(test_dir, sizeof test_dir, "%s/lrzoo-test_io.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(test_dir)) {
      fprintf(stderr, "test_io: cannot create %s: %s\n", test_dir, strerror(errno));
      MPI_Abort(world.comm, 1);
    }
  }
  MPI_Bcast(test_dir, sizeof test_dir, MPI_CHAR, 0, world.comm);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  return remove(path);
}

static void remove_test_dir(void) {
  MPI_Barrier(world.comm);
  if (world.rank == 0 && nftw(test_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
    fprintf(stderr, "test_io: cannot remove %s: %s\n", test_dir, strerror(errno));
}

/* Every rank is done with the file before rank 0 removes it: a rank still about to read it
 * (slow under ASan) would find it gone. */
static void remove_on_rank0(const char *path) {
  MPI_Barrier(world.comm);
  if (world.rank == 0) remove(path);
  MPI_Barrier(world.comm);
}

static const lz_provenance provenance = {"0.1.0-test", "0123abcd", "2024-01-02T03:04:05Z",
                                         "Open MPI test", "OpenBLAS test", 2, 1, NULL};

static lz_out *create_or_fail(const char *path, const lz_job *job, int overwrite) {
  lz_out *out = NULL;
  lz_err err = {0};
  int rc = lz_out_create(&world, path, job, &provenance, overwrite, &out, &err);
  if (rc != LZ_OK) fail_msg("lz_out_create %s: %s", path, err.msg);
  assert_non_null(out);
  return out;
}

static void close_or_fail(lz_out **out) {
  lz_err err = {0};
  int rc = lz_out_close(out, &err);
  if (rc != LZ_OK) fail_msg("lz_out_close: %s", err.msg);
  assert_null(*out);
  MPI_Barrier(world.comm);
}

static hid_t open_read_only(const char *path) {
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(f >= 0);
  return f;
}

static void read_whole(hid_t f, const char *name, hid_t mem_type, void *buf) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) fail_msg("no dataset %s", name);
  assert_true(H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
  H5Dclose(d);
}

static void assert_shape(hid_t f, const char *name, int rank, hsize_t d0, hsize_t d1) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) fail_msg("no dataset %s", name);
  hid_t s = H5Dget_space(d);
  hsize_t dims[2] = {0, 0};
  assert_int_equal(H5Sget_simple_extent_ndims(s), rank);
  H5Sget_simple_extent_dims(s, dims, NULL);
  assert_int_equal(dims[0], d0);
  if (rank == 2) assert_int_equal(dims[1], d1);
  H5Sclose(s);
  H5Dclose(d);
}

static void assert_type(hid_t f, const char *name, H5T_class_t cls, size_t size) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) fail_msg("no dataset %s", name);
  hid_t t = H5Dget_type(d);
  if (H5Tget_class(t) != cls || H5Tget_size(t) != size)
    fail_msg("%s: class %d size %zu, expected class %d size %zu", name, (int)H5Tget_class(t),
             H5Tget_size(t), (int)cls, size);
  H5Tclose(t);
  H5Dclose(d);
}

static int has_attribute(hid_t f, const char *obj, const char *name) {
  return H5Aexists_by_name(f, obj, name, H5P_DEFAULT) > 0;
}

static void read_string_attribute(hid_t f, const char *obj, const char *name, char *buf,
                                  size_t size) {
  hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) fail_msg("%s has no attribute %s", obj, name);
  hid_t stored = H5Aget_type(a);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, size);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  H5Tset_cset(t, H5Tget_cset(stored));
  assert_true(H5Aread(a, t, buf) >= 0);
  H5Tclose(t);
  H5Tclose(stored);
  H5Aclose(a);
}

/* Reads a 1-D string array attribute into rows of `width` bytes. */
static size_t read_string_array_attribute(hid_t f, const char *obj, const char *name,
                                          char *buf, size_t width, size_t max) {
  hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) fail_msg("%s has no attribute %s", obj, name);
  hid_t s = H5Aget_space(a);
  hsize_t n = 0;
  assert_int_equal(H5Sget_simple_extent_ndims(s), 1);
  H5Sget_simple_extent_dims(s, &n, NULL);
  assert_true(n <= max);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, width);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  H5Tset_cset(t, H5T_CSET_UTF8);
  assert_true(H5Aread(a, t, buf) >= 0);
  H5Tclose(t);
  H5Sclose(s);
  H5Aclose(a);
  return (size_t)n;
}

static double read_double_attribute(hid_t f, const char *obj, const char *name) {
  double v = 0;
  hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) fail_msg("%s has no attribute %s", obj, name);
  assert_true(H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0);
  H5Aclose(a);
  return v;
}

static int64_t read_int64_attribute(hid_t f, const char *obj, const char *name) {
  int64_t v = 0;
  hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) fail_msg("%s has no attribute %s", obj, name);
  assert_true(H5Aread(a, H5T_NATIVE_INT64, &v) >= 0);
  H5Aclose(a);
  return v;
}

static hid_t mem_type_of(lz_dtype t) {
  return t == LZ_DT_INT8     ? H5T_NATIVE_INT8
         : t == LZ_DT_INT64  ? H5T_NATIVE_INT64
         : t == LZ_DT_UINT64 ? H5T_NATIVE_UINT64
                             : H5T_NATIVE_DOUBLE;
}

static size_t size_of(lz_dtype t) { return t == LZ_DT_INT8 ? 1 : 8; }

static int64_t tile_of_run(const lz_job *job, int64_t r) {
  int64_t inst = r / job->runs_per_instance, part = (r % job->runs_per_instance) / job->tiles.runs;
  return inst * job->tiles_per_instance + part;
}

/* An entry never written holds the fill value: 0 for integers, NaN for doubles. */
static int is_fill(lz_dtype t, const unsigned char *bytes) {
  if (t == LZ_DT_DOUBLE) {
    double v;
    memcpy(&v, bytes, sizeof v);
    return isnan(v);
  }
  static const unsigned char zero[8] = {0};
  return memcmp(bytes, zero, size_of(t)) == 0;
}

static void assert_fill(const lz_field *f, const unsigned char *bytes, int64_t r) {
  if (!is_fill(f->type, bytes))
    fail_msg("/runs/%s[%lld] is not the %s fill", f->name, (long long)r,
             f->type == LZ_DT_DOUBLE ? "NaN" : "0");
}

static void array_path(char *buf, size_t size, int a) {
  const lz_array_desc *d = &lz_array_descs[a];
  snprintf(buf, size, "/runs%s%s/%s", d->group[0] ? "/" : "", d->group, d->name);
}

static void verify_fields(hid_t f, const lz_job *job, const uint8_t *done, int killed_run) {
  int64_t R = job->nruns;
  unsigned char *col = malloc((size_t)R * 8);
  assert_non_null(col);
  size_t nfields;
  const lz_field *fields = lz_run_fields(&nfields);
  for (size_t i = 0; i < nfields; ++i) {
    char name[128];
    snprintf(name, sizeof name, "/runs/%s", fields[i].name);
    if (!lz_field_applies(&fields[i], job)) {
      if (H5Lexists(f, name, H5P_DEFAULT) > 0) fail_msg("%s exists, but the job lacks it", name);
      continue;
    }
    read_whole(f, name, mem_type_of(fields[i].type), col);
    size_t size = size_of(fields[i].type);
    for (int64_t r = 0; r < R; ++r) {
      const unsigned char *got = col + (size_t)r * size;
      if (!done[tile_of_run(job, r)]) {
        if (!killed_run) assert_fill(&fields[i], got, r);
        continue;
      }
      lz_run_result want;
      expected_run(job, r, &want);
      if (memcmp(got, (const unsigned char *)&want + fields[i].offset, size) != 0)
        fail_msg("%s[%lld] differs from what was written", name, (long long)r);
    }
  }
  free(col);
}

static void verify_array(hid_t f, const lz_job *job, int a, const uint8_t *done,
                         int killed_run) {
  char name[128];
  array_path(name, sizeof name, a);
  lz_array_shape s = shape_of(job, a);
  if (s.len[0] == 0) {
    if (H5Lexists(f, name, H5P_DEFAULT) > 0) fail_msg("%s exists, but the job lacks it", name);
    return;
  }
  int64_t R = job->nruns, per_run = lz_array_shape_size(s);
  const lz_dtype type = lz_array_descs[a].type;
  uint64_t *values = malloc((size_t)(R * per_run) * sizeof *values);
  assert_non_null(values);
  read_whole(f, name, mem_type_of(type), values);
  for (int64_t r = 0; r < R; ++r) {
    int is_done = done[tile_of_run(job, r)];
    if (killed_run && !is_done) continue;
    lz_run_result res;
    expected_run(job, r, &res);
    for (int64_t j = 0; j < per_run; ++j) {
      uint64_t got = values[r * per_run + j];
      uint64_t want = is_done ? expected_bits(a, r, j, s, &res) : 0;
      /* Written entries bitwise; the fill is 0 or any NaN. */
      int same = is_done ? got == want : is_fill(type, (const unsigned char *)&got);
      if (!same)
        fail_msg("%s[%lld, %lld] holds the bits %016llx, expected %s%016llx", name, (long long)r,
                 (long long)j, (unsigned long long)got, is_done ? "" : "the fill, not ",
                 (unsigned long long)want);
    }
  }
  free(values);
}

/* Checks every /runs field and array of the file against expected_run and expected_entry:
 * tiles marked done hold exactly (bitwise) the expected values, the others the fill values
 * (unless killed_run: a run killed between a tile's results and its done byte leaves results
 * in a tile not done). Datasets the job lacks must be absent. If want_done is given, the done
 * flags must equal it. Returns the number of done tiles. */
static int64_t verify_file(const char *path, const lz_job *job, const uint8_t *want_done,
                           int killed_run) {
  hid_t f = open_read_only(path);
  int64_t ndone = 0;
  uint8_t *done = malloc((size_t)job->ntiles);
  assert_non_null(done);
  read_whole(f, "/tiles/done", H5T_NATIVE_UINT8, done);
  for (int64_t t = 0; t < job->ntiles; ++t) {
    if (want_done && done[t] != want_done[t])
      fail_msg("tile %lld: done %d, expected %d", (long long)t, done[t], want_done[t]);
    ndone += done[t];
  }
  verify_fields(f, job, done, killed_run);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) verify_array(f, job, a, done, killed_run);
  free(done);
  H5Fclose(f);
  return ndone;
}

static int64_t verify_results(const char *path, const lz_job *job, const uint8_t *want_done) {
  return verify_file(path, job, want_done, 0);
}

static char *read_file_bytes(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  *len = (size_t)n;
  return buf;
}

static void write_text_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static void assert_contains(const char *haystack, const char *needle) {
  if (!strstr(haystack, needle)) fail_msg("message \"%s\" lacks \"%s\"", haystack, needle);
}

/* ---- setup -------------------------------------------------------------------------------- */

static int no_handles_left_open(void **state) {
  (void)state;
  ssize_t open_objects = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  if (open_objects != 0) {
    fprintf(stderr, "rank %d: %zd HDF5 objects left open (%zd of them files)\n", world.rank,
            open_objects, H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE));
    return -1;
  }
  return 0;
}

/* ---- tests: layout ------------------------------------------------------------------------ */

static void check_root_attributes(hid_t f, const lz_job *job) {
  const char *strings[] = {"lrzoo_version", "git_commit", "job_yaml", "job_sha256", "job_name",
                           "hdf5_version", "mpi_version", "blas", "created_utc"};
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; ++i)
    if (!has_attribute(f, "/", strings[i])) fail_msg("no root attribute %s", strings[i]);
  char buf[256];
  read_string_attribute(f, "/", "job_sha256", buf, sizeof buf);
  assert_string_equal(buf, job->sha256);
  read_string_attribute(f, "/", "job_yaml", buf, sizeof buf);
  assert_string_equal(buf, job->text);
  read_string_attribute(f, "/", "git_commit", buf, sizeof buf);
  assert_string_equal(buf, provenance.git_commit);
  read_string_attribute(f, "/", "hdf5_version", buf, sizeof buf);
  assert_string_equal(buf, "1.10.8");
  assert_int_equal(read_int64_attribute(f, "/", "format_version"), 1);
  assert_int_equal(read_int64_attribute(f, "/", "mpi_ranks"), provenance.mpi_ranks);
  assert_int_equal(read_int64_attribute(f, "/", "omp_threads"), provenance.omp_threads);
  uint64_t seed = 0;
  hid_t a = H5Aopen_by_name(f, "/", "seed", H5P_DEFAULT, H5P_DEFAULT);
  assert_true(H5Aread(a, H5T_NATIVE_UINT64, &seed) >= 0);
  H5Aclose(a);
  assert_int_equal(seed, 42);
}

static void check_axes(hid_t f, const lz_job *job) {
  int8_t codes[3];
  assert_type(f, "/axes/activation", H5T_INTEGER, 1);
  read_whole(f, "/axes/activation", H5T_NATIVE_INT8, codes);
  assert_int_equal(codes[0], LZ_ACT_LEAKY_RELU);
  assert_int_equal(codes[1], LZ_ACT_NONE);
  assert_int_equal(codes[2], LZ_ACT_RELU);
  char labels[8][32];
  assert_int_equal(
      read_string_array_attribute(f, "/axes/activation", "labels", labels[0], 32, 8), 3);
  assert_string_equal(labels[0], "leaky_relu");
  assert_string_equal(labels[1], "none");
  assert_string_equal(labels[2], "relu");
  assert_int_equal(
      read_string_array_attribute(f, "/axes/activation", "labels_by_code", labels[0], 32, 8), 3);
  assert_string_equal(labels[0], "none");
  assert_string_equal(labels[2], "leaky_relu");
  char group[32];
  read_string_attribute(f, "/axes/activation", "group", group, sizeof group);
  assert_string_equal(group, "problem");
  read_string_attribute(f, "/axes/lr", "group", group, sizeof group);
  assert_string_equal(group, "lr");

  int64_t n;
  assert_type(f, "/axes/n", H5T_INTEGER, 8);
  read_whole(f, "/axes/n", H5T_NATIVE_INT64, &n);
  assert_int_equal(n, 4);
  double point[6], lr[5];
  assert_shape(f, "/axes/point", 2, 2, 3);
  read_whole(f, "/axes/point", H5T_NATIVE_DOUBLE, point);
  assert_memory_equal(point, job->axes[2].values, sizeof point);
  assert_type(f, "/axes/lr", H5T_FLOAT, 8);
  read_whole(f, "/axes/lr", H5T_NATIVE_DOUBLE, lr);
  assert_memory_equal(lr, job->axes[3].values, sizeof lr);
  for (size_t a = 0; a < job->naxes; ++a) {
    char name[64];
    snprintf(name, sizeof name, "/axes/%s", job->axes[a].name);
    assert_true(has_attribute(f, name, "description"));
  }
}

static void check_coordinates(hid_t f, const lz_job *job) {
  int64_t R = job->nruns;
  int8_t *act = malloc((size_t)R);
  int64_t *n = malloc((size_t)R * 8), *point = malloc((size_t)R * 8), *run = malloc((size_t)R * 8);
  double *lr = malloc((size_t)R * 8);
  read_whole(f, "/runs/activation", H5T_NATIVE_INT8, act);
  read_whole(f, "/runs/n", H5T_NATIVE_INT64, n);
  read_whole(f, "/runs/point", H5T_NATIVE_INT64, point);
  read_whole(f, "/runs/lr", H5T_NATIVE_DOUBLE, lr);
  read_whole(f, "/runs/run", H5T_NATIVE_INT64, run);
  assert_type(f, "/runs/activation", H5T_INTEGER, 1);
  assert_type(f, "/runs/point", H5T_INTEGER, 8);
  size_t idx[4];
  for (int64_t r = 0; r < R; ++r) {
    lz_job_run_coords(job, r, idx);
    assert_int_equal(act[r], (int8_t)job->axes[0].values[idx[0]]);
    assert_int_equal(n[r], 4);
    assert_int_equal(point[r], idx[2]);
    assert_memory_equal(&lr[r], &job->axes[3].values[idx[3]], sizeof(double));
    assert_int_equal(run[r], r);
  }
  char text[64];
  read_string_attribute(f, "/runs/lr", "relative_to", text, sizeof text);
  assert_string_equal(text, "two_over_L");
  read_string_attribute(f, "/runs/lr", "units", text, sizeof text);
  assert_string_equal(text, "2/L");
  free(act), free(n), free(point), free(run), free(lr);
}

static void assert_dimension_label(hid_t f, const char *obj, unsigned dim, const char *label) {
  hid_t d = H5Dopen2(f, obj, H5P_DEFAULT);
  if (d < 0) fail_msg("no dataset %s", obj);
  char got[64] = "";
  assert_true(H5DSget_label(d, dim, got, sizeof got) >= 0);
  if (strcmp(got, label) != 0)
    fail_msg("%s: dimension %u is labelled '%s', expected '%s'", obj, dim, got, label);
  H5Dclose(d);
}

static void assert_scale_attached(hid_t f, const char *obj, unsigned dim, const char *scale) {
  hid_t d = H5Dopen2(f, obj, H5P_DEFAULT), s = H5Dopen2(f, scale, H5P_DEFAULT);
  if (d < 0 || s < 0) fail_msg("no dataset %s or %s", obj, scale);
  if (H5DSis_attached(d, s, dim) <= 0)
    fail_msg("%s is not attached to dimension %u of %s", scale, dim, obj);
  assert_int_equal(H5DSget_num_scales(d, dim), 1);
  H5Dclose(s);
  H5Dclose(d);
}

static void assert_labels_by_code(hid_t f, const char *obj, const char *const *names) {
  char labels[16][64];
  size_t n = read_string_array_attribute(f, obj, "labels_by_code", labels[0], 64, 16);
  size_t want = 0;
  while (names[want]) ++want;
  assert_int_equal(n, want);
  for (size_t i = 0; i < n; ++i) assert_string_equal(labels[i], names[i]);
}

/* A trace's steps: entry k of /runs/trace/<name>_step is k * record_every. */
static void check_step_scale(hid_t f, const char *scale, lz_array_shape s) {
  assert_shape(f, scale, 1, (hsize_t)s.len[0], 0);
  assert_type(f, scale, H5T_INTEGER, 8);
  int64_t *steps = malloc((size_t)s.len[0] * sizeof *steps);
  assert_non_null(steps);
  read_whole(f, scale, H5T_NATIVE_INT64, steps);
  for (int64_t k = 0; k < s.len[0]; ++k) assert_int_equal(steps[k], k * s.record_every);
  free(steps);
  char text[64];
  read_string_attribute(f, scale, "units", text, sizeof text);
  assert_string_equal(text, "steps");
  read_string_attribute(f, scale, "CLASS", text, sizeof text);
  assert_string_equal(text, "DIMENSION_SCALE");
}

/* The leading dimension of a group's datasets: /runs (R runs) or /pooled (P sweep points). */
typedef struct leading {
  const char *group;
  int64_t len;
  const char *scale, *label;
} leading;

static leading runs_leading(const lz_job *job) {
  leading l = {"/runs", job->nruns, "/runs/run", "run"};
  return l;
}

static leading pooled_leading(const lz_job *job) {
  leading l = {"/pooled", lz_job_npooled(job), "/pooled/point", "point"};
  return l;
}

static int measures_invariant(const lz_job *job) {
  return job->analyze.invariant_measure.samples > 0;
}

/* The fill value HDF5 stores for the dataset (what h5py reports as fillvalue): 0 or NaN. */
static void assert_fill_property(hid_t f, const char *name, lz_dtype type) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) fail_msg("no dataset %s", name);
  hid_t dcpl = H5Dget_create_plist(d);
  unsigned char fill[8];
  memset(fill, 0xa5, sizeof fill);
  assert_true(H5Pget_fill_value(dcpl, mem_type_of(type), fill) >= 0);
  if (!is_fill(type, fill)) fail_msg("%s: the fill value is not %s", name,
                                     type == LZ_DT_DOUBLE ? "NaN" : "0");
  H5Pclose(dcpl);
  H5Dclose(d);
}

/* Doubles: IEEE, NaN fill and a NaN _FillValue. Integers: fill 0 and no _FillValue, which CF
 * readers would apply to every 0 (an empty bin) and which would turn counts into floats. */
static void assert_type_and_fill(hid_t f, const char *name, lz_dtype type) {
  assert_type(f, name, type == LZ_DT_DOUBLE ? H5T_FLOAT : H5T_INTEGER, size_of(type));
  assert_fill_property(f, name, type);
  assert_int_equal(has_attribute(f, name, "_FillValue"), type == LZ_DT_DOUBLE);
  if (type == LZ_DT_DOUBLE) assert_true(isnan(read_double_attribute(f, name, "_FillValue")));
  if (type == LZ_DT_UINT64) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), t = H5Dget_type(d);
    assert_int_equal(H5Tget_sign(t), H5T_SGN_NONE);
    assert_true(H5Tequal(t, H5T_STD_U64LE) > 0);
    H5Tclose(t);
    H5Dclose(d);
  }
}

static void check_field_dataset(hid_t f, const lz_field *field, leading dim) {
  char name[128];
  snprintf(name, sizeof name, "%s/%s", dim.group, field->name);
  assert_shape(f, name, 1, (hsize_t)dim.len, 0);
  assert_type_and_fill(f, name, field->type);
  assert_true(has_attribute(f, name, "description"));
  assert_int_equal(has_attribute(f, name, "units"), field->units[0] != '\0');
  assert_int_equal(has_attribute(f, name, "labels_by_code"), field->labels != NULL);
  if (field->labels) assert_labels_by_code(f, name, field->labels);
  assert_scale_attached(f, name, 0, dim.scale);
  assert_dimension_label(f, name, 0, dim.label);
}

/* Fields that apply are there with their shape, type, fill and scale; the others are absent. */
static void check_fields_of(hid_t f, const lz_job *job, const lz_field *fields, size_t n,
                            leading dim, int group_exists) {
  for (size_t i = 0; i < n; ++i) {
    char name[128];
    snprintf(name, sizeof name, "%s/%s", dim.group, fields[i].name);
    if (group_exists && lz_field_applies(&fields[i], job)) {
      check_field_dataset(f, &fields[i], dim);
    } else if (H5Lexists(f, dim.group, H5P_DEFAULT) > 0 && H5Lexists(f, name, H5P_DEFAULT) > 0) {
      fail_msg("%s exists, but the job lacks it", name);
    }
  }
}

static void check_field_datasets(hid_t f, const lz_job *job) {
  size_t nfields;
  const lz_field *fields = lz_run_fields(&nfields);
  check_fields_of(f, job, fields, nfields, runs_leading(job), 1);
}

static void assert_int64_array_attribute(hid_t f, const char *obj, const char *name,
                                         const int64_t *want, size_t n) {
  hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) fail_msg("%s has no attribute %s", obj, name);
  hid_t s = H5Aget_space(a), t = H5Aget_type(a);
  hsize_t len = 0;
  assert_int_equal(H5Sget_simple_extent_ndims(s), 1);
  H5Sget_simple_extent_dims(s, &len, NULL);
  assert_int_equal(len, n);
  assert_true(H5Tequal(t, H5T_STD_I64LE) > 0);
  int64_t got[LZ_IM_MAX_COORDS];
  assert_true(n <= LZ_IM_MAX_COORDS);
  assert_true(H5Aread(a, H5T_NATIVE_INT64, got) >= 0);
  for (size_t i = 0; i < n; ++i) assert_int_equal(got[i], want[i]);
  H5Tclose(t);
  H5Sclose(s);
  H5Aclose(a);
}

/* Which coordinates the rows (or the two joint axes) are, and which observable hist_obs counts. */
static void check_measure_attributes(hid_t f, const lz_job *job, int a, const char *name) {
  const char *first_dim = lz_array_descs[a].dims[0] ? lz_array_descs[a].dims[0] : "";
  const int64_t *coords = job->analyze.invariant_measure.coords;
  int per_coordinate = strcmp(first_dim, "coordinate") == 0, joint = strcmp(first_dim, "bin0") == 0;
  assert_int_equal(has_attribute(f, name, "coords"), per_coordinate || joint);
  if (per_coordinate)
    assert_int64_array_attribute(f, name, "coords", coords, job->analyze.invariant_measure.ncoords);
  if (joint) assert_int64_array_attribute(f, name, "coords", coords, 2);
  assert_int_equal(has_attribute(f, name, "observable"), a == LZ_ARRAY_HIST_OBS);
  if (a == LZ_ARRAY_HIST_OBS) {
    char text[64];
    read_string_attribute(f, name, "observable", text, sizeof text);
    assert_string_equal(text, lz_observable_names[job->analyze.invariant_measure.observable.kind]);
  }
}

/* A present array: len x len[0] (x len[1]), typed and filled as the table says, described, with
 * dimension 0 on the group's scale and the others labelled; a trace also has record_every and
 * its own step scale on dimension 1. */
static void check_array_dataset(hid_t f, const lz_job *job, int a, const char *name,
                                leading dim) {
  const lz_array_desc *d = &lz_array_descs[a];
  lz_array_shape s = shape_of(job, a);
  int rank = s.len[1] == 1 ? 2 : 3;
  hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
  if (ds < 0) fail_msg("no dataset %s", name);
  hid_t space = H5Dget_space(ds);
  hsize_t dims[3] = {0, 0, 0};
  assert_int_equal(H5Sget_simple_extent_ndims(space), rank);
  H5Sget_simple_extent_dims(space, dims, NULL);
  assert_int_equal(dims[0], dim.len);
  assert_int_equal(dims[1], s.len[0]);
  if (rank == 3) assert_int_equal(dims[2], s.len[1]);
  H5Sclose(space);
  H5Dclose(ds);
  assert_type_and_fill(f, name, d->type);
  assert_true(has_attribute(f, name, "description"));
  assert_int_equal(has_attribute(f, name, "units"), d->units[0] != '\0');
  assert_scale_attached(f, name, 0, dim.scale);
  assert_dimension_label(f, name, 0, dim.label);
  for (int j = 0; j + 1 < rank; ++j) assert_dimension_label(f, name, (unsigned)j + 1, d->dims[j]);
  check_measure_attributes(f, job, a, name);
  assert_int_equal(has_attribute(f, name, "record_every"), s.record_every > 0);
  char scale[160];
  snprintf(scale, sizeof scale, "%s_step", name);
  if (s.record_every > 0) {
    assert_int_equal(read_int64_attribute(f, name, "record_every"), s.record_every);
    check_step_scale(f, scale, s);
    assert_scale_attached(f, name, 1, scale);
  } else {
    assert_int_equal(H5Lexists(f, scale, H5P_DEFAULT) > 0, 0);
  }
}

/* Every present array of /runs is checked; absent arrays have neither dataset nor scale. */
static void check_array_datasets(hid_t f, const lz_job *job) {
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    const lz_array_desc *d = &lz_array_descs[a];
    char name[128], scale[160];
    array_path(name, sizeof name, a);
    snprintf(scale, sizeof scale, "%s_step", name);
    if (shape_of(job, a).len[0] > 0) {
      check_array_dataset(f, job, a, name, runs_leading(job));
      continue;
    }
    if (H5Lexists(f, name, H5P_DEFAULT) > 0) fail_msg("%s exists, but the job lacks it", name);
    if (d->group[0] && H5Lexists(f, scale, H5P_DEFAULT) > 0)
      fail_msg("%s exists, but the job lacks %s", scale, name);
  }
  /* One scale per trace replaced the single /runs/trace/record. */
  assert_int_equal(H5Lexists(f, "/runs/trace/record", H5P_DEFAULT) > 0, 0);
}

/* Bin edges equal (bitwise) lz_job_hist_edges and lz_job_observable_edges, and say which
 * coordinates and which observable they bin. Without an invariant measure there are none. */
static void check_edges(hid_t f, const lz_job *job) {
  const int im = measures_invariant(job);
  const int kind = job->analyze.invariant_measure.observable.kind;
  assert_int_equal(H5Lexists(f, "/runs/hist_edges", H5P_DEFAULT) > 0, im);
  assert_int_equal(H5Lexists(f, "/runs/hist_obs_edges", H5P_DEFAULT) > 0,
                   im && kind != LZ_OBS_NONE);
  if (!im) return;
  const int64_t B = job->analyze.invariant_measure.bins;
  double *want = malloc((size_t)(B + 1) * sizeof *want), *got = malloc((size_t)(B + 1) * 8);
  assert_shape(f, "/runs/hist_edges", 1, (hsize_t)(B + 1), 0);
  assert_type_and_fill(f, "/runs/hist_edges", LZ_DT_DOUBLE);
  lz_job_hist_edges(job, want);
  read_whole(f, "/runs/hist_edges", H5T_NATIVE_DOUBLE, got);
  assert_memory_equal(got, want, (size_t)(B + 1) * sizeof *want);
  assert_true(has_attribute(f, "/runs/hist_edges", "description"));
  assert_dimension_label(f, "/runs/hist_edges", 0, "edge");
  assert_int64_array_attribute(f, "/runs/hist_edges", "coords",
                               job->analyze.invariant_measure.coords,
                               job->analyze.invariant_measure.ncoords);
  free(want), free(got);
  if (kind == LZ_OBS_NONE) return;
  const int64_t Bo = job->analyze.invariant_measure.observable.bins;
  want = malloc((size_t)(Bo + 1) * sizeof *want), got = malloc((size_t)(Bo + 1) * 8);
  assert_shape(f, "/runs/hist_obs_edges", 1, (hsize_t)(Bo + 1), 0);
  lz_job_observable_edges(job, want);
  read_whole(f, "/runs/hist_obs_edges", H5T_NATIVE_DOUBLE, got);
  assert_memory_equal(got, want, (size_t)(Bo + 1) * sizeof *want);
  char text[64];
  read_string_attribute(f, "/runs/hist_obs_edges", "observable", text, sizeof text);
  assert_string_equal(text, lz_observable_names[kind]);
  assert_int_equal(has_attribute(f, "/runs/hist_obs_edges", "entry"), kind == LZ_OBS_X_ENTRY);
  if (kind == LZ_OBS_X_ENTRY)
    assert_int64_array_attribute(f, "/runs/hist_obs_edges", "entry",
                                 job->analyze.invariant_measure.observable.entry, 2);
  free(want), free(got);
}

/* /pooled/point is 0 .. P-1; first_run, run_count and run_stride are lz_job_pooled_runs. */
static void check_point_runs(hid_t f, const lz_job *job) {
  const int64_t P = lz_job_npooled(job);
  int64_t *v[4];
  const char *names[4] = {"/pooled/point", "/pooled/first_run", "/pooled/run_count",
                          "/pooled/run_stride"};
  for (int i = 0; i < 4; ++i) {
    v[i] = malloc((size_t)P * sizeof *v[i]);
    assert_shape(f, names[i], 1, (hsize_t)P, 0);
    assert_type(f, names[i], H5T_INTEGER, 8);
    assert_true(has_attribute(f, names[i], "description"));
    read_whole(f, names[i], H5T_NATIVE_INT64, v[i]);
    if (i > 0) assert_scale_attached(f, names[i], 0, "/pooled/point");
    if (i > 0) assert_dimension_label(f, names[i], 0, "point");
  }
  for (int64_t p = 0; p < P; ++p) {
    int64_t first, count, stride;
    lz_job_pooled_runs(job, p, &first, &count, &stride);
    assert_int_equal(v[0][p], p);
    assert_int_equal(v[1][p], first);
    assert_int_equal(v[2][p], count);
    assert_int_equal(v[3][p], stride);
  }
  char cls[64];
  read_string_attribute(f, "/pooled/point", "CLASS", cls, sizeof cls);
  assert_string_equal(cls, "DIMENSION_SCALE");
  read_string_attribute(f, "/pooled/point", "NAME", cls, sizeof cls);
  assert_string_equal(cls, "point");
  for (int i = 0; i < 4; ++i) free(v[i]);
}

static void assert_same_type(hid_t f, const char *a, const char *b) {
  hid_t da = H5Dopen2(f, a, H5P_DEFAULT), db = H5Dopen2(f, b, H5P_DEFAULT);
  hid_t ta = H5Dget_type(da), tb = H5Dget_type(db);
  if (H5Tequal(ta, tb) <= 0) fail_msg("%s and %s have different types", a, b);
  H5Tclose(ta), H5Tclose(tb), H5Dclose(da), H5Dclose(db);
}

/* Each problem and lr axis has /pooled/<axis>: the coordinate of the point's first run, stored
 * as /runs/<axis> is. Init axes are pooled over, so they have none. */
static void check_pooled_coordinates(hid_t f, const lz_job *job) {
  const int64_t P = lz_job_npooled(job), R = job->nruns;
  double *point = malloc((size_t)P * 8), *run = malloc((size_t)R * 8);
  for (size_t a = 0; a < job->naxes; ++a) {
    const lz_axis *ax = &job->axes[a];
    char name[128], run_name[128];
    snprintf(name, sizeof name, "/pooled/%s", ax->name);
    snprintf(run_name, sizeof run_name, "/runs/%s", ax->name);
    if (ax->group == LZ_AXIS_INIT) {
      /* an init axis may share its name with the scale (the mf jobs' "point") */
      if (strcmp(ax->name, "point") != 0)
        assert_int_equal(H5Lexists(f, name, H5P_DEFAULT) > 0, 0);
      continue;
    }
    assert_shape(f, name, 1, (hsize_t)P, 0);
    assert_same_type(f, name, run_name);
    read_whole(f, name, H5T_NATIVE_DOUBLE, point);
    read_whole(f, run_name, H5T_NATIVE_DOUBLE, run);
    for (int64_t p = 0; p < P; ++p) {
      int64_t first, count, stride;
      lz_job_pooled_runs(job, p, &first, &count, &stride);
      assert_memory_equal(&point[p], &run[first], sizeof(double));
    }
    char group[32];
    read_string_attribute(f, name, "group", group, sizeof group);
    assert_string_equal(group, ax->group == LZ_AXIS_LR ? "lr" : "problem");
    if (ax->type == LZ_AXIS_CHOICE) assert_labels_by_code(f, name, ax->labels);
    assert_int_equal(has_attribute(f, name, "relative_to"), (int)a == job->lr.axis);
    assert_scale_attached(f, name, 0, "/pooled/point");
    assert_dimension_label(f, name, 0, "point");
  }
  free(point), free(run);
}

/* /pooled: the group, its points, coordinates, fields, pooled arrays and done flag; nothing
 * but those. Absent altogether without an invariant measure. */
static void check_pooled_datasets(hid_t f, const lz_job *job) {
  const int im = measures_invariant(job);
  assert_int_equal(H5Lexists(f, "/pooled", H5P_DEFAULT) > 0, im);
  if (!im) return;
  char text[128];
  read_string_attribute(f, "/pooled", "description", text, sizeof text);
  assert_string_equal(text, "invariant measure pooled over the replicas of each sweep point");
  check_point_runs(f, job);
  check_pooled_coordinates(f, job);
  size_t nfields;
  const lz_field *fields = lz_pooled_fields(&nfields);
  check_fields_of(f, job, fields, nfields, pooled_leading(job), 1);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    char name[128];
    snprintf(name, sizeof name, "/pooled/%s", lz_array_descs[a].name);
    if (lz_array_descs[a].pooled && shape_of(job, a).len[0] > 0)
      check_array_dataset(f, job, a, name, pooled_leading(job));
    else if (H5Lexists(f, name, H5P_DEFAULT) > 0)
      fail_msg("%s exists, but the job does not pool it", name);
  }
  assert_shape(f, "/pooled/done", 1, 1, 0);
  assert_type(f, "/pooled/done", H5T_INTEGER, 1);
  assert_fill_property(f, "/pooled/done", LZ_DT_INT8);
  read_string_attribute(f, "/pooled/done", "description", text, sizeof text);
  assert_string_equal(text, "1 once every point of /pooled has been written (after the last tile)");
}

static void check_result_datasets(hid_t f, const lz_job *job) {
  check_field_datasets(f, job);
  check_array_datasets(f, job);
  check_edges(f, job);
  check_pooled_datasets(f, job);
  char cls[64];
  read_string_attribute(f, "/runs/run", "CLASS", cls, sizeof cls);
  assert_string_equal(cls, "DIMENSION_SCALE");
}

static void check_tiles(hid_t f, const lz_job *job) {
  int64_t T = job->ntiles, first[64], count[64];
  uint8_t done[64];
  assert_true(T <= 64);
  read_whole(f, "/tiles/first_run", H5T_NATIVE_INT64, first);
  read_whole(f, "/tiles/run_count", H5T_NATIVE_INT64, count);
  read_whole(f, "/tiles/done", H5T_NATIVE_UINT8, done);
  assert_type(f, "/tiles/done", H5T_INTEGER, 1);
  for (int64_t t = 0; t < T; ++t) {
    int64_t r0, c;
    lz_job_tile_runs(job, t, &r0, &c);
    assert_int_equal(first[t], r0);
    assert_int_equal(count[t], c);
    assert_int_equal(done[t], 0);
  }
  assert_int_equal(count[2], 2); /* the last tile of an instance is short */
  char text[128];
  read_string_attribute(f, "/tiles/done", "description", text, sizeof text);
  assert_string_equal(text, "1 once the tile's results are in the file");
}

static void create_writes_the_full_layout(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "nested/dirs/layout.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  assert_int_equal(job->nruns, 30);
  assert_int_equal(job->ntiles, 9);
  lz_out *out = create_or_fail(path, job, 0);
  close_or_fail(&out);
  hid_t f = open_read_only(path);
  check_root_attributes(f, job);
  check_axes(f, job);
  check_coordinates(f, job);
  check_result_datasets(f, job);
  check_tiles(f, job);
  H5Fclose(f);
  assert_int_equal(verify_results(path, job, NULL), 0);
  lz_job_destroy(&job);
}

/* ---- tests: per-run arrays ---------------------------------------------------------------- */

static void assert_shape3(hid_t f, const char *name, hsize_t d0, hsize_t d1, hsize_t d2) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) fail_msg("no dataset %s", name);
  hid_t s = H5Dget_space(d);
  hsize_t dims[3] = {0, 0, 0};
  assert_int_equal(H5Sget_simple_extent_ndims(s), 3);
  H5Sget_simple_extent_dims(s, dims, NULL);
  if (dims[0] != d0 || dims[1] != d1 || dims[2] != d2)
    fail_msg("%s is %llu x %llu x %llu, expected %llu x %llu x %llu", name,
             (unsigned long long)dims[0], (unsigned long long)dims[1], (unsigned long long)dims[2],
             (unsigned long long)d0, (unsigned long long)d1, (unsigned long long)d2);
  H5Sclose(s);
  H5Dclose(d);
}

static void arrays_have_their_shapes_fill_attributes_and_step_scales(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "arrays.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  lz_out *out = create_or_fail(path, job, 0);
  close_or_fail(&out);
  hid_t f = open_read_only(path);
  check_array_datasets(f, job);
  /* The numbers behind the generic checks: 20 steps, loss every 5, sharpness every 4, orbits
   * of up to 3 points of an 8-number state. */
  assert_shape(f, "/runs/trace/loss", 2, 30, 5);
  assert_shape(f, "/runs/trace/sharpness", 2, 30, 6);
  assert_shape3(f, "/runs/orbit", 30, 3, 8);
  int64_t steps[8];
  read_whole(f, "/runs/trace/loss_step", H5T_NATIVE_INT64, steps);
  for (int k = 0; k < 5; ++k) assert_int_equal(steps[k], 5 * k);
  read_whole(f, "/runs/trace/sharpness_step", H5T_NATIVE_INT64, steps);
  for (int k = 0; k < 6; ++k) assert_int_equal(steps[k], 4 * k);
  assert_int_equal(read_int64_attribute(f, "/runs/trace/loss", "record_every"), 5);
  assert_int_equal(read_int64_attribute(f, "/runs/trace/sharpness", "record_every"), 4);
  assert_scale_attached(f, "/runs/trace/loss", 1, "/runs/trace/loss_step");
  assert_scale_attached(f, "/runs/trace/sharpness", 1, "/runs/trace/sharpness_step");
  assert_dimension_label(f, "/runs/trace/sharpness", 1, "record");
  assert_dimension_label(f, "/runs/orbit", 1, "point");
  assert_dimension_label(f, "/runs/orbit", 2, "coordinate");
  assert_false(has_attribute(f, "/runs/orbit", "record_every"));
  H5Fclose(f);
  /* Nothing written yet: every entry of every array is the NaN fill. */
  assert_int_equal(verify_results(path, job, NULL), 0);
  lz_job_destroy(&job);
}

static void an_orbit_of_a_one_dimensional_problem_has_one_number_per_point(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "orbit_1d.h5");
  remove_on_rank0(path);
  lz_job *job = one_dimensional_job();
  assert_int_equal(shape_of(job, LZ_ARRAY_ORBIT).len[1], 1);
  lz_out *out = create_or_fail(path, job, 0);
  write_tiles(out, job, round_robin);
  close_or_fail(&out);
  hid_t f = open_read_only(path);
  assert_shape(f, "/runs/orbit", 2, 30, 3);
  assert_dimension_label(f, "/runs/orbit", 1, "point");
  /* mf-only results are absent from a quadratic's file */
  assert_int_equal(H5Lexists(f, "/runs/lyapunov_transverse", H5P_DEFAULT) > 0, 0);
  assert_int_equal(H5Lexists(f, "/runs/norm_y", H5P_DEFAULT) > 0, 0);
  check_result_datasets(f, job);
  H5Fclose(f);
  assert_int_equal(verify_results(path, job, NULL), job->ntiles);
  lz_job_destroy(&job);
}

/* What each analysis adds to the file. */
static const char *const orbit_datasets[] = {"/runs/period", "/runs/recurrence", "/runs/orbit"};
static const char *const lyapunov_datasets[] = {"/runs/lyapunov", "/runs/lyapunov_transverse",
                                                "/runs/lyapunov_steps"};
static const char *const sharpness_datasets[] = {"/runs/sharpness_len", "/runs/trace/sharpness",
                                                 "/runs/trace/sharpness_step"};
static const char *const drift_datasets[] = {"/runs/drift_order0", "/runs/drift_order1",
                                             "/runs/drift_order2"};
/* The invariant measure's, in a multiscale job with the joint histogram and an observable. */
static const char *const measure_datasets[] = {
    "/pooled", "/runs/hist", "/runs/hist_edges", "/runs/hist_half1", "/runs/gibbs",
    "/runs/hist2d", "/runs/gibbs2d", "/runs/hist_obs", "/runs/hist_obs_edges", "/runs/wells",
    "/runs/moments", "/runs/samples", "/runs/halves_tv", "/runs/temperature"};
static const char *const always_datasets[] = {
    "/runs/status", "/runs/reason", "/runs/iterations", "/runs/sharpness_final", "/runs/trace_len",
    "/runs/trace/loss", "/runs/trace/loss_step"};

static void assert_existence(hid_t f, const char *const *names, size_t n, int want) {
  for (size_t i = 0; i < n; ++i)
    if ((H5Lexists(f, names[i], H5P_DEFAULT) > 0) != want)
      fail_msg("%s %s, expected it %s", names[i], want ? "is absent" : "exists",
               want ? "present" : "absent");
}

#define ASSERT_EXISTENCE(f, names, want) \
  assert_existence(f, names, sizeof names / sizeof names[0], want)

/* Creates the file of job, writes every tile from the ranks in turn and checks the round trip;
 * returns the open file for checks of its datasets. */
static hid_t write_and_verify(const char *name, const lz_job *job) {
  char path[512];
  test_path(path, sizeof path, name);
  remove_on_rank0(path);
  lz_out *out = create_or_fail(path, job, 0);
  write_tiles(out, job, round_robin_but_short_tiles);
  close_or_fail(&out);
  assert_int_equal(verify_results(path, job, NULL), 6);
  hid_t f = open_read_only(path);
  check_result_datasets(f, job);
  return f;
}

static void analyses_that_are_off_leave_out_their_datasets(void **state) {
  (void)state;
  lz_job *job = plain_job();
  hid_t f = write_and_verify("analysis_off.h5", job);
  ASSERT_EXISTENCE(f, always_datasets, 1);
  ASSERT_EXISTENCE(f, orbit_datasets, 0);
  ASSERT_EXISTENCE(f, lyapunov_datasets, 0);
  ASSERT_EXISTENCE(f, sharpness_datasets, 0);
  ASSERT_EXISTENCE(f, drift_datasets, 0);
  ASSERT_EXISTENCE(f, measure_datasets, 0);
  H5Fclose(f);
  lz_job_destroy(&job);

  job = small_job();
  f = write_and_verify("analysis_on.h5", job);
  ASSERT_EXISTENCE(f, always_datasets, 1);
  ASSERT_EXISTENCE(f, orbit_datasets, 1);
  ASSERT_EXISTENCE(f, lyapunov_datasets, 1);
  ASSERT_EXISTENCE(f, sharpness_datasets, 1);
  ASSERT_EXISTENCE(f, drift_datasets, 1);
  /* every other analysis on, the invariant measure off */
  ASSERT_EXISTENCE(f, measure_datasets, 0);
  H5Fclose(f);
  lz_job_destroy(&job);

  /* The invariant measure alone: its datasets, and no other analysis's. */
  job = plain_job();
  measure_invariant(job, LZ_OBS_NONE);
  job->analyze.invariant_measure.joint = 0;
  f = write_and_verify("analysis_measure_only.h5", job);
  ASSERT_EXISTENCE(f, always_datasets, 1);
  ASSERT_EXISTENCE(f, orbit_datasets, 0);
  ASSERT_EXISTENCE(f, sharpness_datasets, 0);
  const char *const without_joint_or_observable[] = {"/runs/hist2d", "/runs/hist_obs",
                                                     "/runs/hist_obs_edges", "/pooled/hist2d",
                                                     "/pooled/hist_obs"};
  ASSERT_EXISTENCE(f, without_joint_or_observable, 0);
  const char *const measure_only[] = {"/pooled", "/runs/hist", "/runs/hist_edges",
                                      "/pooled/hist", "/pooled/moments", "/pooled/samples"};
  ASSERT_EXISTENCE(f, measure_only, 1);
  H5Fclose(f);
  lz_job_destroy(&job);

  /* Each switch on its own: drift order 1 only, and an orbit search on a state too large for
   * its points to be stored (2 n d = 24 > 16 numbers). */
  job = plain_job();
  job->analyze.modified_equation.orders = 1u << 1;
  job->analyze.orbit.max_period = 3;
  fix_param(&job->problem.mf.d, 3);
  f = write_and_verify("analysis_some.h5", job);
  assert_int_equal(H5Lexists(f, "/runs/drift_order1", H5P_DEFAULT) > 0, 1);
  assert_int_equal(H5Lexists(f, "/runs/drift_order0", H5P_DEFAULT) > 0, 0);
  assert_int_equal(H5Lexists(f, "/runs/drift_order2", H5P_DEFAULT) > 0, 0);
  assert_int_equal(H5Lexists(f, "/runs/period", H5P_DEFAULT) > 0, 1);
  assert_int_equal(H5Lexists(f, "/runs/recurrence", H5P_DEFAULT) > 0, 1);
  assert_int_equal(H5Lexists(f, "/runs/orbit", H5P_DEFAULT) > 0, 0);
  ASSERT_EXISTENCE(f, lyapunov_datasets, 0);
  ASSERT_EXISTENCE(f, sharpness_datasets, 0);
  H5Fclose(f);
  lz_job_destroy(&job);
}

static void status_and_reason_name_their_codes(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "codes.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  lz_out *out = create_or_fail(path, job, 0);
  close_or_fail(&out);
  hid_t f = open_read_only(path);
  char labels[16][64];
  assert_int_equal(
      read_string_array_attribute(f, "/runs/status", "labels_by_code", labels[0], 64, 16),
      LZ_STATUS_COUNT);
  assert_string_equal(labels[LZ_STATUS_NOT_RUN], "not_run");
  assert_string_equal(labels[LZ_STATUS_PERIODIC], "periodic");
  assert_string_equal(labels[LZ_STATUS_UNDETERMINED], "undetermined");
  assert_int_equal(
      read_string_array_attribute(f, "/runs/reason", "labels_by_code", labels[0], 64, 16),
      LZ_REASON_COUNT);
  assert_string_equal(labels[LZ_REASON_NONE], "none");
  assert_string_equal(labels[LZ_REASON_NEITHER], "neither_periodic_nor_chaotic");
  assert_string_equal(labels[LZ_REASON_NO_EXPONENT], "no_exponent");
  assert_false(has_attribute(f, "/runs/iterations", "labels_by_code"));
  assert_false(has_attribute(f, "/runs/period", "labels_by_code"));
  H5Fclose(f);
  lz_job_destroy(&job);
}

static herr_t add_dataset_storage(hid_t loc, const char *name, const H5O_info_t *info,
                                  void *total) {
  if (info->type != H5O_TYPE_DATASET) return 0;
  hid_t d = H5Oopen(loc, name, H5P_DEFAULT);
  if (d < 0) return -1;
  *(hsize_t *)total += H5Dget_storage_size(d);
  H5Oclose(d);
  return 0;
}

/* The estimate is every dataset's bytes, plus the job text, with 8 bytes for each coordinate:
 * a choice is stored in 1 (choice_entries of them: its axis points, runs and sweep points). */
static void check_size_estimate(const char *name, const lz_job *job, int64_t choice_entries) {
  char path[512];
  test_path(path, sizeof path, name);
  remove_on_rank0(path);
  lz_out *out = create_or_fail(path, job, 0);
  close_or_fail(&out);
  hid_t f = open_read_only(path);
  hsize_t storage = 0;
  assert_true(H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, add_dataset_storage, &storage,
                        H5O_INFO_BASIC) >= 0);
  H5Fclose(f);
  double overcount = (double)job->text_len + 7.0 * (double)choice_entries;
  double estimate = lz_out_size_estimate(job);
  if (estimate != (double)storage + overcount)
    fail_msg("%s: estimate %.0f bytes, datasets %llu + %.0f", name, estimate,
             (unsigned long long)storage, overcount);
}

static void size_estimate_counts_every_dataset(void **state) {
  (void)state;
  lz_job *job = small_job();
  check_size_estimate("estimate_on.h5", job, 3 + 30);
  lz_job_destroy(&job);
  job = plain_job();
  check_size_estimate("estimate_off.h5", job, 3 + 30);
  lz_job_destroy(&job);
  /* f0: 2 axis points, 48 runs, 16 sweep points; activation: 3, 30 and 15 */
  job = measured_multiscale_job();
  check_size_estimate("estimate_multiscale.h5", job, 2 + 48 + 16);
  lz_job_destroy(&job);
  job = measured_mf_job();
  check_size_estimate("estimate_mf.h5", job, 3 + 30 + 15);
  lz_job_destroy(&job);
}

/* ---- tests: writes ------------------------------------------------------------------------ */

static void each_rank_writes_different_tiles(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "tiles.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  lz_out *out = create_or_fail(path, job, 0);
  write_tiles(out, job, round_robin_but_short_tiles);
  close_or_fail(&out);
  uint8_t want[9];
  for (int t = 0; t < 9; ++t) want[t] = t % 3 != 2;
  assert_int_equal(verify_results(path, job, want), 6);
  lz_job_destroy(&job);
}

static void a_rank_with_no_tiles_does_not_hang(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "rank0.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  lz_out *out = create_or_fail(path, job, 0);
  write_tiles(out, job, rank_zero_only);
  close_or_fail(&out);
  assert_int_equal(verify_results(path, job, NULL), job->ntiles);
  lz_job_destroy(&job);
}

static void a_tile_with_the_wrong_runs_is_refused(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "wrong_tile.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  lz_out *out = create_or_fail(path, job, 0);
  lz_tile_result tr;
  lz_err err = {0};
  alloc_tile_or_fail(&tr, job);
  fill_tile(job, 1, &tr);
  tr.r0 += 1;
  assert_int_equal(lz_out_write_tile(out, &tr, &err), LZ_EINVAL);
  assert_contains(err.msg, "tile 1");
  tr.tile = 99;
  assert_int_equal(lz_out_write_tile(out, &tr, &err), LZ_EINVAL);
  fill_tile(job, 1, &tr);
  double *orbit = tr.array[LZ_ARRAY_ORBIT];
  tr.array[LZ_ARRAY_ORBIT] = NULL;
  assert_int_equal(lz_out_write_tile(out, &tr, &err), LZ_EINVAL);
  assert_contains(err.msg, "tile 1 has no values for /runs/orbit");
  tr.array[LZ_ARRAY_ORBIT] = orbit;
  lz_tile_result_free(&tr);

  /* A tile computed for another analyze section: its arrays do not fit the file's. */
  lz_job *plain = plain_job();
  alloc_tile_or_fail(&tr, plain);
  fill_tile(plain, 2, &tr);
  assert_int_equal(lz_out_write_tile(out, &tr, &err), LZ_EINVAL);
  assert_contains(err.msg, "tile 2 has 0 x 1 entries of /runs/trace/sharpness per run "
                           "(recorded every 0 steps), the file 6 x 1 (every 4)");
  lz_tile_result_free(&tr);
  lz_job_destroy(&plain);
  close_or_fail(&out);
  assert_int_equal(verify_results(path, job, NULL), 0);
  lz_job_destroy(&job);
}

/* ---- tests: invariant measure ------------------------------------------------------------- */


/* Pooled arrays, as a bit mask of lz_array_id. */
#define ALL_POOLED_ARRAYS (~0u)

/* Buffers for one pooled row of each pooled array of job in mask (NULL elsewhere). */
static void alloc_pooled_rows(const lz_job *job, unsigned mask, void *rows[LZ_ARRAY_COUNT]) {
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    int64_t size = lz_array_shape_size(shape_of(job, a));
    rows[a] = NULL;
    if (lz_array_descs[a].pooled && size > 0 && (mask >> a & 1u)) {
      rows[a] = malloc((size_t)size * 8);
      assert_non_null(rows[a]);
    }
  }
}

static void free_rows(void *rows[LZ_ARRAY_COUNT]) {
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) free(rows[a]);
}

/* Writes the pooled points this rank chooses, with the arrays in mask. */
static void write_pooled_points(lz_out *out, const lz_job *job, tile_choice choose,
                                unsigned mask) {
  void *rows[LZ_ARRAY_COUNT];
  alloc_pooled_rows(job, mask, rows);
  lz_err err = {0};
  for (int64_t p = 0; p < lz_job_npooled(job); ++p) {
    if (!choose(p, world.rank, world.size)) continue;
    lz_pooled_result pr;
    expected_pooled(p, &pr);
    for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
      lz_array_shape s = shape_of(job, a);
      for (int64_t j = 0; rows[a] && j < lz_array_shape_size(s); ++j)
        ((uint64_t *)rows[a])[j] = pooled_bits(a, p, j, s);
    }
    if (lz_out_write_pooled(out, p, &pr, rows, &err) != LZ_OK)
      fail_msg("pooled point %lld: %s", (long long)p, err.msg);
  }
  free_rows(rows);
}

static uint8_t read_pooled_done(hid_t f) {
  uint8_t done = 0xff;
  read_whole(f, "/pooled/done", H5T_NATIVE_UINT8, &done);
  return done;
}

/* Points marked in written hold expected_pooled and, for the arrays in mask, pooled_bits;
 * everything else the fill. */
static void verify_pooled(const char *path, const lz_job *job, const uint8_t *written,
                          unsigned mask, uint8_t want_done) {
  hid_t f = open_read_only(path);
  const int64_t P = lz_job_npooled(job);
  assert_int_equal(read_pooled_done(f), want_done);
  unsigned char *col = malloc((size_t)P * 8);
  size_t nfields;
  const lz_field *fields = lz_pooled_fields(&nfields);
  for (size_t i = 0; i < nfields; ++i) {
    if (!lz_field_applies(&fields[i], job)) continue;
    char name[128];
    snprintf(name, sizeof name, "/pooled/%s", fields[i].name);
    read_whole(f, name, mem_type_of(fields[i].type), col);
    size_t size = size_of(fields[i].type);
    for (int64_t p = 0; p < P; ++p) {
      lz_pooled_result want;
      expected_pooled(p, &want);
      const unsigned char *got = col + (size_t)p * size;
      int same = written[p] ? memcmp(got, (const unsigned char *)&want + fields[i].offset,
                                     size) == 0
                            : is_fill(fields[i].type, got);
      if (!same) fail_msg("%s[%lld] is not what was written", name, (long long)p);
    }
  }
  free(col);
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    lz_array_shape s = shape_of(job, a);
    int64_t size = lz_array_shape_size(s);
    if (!lz_array_descs[a].pooled || size == 0) continue;
    char name[128];
    snprintf(name, sizeof name, "/pooled/%s", lz_array_descs[a].name);
    uint64_t *bits = malloc((size_t)(P * size) * sizeof *bits);
    read_whole(f, name, mem_type_of(lz_array_descs[a].type), bits);
    for (int64_t p = 0; p < P; ++p)
      for (int64_t j = 0; j < size; ++j) {
        uint64_t got = bits[p * size + j];
        int same = written[p] && (mask >> a & 1u)
                       ? got == pooled_bits(a, p, j, s)
                       : is_fill(lz_array_descs[a].type, (const unsigned char *)&got);
        if (!same) fail_msg("%s[%lld, %lld] is not what was written", name, (long long)p,
                            (long long)j);
      }
    free(bits);
  }
  H5Fclose(f);
}

/* Reads point p's runs back (strided) and compares them bitwise with what was written: every
 * field that applies, and every array but the orbit (passed as NULL: skipped). Members the file
 * lacks keep the caller's bytes. */
static void check_read_runs(lz_out *out, const lz_job *job, int64_t p) {
  int64_t first, count, stride;
  lz_job_pooled_runs(job, p, &first, &count, &stride);
  lz_run_result *runs = malloc((size_t)count * sizeof *runs);
  memset(runs, 0xa5, (size_t)count * sizeof *runs);
  void *rows[LZ_ARRAY_COUNT];
  for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
    int64_t size = lz_array_shape_size(shape_of(job, a));
    rows[a] = size > 0 && a != LZ_ARRAY_ORBIT ? malloc((size_t)(count * size) * 8) : NULL;
  }
  lz_err err = {0};
  if (lz_out_read_runs(out, first, count, stride, runs, rows, &err) != LZ_OK)
    fail_msg("point %lld: %s", (long long)p, err.msg);
  size_t nfields;
  const lz_field *fields = lz_run_fields(&nfields);
  unsigned char untouched[8];
  memset(untouched, 0xa5, sizeof untouched);
  for (int64_t k = 0; k < count; ++k) {
    int64_t r = first + k * stride;
    lz_run_result want;
    expected_run(job, r, &want);
    for (size_t i = 0; i < nfields; ++i) {
      const unsigned char *got = (const unsigned char *)&runs[k] + fields[i].offset;
      size_t size = size_of(fields[i].type);
      const void *expect = lz_field_applies(&fields[i], job)
                               ? (const unsigned char *)&want + fields[i].offset
                               : (const void *)untouched;
      if (memcmp(got, expect, size) != 0)
        fail_msg("run %lld (point %lld): %s read back wrong", (long long)r, (long long)p,
                 fields[i].name);
    }
    for (int a = 0; a < LZ_ARRAY_COUNT; ++a) {
      lz_array_shape s = shape_of(job, a);
      int64_t size = lz_array_shape_size(s);
      for (int64_t j = 0; rows[a] && j < size; ++j)
        if (((uint64_t *)rows[a])[k * size + j] != expected_bits(a, r, j, s, &want))
          fail_msg("run %lld: %s[%lld] read back wrong", (long long)r, lz_array_descs[a].name,
                   (long long)j);
    }
  }
  free_rows(rows);
  free(runs);
}

static void invariant_measure_files_hold_every_dataset_with_its_shape_type_and_attributes(
    void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "measure_multiscale.h5");
  remove_on_rank0(path);
  lz_job *job = measured_multiscale_job();
  assert_int_equal(job->nruns, 48);
  assert_int_equal(job->ntiles, 12);
  assert_int_equal(lz_job_npooled(job), 16);
  lz_out *out = create_or_fail(path, job, 0);
  close_or_fail(&out);
  hid_t f = open_read_only(path);
  check_result_datasets(f, job);
  /* The numbers behind the generic checks: 2 coordinates in 6 bins, a 2-D state (4 wells), 16
   * points of 3 replicas 4 runs apart. */
  ASSERT_EXISTENCE(f, measure_datasets, 1);
  assert_shape3(f, "/runs/hist", 48, 2, 6);
  assert_shape3(f, "/runs/hist_half1", 48, 2, 6);
  assert_shape3(f, "/runs/gibbs", 48, 2, 6);
  assert_shape3(f, "/runs/hist2d", 48, 6, 6);
  assert_shape3(f, "/runs/gibbs2d", 48, 6, 6);
  assert_shape(f, "/runs/hist_obs", 2, 48, 4);
  assert_shape(f, "/runs/wells", 2, 48, 4);
  assert_shape3(f, "/runs/moments", 48, 2, 2);
  assert_shape3(f, "/pooled/hist", 16, 2, 6);
  assert_shape3(f, "/pooled/gibbs2d", 16, 6, 6);
  assert_shape(f, "/pooled/hist_obs", 2, 16, 4);
  assert_shape(f, "/pooled/temperature", 1, 16, 0);
  assert_type(f, "/runs/hist", H5T_INTEGER, 8);
  assert_type(f, "/pooled/samples", H5T_INTEGER, 8);
  const int64_t coords[] = {1, 0};
  assert_int64_array_attribute(f, "/runs/hist", "coords", coords, 2);
  assert_int64_array_attribute(f, "/runs/gibbs", "coords", coords, 2);
  assert_int64_array_attribute(f, "/pooled/hist_half1", "coords", coords, 2);
  double edges[7];
  read_whole(f, "/runs/hist_edges", H5T_NATIVE_DOUBLE, edges);
  assert_true(edges[0] == -2.0 && edges[6] == 3.0);
  char text[64];
  read_string_attribute(f, "/runs/hist_obs_edges", "observable", text, sizeof text);
  assert_string_equal(text, "f0");
  assert_false(has_attribute(f, "/runs/hist_obs_edges", "entry"));
  int64_t first[16];
  read_whole(f, "/pooled/first_run", H5T_NATIVE_INT64, first);
  assert_int_equal(first[1], 1);
  assert_int_equal(first[4], 12);  /* the next eps: 3 replicas x 4 lr values further */
  assert_false(H5Lexists(f, "/pooled/replica", H5P_DEFAULT) > 0);
  assert_true(H5Lexists(f, "/pooled/eps", H5P_DEFAULT) > 0);
  assert_true(H5Lexists(f, "/pooled/f0", H5P_DEFAULT) > 0);
  assert_int_equal(read_pooled_done(f), 0);
  H5Fclose(f);
  assert_int_equal(verify_results(path, job, NULL), 0);
  lz_job_destroy(&job);

  /* mf: no Gibbs density, no wells; the observable is an entry of X. */
  test_path(path, sizeof path, "measure_mf.h5");
  remove_on_rank0(path);
  job = measured_mf_job();
  assert_int_equal(lz_job_npooled(job), 15);
  out = create_or_fail(path, job, 0);
  close_or_fail(&out);
  f = open_read_only(path);
  check_result_datasets(f, job);
  const char *const not_mf[] = {"/runs/gibbs", "/runs/gibbs2d", "/runs/wells", "/pooled/gibbs",
                                "/pooled/gibbs2d", "/pooled/wells", "/runs/temperature",
                                "/pooled/temperature", "/pooled/gibbs_tv"};
  ASSERT_EXISTENCE(f, not_mf, 0);
  const char *const mf[] = {"/runs/hist", "/runs/hist2d", "/runs/hist_obs", "/runs/moments",
                            "/pooled/hist", "/pooled/hist2d", "/pooled/samples",
                            "/pooled/halves_tv", "/pooled/activation", "/pooled/n", "/pooled/lr"};
  ASSERT_EXISTENCE(f, mf, 1);
  assert_shape3(f, "/runs/hist", 30, 2, 6);
  assert_shape(f, "/pooled/hist_obs", 2, 15, 4);
  read_string_attribute(f, "/pooled/hist_obs", "observable", text, sizeof text);
  assert_string_equal(text, "x_entry");
  const int64_t entry[] = {1, 0};
  assert_int64_array_attribute(f, "/runs/hist_obs_edges", "entry", entry, 2);
  H5Fclose(f);
  assert_int_equal(verify_results(path, job, NULL), 0);
  lz_job_destroy(&job);
}

static void counts_past_two_to_the_53_round_trip_through_a_reopened_file(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "measure_read_runs.h5");
  remove_on_rank0(path);
  lz_job *job = measured_multiscale_job();
  lz_out *out = create_or_fail(path, job, 0);
  write_tiles(out, job, round_robin);
  close_or_fail(&out);
  assert_int_equal(verify_results(path, job, NULL), job->ntiles);

  uint8_t done[12];
  lz_err err = {0};
  if (lz_out_open_resume(&world, path, job, &out, done, &err) != LZ_OK) fail_msg("%s", err.msg);
  int64_t first, count, stride;
  lz_job_pooled_runs(job, 1, &first, &count, &stride);
  assert_int_equal(first, 1);
  assert_int_equal(count, 3);
  assert_int_equal(stride, 4);
  /* Each rank reads the points of the others' tiles too. */
  for (int64_t p = world.rank; p < lz_job_npooled(job); p += world.size)
    check_read_runs(out, job, p);

  /* The exact values, beyond what a double holds. */
  lz_run_result runs[3];
  uint64_t *hist = malloc(3 * 12 * sizeof *hist);
  void *rows[LZ_ARRAY_COUNT] = {NULL};
  rows[LZ_ARRAY_HIST] = hist;
  assert_int_equal(lz_out_read_runs(out, 1, 3, 4, runs, rows, &err), LZ_OK);
  assert_true(hist[0] == ((uint64_t)1 << 53) + 1 + 1000);          /* run 1, entry 0 */
  assert_true(hist[12 + 5] == ((uint64_t)1 << 53) + 1 + 5000 + 10); /* run 5, entry 5 */
  assert_true(runs[2].im.samples == ((int64_t)1 << 53) + 1 + 18);  /* run 9 */
  assert_true((double)hist[0] == (double)(hist[0] - 1));  /* not a double */
  assert_int_equal(lz_out_read_runs(out, 1, 3, 4, runs, NULL, &err), LZ_OK);
  assert_int_equal(lz_out_read_runs(out, 1, 0, 4, NULL, rows, &err), LZ_OK);

  /* Runs outside the file are refused before anything is read. */
  assert_int_equal(lz_out_read_runs(out, 45, 2, 4, runs, rows, &err), LZ_EINVAL);
  assert_contains(err.msg, "runs 45 + k * 4, k < 2, are not all in [0, 48)");
  assert_int_equal(lz_out_read_runs(out, 44, 2, 4, runs, rows, &err), LZ_EINVAL);
  assert_int_equal(lz_out_read_runs(out, -1, 1, 4, runs, rows, &err), LZ_EINVAL);
  assert_int_equal(lz_out_read_runs(out, 0, 3, 0, runs, rows, &err), LZ_EINVAL);
  assert_int_equal(lz_out_read_runs(out, 47, 1, 4, runs, rows, &err), LZ_OK);
  free(hist);
  close_or_fail(&out);
  lz_job_destroy(&job);

  /* mf: 2 runs per point, 5 apart, read on the handle that wrote them. */
  test_path(path, sizeof path, "measure_read_runs_mf.h5");
  remove_on_rank0(path);
  job = measured_mf_job();
  out = create_or_fail(path, job, 0);
  write_tiles(out, job, rank_zero_only);
  if (world.rank == 0)
    for (int64_t p = 0; p < lz_job_npooled(job); ++p) check_read_runs(out, job, p);
  close_or_fail(&out);
  lz_job_destroy(&job);
}

static void pooled_points_round_trip_and_are_marked_done_last(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "measure_pooled.h5");
  remove_on_rank0(path);
  lz_job *job = measured_multiscale_job();
  const int64_t P = lz_job_npooled(job);
  lz_out *out = create_or_fail(path, job, 0);
  write_tiles(out, job, round_robin);
  /* Rank 0 pools every point while the others do nothing: nothing here is collective. */
  write_pooled_points(out, job, rank_zero_only, ALL_POOLED_ARRAYS);
  close_or_fail(&out);
  uint8_t written[16];
  memset(written, 1, sizeof written);
  verify_pooled(path, job, written, ALL_POOLED_ARRAYS, 0);
  lz_out_info info;
  lz_err err = {0};
  if (lz_out_read_info(path, &info, &err) != LZ_OK) fail_msg("%s", err.msg);
  assert_int_equal(info.pooled_done, 0);
  lz_out_info_free(&info);

  /* The flag goes last, from any one rank, after a resume. */
  uint8_t done[12];
  if (lz_out_open_resume(&world, path, job, &out, done, &err) != LZ_OK) fail_msg("%s", err.msg);
  if (world.rank == world.size - 1) assert_int_equal(lz_out_mark_pooled(out, &err), LZ_OK);
  lz_pooled_result pr;
  expected_pooled(0, &pr);
  assert_int_equal(lz_out_write_pooled(out, P, &pr, NULL, &err), LZ_EINVAL);
  assert_contains(err.msg, "pooled point 16 is not in [0, 16)");
  assert_int_equal(lz_out_write_pooled(out, -1, &pr, NULL, &err), LZ_EINVAL);
  assert_int_equal(lz_out_write_pooled(out, 0, NULL, NULL, &err), LZ_EINVAL);
  close_or_fail(&out);
  verify_pooled(path, job, written, ALL_POOLED_ARRAYS, 1);
  if (lz_out_read_info(path, &info, &err) != LZ_OK) fail_msg("%s", err.msg);
  assert_int_equal(info.pooled_done, 1);
  lz_out_info_free(&info);
  lz_job_destroy(&job);

  /* Points from every rank in turn, the last one left out, and only hist and moments given:
   * the other arrays keep their fill. */
  test_path(path, sizeof path, "measure_pooled_mf.h5");
  remove_on_rank0(path);
  job = measured_mf_job();
  out = create_or_fail(path, job, 0);
  const unsigned some = 1u << LZ_ARRAY_HIST | 1u << LZ_ARRAY_MOMENTS;
  write_pooled_points(out, job, round_robin_but_short_tiles, some);
  close_or_fail(&out);
  uint8_t some_written[15];
  for (int p = 0; p < 15; ++p) some_written[p] = p % 3 != 2;
  verify_pooled(path, job, some_written, some, 0);
  lz_job_destroy(&job);
}

/* Without an invariant measure there is nothing to pool. */
static void a_job_without_invariant_measure_has_nothing_to_pool(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "measure_off.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  lz_out *out = create_or_fail(path, job, 0);
  lz_pooled_result pr;
  expected_pooled(0, &pr);
  lz_err err = {0};
  assert_int_equal(lz_out_write_pooled(out, 0, &pr, NULL, &err), LZ_EINVAL);
  assert_contains(err.msg, "has no /pooled");
  assert_int_equal(lz_out_mark_pooled(out, &err), LZ_EINVAL);
  close_or_fail(&out);
  lz_out_info info;
  if (lz_out_read_info(path, &info, &err) != LZ_OK) fail_msg("%s", err.msg);
  assert_int_equal(info.pooled_done, -1);
  lz_out_info_free(&info);
  lz_job_destroy(&job);
  MPI_Barrier(world.comm);
}

/* ---- tests: existing files ---------------------------------------------------------------- */

static void create_refuses_an_existing_file_without_overwrite(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "existing.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  lz_out *out = create_or_fail(path, job, 0);
  write_tiles(out, job, round_robin);
  close_or_fail(&out);
  size_t len_before, len_after;
  char *before = read_file_bytes(path, &len_before);

  lz_err err = {0};
  assert_int_equal(lz_out_create(&world, path, job, &provenance, 0, &out, &err), LZ_EJOB);
  assert_null(out);
  assert_contains(err.msg, path);
  assert_contains(err.msg, "exists; use --resume to continue it or --overwrite to replace it");
  MPI_Barrier(world.comm);
  char *after = read_file_bytes(path, &len_after);
  assert_int_equal(len_before, len_after);
  assert_memory_equal(before, after, len_before);
  free(before);
  free(after);

  out = create_or_fail(path, job, 1);
  close_or_fail(&out);
  assert_int_equal(verify_results(path, job, NULL), 0);
  lz_job_destroy(&job);
}

static void create_refuses_an_existing_non_hdf5_file(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "notes.txt");
  if (world.rank == 0) write_text_file(path, "precious notes\n");
  MPI_Barrier(world.comm);
  lz_job *job = small_job();
  lz_out *out = NULL;
  lz_err err = {0};
  assert_int_equal(lz_out_create(&world, path, job, &provenance, 0, &out, &err), LZ_EJOB);
  MPI_Barrier(world.comm);
  size_t len;
  char *text = read_file_bytes(path, &len);
  assert_int_equal(len, strlen("precious notes\n"));
  free(text);
  lz_job_destroy(&job);
}

static void create_removes_its_partial_file_on_failure(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "partial.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  /* A '/' in an axis name makes H5Dcreate fail half-way through the layout. */
  snprintf(job->axes[2].name, sizeof job->axes[2].name, "no/such_group");
  lz_out *out = NULL;
  lz_err err = {0};
  assert_int_equal(lz_out_create(&world, path, job, &provenance, 0, &out, &err), LZ_EHDF5);
  assert_null(out);
  assert_contains(err.msg, path);
  assert_contains(err.msg, "/axes/no/such_group: H5Dcreate failed: ");
  MPI_Barrier(world.comm);
  assert_int_not_equal(access(path, F_OK), 0);
  lz_job_destroy(&job);
}

/* ---- tests: resume ------------------------------------------------------------------------ */

static void resume_returns_done_tiles_and_completes_the_file(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "resume.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  lz_out *out = create_or_fail(path, job, 0);
  write_tiles(out, job, first_four_round_robin);
  close_or_fail(&out);

  uint8_t done[9];
  memset(done, 0xff, sizeof done);
  lz_err err = {0};
  int rc = lz_out_open_resume(&world, path, job, &out, done, &err);
  if (rc != LZ_OK) fail_msg("lz_out_open_resume: %s", err.msg);
  for (int t = 0; t < 9; ++t) assert_int_equal(done[t], t < 4);
  lz_tile_result tr;
  alloc_tile_or_fail(&tr, job);
  for (int64_t t = 0; t < job->ntiles; ++t) {
    if (done[t] || t % world.size != world.rank) continue;
    fill_tile(job, t, &tr);
    if (lz_out_write_tile(out, &tr, &err) != LZ_OK) fail_msg("%s", err.msg);
  }
  lz_tile_result_free(&tr);
  close_or_fail(&out);
  assert_int_equal(verify_results(path, job, NULL), job->ntiles);
  lz_job_destroy(&job);
}

static void resume_refuses_a_different_job(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "resume_other.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  lz_out *out = create_or_fail(path, job, 0);
  close_or_fail(&out);
  lz_job *other = make_job(job_text_b, 5, 4);
  uint8_t done[9];
  lz_err err = {0};
  assert_int_equal(lz_out_open_resume(&world, path, other, &out, done, &err), LZ_EJOB);
  assert_null(out);
  assert_contains(err.msg, "different job");
  assert_contains(err.msg, job->sha256);
  assert_contains(err.msg, other->sha256);

  /* Same job text, other sweep size: the file cannot hold it. */
  lz_job *bigger = make_job(job_text_a, 6, 4);
  uint8_t done_bigger[16];
  assert_int_equal(lz_out_open_resume(&world, path, bigger, &out, done_bigger, &err), LZ_EJOB);
  assert_contains(err.msg, "holds 30 runs in 9 tiles");

  test_path(path, sizeof path, "not_hdf5.h5");
  if (world.rank == 0) write_text_file(path, "half a file, as left by kill -9 during creation");
  MPI_Barrier(world.comm);
  assert_int_equal(lz_out_open_resume(&world, path, job, &out, done, &err), LZ_EJOB);
  assert_contains(err.msg, "not a complete lrzoo output file");
  assert_contains(err.msg, "--overwrite");

  test_path(path, sizeof path, "does_not_exist.h5");
  assert_int_equal(lz_out_open_resume(&world, path, job, &out, done, &err), LZ_EJOB);
  assert_contains(err.msg, "cannot resume");
  lz_job_destroy(&job);
  lz_job_destroy(&other);
  lz_job_destroy(&bigger);
  MPI_Barrier(world.comm);
}

static void resume_refuses_a_file_whose_array_shapes_differ(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "resume_shapes.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  lz_out *out = create_or_fail(path, job, 0);
  write_tiles(out, job, first_four_round_robin);
  close_or_fail(&out);
  /* The same job text (so the same job_sha256) with another analyze section: only lrzoo
   * versions that shape the arrays differently can produce this, and the guard refuses it. */
  lz_job *other = small_job();
  uint8_t done[9];
  lz_err err = {0};
  other->analyze.sharpness.every = 3;
  assert_int_equal(lz_out_open_resume(&world, path, other, &out, done, &err), LZ_EJOB);
  assert_null(out);
  assert_contains(err.msg, "/runs/trace/sharpness is 30 x 6, but this job's is 30 x 7");
  other->analyze.sharpness.every = 4;
  other->analyze.orbit.max_period = 4;
  assert_int_equal(lz_out_open_resume(&world, path, other, &out, done, &err), LZ_EJOB);
  assert_contains(err.msg, "/runs/orbit is 30 x 3 x 8, but this job's is 30 x 4 x 8");
  other->analyze.orbit.max_period = 3;
  other->analyze.sharpness.every = 0;
  assert_int_equal(lz_out_open_resume(&world, path, other, &out, done, &err), LZ_EJOB);
  assert_contains(err.msg, "holds /runs/trace/sharpness, which this job does not have");
  lz_job_destroy(&other);

  /* Same length (3 records of 20 steps), other steps. */
  char every_path[512];
  test_path(every_path, sizeof every_path, "resume_every.h5");
  remove_on_rank0(every_path);
  lz_job *every7 = small_job(), *every8 = small_job();
  every7->analyze.sharpness.every = 7;
  every8->analyze.sharpness.every = 8;
  out = create_or_fail(every_path, every7, 0);
  close_or_fail(&out);
  assert_int_equal(lz_out_open_resume(&world, every_path, every8, &out, done, &err), LZ_EJOB);
  assert_contains(err.msg, "/runs/trace/sharpness records every 7 steps, but this job's every 8");
  lz_job_destroy(&every7);
  lz_job_destroy(&every8);

  /* A file without the arrays the job has. */
  char plain_path[512];
  test_path(plain_path, sizeof plain_path, "resume_plain.h5");
  remove_on_rank0(plain_path);
  lz_job *plain = plain_job();
  out = create_or_fail(plain_path, plain, 0);
  close_or_fail(&out);
  assert_int_equal(lz_out_open_resume(&world, plain_path, job, &out, done, &err), LZ_EJOB);
  assert_contains(err.msg, "has no dataset /runs/trace/sharpness");
  lz_job_destroy(&plain);

  /* The refusals left the file as it was: its own job resumes it. */
  int rc = lz_out_open_resume(&world, path, job, &out, done, &err);
  if (rc != LZ_OK) fail_msg("lz_out_open_resume: %s", err.msg);
  for (int t = 0; t < 9; ++t) assert_int_equal(done[t], t < 4);
  close_or_fail(&out);
  lz_job_destroy(&job);
}

static void resume_refuses_a_file_whose_invariant_measure_differs(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "resume_measure.h5");
  remove_on_rank0(path);
  lz_job *job = measured_multiscale_job();
  lz_out *out = create_or_fail(path, job, 0);
  write_tiles(out, job, first_four_round_robin);
  close_or_fail(&out);
  uint8_t done[12];
  lz_err err = {0};
  lz_job *other = measured_multiscale_job();
  other->analyze.invariant_measure.bins = 7;
  assert_int_equal(lz_out_open_resume(&world, path, other, &out, done, &err), LZ_EJOB);
  assert_null(out);
  assert_contains(err.msg, "/runs/hist is 48 x 2 x 6, but this job's is 48 x 2 x 7");
  other->analyze.invariant_measure.bins = 6;
  other->analyze.invariant_measure.observable.bins = 5;
  assert_int_equal(lz_out_open_resume(&world, path, other, &out, done, &err), LZ_EJOB);
  assert_contains(err.msg, "/runs/hist_obs is 48 x 4, but this job's is 48 x 5");
  other->analyze.invariant_measure.observable.bins = 4;
  other->analyze.invariant_measure.samples = 0;
  assert_int_equal(lz_out_open_resume(&world, path, other, &out, done, &err), LZ_EJOB);
  assert_contains(err.msg, "holds /runs/hist, which this job does not have");
  lz_job_destroy(&other);

  /* The same runs and tiles (4 replicas x 3 lr values per instance, not 3 x 4), and the same
   * per-run arrays, but 12 sweep points instead of 16. */
  other = multiscale_job(4, 3);
  assert_int_equal(other->nruns, 48);
  assert_int_equal(other->ntiles, 12);
  assert_int_equal(lz_out_open_resume(&world, path, other, &out, done, &err), LZ_EJOB);
  assert_contains(err.msg, "/pooled/point is 16, but this job's is 12");
  lz_job_destroy(&other);

  /* A file without the invariant measure, resumed by a job with it. */
  char plain_path[512];
  test_path(plain_path, sizeof plain_path, "resume_measure_off.h5");
  remove_on_rank0(plain_path);
  other = measured_multiscale_job();
  other->analyze.invariant_measure.samples = 0;
  out = create_or_fail(plain_path, other, 0);
  close_or_fail(&out);
  assert_int_equal(lz_out_open_resume(&world, plain_path, job, &out, done, &err), LZ_EJOB);
  assert_contains(err.msg, "has no dataset /runs/hist");
  lz_job_destroy(&other);

  /* Its own job resumes it, completes it and pools it. */
  int rc = lz_out_open_resume(&world, path, job, &out, done, &err);
  if (rc != LZ_OK) fail_msg("lz_out_open_resume: %s", err.msg);
  for (int t = 0; t < 12; ++t) assert_int_equal(done[t], t < 4);
  lz_tile_result tr;
  alloc_tile_or_fail(&tr, job);
  for (int64_t t = 0; t < job->ntiles; ++t) {
    if (done[t] || t % world.size != world.rank) continue;
    fill_tile(job, t, &tr);
    if (lz_out_write_tile(out, &tr, &err) != LZ_OK) fail_msg("%s", err.msg);
  }
  lz_tile_result_free(&tr);
  write_pooled_points(out, job, round_robin, ALL_POOLED_ARRAYS);
  close_or_fail(&out);
  assert_int_equal(verify_results(path, job, NULL), job->ntiles);
  uint8_t written[16];
  memset(written, 1, sizeof written);
  verify_pooled(path, job, written, ALL_POOLED_ARRAYS, 0);
  lz_job_destroy(&job);
}

/* ---- tests: target matrices --------------------------------------------------------------- */

static void write_matrix(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
                         const hsize_t *dims, const void *data) {
  hid_t s = H5Screate_simple(rank, dims, NULL);
  hid_t d = H5Dcreate2(loc, name, file_type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(d >= 0);
  assert_true(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
  H5Dclose(d);
  H5Sclose(s);
}

static void make_target_file(const char *path) {
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(f >= 0);
  double a[16];
  for (int i = 0; i < 16; ++i) a[i] = 1.0 / (i + 3) - (i == 5 ? 1e-300 : 0.0);
  int32_t ints[16];
  for (int i = 0; i < 16; ++i) ints[i] = i - 8;
  double r[6] = {1, 2, 3, 4, 5, 6};
  hsize_t sq[2] = {4, 4}, rect[2] = {3, 2}, vec[1] = {7};
  write_matrix(f, "A", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, sq, a);
  write_matrix(f, "I", H5T_STD_I32LE, H5T_NATIVE_INT32, 2, sq, ints);
  write_matrix(f, "R", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, rect, r);
  write_matrix(f, "V", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, vec, a);
  hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, 4);
  char text[16][4];
  memset(text, 'x', sizeof text);
  write_matrix(f, "S", str, str, 2, sq, text);
  H5Tclose(str);
  hid_t g = H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  write_matrix(g, "B", H5T_IEEE_F32LE, H5T_NATIVE_DOUBLE, 2, sq, a);
  H5Gclose(g);
  H5Fclose(f);
}

static void make_crowded_file(const char *path) {
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  double one = 1;
  hsize_t dims[2] = {1, 1};
  for (int i = 0; i < 12; ++i) {
    char name[8];
    snprintf(name, sizeof name, "d%02d", i);
    write_matrix(f, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, dims, &one);
  }
  H5Fclose(f);
}

static void read_matrix_reads_exactly_and_explains_failures(void **state) {
  (void)state;
  char path[512], name[64];
  snprintf(name, sizeof name, "targets_rank%d.h5", world.rank);
  test_path(path, sizeof path, name);
  make_target_file(path);
  double a[16], want[16];
  for (int i = 0; i < 16; ++i) want[i] = 1.0 / (i + 3) - (i == 5 ? 1e-300 : 0.0);
  lz_err err = {0};
  assert_int_equal(lz_io_read_matrix(path, "/A", 4, a, &err), LZ_OK);
  assert_memory_equal(a, want, sizeof a);
  assert_int_equal(lz_io_read_matrix(path, "A", 4, a, &err), LZ_OK);
  assert_int_equal(lz_io_read_matrix(path, "/I", 4, a, &err), LZ_OK);
  for (int i = 0; i < 16; ++i) assert_true(a[i] == (double)(i - 8));
  assert_int_equal(lz_io_read_matrix(path, "/g/B", 4, a, &err), LZ_OK);
  for (int i = 0; i < 16; ++i) assert_true(a[i] == (double)(float)want[i]);
  assert_int_equal(lz_io_check_matrix(path, "/A", 4, &err), LZ_OK);

  assert_int_equal(lz_io_check_matrix(path, "/A", 5, &err), LZ_EHDF5);
  assert_contains(err.msg, path);
  assert_contains(err.msg, "dataset '/A' is 4 x 4, expected 5 x 5");
  assert_int_equal(lz_io_read_matrix(path, "/R", 4, a, &err), LZ_EHDF5);
  assert_contains(err.msg, "dataset '/R' is 3 x 2, expected 4 x 4");
  assert_int_equal(lz_io_read_matrix(path, "/V", 7, a, &err), LZ_EHDF5);
  assert_contains(err.msg, "dataset '/V' is 1-D (7), expected 7 x 7");
  assert_int_equal(lz_io_read_matrix(path, "/S", 4, a, &err), LZ_EHDF5);
  assert_contains(err.msg, "dataset '/S' holds string values");
  assert_int_equal(lz_io_read_matrix(path, "/B", 4, a, &err), LZ_EHDF5);
  assert_contains(err.msg, "no dataset '/B' (datasets: /A, /I, /R, /S, /V)");
  assert_int_equal(lz_io_read_matrix(path, "/g/C", 4, a, &err), LZ_EHDF5);
  assert_contains(err.msg, "no dataset '/g/C'");
  assert_int_equal(lz_io_read_matrix(path, "/nope/C", 4, a, &err), LZ_EHDF5);
  assert_contains(err.msg, "no dataset '/nope/C'");
  assert_int_equal(lz_io_read_matrix(path, "/g", 4, a, &err), LZ_EHDF5);
  assert_contains(err.msg, "no dataset '/g'");

  make_crowded_file(path);
  assert_int_equal(lz_io_check_matrix(path, "/x", 1, &err), LZ_EHDF5);
  assert_contains(err.msg, "/d00, /d01, /d02, /d03, /d04, /d05, /d06, /d07, /d08, /d09, ...)");

  test_path(path, sizeof path, "no_such_targets.h5");
  assert_int_equal(lz_io_read_matrix(path, "/A", 4, a, &err), LZ_EIO);
  assert_contains(err.msg, path);
  assert_contains(err.msg, "No such file or directory");

  snprintf(name, sizeof name, "not_hdf5_rank%d.txt", world.rank);
  test_path(path, sizeof path, name);
  write_text_file(path, "A = [[1, 2], [3, 4]]\n");
  assert_int_equal(lz_io_check_matrix(path, "/A", 2, &err), LZ_EHDF5);
  assert_contains(err.msg, "not an HDF5 file");
  MPI_Barrier(world.comm);
}

/* ---- tests: info -------------------------------------------------------------------------- */

static void read_info_counts_a_partial_file(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "info.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  lz_out *out = create_or_fail(path, job, 0);
  write_tiles(out, job, round_robin_but_short_tiles);
  close_or_fail(&out);

  lz_out_info info;
  lz_err err = {0};
  int rc = lz_out_read_info(path, &info, &err);
  if (rc != LZ_OK) fail_msg("lz_out_read_info: %s", err.msg);
  assert_string_equal(info.name, "io-test");
  assert_string_equal(info.job_sha256, job->sha256);
  assert_string_equal(info.job_yaml, job->text);
  assert_string_equal(info.lrzoo_version, provenance.lrzoo_version);
  assert_string_equal(info.git_commit, provenance.git_commit);
  assert_string_equal(info.created_utc, provenance.created_utc);
  assert_int_equal(info.nruns, 30);
  assert_int_equal(info.ntiles, 9);
  assert_int_equal(info.tiles_done, 6);
  int64_t want[LZ_STATUS_COUNT] = {0};
  for (int64_t r = 0; r < job->nruns; ++r) {
    lz_run_result res;
    expected_run(job, r, &res);
    ++want[tile_of_run(job, r) % 3 == 2 ? LZ_STATUS_NOT_RUN : res.status];
  }
  assert_int_equal(want[LZ_STATUS_NOT_RUN], 6);
  for (int s = 0; s < LZ_STATUS_COUNT; ++s) assert_int_equal(info.status_counts[s], want[s]);
  lz_out_info_free(&info);
  assert_null(info.name);

  char other[512];
  test_path(other, sizeof other, "no_such_output.h5");
  assert_int_equal(lz_out_read_info(other, &info, &err), LZ_EIO);
  assert_contains(err.msg, "No such file or directory");
  char name[64];
  snprintf(name, sizeof name, "plain_rank%d.h5", world.rank);
  test_path(other, sizeof other, name);
  make_crowded_file(other);
  assert_int_equal(lz_out_read_info(other, &info, &err), LZ_EJOB);
  assert_contains(err.msg, "not an lrzoo output file");
  lz_job_destroy(&job);
  MPI_Barrier(world.comm);
}

/* Every switch of lz_env_switches that is set lands in the root attribute `environment`, one
 * "NAME=value" line each, and lz_out_read_info hands it to `lrzoo info`; an unset switch leaves
 * no line, and a file made before switches were recorded has no environment to show. */
/* The scheduler passes rank 0's switches, so ranks launched with different environments
 * still write one attribute; the text passed wins over the process's own. */
static void the_environment_passed_in_the_provenance_is_what_the_file_records(void **state) {
  (void)state;
  char path[512], buf[4096];
  test_path(path, sizeof path, "environment_passed.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  lz_provenance prov = provenance;
  prov.environment = "LRZOO_MF_PRODUCTS=from-rank-0\n";
  lz_out *out = NULL;
  lz_err err = {0};
  if (lz_out_create(&world, path, job, &prov, 0, &out, &err) != LZ_OK) fail_msg("%s", err.msg);
  close_or_fail(&out);
  hid_t f = open_read_only(path);
  read_string_attribute(f, "/", "environment", buf, sizeof buf);
  H5Fclose(f);
  assert_string_equal(buf, "LRZOO_MF_PRODUCTS=from-rank-0\n");
  lz_job_destroy(&job);
  remove_on_rank0(path);
}

static void environment_switches_are_recorded_at_creation(void **state) {
  (void)state;
  char *saved[LZ_ENV_SWITCH_COUNT];
  for (int i = 0; i < LZ_ENV_SWITCH_COUNT; ++i) {
    const char *value = getenv(lz_env_switches[i].name);
    saved[i] = value ? copy_string(value) : NULL;
  }
  char path[512], unset_path[512];
  test_path(path, sizeof path, "environment.h5");
  test_path(unset_path, sizeof unset_path, "environment_unset.h5");
  remove_on_rank0(path);
  remove_on_rank0(unset_path);
  lz_job *job = small_job();
  for (int i = 0; i < LZ_ENV_SWITCH_COUNT; ++i) {
    char value[32];
    snprintf(value, sizeof value, "test-%d", i);
    assert_int_equal(setenv(lz_env_switches[i].name, value, 1), 0);
  }
  lz_out *out = create_or_fail(path, job, 0);
  close_or_fail(&out);
  assert_int_equal(unsetenv("LRZOO_MF_PRODUCTS"), 0);
  out = create_or_fail(unset_path, job, 0);
  close_or_fail(&out);
  for (int i = 0; i < LZ_ENV_SWITCH_COUNT; ++i) {
    if (saved[i]) setenv(lz_env_switches[i].name, saved[i], 1);
    else unsetenv(lz_env_switches[i].name);
    free(saved[i]);
  }

  char buf[4096];
  hid_t f = open_read_only(path);
  if (!has_attribute(f, "/", "environment")) fail_msg("no root attribute environment");
  read_string_attribute(f, "/", "environment", buf, sizeof buf);
  H5Fclose(f);
  for (int i = 0; i < LZ_ENV_SWITCH_COUNT; ++i) {
    char line[128];
    snprintf(line, sizeof line, "%s=test-%d\n", lz_env_switches[i].name, i);
    assert_contains(buf, line);
  }
  f = open_read_only(unset_path);
  if (!has_attribute(f, "/", "environment")) fail_msg("no root attribute environment");
  read_string_attribute(f, "/", "environment", buf, sizeof buf);
  H5Fclose(f);
  if (strstr(buf, "LRZOO_MF_PRODUCTS=")) fail_msg("an unset switch is recorded: %s", buf);

  lz_out_info info;
  lz_err err = {0};
  int rc = lz_out_read_info(path, &info, &err);
  if (rc != LZ_OK) fail_msg("lz_out_read_info: %s", err.msg);
  assert_non_null(info.environment);
  assert_contains(info.environment, "LRZOO_MF_PRODUCTS=test-0\n");
  lz_out_info_free(&info);

  /* every rank has closed its read-only handles before rank 0 opens the file to change it:
   * HDF5's file lock refuses a writer while another process reads */
  MPI_Barrier(world.comm);
  if (world.rank == 0) {
    hid_t rw = H5Fopen(unset_path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(rw >= 0);
    assert_true(H5Adelete(rw, "environment") >= 0);
    H5Fclose(rw);
  }
  MPI_Barrier(world.comm);
  rc = lz_out_read_info(unset_path, &info, &err);
  if (rc != LZ_OK) fail_msg("lz_out_read_info of a file without environment: %s", err.msg);
  assert_null(info.environment);
  lz_out_info_free(&info);
  lz_job_destroy(&job);
}

static void a_long_job_file_fits_in_job_yaml(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "long_job.h5");
  remove_on_rank0(path);
  /* Past the 64 KiB that an attribute in a version-1 object header can hold. */
  size_t len = 100 * 1024;
  char *text = malloc(len + 1);
  assert_non_null(text);
  for (size_t i = 0; i < len; ++i) text[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
  text[len] = '\0';
  lz_job *job = make_job(text, 5, 4);
  lz_out *out = create_or_fail(path, job, 0);
  close_or_fail(&out);
  lz_out_info info;
  lz_err err = {0};
  if (lz_out_read_info(path, &info, &err) != LZ_OK) fail_msg("%s", err.msg);
  assert_string_equal(info.job_yaml, text);
  assert_string_equal(info.job_sha256, job->sha256);
  lz_out_info_free(&info);
  free(text);
  lz_job_destroy(&job);
  MPI_Barrier(world.comm);
}

/* ---- tests: other readers ----------------------------------------------------------------- */

static const char h5py_check[] =
    "import sys, h5py, numpy as np\n"
    "path, sha = sys.argv[1], sys.argv[5]\n"
    "R, T, K = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])\n"
    "f = h5py.File(path, 'r')\n"
    "assert f['runs/status'].shape == (R,), f['runs/status'].shape\n"
    "assert f['runs/status'].dtype == np.int8\n"
    "assert f['runs/trace/loss'].shape == (R, K)\n"
    "assert list(f['runs/status'][:6]) == [1, 2, 3, 4, 5, 1], f['runs/status'][:6]\n"
    "assert f['runs/loss'][3] == 0.25\n"
    "assert f['runs/trace/loss'][2, 1] == 2.125\n"
    "assert np.isnan(f['runs/trace/loss'][1, K - 1])\n"
    "assert f.attrs['format_version'] == 1\n"
    "assert f.attrs['job_sha256'].decode() == sha\n"
    "assert f.attrs['seed'] == 42\n"
    "assert f['runs/loss'].dims[0].label == 'run'\n"
    "assert f['runs/loss'].dims[0][0].name == '/runs/run'\n"
    "assert f['runs/trace/loss'].dims[1][0].name == '/runs/trace/loss_step'\n"
    "assert list(f['runs/trace/loss_step'][:]) == [5 * k for k in range(K)]\n"
    "assert 'record' not in f['runs/trace']\n"
    "s = f['runs/trace/sharpness']\n"
    "assert s.shape == (R, 6) and s.attrs['record_every'] == 4, s.shape\n"
    "assert s.dims[1][0].name == '/runs/trace/sharpness_step'\n"
    "assert list(f['runs/trace/sharpness_step'][:]) == [0, 4, 8, 12, 16, 20]\n"
    "assert s[4, 0] == 104.0 and np.isnan(s[4, 5])\n"
    "o = f['runs/orbit']\n"
    "assert o.shape == (R, 3, 8) and o.dtype == np.float64, o.shape\n"
    "assert [d.label for d in o.dims] == ['run', 'point', 'coordinate']\n"
    "assert o.dims[0][0].name == '/runs/run' and 'record_every' not in o.attrs\n"
    "assert o[3, 2, 5] == 3025.0 and o[3, 0, 0] == -np.inf and np.isnan(o[2, 2, 1])\n"
    "assert np.isnan(o.attrs['_FillValue'])\n"
    "names = [x.decode() for x in f['runs/status'].attrs['labels_by_code']]\n"
    "assert names[2] == 'periodic' and len(names) == 6, names\n"
    "names = [x.decode() for x in f['runs/reason'].attrs['labels_by_code']]\n"
    "assert names[0] == 'none' and len(names) == 6, names\n"
    "assert f['tiles/done'].dims[0][0].name == '/tiles/tile'\n"
    "assert h5py.h5ds.is_scale(f['axes/lr'].id)\n"
    "labels = [x.decode() for x in f['axes/activation'].attrs['labels']]\n"
    "assert labels == ['leaky_relu', 'none', 'relu'], labels\n"
    "assert f['axes/point'].dims[1].label == 'component'\n"
    "assert f['tiles/done'][:].all() and f['tiles/done'].shape == (T,)\n"
    "assert np.isnan(f['runs/loss'].attrs['_FillValue'])\n"
    "print('h5py reads', path)\n";

/* The invariant measure of measured_multiscale_job, every tile and point written and pooling
 * marked done: counts stay exact uint64 in NumPy, /pooled names its dimension. */
static const char h5py_measure_check[] =
    "import sys, h5py, numpy as np\n"
    "path = sys.argv[1]\n"
    "f = h5py.File(path, 'r')\n"
    "h = f['runs/hist']\n"
    "assert h.dtype == np.uint64 and h.shape == (48, 2, 6), (h.dtype, h.shape)\n"
    "assert int(h[1, 0, 0]) == 2**53 + 1 + 1000, int(h[1, 0, 0])\n"
    "assert int(f['runs/hist_half1'][0, 0, 0]) == 2**64 - 1\n"
    "assert '_FillValue' not in h.attrs and h.fillvalue == 0\n"
    "assert np.isnan(f['runs/gibbs'].attrs['_FillValue'])\n"
    "assert [d.label for d in h.dims] == ['run', 'coordinate', 'bin']\n"
    "assert list(h.attrs['coords']) == [1, 0]\n"
    "e = f['runs/hist_edges']\n"
    "assert e.shape == (7,) and e[0] == -2.0 and e[6] == 3.0 and e.dims[0].label == 'edge'\n"
    "assert list(e.attrs['coords']) == [1, 0]\n"
    "assert f['runs/hist_obs_edges'].attrs['observable'].decode() == 'f0'\n"
    "p = f['pooled']\n"
    "assert p.attrs['description'].decode().startswith('invariant measure pooled')\n"
    "assert h5py.h5ds.is_scale(p['point'].id) and list(p['point'][:]) == list(range(16))\n"
    "for name in ['hist', 'samples', 'first_run', 'lr', 'f0', 'eps', 'gibbs2d']:\n"
    "    assert p[name].dims[0][0].name == '/pooled/point', name\n"
    "    assert p[name].dims[0].label == 'point', name\n"
    "assert list(p['run_count'][:]) == [3] * 16 and list(p['run_stride'][:]) == [4] * 16\n"
    "assert list(p['first_run'][:5]) == [0, 1, 2, 3, 12], p['first_run'][:5]\n"
    "assert p['hist'].shape == (16, 2, 6) and p['hist'].dtype == np.uint64\n"
    "assert int(p['samples'][3]) == 2**53 + 1 + 2 * (100000 + 3)\n"
    "assert p['done'].shape == (1,) and p['done'].dtype == np.uint8 and p['done'][0] == 1\n"
    "assert 'replica' not in p and 'orbit' not in p\n"
    "labels = [x.decode() for x in p['f0'].attrs['labels_by_code']]\n"
    "assert labels[:2] == ['quadratic', 'double_well'], labels\n"
    "print('h5py reads', path)\n";

static void run_on_rank0(const char *cmd) {
  if (world.rank == 0 && system(cmd) != 0) fail_msg("failed: %s", cmd);
}

static void h5py_and_h5dump_read_the_file(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "readers.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  lz_out *out = create_or_fail(path, job, 0);
  write_tiles(out, job, round_robin);
  close_or_fail(&out);
  if (world.rank == 0) {
    char script[512], cmd[2048];
    test_path(script, sizeof script, "check_h5py.py");
    write_text_file(script, h5py_check);
    const char *python = getenv("LZ_PYTHON") ? getenv("LZ_PYTHON") : "/usr/bin/python3";
    snprintf(cmd, sizeof cmd, "%s %s %s %lld %lld %lld %s", python, script, path,
             (long long)job->nruns, (long long)job->ntiles, (long long)lz_job_trace_len(job),
             job->sha256);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "h5dump -H %s > /dev/null", path);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "h5dump %s > /dev/null", path);
    assert_int_equal(system(cmd), 0);
  }
  MPI_Barrier(world.comm);
  lz_job_destroy(&job);

  test_path(path, sizeof path, "readers_measure.h5");
  remove_on_rank0(path);
  job = measured_multiscale_job();
  out = create_or_fail(path, job, 0);
  write_tiles(out, job, round_robin);
  write_pooled_points(out, job, round_robin, ALL_POOLED_ARRAYS);
  close_or_fail(&out);
  uint8_t done[12];
  lz_err err = {0};
  if (lz_out_open_resume(&world, path, job, &out, done, &err) != LZ_OK) fail_msg("%s", err.msg);
  if (world.rank == 0 && lz_out_mark_pooled(out, &err) != LZ_OK) fail_msg("%s", err.msg);
  close_or_fail(&out);
  char script[512], cmd[2048];
  test_path(script, sizeof script, "check_h5py_measure.py");
  if (world.rank == 0) write_text_file(script, h5py_measure_check);
  const char *python = getenv("LZ_PYTHON") ? getenv("LZ_PYTHON") : "/usr/bin/python3";
  snprintf(cmd, sizeof cmd, "%s %s %s", python, script, path);
  run_on_rank0(cmd);
  snprintf(cmd, sizeof cmd, "h5dump %s > /dev/null", path);
  run_on_rank0(cmd);
  MPI_Barrier(world.comm);
  lz_job_destroy(&job);
}

static void no_handles_are_left_open_after_failures(void **state) {
  (void)state;
  char path[512];
  test_path(path, sizeof path, "handles.h5");
  remove_on_rank0(path);
  lz_job *job = small_job();
  lz_out *out = create_or_fail(path, job, 0);
  assert_true(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) > 0);
  close_or_fail(&out);
  assert_int_equal(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
  lz_err err = {0};
  assert_int_equal(lz_out_create(&world, path, job, &provenance, 0, &out, &err), LZ_EJOB);
  assert_int_equal(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
  lz_job *other = make_job(job_text_b, 5, 4);
  uint8_t done[9];
  assert_int_equal(lz_out_open_resume(&world, path, other, &out, done, &err), LZ_EJOB);
  assert_int_equal(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
  lz_out_info info;
  assert_int_equal(lz_out_read_info(path, &info, &err), LZ_OK);
  lz_out_info_free(&info);
  assert_int_equal(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
  assert_int_equal(lz_out_close(NULL, &err), LZ_OK);
  assert_int_equal(lz_out_close(&out, &err), LZ_OK);
  lz_job_destroy(&job);
  lz_job_destroy(&other);
  MPI_Barrier(world.comm);
}

/* ---- kill -9 experiment ------------------------------------------------------------------- */

static lz_job *kill_job(void) { return make_job(job_text_a, 200, 4); }

/* Writes the tiles of rank r (r, r + size, ...) with a pause after each; with resume, continues
 * a file from a killed run and skips the tiles already done. */
static int slow_writer(const char *path, long pause_ms, int resume) {
  lz_job *job = kill_job();
  lz_out *out = NULL;
  lz_err err = {0};
  uint8_t *done = calloc((size_t)job->ntiles, 1);
  int rc = resume ? lz_out_open_resume(&world, path, job, &out, done, &err)
                  : lz_out_create(&world, path, job, &provenance, 1, &out, &err);
  if (rc != LZ_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  lz_tile_result tr;
  if (lz_tile_result_alloc(&tr, job, &err) != LZ_OK) {
    fprintf(stderr, "%s\n", err.msg);
    lz_out_close(&out, &err);
    return 1;
  }
  struct timespec pause = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
  for (int64_t t = world.rank; t < job->ntiles; t += world.size) {
    if (done[t]) continue;
    fill_tile(job, t, &tr);
    if (lz_out_write_tile(out, &tr, &err) != LZ_OK) fprintf(stderr, "%s\n", err.msg);
    printf("rank %d wrote tile %lld of %lld\n", world.rank, (long long)t, (long long)job->ntiles);
    fflush(stdout);
    nanosleep(&pause, NULL);
  }
  lz_tile_result_free(&tr);
  free(done);
  lz_out_close(&out, &err);
  lz_job_destroy(&job);
  return 0;
}

static int verify_after_kill(const char *path) {
  lz_job *job = kill_job();
  int64_t done = verify_file(path, job, NULL, 1);
  printf("%s: %lld of %lld tiles marked done, and each holds exactly its values\n", path,
         (long long)done, (long long)job->ntiles);
  lz_job_destroy(&job);
  return 0;
}

/* ---- main --------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  world.comm = MPI_COMM_WORLD;
  world.info = MPI_INFO_NULL;
  MPI_Comm_rank(world.comm, &world.rank);
  MPI_Comm_size(world.comm, &world.size);
  int failed;
  if ((argc == 4 || argc == 5) && strcmp(argv[1], "--slow-writer") == 0) {
    failed = slow_writer(argv[2], atol(argv[3]), argc == 5 && strcmp(argv[4], "--resume") == 0);
  } else if (argc == 3 && strcmp(argv[1], "--verify") == 0) {
    failed = verify_after_kill(argv[2]);
  } else {
    make_test_dir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(create_writes_the_full_layout, no_handles_left_open),
        cmocka_unit_test_teardown(arrays_have_their_shapes_fill_attributes_and_step_scales,
                                  no_handles_left_open),
        cmocka_unit_test_teardown(an_orbit_of_a_one_dimensional_problem_has_one_number_per_point,
                                  no_handles_left_open),
        cmocka_unit_test_teardown(analyses_that_are_off_leave_out_their_datasets,
                                  no_handles_left_open),
        cmocka_unit_test_teardown(status_and_reason_name_their_codes, no_handles_left_open),
        cmocka_unit_test_teardown(size_estimate_counts_every_dataset, no_handles_left_open),
        cmocka_unit_test_teardown(each_rank_writes_different_tiles, no_handles_left_open),
        cmocka_unit_test_teardown(a_rank_with_no_tiles_does_not_hang, no_handles_left_open),
        cmocka_unit_test_teardown(a_tile_with_the_wrong_runs_is_refused, no_handles_left_open),
        cmocka_unit_test_teardown(
            invariant_measure_files_hold_every_dataset_with_its_shape_type_and_attributes,
            no_handles_left_open),
        cmocka_unit_test_teardown(counts_past_two_to_the_53_round_trip_through_a_reopened_file,
                                  no_handles_left_open),
        cmocka_unit_test_teardown(pooled_points_round_trip_and_are_marked_done_last,
                                  no_handles_left_open),
        cmocka_unit_test_teardown(a_job_without_invariant_measure_has_nothing_to_pool,
                                  no_handles_left_open),
        cmocka_unit_test_teardown(create_refuses_an_existing_file_without_overwrite,
                                  no_handles_left_open),
        cmocka_unit_test_teardown(create_refuses_an_existing_non_hdf5_file, no_handles_left_open),
        cmocka_unit_test_teardown(create_removes_its_partial_file_on_failure, no_handles_left_open),
        cmocka_unit_test_teardown(resume_returns_done_tiles_and_completes_the_file,
                                  no_handles_left_open),
        cmocka_unit_test_teardown(resume_refuses_a_different_job, no_handles_left_open),
        cmocka_unit_test_teardown(resume_refuses_a_file_whose_array_shapes_differ,
                                  no_handles_left_open),
        cmocka_unit_test_teardown(resume_refuses_a_file_whose_invariant_measure_differs,
                                  no_handles_left_open),
        cmocka_unit_test_teardown(read_matrix_reads_exactly_and_explains_failures,
                                  no_handles_left_open),
        cmocka_unit_test_teardown(read_info_counts_a_partial_file, no_handles_left_open),
        cmocka_unit_test_teardown(environment_switches_are_recorded_at_creation,
                                  no_handles_left_open),
        cmocka_unit_test_teardown(the_environment_passed_in_the_provenance_is_what_the_file_records,
                                  no_handles_left_open),
        cmocka_unit_test_teardown(a_long_job_file_fits_in_job_yaml, no_handles_left_open),
        cmocka_unit_test_teardown(h5py_and_h5dump_read_the_file, no_handles_left_open),
        cmocka_unit_test_teardown(no_handles_are_left_open_after_failures, no_handles_left_open),
    };
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    remove_test_dir();
  }
  MPI_Finalize();
  return failed ? 1 : 0;
}
