/* The Gibbs density exp(-f0/T)/Z of a multiscale problem's slow part, integrated over bins, its
 * maximum-likelihood temperature, and distances between binned distributions. */
#include <math.h>
#include <string.h>

#include "lrzoo/measure.h"

/* matyas: f0 = A (x^2 + y^2) - B x y */
#define MATYAS_A 0.26
#define MATYAS_B 0.48

/* ---- Gauss-Legendre rules ---------------------------------------------------------------- */

/* Nodes and weights of the n-point rule on [-1, 1], by Newton's method on the Legendre
 * polynomial from the Chebyshev guesses: deterministic, and exact to rounding for n <= 64. */
static void gauss_legendre(int n, double *x, double *w) {
  const double pi = 3.14159265358979323846;
  for (int i = 0; i < (n + 1) / 2; ++i) {
    double z = cos(pi * (i + 0.75) / (n + 0.5)), dp = 0.0;
    for (int it = 0; it < 100; ++it) {
      double p0 = 1.0, p1 = 0.0;
      for (int k = 1; k <= n; ++k) {
        double p2 = p1;
        p1 = p0;
        p0 = ((2.0 * k - 1.0) * z * p1 - (k - 1.0) * p2) / k;
      }
      dp = n * (z * p0 - p1) / (z * z - 1.0);
      double dz = p0 / dp;
      z -= dz;
      if (fabs(dz) < 1e-16) break;
    }
    x[i] = -z, x[n - 1 - i] = z;
    w[i] = w[n - 1 - i] = 2.0 / ((1.0 - z * z) * dp * dp);
  }
}

/* ---- f0 and its marginals --------------------------------------------------------------- */

/* The potential whose exp(-V/T) is the marginal density on one coordinate (up to a constant). */
static double marginal_potential(lz_f0_kind f0, int dim, double x) {
  switch (f0) {
    case LZ_F0_QUADRATIC: return 0.5 * x * x;
    case LZ_F0_DOUBLE_WELL: return 0.25 * (x * x - 1.0) * (x * x - 1.0);
    case LZ_F0_MATYAS:
      /* integrating exp(-(A y^2 - B x y)/T) over y leaves exp(B^2 x^2 / (4 A T)) */
      (void)dim;
      return (MATYAS_A - MATYAS_B * MATYAS_B / (4.0 * MATYAS_A)) * x * x;
  }
  return 0.0;
}

static double f0_value(lz_f0_kind f0, int dim, double x, double y) {
  switch (f0) {
    case LZ_F0_QUADRATIC: return 0.5 * x * x + (dim > 1 ? 0.5 * y * y : 0.0);
    case LZ_F0_DOUBLE_WELL:
      return 0.25 * (x * x - 1) * (x * x - 1) + (dim > 1 ? 0.25 * (y * y - 1) * (y * y - 1) : 0.0);
    case LZ_F0_MATYAS: return MATYAS_A * (x * x + y * y) - MATYAS_B * x * y;
  }
  return 0.0;
}

/* ---- bin probabilities ------------------------------------------------------------------- */

#define BIN_NODES 16
#define CELL_NODES 8

int lz_gibbs_marginal(const lz_problem_params *pp, double T, double lo, double hi, int64_t bins,
                      double *p) {
  if (pp->kind != LZ_PROBLEM_MULTISCALE || !(T > 0) || !(hi > lo) || bins < 1) return LZ_EINVAL;
  double gx[BIN_NODES], gw[BIN_NODES];
  gauss_legendre(BIN_NODES, gx, gw);
  const double width = (hi - lo) / (double)bins;
  /* exponents are shifted by their least value so that the largest weight is 1: no underflow
   * of the whole vector however small T is */
  double vmin = HUGE_VAL;
  for (int64_t b = 0; b < bins; ++b)
    for (int k = 0; k < BIN_NODES; ++k) {
      double x = lo + width * ((double)b + 0.5 * (gx[k] + 1.0));
      vmin = fmin(vmin, marginal_potential(pp->multiscale.f0, pp->multiscale.dim, x));
    }
  double total = 0.0;
  for (int64_t b = 0; b < bins; ++b) {
    double s = 0.0;
    for (int k = 0; k < BIN_NODES; ++k) {
      double x = lo + width * ((double)b + 0.5 * (gx[k] + 1.0));
      s += gw[k] * exp(-(marginal_potential(pp->multiscale.f0, pp->multiscale.dim, x) - vmin) / T);
    }
    p[b] = 0.5 * width * s;
    total += p[b];
  }
  for (int64_t b = 0; b < bins; ++b) p[b] /= total;
  return LZ_OK;
}

