/* Unit tests of teams (lrzoo/team.h) without MPI: K POSIX threads play the K ranks of a team
 * that shares one dense mf instance, and every result of every member (f, the gradient, the
 * batched gradients, H v in its expanded and residual forms, the direct loss) must be bitwise
 * that of the instance held whole by one rank. Also the rows each member holds, and where a
 * team is refused.
 *
 * The fake team is stricter than MPI would be: a mismatch between the members' collectives or
 * a message of the wrong length is recorded and fails the test, where MPI could hang or copy
 * garbage silently. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../src/core/problems/mf/mf_internal.h"
#include "../src/core/problem_internal.h"
#include "lrzoo/env_switches.h"
#include "lrzoo/problem.h"
#include "lrzoo/rng.h"
#include "lrzoo/team.h"

static const uint64_t seed = 2022;

enum {
  MAX_MEMBERS = 8,
  RUNS = 3,       /* states of the batched gradient */
  DIRECTIONS = 4, /* directions of the batched H v */
  POINTS = 4,     /* x[0] alone, x[1..3] batched */
  VECTORS = 5     /* v[0] alone, v[1..4] batched */
};

/* Members run on threads that cmocka's longjmp cannot leave, so they never allocate through
 * an assertion: a test machine out of memory stops here. */
static double *doubles_or_abort(size_t len) {
  double *v = malloc((len ? len : 1) * sizeof *v);
  if (!v) {
    fprintf(stderr, "test_team: out of memory\n");
    abort();
  }
  return v;
}

/* ---- a team of threads --------------------------------------------------------------- */

typedef struct message {
  struct message *next;
  size_t len;
  double data[];
} message;

typedef enum { CALL_GATHER_ROWS, CALL_BROADCAST } call_kind;

/* What a member asked of a collective: member 0 compares every member's with its own. */
typedef struct collective {
  call_kind kind;
  size_t w;            /* gather: doubles a row; broadcast: len */
  const size_t *first; /* gather: size + 1 first rows */
  int root;            /* broadcast */
} collective;

typedef struct fake_team {
  int size;
  pthread_mutex_t lock;
  pthread_cond_t arrived[MAX_MEMBERS];
  message *head[MAX_MEMBERS], *tail[MAX_MEMBERS]; /* [m]: from m - 1 to m, in sending order */
  pthread_barrier_t barrier;
  collective call[MAX_MEMBERS];
  double *staging;
  size_t staging_len;
  char misuse[256]; /* the first misuse of the team, "" if none */
} fake_team;

/* The ctx of one member's lz_team, with the calls it made: a test that never reached the
 * team's callbacks would compare one rank's path with itself. */
typedef struct member_ctx {
  fake_team *team;
  int rank;
  size_t sends, receives, gathers, broadcasts;
} member_ctx;

static void note_misuse(fake_team *t, const char *fmt, ...) {
  pthread_mutex_lock(&t->lock);
  if (!t->misuse[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->misuse, sizeof t->misuse, fmt, ap);
    va_end(ap);
  }
  pthread_mutex_unlock(&t->lock);
}

static void fake_send_to_next(void *ctx, const double *buf, size_t len) {
  member_ctx *c = ctx;
  fake_team *t = c->team;
  ++c->sends;
  if (c->rank + 1 >= t->size) {
    note_misuse(t, "the last member %d sent to a next one", c->rank);
    return;
  }
  message *msg = malloc(sizeof *msg + (len ? len : 1) * sizeof *buf);
  if (!msg) abort();
  msg->next = NULL;
  msg->len = len;
  memcpy(msg->data, buf, len * sizeof *buf);
  const int to = c->rank + 1;
  pthread_mutex_lock(&t->lock);
  if (t->tail[to]) t->tail[to]->next = msg;
  else t->head[to] = msg;
  t->tail[to] = msg;
  pthread_cond_signal(&t->arrived[to]);
  pthread_mutex_unlock(&t->lock);
}

static void fake_receive_from_previous(void *ctx, double *buf, size_t len) {
  member_ctx *c = ctx;
  fake_team *t = c->team;
  ++c->receives;
  if (c->rank == 0) {
    /* nobody would ever send: waiting would hang the test */
    note_misuse(t, "member 0 received from a previous one");
    memset(buf, 0, len * sizeof *buf);
    return;
  }
  pthread_mutex_lock(&t->lock);
  while (!t->head[c->rank]) pthread_cond_wait(&t->arrived[c->rank], &t->lock);
  message *msg = t->head[c->rank];
  t->head[c->rank] = msg->next;
  if (!msg->next) t->tail[c->rank] = NULL;
  pthread_mutex_unlock(&t->lock);
  if (msg->len != len)
    note_misuse(t, "member %d received %zu doubles, sent as %zu", c->rank, len, msg->len);
  memcpy(buf, msg->data, (len < msg->len ? len : msg->len) * sizeof *buf);
  free(msg);
}

