#include "lrzoo/linalg.h"

#include <math.h>

double lz_dot(const double *x, const double *y, size_t n) {
  /* Four fixed partial sums: vectorizes, and the order never depends on threads. */
  double s[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s[0] += x[i] * y[i];
    s[1] += x[i + 1] * y[i + 1];
    s[2] += x[i + 2] * y[i + 2];
    s[3] += x[i + 3] * y[i + 3];
  }
  for (; i < n; ++i) s[0] += x[i] * y[i];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

double lz_norm_inf(const double *x, size_t n) {
  double m = 0.0;
  for (size_t i = 0; i < n; ++i) {
    double a = fabs(x[i]);
    if (isnan(a)) return a;
    if (a > m) m = a;
  }
  return m;
}

double lz_norm2(const double *x, size_t n) {
  double m = lz_norm_inf(x, n);
  if (!(m > 0.0) || isinf(m)) return m;  /* 0, NaN or inf */
  /* Plain sum of squares when it cannot overflow or underflow; scaled otherwise. */
  if (m > 1e-150 && m < 1e150) return sqrt(lz_dot(x, x, n));
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) {
    double t = x[i] / m;
    s += t * t;
  }
  return m * sqrt(s);
}

int lz_all_finite(const double *x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!isfinite(x[i])) return 0;
  return 1;
}
