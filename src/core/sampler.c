/* Sampling the invariant measure: GD goes on from each run's final state and its iterates are
 * counted into histograms.
 *
 * Multiscale problems are the hot loop of these studies (10^7 - 10^9 samples a run), so they run
 * as blocks of 64 chains: the GD step is vector code over the chains, with cos from glibc's
 * libmvec called directly (no -ffast-math anywhere: the divergence checks need NaN and inf to
 * behave), the bin index is computed without branches, and only the count increments are
 * scalar. Every chain is computed by the same instructions whatever its lane or block, so a
 * chain's counts do not depend on how tiles, ranks or threads group the chains. Other problems
 * step one chain at a time with the objective's own gradient. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lrzoo/gd.h"
#include "lrzoo/linalg.h"
#include "lrzoo/measure.h"
#include "problems/problems.h"
#include "vmath.h"

/* ---- vectors of chains ------------------------------------------------------------------- */

/* Vectors of LZ_VW chains, with the cos and sin that the per-run objective shares. */
#define VW LZ_VW
typedef lz_vd vd;
typedef lz_vi vi;
static inline vd vcos(vd x) { return lz_vcos(x); }
static inline vd vsin(vd x) { return lz_vsin(x); }

enum { LANES = 64, SUM_BLOCK = 4096, SLOT_STEPS = 32 };