/* Every member posts its call; member 0 checks that all made the same one and makes the
 * staging area large enough for the largest. Staging is free to reuse here: every member has
 * copied out the previous collective before it posts the next. */
static void enter_collective(member_ctx *c, collective call, size_t len) {
  fake_team *t = c->team;
  t->call[c->rank] = call;
  pthread_barrier_wait(&t->barrier);
  if (c->rank == 0) {
    size_t most = len;
    for (int r = 1; r < t->size; ++r) {
      const collective *o = &t->call[r];
      int same = o->kind == call.kind && o->w == call.w && o->root == call.root;
      for (int k = 0; same && call.kind == CALL_GATHER_ROWS && k <= t->size; ++k)
        same = o->first[k] == call.first[k];
      if (!same) note_misuse(t, "member %d made another collective than member 0", r);
      size_t o_len = o->kind == CALL_GATHER_ROWS ? o->first[t->size] * o->w : o->w;
      if (o_len > most) most = o_len;
    }
    if (most > t->staging_len) {
      free(t->staging);
      t->staging = doubles_or_abort(most);
      t->staging_len = most;
    }
  }
  pthread_barrier_wait(&t->barrier);
}

static void fake_gather_rows(void *ctx, double *buf, size_t w, const size_t *first) {
  member_ctx *c = ctx;
  fake_team *t = c->team;
  ++c->gathers;
  for (int r = 0; r < t->size; ++r)
    if (first[r] > first[r + 1]) note_misuse(t, "gather_rows: first is not in order");
  if (first[0] != 0) note_misuse(t, "gather_rows: first[0] = %zu", first[0]);
  collective call = {CALL_GATHER_ROWS, w, first, 0};
  const size_t n = first[t->size];
  enter_collective(c, call, n * w);
  const size_t r0 = first[c->rank], r1 = first[c->rank + 1];
  if (r1 <= n) memcpy(t->staging + r0 * w, buf + r0 * w, (r1 - r0) * w * sizeof *buf);
  pthread_barrier_wait(&t->barrier);
  memcpy(buf, t->staging, n * w * sizeof *buf);
}

static void fake_broadcast(void *ctx, int root, double *buf, size_t len) {
  member_ctx *c = ctx;
  fake_team *t = c->team;
  ++c->broadcasts;
  if (root < 0 || root >= t->size) {
    note_misuse(t, "broadcast from member %d of %d", root, t->size);
    root = 0;
  }
  collective call = {CALL_BROADCAST, len, NULL, root};
  enter_collective(c, call, len);
  if (c->rank == root) memcpy(t->staging, buf, len * sizeof *buf);
  pthread_barrier_wait(&t->barrier);
  if (c->rank != root) memcpy(buf, t->staging, len * sizeof *buf);
}

static void open_fake_team(fake_team *t, int size) {
  assert_true(size >= 1 && size <= MAX_MEMBERS);
  memset(t, 0, sizeof *t);
  t->size = size;
  assert_int_equal(pthread_mutex_init(&t->lock, NULL), 0);
  for (int r = 0; r < size; ++r) assert_int_equal(pthread_cond_init(&t->arrived[r], NULL), 0);
  assert_int_equal(pthread_barrier_init(&t->barrier, NULL, (unsigned)size), 0);
}

/* Fails on any misuse, and on messages sent that nobody received. */
static void close_fake_team(fake_team *t) {
  if (t->misuse[0]) fail_msg("the team was misused: %s", t->misuse);
  for (int r = 0; r < t->size; ++r) {
    if (t->head[r]) fail_msg("member %d left messages unreceived", r);
    pthread_cond_destroy(&t->arrived[r]);
  }
  pthread_barrier_destroy(&t->barrier);
  pthread_mutex_destroy(&t->lock);
  free(t->staging);
}

static lz_team team_of(member_ctx *c) {
  lz_team t = {0};
  t.rank = c->rank;
  t.size = c->team->size;
  t.ctx = c;
  t.send_to_next = fake_send_to_next;
  t.receive_from_previous = fake_receive_from_previous;
  t.gather_rows = fake_gather_rows;
  t.broadcast = fake_broadcast;
  return t;
}