int lz_gibbs_joint(const lz_problem_params *pp, double T, double lo, double hi, int64_t bins,
                   double *p) {
  if (pp->kind != LZ_PROBLEM_MULTISCALE || pp->multiscale.dim != 2 || !(T > 0) || !(hi > lo) ||
      bins < 1)
    return LZ_EINVAL;
  double gx[CELL_NODES], gw[CELL_NODES];
  gauss_legendre(CELL_NODES, gx, gw);
  const double width = (hi - lo) / (double)bins;
  double vmin = HUGE_VAL;
  for (int64_t i = 0; i < bins; ++i)
    for (int64_t j = 0; j < bins; ++j)
      for (int a = 0; a < CELL_NODES; ++a)
        for (int b = 0; b < CELL_NODES; ++b) {
          double x = lo + width * ((double)i + 0.5 * (gx[a] + 1.0));
          double y = lo + width * ((double)j + 0.5 * (gx[b] + 1.0));
          vmin = fmin(vmin, f0_value(pp->multiscale.f0, 2, x, y));
        }
  double total = 0.0;
  for (int64_t i = 0; i < bins; ++i)
    for (int64_t j = 0; j < bins; ++j) {
      double s = 0.0;
      for (int a = 0; a < CELL_NODES; ++a)
        for (int b = 0; b < CELL_NODES; ++b) {
          double x = lo + width * ((double)i + 0.5 * (gx[a] + 1.0));
          double y = lo + width * ((double)j + 0.5 * (gx[b] + 1.0));
          s += gw[a] * gw[b] * exp(-(f0_value(pp->multiscale.f0, 2, x, y) - vmin) / T);
        }
      p[i * bins + j] = 0.25 * width * width * s;
      total += p[i * bins + j];
    }
  for (int64_t k = 0; k < bins * bins; ++k) p[k] /= total;
  return LZ_OK;
}

/* ---- the temperature that fits ----------------------------------------------------------- */

/* E[V] under exp(-V/T) on the line for the double-well potential, by composite Gauss-Legendre
 * over an interval outside of which the density is below e^-70 of its peak. */
static double double_well_mean_1d(double T) {
  double gx[BIN_NODES], gw[BIN_NODES];
  gauss_legendre(BIN_NODES, gx, gw);
  double reach = sqrt(1.0 + 2.0 * sqrt(70.0 * T)) + 0.5;
  const int panels = 400;
  double w = 2.0 * reach / panels, num = 0.0, den = 0.0;
  for (int i = 0; i < panels; ++i)
    for (int k = 0; k < BIN_NODES; ++k) {
      double x = -reach + w * (i + 0.5 * (gx[k] + 1.0));
      double v = 0.25 * (x * x - 1) * (x * x - 1), e = gw[k] * exp(-v / T);
      num += v * e, den += e;
    }
  return num / den;
}

double lz_gibbs_mean_f0(const lz_problem_params *pp, double T) {
  if (!(T > 0)) return 0.0;
  switch (pp->multiscale.f0) {
    case LZ_F0_QUADRATIC: return 0.5 * T * pp->multiscale.dim;  /* equipartition */
    case LZ_F0_MATYAS: return T;                     /* a positive quadratic form in 2-D */
    case LZ_F0_DOUBLE_WELL: return pp->multiscale.dim * double_well_mean_1d(T);
  }
  return 0.0;
}

double lz_gibbs_fit_temperature(const lz_problem_params *pp, double f0_mean) {
  if (!(f0_mean > 0) || !isfinite(f0_mean)) return 0.0;
  switch (pp->multiscale.f0) {
    case LZ_F0_QUADRATIC: return 2.0 * f0_mean / pp->multiscale.dim;
    case LZ_F0_MATYAS: return f0_mean;
    case LZ_F0_DOUBLE_WELL: break;
  }
  /* E_T[f0] increases with T: bisection on log T */
  double lo = log(1e-14), hi = log(1e8);
  for (int it = 0; it < 200 && hi - lo > 1e-13; ++it) {
    double mid = 0.5 * (lo + hi);
    if (lz_gibbs_mean_f0(pp, exp(mid)) < f0_mean) lo = mid;
    else hi = mid;
  }
  return exp(0.5 * (lo + hi));
}

/* ---- distances --------------------------------------------------------------------------- */

static double total_of(const uint64_t *c, int64_t bins) {
  double n = 0.0;
  for (int64_t i = 0; i < bins; ++i) n += (double)c[i];
  return n;
}

double lz_tv_counts(const uint64_t *c, const double *q, int64_t bins) {
  double n = total_of(c, bins), s = 0.0;
  if (!(n > 0)) return NAN;
  for (int64_t i = 0; i < bins; ++i) s += fabs((double)c[i] / n - q[i]);
  return 0.5 * s;
}

double lz_kl_counts(const uint64_t *c, const double *q, int64_t bins) {
  double n = total_of(c, bins), s = 0.0;
  if (!(n > 0)) return NAN;
  for (int64_t i = 0; i < bins; ++i) {
    if (c[i] == 0) continue;
    double pi = (double)c[i] / n;
    if (!(q[i] > 0)) return HUGE_VAL;
    s += pi * log(pi / q[i]);
  }
  return s;
}

double lz_w1_counts(const uint64_t *c, const double *q, int64_t bins, double w) {
  double n = total_of(c, bins), cc = 0.0, cq = 0.0, s = 0.0;
  if (!(n > 0)) return NAN;
  for (int64_t i = 0; i < bins; ++i) {
    cc += (double)c[i] / n;
    cq += q[i];
    s += fabs(cc - cq);
  }
  return w * s;
}

double lz_tv_between_counts(const uint64_t *a, const uint64_t *b, int64_t bins) {
  double na = total_of(a, bins), nb = total_of(b, bins), s = 0.0;
  if (!(na > 0) || !(nb > 0)) return NAN;
  for (int64_t i = 0; i < bins; ++i) s += fabs((double)a[i] / na - (double)b[i] / nb);
  return 0.5 * s;
}