static inline vd vload(const double *p) {
  vd v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void vstore(double *p, vd v) { memcpy(p, &v, sizeof v); }
static inline vi viload(const int64_t *p) {
  vi v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void vistore(int64_t *p, vi v) { memcpy(p, &v, sizeof v); }
/* Vector + scalar broadcasts the scalar: one instruction, hoisted out of loops (an element-wise
 * fill compiled to masked broadcasts inside them). */
static inline vd vsplat(double a) { return lz_vsplat(a); }
static inline vd vabs(vd x) { return (vd)((vi)x & ~(vi)vsplat(-0.0)); }
static inline vd vblend(vi mask, vd a, vd b) { return (vd)(((vi)a & mask) | ((vi)b & ~mask)); }

/* ---- what a sampling run needs to know ---------------------------------------------------- */

typedef struct sample_spec {
  int64_t burn_in, samples, half;
  size_t ncoords;
  int64_t coords[LZ_IM_MAX_COORDS];
  int64_t bins;          /* B: slots 0 (below), 1..B, B + 1 (above) */
  double lo, inv_w;
  int joint;
  int obs_kind;
  int64_t obs_index;     /* x_entry: index into the state */
  int64_t obs_bins;
  double obs_lo, obs_inv_w;
  double bound;          /* diverge_above: a chain stops counting when it leaves */
  int wells;             /* double_well: track the wells */
  int track_f0;          /* sum f0 over the samples (multiscale: the temperature fit needs it) */
} sample_spec;

static sample_spec sample_spec_of(const lz_job *job, const lz_problem_params *pp) {
  sample_spec s;
#define im (&job->analyze.invariant_measure)
  memset(&s, 0, sizeof s);
  s.burn_in = im->burn_in;
  s.samples = im->samples;
  s.half = im->samples / 2;
  s.ncoords = im->ncoords;
  memcpy(s.coords, im->coords, sizeof s.coords);
  s.bins = im->bins;
  s.lo = im->lo;
  s.inv_w = (double)im->bins / (im->hi - im->lo);
  s.joint = im->joint;
  s.obs_kind = im->observable.kind;
  const lz_problem_kind_desc *kind = lz__problem_kind(pp->kind);
  s.obs_index = kind->x_entry_index ? kind->x_entry_index(pp, im->observable.entry) : 0;
  s.obs_bins = im->observable.bins;
  s.obs_lo = im->observable.lo;
  s.obs_inv_w = im->observable.kind ? (double)im->observable.bins / (im->observable.hi - im->observable.lo) : 0;
  s.bound = job->run.diverge_above;
  s.track_f0 = (kind->traits & LZ_KIND_HAS_SLOW_PART) != 0;
  s.wells = s.track_f0 && pp->multiscale.f0 == LZ_F0_DOUBLE_WELL;
  return s;
#undef im
}

/* The slot of value v among B bins from lo: 0 below, 1..B inside, B + 1 above. */
static inline int32_t slot_of(double v, double lo, double inv_w, int64_t bins) {
  double t = (v - lo) * inv_w;
  return t >= 0.0 ? (t < (double)bins ? (int32_t)t + 1 : (int32_t)bins + 1) : 0;
}

/* ---- one chain's counters ------------------------------------------------------------------ */

typedef struct chain_counts {
  uint64_t *hist;   /* ncoords x (B + 2) */
  uint64_t *half1;  /* the same, frozen at the half */
  uint64_t *joint;  /* (B + 2)^2 */
  uint64_t *obs;    /* obs_bins + 2 */
} chain_counts;

/* One more than the counters: the spare slot just after the first coordinate's. */
static size_t counts_len(const sample_spec *s) {
  size_t b2 = (size_t)s->bins + 2;
  return 2 * s->ncoords * b2 + 1 + (s->joint ? b2 * b2 : 0) +
         (s->obs_kind ? (size_t)s->obs_bins + 2 : 0);
}

static chain_counts counts_at(const sample_spec *s, uint64_t *base) {
  size_t b2 = (size_t)s->bins + 2;
  chain_counts c = {base, base + s->ncoords * b2 + 1, NULL, NULL};
  uint64_t *next = c.half1 + s->ncoords * b2;
  if (s->joint) c.joint = next, next += b2 * b2;
  if (s->obs_kind) c.obs = next;
  return c;
}

/* Copies a chain's counters into the tile's rows, without the outside slots. */
static void store_chain(const sample_spec *s, const chain_counts *c, lz_tile_result *tr,
                        int64_t row) {
  const int64_t B = s->bins, b2 = B + 2;
  uint64_t *hist = lz_tile_counts(tr, LZ_ARRAY_HIST, row);
  uint64_t *half1 = lz_tile_counts(tr, LZ_ARRAY_HIST_HALF1, row);
  for (size_t k = 0; k < s->ncoords; ++k) {
    memcpy(hist + k * B, c->hist + k * b2 + 1, (size_t)B * sizeof *hist);
    memcpy(half1 + k * B, c->half1 + k * b2 + 1, (size_t)B * sizeof *half1);
  }
  uint64_t *joint = lz_tile_counts(tr, LZ_ARRAY_HIST2D, row);
  if (joint && c->joint)
    for (int64_t i = 0; i < B; ++i) memcpy(joint + i * B, c->joint + (i + 1) * b2 + 1, (size_t)B * sizeof *joint);
  uint64_t *obs = lz_tile_counts(tr, LZ_ARRAY_HIST_OBS, row);
  if (obs && c->obs) memcpy(obs, c->obs + 1, (size_t)s->obs_bins * sizeof *obs);
}

/* ---- multiscale chains in blocks of 64 ----------------------------------------------------- */

typedef struct ms_consts {
  int dim;
  lz_f0_kind f0;
  int quasi;
  double inv_eps, amp_over_eps, ratio_over_eps, amp, ratio;
} ms_consts;

static ms_consts ms_consts_of(const lz_problem_params *pp) {
  const lz_multiscale_params *ms = &pp->multiscale;
  ms_consts m = {ms->dim, ms->f0, ms->f1 == LZ_F1_QUASIPERIODIC, 1.0 / ms->eps,
                 ms->amplitude / ms->eps, ms->ratio / ms->eps, ms->amplitude, ms->ratio};
  return m;
}

typedef struct block {
  double x[2][LANES], h[LANES];
  int64_t alive[LANES];        /* -1 counting, 0 not */
  int64_t wbits[LANES], samples[LANES], outside[LANES], transitions[LANES];
  int64_t wcount[4][LANES];
  double sum[2][LANES], sum_sq[2][LANES], sum_f0[LANES];       /* totals */
  double psum[2][LANES], psum_sq[2][LANES], psum_f0[LANES];    /* the current SUM_BLOCK */
  int64_t slot[2][LANES], oslot[LANES];
  double f0v[LANES], obsv[LANES];
  uint64_t *hist[LANES], *joint[LANES], *obs[LANES];           /* each chain's counters */
  /* The one-coordinate fast path buffers the slots of SLOT_STEPS steps and counts them chain by
   * chain: long after they were stored, and against one chain's histogram at a time. A chain
   * that stopped counting writes the spare slot B + 2 (see counts_len), never read back. */
  int32_t sbuf[SLOT_STEPS][LANES];
  int nbuf;
} block;

/* grad f1 along one coordinate: (a/eps) cos(x/eps) [+ (a/eps) cos(r x/eps)] */
static inline vd f1_grad(const ms_consts *m, int quasi, vd x) {
  vd g = vsplat(m->amp_over_eps) * vcos(x * vsplat(m->inv_eps));
  if (quasi) g += vsplat(m->amp_over_eps) * vcos(x * vsplat(m->ratio_over_eps));
  return g;
}

static inline vd f0_grad(lz_f0_kind f0, vd x, vd y) {
  switch (f0) {
    case LZ_F0_QUADRATIC: return x;
    case LZ_F0_DOUBLE_WELL: return x * (x * x - vsplat(1.0));
    case LZ_F0_MATYAS: return vsplat(0.52) * x - vsplat(0.48) * y;
  }
  return x;
}

static inline vd f0_value_v(lz_f0_kind f0, int dim, vd x, vd y) {
  switch (f0) {
    case LZ_F0_QUADRATIC: return vsplat(0.5) * (x * x + (dim > 1 ? y * y : vsplat(0.0)));
    case LZ_F0_DOUBLE_WELL: {
      vd a = x * x - vsplat(1.0), b = y * y - vsplat(1.0);
      return vsplat(0.25) * (a * a + (dim > 1 ? b * b : vsplat(0.0)));
    }
    case LZ_F0_MATYAS: return vsplat(0.26) * (x * x + y * y) - vsplat(0.48) * x * y;
  }
  return x;
}

/* Bin slots of a vector of values: 0 below lo, 1..B inside, B + 1 above; branch-free. */
static inline vi slots_of(vd v, double lo, double inv_w, int64_t bins) {
  vd t = (v - vsplat(lo)) * vsplat(inv_w);
  vi below = t < vsplat(0.0);
  vd capped = vblend(t < vsplat((double)bins), t, vsplat((double)bins));
  vi idx = __builtin_convertvector(capped, vi) + 1;
  return (idx & ~below);
}

/* Hysteresis wells of one coordinate: a bit turns on past +1/2 and off past -1/2. */
static inline vi well_bit(vd x, vi bit) {
  vi on = x > vsplat(0.5), off = x < vsplat(-0.5);
  return (bit | (on & 1)) & ~(off & 1);
}

/* grad f1 of every chain, into g: the cos calls alone in a tight loop, so that the loop that
 * uses them has no call inside and keeps its values in registers. */
static inline __attribute__((always_inline)) void f1_grads(const ms_consts *m, int quasi,
                                                          const double *x, double *g) {
  for (int j = 0; j < LANES; j += VW) vstore(g + j, f1_grad(m, quasi, vload(x + j)));
}

/* One GD step of the 64 chains and, when counting, everything measured at the new point but
 * the scalar count increments. The flags are constants in each caller, so the compiler keeps
 * only the branches a problem needs. */
static inline __attribute__((always_inline)) void step_and_measure(
    const ms_consts *m, const sample_spec *s, block *b, int dim, lz_f0_kind f0, int quasi,
    int counting) {
  const vd lim = vsplat(s->bound), one = vsplat(1.0);
  double g1[2][LANES];
  f1_grads(m, quasi, b->x[0], g1[0]);
  if (dim > 1) f1_grads(m, quasi, b->x[1], g1[1]);
  for (int j = 0; j < LANES; j += VW) {
    vd x0 = vload(b->x[0] + j), x1 = dim > 1 ? vload(b->x[1] + j) : vsplat(0.0);
    vd h = vload(b->h + j);
    vi alive = viload(b->alive + j);
    vd n0 = x0 - h * (f0_grad(f0, x0, x1) + vload(g1[0] + j));
    vi ok = alive & (vabs(n0) <= lim);
    vd n1 = x1;
    if (dim > 1) {
      n1 = x1 - h * (f0_grad(f0, x1, x0) + vload(g1[1] + j));
      ok &= vabs(n1) <= lim;
      n1 = vblend(ok, n1, x1);
      vstore(b->x[1] + j, n1);
    }
    n0 = vblend(ok, n0, x0);
    vstore(b->x[0] + j, n0);
    vistore(b->alive + j, ok);
    if (!counting) continue;
    vd a = (vd)((vi)one & ok);  /* 1.0 for a chain still counting, 0.0 otherwise */
    vstore(b->psum[0] + j, vload(b->psum[0] + j) + a * n0);
    vstore(b->psum_sq[0] + j, vload(b->psum_sq[0] + j) + a * n0 * n0);
    if (dim > 1) {
      vstore(b->psum[1] + j, vload(b->psum[1] + j) + a * n1);
      vstore(b->psum_sq[1] + j, vload(b->psum_sq[1] + j) + a * n1 * n1);
    }
    if (f0 != LZ_F0_QUADRATIC || s->obs_kind) {
      /* quadratic f0 = |x|^2 / 2 is summed already, as the squares */
      vd f0v = f0_value_v(f0, dim, n0, n1);
      vstore(b->f0v + j, f0v);
      vstore(b->psum_f0 + j, vload(b->psum_f0 + j) + a * f0v);
    }
    if (s->ncoords > 1 || s->joint) {
      vistore(b->slot[0] + j, slots_of(s->coords[0] ? n1 : n0, s->lo, s->inv_w, s->bins));
      vistore(b->slot[1] + j, slots_of(s->coords[1] ? n1 : n0, s->lo, s->inv_w, s->bins));
    }
    if (s->wells) {
      vi bits = viload(b->wbits + j), nb = well_bit(n0, bits & 1);
      if (dim > 1) nb |= well_bit(n1, (bits >> 1) & 1) << 1;
      vi changed = (nb != bits) & 1;
      vistore(b->transitions + j, viload(b->transitions + j) + (changed & ok));
      vistore(b->wbits + j, nb);
      for (int w = 0; w < (1 << dim); ++w)
        vistore(b->wcount[w] + j, viload(b->wcount[w] + j) + ((nb == w) & ok & 1));
    }
  }
}

/* f1 at the chains' points (for the loss observable). */
static void f1_values(const ms_consts *m, const block *b, double *out) {
  for (int j = 0; j < LANES; j += VW) {
    vd s = vsplat(0.0);
    for (int c = 0; c < m->dim; ++c) {
      vd x = vload(b->x[c] + j);
      s += vsplat(m->amp) * vsin(x * vsplat(m->inv_eps));
      if (m->quasi) s += vsplat(m->amp / m->ratio) * vsin(x * vsplat(m->ratio_over_eps));
    }
    vstore(out + j, s);
  }
}

static void observe_block(const ms_consts *m, const sample_spec *s, block *b) {
  if (s->obs_kind == LZ_OBS_LOSS) f1_values(m, b, b->obsv);
  for (int l = 0; l < LANES; ++l) {
    double v = b->f0v[l] + (s->obs_kind == LZ_OBS_LOSS ? b->obsv[l] : 0.0);
    b->oslot[l] = slot_of(v, s->obs_lo, s->obs_inv_w, s->obs_bins);
  }
}

/* Adds each counting chain's samples to its slots: the only scalar part of a step. A chain's
 * samples are the total of its first coordinate's slots, and with one coordinate its outside
 * samples are that coordinate's two outer slots: neither needs counting here. */
static inline __attribute__((always_inline)) void count_block(const sample_spec *s, block *b,
                                                              int ncoords, int joint, int obs) {
  const int64_t b2 = s->bins + 2, last = b2 - 1;
  const double *x0 = b->x[s->coords[0]];
  for (int l = 0; l < LANES; ++l) {
    const uint64_t a = (uint64_t)(b->alive[l] & 1);
    /* the slot of the first coordinate is recomputed here rather than read back from a vector
     * store: measured, that read-back cost more than the arithmetic */
    int64_t s0 = slot_of(x0[l], s->lo, s->inv_w, s->bins);
    b->hist[l][s0] += a;
    if (ncoords > 1) {
      int64_t s1 = b->slot[1][l];
      b->hist[l][b2 + s1] += a;
      b->outside[l] += (int64_t)a & (s0 == 0 || s0 == last || s1 == 0 || s1 == last);
      if (joint) b->joint[l][s0 * b2 + s1] += a;
    }
    if (obs) b->obs[l][b->oslot[l]] += a;
  }
}

/* Stores this step's slots of the first coordinate (the spare slot for chains not counting). */
static inline __attribute__((always_inline)) void buffer_slots(const sample_spec *s, block *b) {
  typedef int32_t vs __attribute__((vector_size(VW * 4)));
  const double *x0 = b->x[s->coords[0]];
  const vi spare = (vi){0} + (s->bins + 2);
  int32_t *row = b->sbuf[b->nbuf++];
  for (int j = 0; j < LANES; j += VW) {
    vi alive = viload(b->alive + j);
    vi sl = slots_of(vload(x0 + j), s->lo, s->inv_w, s->bins);
    sl = (sl & alive) | (spare & ~alive);
    vs narrow = __builtin_convertvector(sl, vs);
    memcpy(row + j, &narrow, sizeof narrow);
  }
}

/* Counts the buffered slots, one chain (one histogram) at a time. */
static void count_buffered_slots(block *b) {
  for (int l = 0; l < LANES; ++l) {
    uint64_t *h = b->hist[l];
    for (int t = 0; t < b->nbuf; ++t) h[b->sbuf[t][l]]++;
  }
  b->nbuf = 0;
}

/* What count_block leaves to the end: samples, the outside of one coordinate, and the f0 sum of
 * a quadratic f0. */
static void complete_block_sums(const sample_spec *s, const ms_consts *m, block *b) {
  const int64_t b2 = s->bins + 2;
  for (int l = 0; l < LANES; ++l) {
    int64_t n = 0;
    for (int64_t k = 0; k < b2; ++k) n += (int64_t)b->hist[l][k];
    b->samples[l] = n;
    if (s->ncoords == 1) b->outside[l] = (int64_t)(b->hist[l][0] + b->hist[l][b2 - 1]);
    if (m->f0 == LZ_F0_QUADRATIC) {
      b->sum_f0[l] = 0.0;
      for (int c = 0; c < m->dim; ++c) b->sum_f0[l] += 0.5 * b->sum_sq[c][l];
    }
  }
}

static void flush_partial_sums(block *b) {
  for (int c = 0; c < 2; ++c)
    for (int l = 0; l < LANES; ++l) {
      b->sum[c][l] += b->psum[c][l], b->psum[c][l] = 0.0;
      b->sum_sq[c][l] += b->psum_sq[c][l], b->psum_sq[c][l] = 0.0;
    }
  for (int l = 0; l < LANES; ++l) b->sum_f0[l] += b->psum_f0[l], b->psum_f0[l] = 0.0;
}

/* The whole sampling of a block; specialized below for each (dim, f0, quasi). */
static inline __attribute__((always_inline)) int run_block(
    const ms_consts *m, const sample_spec *s, block *b, uint64_t *store, size_t stride, int dim,
    lz_f0_kind f0, int quasi, const volatile sig_atomic_t *cancel) {
  const int ncoords = (int)s->ncoords, joint = s->joint, obs = s->obs_kind != LZ_OBS_NONE;
  for (int64_t k = 0; k < s->burn_in; ++k) {
    if (cancel && (k & 65535) == 0 && *cancel) return LZ_ESTOPPED;
    step_and_measure(m, s, b, dim, f0, quasi, 0);
  }
  for (int64_t i = 0; i < s->samples; ++i) {
    if (cancel && (i & 65535) == 0 && *cancel) return LZ_ESTOPPED;
    step_and_measure(m, s, b, dim, f0, quasi, 1);
    if (obs) observe_block(m, s, b);
    if (ncoords == 1 && !obs) {
      buffer_slots(s, b);
      if (b->nbuf == SLOT_STEPS) count_buffered_slots(b);
    } else if (ncoords == 1)
      count_block(s, b, 1, 0, obs);
    else
      count_block(s, b, 2, joint, obs);
    if (i % SUM_BLOCK == SUM_BLOCK - 1) flush_partial_sums(b);
    if (i + 1 == s->half) {
      count_buffered_slots(b);
      for (int l = 0; l < LANES; ++l) {
        chain_counts c = counts_at(s, store + (size_t)l * stride);
        memcpy(c.half1, c.hist, s->ncoords * ((size_t)s->bins + 2) * sizeof *c.hist);
      }
    }
  }
  count_buffered_slots(b);
  flush_partial_sums(b);
  return LZ_OK;
}

#define RUN_BLOCK(DIM, F0, QUASI) \
  run_block(&m, s, b, store, stride, DIM, F0, QUASI, cancel)

static int run_block_specialized(const ms_consts *mp, const sample_spec *s, block *b,
                                 uint64_t *store, size_t stride,
                                 const volatile sig_atomic_t *cancel) {
  const ms_consts m = *mp;
  const int key = (m.dim - 1) * 6 + (int)m.f0 * 2 + m.quasi;
  switch (key) {
    case 0: return RUN_BLOCK(1, LZ_F0_QUADRATIC, 0);
    case 1: return RUN_BLOCK(1, LZ_F0_QUADRATIC, 1);
    case 2: return RUN_BLOCK(1, LZ_F0_DOUBLE_WELL, 0);
    case 3: return RUN_BLOCK(1, LZ_F0_DOUBLE_WELL, 1);
    case 4: return RUN_BLOCK(1, LZ_F0_MATYAS, 0);  /* not reachable: matyas is 2-D */
    case 5: return RUN_BLOCK(1, LZ_F0_MATYAS, 1);
    case 6: return RUN_BLOCK(2, LZ_F0_QUADRATIC, 0);
    case 7: return RUN_BLOCK(2, LZ_F0_QUADRATIC, 1);
    case 8: return RUN_BLOCK(2, LZ_F0_DOUBLE_WELL, 0);
    case 9: return RUN_BLOCK(2, LZ_F0_DOUBLE_WELL, 1);
    case 10: return RUN_BLOCK(2, LZ_F0_MATYAS, 0);
    default: return RUN_BLOCK(2, LZ_F0_MATYAS, 1);
  }
}

/* Runs up to LANES chains (rows[0..n) of the tile, starting from their final states). */
static int sample_multiscale_block(const lz_problem *p, const sample_spec *s, lz_tile_result *tr,
                                   const double *final_states, lz_im_sums *sums,
                                   const int64_t *rows, int n, block *b, uint64_t *store,
                                   const volatile sig_atomic_t *cancel) {
  const ms_consts m = ms_consts_of(lz_problem_params_of(p));
  const size_t stride = counts_len(s);
  memset(b, 0, sizeof *b);
  memset(store, 0, stride * LANES * sizeof *store);
  for (int l = 0; l < LANES; ++l) {
    chain_counts c = counts_at(s, store + (size_t)l * stride);
    b->hist[l] = c.hist, b->joint[l] = c.joint, b->obs[l] = c.obs;
  }
  for (int l = 0; l < n; ++l) {
    const double *x0 = final_states + rows[l] * m.dim;
    for (int c = 0; c < m.dim; ++c) b->x[c][l] = x0[c];
    b->h[l] = tr->runs[rows[l]].h;
    b->alive[l] = -1;
    for (int c = 0; c < m.dim; ++c) b->wbits[l] |= (int64_t)(x0[c] > 0.0) << c;
  }
  int rc = run_block_specialized(&m, s, b, store, stride, cancel);
  if (rc != LZ_OK) return rc;
  complete_block_sums(s, &m, b);
  for (int l = 0; l < n; ++l) {
    lz_im_sums *o = &sums[rows[l]];
    chain_counts c = counts_at(s, store + (size_t)l * stride);
    store_chain(s, &c, tr, rows[l]);
    o->samples = b->samples[l];
    o->outside = b->outside[l];
    o->sum_f0 = b->sum_f0[l];
    for (size_t k = 0; k < s->ncoords; ++k) {
      o->sum[k] = b->sum[s->coords[k]][l];
      o->sum_sq[k] = b->sum_sq[s->coords[k]][l];
    }
    o->transitions = b->transitions[l];
    for (int w = 0; w < 4; ++w) o->well_count[w] = b->wcount[w][l];  /* dim <= 2 here */
  }
  return LZ_OK;
}

/* ---- any other problem: one chain at a time ----------------------------------------------- */

static int sample_generic_chain(const lz_problem *p, const sample_spec *s, const double *x0,
                                double h, chain_counts c, lz_im_sums *o, double *x, double *g,
                                double *pwork, const volatile sig_atomic_t *cancel) {
  const size_t dim = lz_problem_dim(p);
  const int64_t b2 = s->bins + 2;
  memcpy(x, x0, dim * sizeof *x);
  double psum[LZ_IM_MAX_COORDS] = {0}, psq[LZ_IM_MAX_COORDS] = {0}, pf0 = 0;
  /* the wells of a double well, as the blocks track them: from the start's signs, then with
   * hysteresis at +-1/2 at every counted sample */
  int64_t bits = 0;
  if (s->wells)
    for (size_t e = 0; e < dim; ++e) bits |= (int64_t)(x0[e] > 0.0) << e;
  for (int64_t k = 0; k < s->burn_in + s->samples; ++k) {
    if (cancel && (k & 4095) == 0 && *cancel) return LZ_ESTOPPED;
    double f = lz_problem_value_grad(p, x, g, pwork);
    lz_gd_step(x, g, h, dim);
    if (!(lz_norm_inf(x, dim) <= s->bound) || !isfinite(f)) return LZ_OK;  /* left: stop counting */
    if (k < s->burn_in) continue;
    int64_t out = 0;
    for (size_t q = 0; q < s->ncoords; ++q) {
      double v = x[s->coords[q]];
      int32_t sl = slot_of(v, s->lo, s->inv_w, s->bins);
      c.hist[q * (size_t)b2 + (size_t)sl]++;
      out |= sl == 0 || sl == b2 - 1;
      psum[q] += v, psq[q] += v * v;
    }
    if (c.joint)
      c.joint[(size_t)slot_of(x[s->coords[0]], s->lo, s->inv_w, s->bins) * (size_t)b2 +
              (size_t)slot_of(x[s->coords[1]], s->lo, s->inv_w, s->bins)]++;
    if (c.obs) {
      double v = s->obs_kind == LZ_OBS_X_ENTRY ? x[s->obs_index]
                 : s->obs_kind == LZ_OBS_F0    ? lz_problem_f0(p, x, pwork)
                                               : lz_problem_value(p, x, pwork);
      c.obs[slot_of(v, s->obs_lo, s->obs_inv_w, s->obs_bins)]++;
    }
    if (s->track_f0) pf0 += lz_problem_f0(p, x, pwork);
    if (s->wells) {
      int64_t nb = bits;
      for (size_t e = 0; e < dim; ++e) {
        if (x[e] > 0.5) nb |= (int64_t)1 << e;
        if (x[e] < -0.5) nb &= ~((int64_t)1 << e);
      }
      o->transitions += nb != bits;
      bits = nb;
      if (dim <= LZ_WELLS_MAX_DIM) o->well_count[nb]++;
    }
    o->outside += out;
    o->samples++;
    int64_t i = k - s->burn_in;
    if (i % SUM_BLOCK == SUM_BLOCK - 1 || i + 1 == s->samples) {
      for (size_t q = 0; q < s->ncoords; ++q) o->sum[q] += psum[q], o->sum_sq[q] += psq[q], psum[q] = psq[q] = 0;
      o->sum_f0 += pf0, pf0 = 0;
    }
    if (i + 1 == s->half) memcpy(c.half1, c.hist, s->ncoords * (size_t)b2 * sizeof *c.hist);
  }
  return LZ_OK;
}

/* ---- the tile ----------------------------------------------------------------------------- */

static int chain_can_sample(const lz_run_result *r) {
  return r->status != LZ_STATUS_DIVERGED && r->status != LZ_STATUS_NOT_RUN && r->h > 0;
}

static int params_use_blocks(const lz_problem_params *pp) {
  return pp->kind == LZ_PROBLEM_MULTISCALE && pp->multiscale.dim <= 2;
}

static int uses_blocks(const lz_problem *p) { return params_use_blocks(lz_problem_params_of(p)); }

double lz_sample_thread_bytes(const lz_job *job, const lz_problem_params *pp) {
  if (!lz_job_samples_invariant_measure(job)) return 0.0;
  const sample_spec s = sample_spec_of(job, pp);
  double counts = 8.0 * (double)counts_len(&s);
  if (params_use_blocks(pp)) return (double)sizeof(block) + LANES * counts;
  lz_problem_sizes sz;
  lz_problem_params_sizes(pp, &sz);
  return 8.0 * (double)(2 * sz.dim + sz.work_len) + counts;
}

static void zero_tile_rows(const sample_spec *s, lz_tile_result *tr, int64_t row) {
  const lz_array_id ids[] = {LZ_ARRAY_HIST, LZ_ARRAY_HIST_HALF1, LZ_ARRAY_HIST2D, LZ_ARRAY_HIST_OBS};
  (void)s;
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; ++i) {
    uint64_t *row_counts = lz_tile_counts(tr, ids[i], row);
    if (row_counts) memset(row_counts, 0, (size_t)lz_array_shape_size(tr->shape[ids[i]]) * sizeof *row_counts);
  }
}

int lz_sample_tile(const lz_job *job, const lz_problem *p, lz_tile_result *tr,
                   const double *final_states, lz_im_sums *sums,
                   const volatile sig_atomic_t *cancel) {
  const sample_spec s = sample_spec_of(job, lz_problem_params_of(p));
  const size_t dim = lz_problem_dim(p), stride = counts_len(&s);
  int64_t *rows = malloc((size_t)tr->count * sizeof *rows);
  if (!rows) return LZ_ENOMEM;
  int64_t n = 0;
  for (int64_t i = 0; i < tr->count; ++i) {
    memset(&sums[i], 0, sizeof sums[i]);
    zero_tile_rows(&s, tr, i);
    if (chain_can_sample(&tr->runs[i])) rows[n++] = i;
  }
  int rc = LZ_OK;
  if (uses_blocks(p)) {
    int64_t nblocks = (n + LANES - 1) / LANES;
#pragma omp parallel
    {
      block *b = malloc(sizeof *b);
      uint64_t *store = malloc(stride * LANES * sizeof *store);
#pragma omp for schedule(dynamic, 1)
      for (int64_t k = 0; k < nblocks; ++k) {
        int cnt = (int)(n - k * LANES < LANES ? n - k * LANES : LANES);
        int r = b && store ? sample_multiscale_block(p, &s, tr, final_states, sums,
                                                     rows + k * LANES, cnt, b, store, cancel)
                           : LZ_ENOMEM;
        if (r != LZ_OK) {
#pragma omp critical(lz_sample_error)
          rc = rc == LZ_OK ? r : rc;
        }
      }
      free(b);
      free(store);
    }
  } else {
    const size_t wlen = 2 * dim + lz_problem_work_len(p);
    int parallel_runs = lz_runs_share_threads(lz_problem_params_of(p));
#pragma omp parallel if (parallel_runs)
    {
      double *work = malloc(wlen * sizeof *work);
      uint64_t *store = malloc(stride * sizeof *store);
#pragma omp for schedule(dynamic, 1)
      for (int64_t k = 0; k < n; ++k) {
        int r = LZ_ENOMEM;
        if (work && store) {
          memset(store, 0, stride * sizeof *store);
          chain_counts c = counts_at(&s, store);
          r = sample_generic_chain(p, &s, final_states + rows[k] * (int64_t)dim,
                                   tr->runs[rows[k]].h, c, &sums[rows[k]], work, work + dim,
                                   work + 2 * dim, cancel);
          if (r == LZ_OK) store_chain(&s, &c, tr, rows[k]);
        }
        if (r != LZ_OK) {
#pragma omp critical(lz_sample_error)
          rc = rc == LZ_OK ? r : rc;
        }
      }
      free(work);
      free(store);
    }
  }
  free(rows);
  return rc;
}