/* ---- what is compared ---------------------------------------------------------------- */

typedef struct inputs {
  double *x[POINTS], *v[VECTORS];
} inputs;

typedef struct results {
  double value, value_of_grad, batch_f[RUNS];
  double *grad, *batch_g[RUNS], *hv, *hv_batch[DIRECTIONS], *residual_hv;
  double *block;
} results;

static void random_vector(uint64_t stream, double scale, double *x, size_t len) {
  lz_rng rng;
  lz_rng_init(&rng, seed, LZ_RNG_TEST, stream, 0);
  for (size_t i = 0; i < len; ++i) x[i] = scale * lz_rng_normal(&rng);
}

static inputs random_inputs(size_t dim) {
  inputs in;
  for (int k = 0; k < POINTS; ++k) {
    in.x[k] = doubles_or_abort(dim);
    random_vector((uint64_t)k, 0.4, in.x[k], dim);
  }
  for (int k = 0; k < VECTORS; ++k) {
    in.v[k] = doubles_or_abort(dim);
    random_vector(100 + (uint64_t)k, 1.0, in.v[k], dim);
  }
  return in;
}

static void free_inputs(inputs *in) {
  for (int k = 0; k < POINTS; ++k) free(in->x[k]);
  for (int k = 0; k < VECTORS; ++k) free(in->v[k]);
}

/* The one sequence of calls that the reference and every member make: the members' calls are
 * collectives, so they must all make them in this order. The batch holds its states out of
 * order and the H v batch one state twice (a run's two tangents share their Gram matrices). */
static void evaluate(const lz_problem *p, const inputs *in, results *out) {
  const size_t dim = lz_problem_dim(p);
  out->block = doubles_or_abort(dim * (3 + RUNS + DIRECTIONS));
  out->grad = out->block;
  out->hv = out->grad + dim;
  out->residual_hv = out->hv + dim;
  for (int r = 0; r < RUNS; ++r) out->batch_g[r] = out->residual_hv + dim + (size_t)r * dim;
  for (int j = 0; j < DIRECTIONS; ++j)
    out->hv_batch[j] = out->batch_g[RUNS - 1] + dim + (size_t)j * dim;

  /* scratch of exactly the lengths asked for, so that valgrind sees any overrun */
  double *work = doubles_or_abort(lz_problem_work_len(p));
  out->value = lz_problem_value(p, in->x[0], work);
  out->value_of_grad = lz_problem_value_grad(p, in->x[0], out->grad, work);
  lz_problem_hvp(p, in->x[0], in->v[0], out->hv, work);
  lz__mf_residual_hvp(lz__problem_state(p), in->x[0], in->v[0], out->residual_hv, work);
  free(work);

  const double *const xs[RUNS] = {in->x[2], in->x[1], in->x[3]};
  work = doubles_or_abort(lz_problem_batch_work_len(p, RUNS));
  lz_problem_value_grad_batch(p, RUNS, xs, out->batch_g, out->batch_f, work);
  free(work);

  const double *const xh[DIRECTIONS] = {in->x[1], in->x[1], in->x[3], in->x[2]};
  const double *const vh[DIRECTIONS] = {in->v[1], in->v[2], in->v[3], in->v[4]};
  work = doubles_or_abort(lz_problem_hvp_batch_work_len(p, DIRECTIONS));
  lz_problem_hvp_batch(p, DIRECTIONS, xh, vh, out->hv_batch, work);
  free(work);
}

static void free_results(results *out) { free(out->block); }

