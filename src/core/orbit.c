#include <math.h>
#include <string.h>

#include "lrzoo/analysis.h"
#include "lrzoo/linalg.h"

size_t lz_orbit_ring_len(size_t dim, int64_t max_period) { return 2 * (size_t)max_period * dim; }

void lz_orbit_ring_init(lz_orbit_ring *r, size_t dim, int64_t max_period, double *storage) {
  r->dim = dim;
  r->cap = 2 * max_period;
  r->count = 0;
  r->head = 0;
  r->pts = storage;
}

void lz_orbit_ring_push(lz_orbit_ring *r, const double *x) {
  if (r->cap == 0) return;
  memcpy(r->pts + (size_t)r->head * r->dim, x, r->dim * sizeof *x);
  r->head = r->head + 1 == r->cap ? 0 : r->head + 1;
  if (r->count < r->cap) r->count++;
}

const double *lz_orbit_ring_back(const lz_orbit_ring *r, int64_t j) {
  int64_t i = r->head - 1 - j;
  while (i < 0) i += r->cap;
  return r->pts + (size_t)i * r->dim;
}

static double distance(const double *a, const double *b, size_t n) {
  /* Scaled like lz_norm2 so huge or tiny orbits do not overflow or underflow. */
  double m = 0.0;
  /* fmax(m, |a_i - b_i|) without the call (a NaN difference loses, as in fmax) */
  for (size_t i = 0; i < n; ++i) {
    const double e = fabs(a[i] - b[i]);
    m = e > m ? e : m;
  }
  if (m == 0.0) return 0.0;
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) {
    double t = (a[i] - b[i]) / m;
    s += t * t;
  }
  return m * sqrt(s);
}

/* The residual of period p; HUGE_VAL as soon as it is certain to exceed `above` (then p is
 * neither the period nor the best candidate, and its exact value is never used). */
static double recurrence_residual(const lz_orbit_ring *r, int64_t p, double scale, double above) {
  double worst = 0.0;
  for (int64_t j = 0; j < p; ++j) {
    worst = fmax(worst, distance(lz_orbit_ring_back(r, j), lz_orbit_ring_back(r, j + p), r->dim));
    if (worst / scale > above) return HUGE_VAL;
  }
  return worst / scale;
}

lz_orbit_period lz_orbit_find_period(const lz_orbit_ring *r, int64_t max_period, double tol) {
  lz_orbit_period out = {0, HUGE_VAL, 0};
  if (r->count < 2) return out;
  double scale = fmax(1.0, lz_norm2(lz_orbit_ring_back(r, 0), r->dim));
  for (int64_t p = 1; p <= max_period && 2 * p <= r->count; ++p) {
    double res = recurrence_residual(r, p, scale, fmax(tol, out.residual));
    if (res < out.residual) {
      out.residual = res;
      out.best_p = p;
    }
    if (res <= tol) {
      /* The first p that repeats is the minimal period: its multiples come later. */
      out.period = p;
      out.residual = res;
      out.best_p = p;
      return out;
    }
  }
  return out;
}