/* Bitwise, so -0 against 0 or two different NaNs would fail too. */
#define assert_same_doubles(got, want, len, who) \
  assert_same_doubles_at((got), (want), (len), (who), #got, __LINE__)

static void assert_same_doubles_at(const double *got, const double *want, size_t len,
                                   const char *who, const char *expr, int line) {
  if (memcmp(got, want, len * sizeof *got) == 0) return;
  for (size_t i = 0; i < len; ++i)
    if (memcmp(&got[i], &want[i], sizeof *got) != 0)
      fail_msg("line %d: %s: %s[%zu] = %.17g, alone %.17g", line, who, expr, i, got[i], want[i]);
}

/* A reference that compares trivially (all zeros, or NaN throughout) would prove nothing. */
static void assert_meaningful(const results *ref, size_t dim) {
  assert_true(isfinite(ref->value) && ref->value > 0.0);
  assert_true(isfinite(ref->value_of_grad) && ref->value_of_grad > 0.0);
  const double *vectors[] = {ref->grad, ref->hv, ref->residual_hv, ref->batch_g[RUNS - 1],
                             ref->hv_batch[DIRECTIONS - 1]};
  for (size_t k = 0; k < sizeof vectors / sizeof *vectors; ++k) {
    double sum = 0.0;
    for (size_t i = 0; i < dim; ++i) sum += vectors[k][i] * vectors[k][i];
    assert_true(isfinite(sum) && sum > 0.0);
  }
}

/* ---- members ------------------------------------------------------------------------- */

typedef struct member {
  member_ctx ctx;
  lz_team team;
  const lz_problem_params *pp;
  const inputs *in;
  lz_problem *p;
  int rc;
  lz_err err;
  results out;
} member;

static void *run_member(void *arg) {
  member *m = arg;
  m->rc = lz_problem_create_in_team(m->pp, seed, NULL, &m->team, &m->p, &m->err);
  /* every member fails alike (same parameters) or none: no one is left in a collective */
  if (m->rc == LZ_OK) evaluate(m->p, m->in, &m->out);
  return NULL;
}

static lz_problem_params gaussian_mf(int64_t n, int64_t d, lz_activation act) {
  lz_problem_params pp = {0};
  pp.kind = LZ_PROBLEM_MF;
  pp.ranks_per_run = 1;
  pp.mf.n = n;
  pp.mf.d = d;
  pp.mf.activation = act;
  pp.mf.alpha = 0.1;
  pp.mf.target = LZ_TARGET_GAUSSIAN;
  pp.mf.target_scale = 1.0;
  return pp;
}

/* Member rows [r0, r1) of the target are those rows of the whole one: each member drew its own
 * rows, and holds them first in its storage. */
static void assert_member_holds_its_rows(const lz_problem *alone, const lz_problem *p,
                                         const lz_problem_params *pp, int size, int rank) {
  int64_t r0 = 0, r1 = 0;
  assert_true(lz_problem_params_team_rows(pp, size, rank, &r0, &r1));
  size_t ld_alone = 0, ld = 0;
  const double *a_alone = lz__mf_dense_target(lz__problem_state(alone), &ld_alone);
  const double *a = lz__mf_dense_target(lz__problem_state(p), &ld);
  assert_non_null(a);
  assert_int_equal(ld, ld_alone);
  const size_t n = (size_t)pp->mf.n;
  for (int64_t i = r0; i < r1; ++i)
    assert_same_doubles(a + (size_t)(i - r0) * ld, a_alone + (size_t)i * ld, n, "target row");
}

static void assert_member_computes_alone(const results *got, const results *want, size_t dim,
                                         int rank) {
  char who[32];
  snprintf(who, sizeof who, "member %d", rank);
  assert_same_doubles(&got->value, &want->value, 1, who);
  assert_same_doubles(&got->value_of_grad, &want->value_of_grad, 1, who);
  assert_same_doubles(got->grad, want->grad, dim, who);
  assert_same_doubles(got->hv, want->hv, dim, who);
  assert_same_doubles(got->residual_hv, want->residual_hv, dim, who);
  assert_same_doubles(got->batch_f, want->batch_f, RUNS, who);
  for (int r = 0; r < RUNS; ++r) assert_same_doubles(got->batch_g[r], want->batch_g[r], dim, who);
  for (int j = 0; j < DIRECTIONS; ++j)
    assert_same_doubles(got->hv_batch[j], want->hv_batch[j], dim, who);
}

/* A team of `size` threads shares pp's instance; every member must compute, bit for bit, what
 * one rank computes with the instance whole. */
static void assert_team_computes_alone(const lz_problem_params *pp, int size) {
  assert_true(size >= 2 && size <= MAX_MEMBERS);
  assert_true((size_t)size <= lz_problem_params_team_chunks(pp));
  lz_problem *alone = NULL;
  lz_err err = {0};
  if (lz_problem_create(pp, seed, NULL, &alone, &err) != LZ_OK)
    fail_msg("create alone failed: %s", err.msg);
  assert_null(lz_problem_team(alone));
  const size_t dim = lz_problem_dim(alone);
  inputs in = random_inputs(dim);
  results want;
  evaluate(alone, &in, &want);
  assert_meaningful(&want, dim);

  fake_team team;
  open_fake_team(&team, size);
  member members[MAX_MEMBERS];
  pthread_t threads[MAX_MEMBERS];
  memset(members, 0, sizeof members);
  for (int r = 0; r < size; ++r) {
    member *m = &members[r];
    m->ctx.team = &team;
    m->ctx.rank = r;
    m->team = team_of(&m->ctx);
    m->pp = pp;
    m->in = &in;
    assert_int_equal(pthread_create(&threads[r], NULL, run_member, m), 0);
  }
  for (int r = 0; r < size; ++r) assert_int_equal(pthread_join(threads[r], NULL), 0);
  close_fake_team(&team);

  for (int r = 0; r < size; ++r) {
    member *m = &members[r];
    if (m->rc != LZ_OK) fail_msg("member %d: create failed: %s", r, m->err.msg);
    assert_ptr_equal(lz_problem_team(m->p), &m->team);
    assert_int_equal(lz_problem_dim(m->p), dim);
    /* the pipeline ran through every member, and the gathers and broadcasts reached them */
    if (r < size - 1) assert_true(m->ctx.sends > 0);
    if (r > 0) assert_true(m->ctx.receives > 0);
    assert_true(m->ctx.gathers > 0);
    assert_true(m->ctx.broadcasts > 0);
    assert_member_holds_its_rows(alone, m->p, pp, size, r);
    assert_member_computes_alone(&m->out, &want, dim, r);
  }

  for (int r = 0; r < size; ++r) {
    free_results(&members[r].out);
    lz_problem_destroy(&members[r].p);
  }
  free_results(&want);
  free_inputs(&in);
  lz_problem_destroy(&alone);
}

/* The activations change only S = sigma(Y) and the slopes, but relu's zeros and leaky_relu's
 * alpha reach every product the team passes along. */
static void assert_team_computes_alone_for_every_activation(lz_problem_params pp, int size) {
  const lz_activation acts[] = {LZ_ACT_NONE, LZ_ACT_RELU, LZ_ACT_LEAKY_RELU};
  for (size_t k = 0; k < sizeof acts / sizeof *acts; ++k) {
    pp.mf.activation = acts[k];
    assert_team_computes_alone(&pp, size);
  }
}

/* ---- tests --------------------------------------------------------------------------- */

/* n n d = 262144: the smallest instance split into 16 row chunks. */
static void a_team_of_two_should_compute_what_one_rank_alone_computes(void **unused) {
  lz_problem_params pp = gaussian_mf(256, 4, LZ_ACT_NONE);
  assert_int_equal(lz_problem_params_team_chunks(&pp), 16);
  assert_team_computes_alone_for_every_activation(pp, 2);
}

/* 16 chunks do not split evenly over three: members of 5, 5 and 6 chunks. */
static void a_team_of_three_should_compute_what_one_rank_alone_computes(void **unused) {
  assert_team_computes_alone_for_every_activation(gaussian_mf(256, 4, LZ_ACT_NONE), 3);
}

static void a_team_of_four_with_relu_should_compute_what_one_rank_alone_computes(void **unused) {
  lz_problem_params pp = gaussian_mf(300, 3, LZ_ACT_RELU);
  assert_team_computes_alone(&pp, 4);
}

/* d > 32: the chunks run through BLAS row blocks rather than the row kernel. */
static void a_team_on_blas_row_blocks_should_compute_what_one_rank_alone_computes(void **unused) {
  lz_problem_params pp = gaussian_mf(200, 40, LZ_ACT_LEAKY_RELU);
  lz_problem *alone = NULL;
  lz_err err = {0};
  assert_int_equal(lz_problem_create(&pp, seed, NULL, &alone, &err), LZ_OK);
  lz_mf_layout layout = lz__mf_layout(lz__problem_state(alone));
  lz_problem_destroy(&alone);
  assert_false(layout.row_kernel);
  assert_int_equal(layout.chunks, 16);
  assert_team_computes_alone_for_every_activation(pp, 2);
}

/* n = 1100 splits into chunks of 68 and 69 rows, members of 3 or 4 of them, and A^T b passes
 * 40 blocks along five members. */
static void a_team_of_five_on_uneven_rows_should_compute_what_one_rank_alone_computes(
    void **unused) {
  assert_team_computes_alone_for_every_activation(gaussian_mf(1100, 1, LZ_ACT_NONE), 5);
}

static void member_rows_should_tile_the_target_in_order(void **unused) {
  const int64_t shapes[][2] = {{256, 4}, {300, 3}, {200, 40}, {1100, 1}};
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; ++s) {
    lz_problem_params pp = gaussian_mf(shapes[s][0], shapes[s][1], LZ_ACT_NONE);
    const size_t chunks = lz_problem_params_team_chunks(&pp);
    assert_int_equal(chunks, 16);
    for (int size = 2; size <= (int)chunks; ++size) {
      int64_t end = 0;
      for (int r = 0; r < size; ++r) {
        int64_t r0 = -1, r1 = -1;
        assert_true(lz_problem_params_team_rows(&pp, size, r, &r0, &r1));
        assert_int_equal(r0, end);
        assert_true(r1 > r0);
        end = r1;
      }
      assert_int_equal(end, pp.mf.n);
    }
    int64_t r0 = -1, r1 = -1;
    /* more members than chunks, or a team of one, share nothing */
    assert_false(lz_problem_params_team_rows(&pp, (int)chunks + 1, 0, &r0, &r1));
    assert_false(lz_problem_params_team_rows(&pp, 1, 0, &r0, &r1));
  }
}

/* A refused team must be refused before any collective, or its members would wait forever. */
static int unexpected_calls;
static void unexpected_send(void *ctx, const double *buf, size_t len) { ++unexpected_calls; }
static void unexpected_receive(void *ctx, double *buf, size_t len) { ++unexpected_calls; }
static void unexpected_gather(void *ctx, double *buf, size_t w, const size_t *first) {
  ++unexpected_calls;
}
static void unexpected_broadcast(void *ctx, int root, double *buf, size_t len) {
  ++unexpected_calls;
}

static void assert_team_refused(const lz_problem_params *pp, int size) {
  lz_team team = {0, size, NULL, unexpected_send, unexpected_receive, unexpected_gather,
                  unexpected_broadcast};
  lz_problem *p = NULL;
  lz_err err = {0};
  unexpected_calls = 0;
  assert_int_equal(lz_problem_create_in_team(pp, seed, NULL, &team, &p, &err), LZ_EINVAL);
  assert_null(p);
  assert_int_equal(unexpected_calls, 0);
}

static void a_team_should_be_refused_where_it_cannot_share_the_instance(void **unused) {
  int64_t r0 = -1, r1 = -1;
  lz_problem_params pp = gaussian_mf(256, 4, LZ_ACT_NONE);
  assert_false(lz_problem_params_team_rows(&pp, 17, 0, &r0, &r1));
  assert_team_refused(&pp, 17);
  /* one chunk only: too small to be worth splitting */
  pp = gaussian_mf(100, 2, LZ_ACT_NONE);
  assert_int_equal(lz_problem_params_team_chunks(&pp), 0);
  assert_false(lz_problem_params_team_rows(&pp, 2, 0, &r0, &r1));
  assert_team_refused(&pp, 2);
  /* large enough, but a lowrank target is never stored densely */
  static const double singular_values[] = {3.0, 1.7, 0.6};
  pp = gaussian_mf(256, 4, LZ_ACT_NONE);
  pp.mf.target = LZ_TARGET_LOWRANK;
  pp.mf.rank = 3;
  pp.mf.n_singular_values = 3;
  pp.mf.singular_values = singular_values;
  assert_int_equal(lz_problem_params_team_chunks(&pp), 0);
  assert_false(lz_problem_params_team_rows(&pp, 2, 0, &r0, &r1));
  assert_team_refused(&pp, 2);
}

int main(void) {
  /* A team always uses lrzoo's own products; under LRZOO_MF_PRODUCTS=blas the rank alone could
   * take the BLAS's, whose roundings no team claims to match. */
  unsetenv(lz_env_switches[LZ_ENV_MF_PRODUCTS].name);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_team_of_two_should_compute_what_one_rank_alone_computes),
      cmocka_unit_test(a_team_of_three_should_compute_what_one_rank_alone_computes),
      cmocka_unit_test(a_team_of_four_with_relu_should_compute_what_one_rank_alone_computes),
      cmocka_unit_test(a_team_on_blas_row_blocks_should_compute_what_one_rank_alone_computes),
      cmocka_unit_test(a_team_of_five_on_uneven_rows_should_compute_what_one_rank_alone_computes),
      cmocka_unit_test(member_rows_should_tile_the_target_in_order),
      cmocka_unit_test(a_team_should_be_refused_where_it_cannot_share_the_instance),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
