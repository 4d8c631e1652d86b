/* Turning a chain's (or a pooled point's) sums and counts into the measurements of results.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lrzoo/measure.h"
#include "lrzoo/results.h"
#include "problems/problems.h"

static double ratio_or_nan(double num, int64_t n) { return n > 0 ? num / (double)n : NAN; }

/* TV between the first half of the samples and the rest, for the first coordinate. */
static double halves_tv(const uint64_t *hist, const uint64_t *half1, int64_t bins) {
  uint64_t *second = malloc((size_t)bins * sizeof *second);
  if (!second) return NAN;
  for (int64_t i = 0; i < bins; ++i) second[i] = hist[i] - half1[i];
  double tv = lz_tv_between_counts(half1, second, bins);
  free(second);
  return tv;
}

static int separable(lz_f0_kind f0) { return f0 != LZ_F0_MATYAS; }

/* The Gibbs rows and the distances of the counts to them. */
static void compare_with_gibbs(const lz_job *job, const lz_problem_params *pp, double T,
                               const uint64_t *hist, const uint64_t *hist2d, lz_im_result *im,
                               double *gibbs, double *gibbs2d) {
  const int64_t B = job->analyze.invariant_measure.bins;
  const double lo = job->analyze.invariant_measure.lo, hi = job->analyze.invariant_measure.hi;
  const size_t C = job->analyze.invariant_measure.ncoords;
  if (!(T > 0) || lz_gibbs_marginal(pp, T, lo, hi, B, gibbs) != LZ_OK) {
    for (size_t i = 0; i < C * (size_t)B; ++i) gibbs[i] = NAN;
    if (gibbs2d)
      for (int64_t i = 0; i < B * B; ++i) gibbs2d[i] = NAN;
    return;
  }
  /* every coordinate of these f0 has the same marginal (separable, or symmetric for matyas) */
  for (size_t k = 1; k < C; ++k) memcpy(gibbs + k * (size_t)B, gibbs, (size_t)B * sizeof *gibbs);
  im->gibbs_tv = lz_tv_counts(hist, gibbs, B);
  im->gibbs_kl = lz_kl_counts(hist, gibbs, B);
  im->gibbs_w1 = lz_w1_counts(hist, gibbs, B, (hi - lo) / (double)B);
  if (!gibbs2d || !hist2d) return;
  if (separable(pp->multiscale.f0)) {
    /* a product of marginals each normalized over [lo, hi] is normalized over the square */
    for (int64_t i = 0; i < B; ++i)
      for (int64_t j = 0; j < B; ++j) gibbs2d[i * B + j] = gibbs[i] * gibbs[j];
  } else {
    lz_gibbs_joint(pp, T, lo, hi, B, gibbs2d);
  }
  im->gibbs2d_tv = lz_tv_counts(hist2d, gibbs2d, B * B);
  im->gibbs2d_kl = lz_kl_counts(hist2d, gibbs2d, B * B);
}

static void describe_wells(const lz_problem_params *pp, const lz_im_sums *sums, lz_im_result *im,
                           double *wells) {
  const int64_t n = sums->samples;
  if (pp->multiscale.f0 != LZ_F0_DOUBLE_WELL) {
    im->transitions = 0;
    im->residence_mean = NAN;
    return;  /* the wells row keeps its NaN fill */
  }
  /* 2^dim wells have their occupation recorded up to dim 4; beyond, the row stays NaN and the
   * transitions alone describe the wandering */
  if (pp->multiscale.dim <= LZ_WELLS_MAX_DIM)
    for (int64_t w = 0; w < (int64_t)1 << pp->multiscale.dim; ++w)
      wells[w] = ratio_or_nan((double)sums->well_count[w], n);
  im->transitions = sums->transitions;
  im->residence_mean = ratio_or_nan((double)n, sums->transitions + 1);
}

void lz_im_finish(const lz_job *job, const lz_problem *p, double h, const lz_im_sums *sums,
                  const uint64_t *hist, const uint64_t *half1, const uint64_t *hist2d,
                  lz_im_result *im, double *gibbs, double *gibbs2d, double *wells,
                  double *moments) {
  const lz_problem_params *pp = lz_problem_params_of(p);
  const size_t C = job->analyze.invariant_measure.ncoords;
  const int64_t B = job->analyze.invariant_measure.bins, n = sums->samples;
  memset(im, 0, sizeof *im);
  im->samples = n;
  im->outside_fraction = ratio_or_nan((double)sums->outside, n);
  for (size_t k = 0; k < C; ++k) {
    moments[2 * k] = ratio_or_nan(sums->sum[k], n);
    moments[2 * k + 1] = ratio_or_nan(sums->sum_sq[k], n);
  }
  im->sample_variance = moments[1] - moments[0] * moments[0];
  im->halves_tv = half1 ? halves_tv(hist, half1, B) : NAN;
  im->temperature = im->temperature_fit = im->f0_mean = NAN;
  im->gibbs_tv = im->gibbs_kl = im->gibbs_w1 = im->gibbs2d_tv = im->gibbs2d_kl = NAN;
  im->variance_linear = im->residence_mean = NAN;
  if (!(lz__problem_kind(pp->kind)->traits & LZ_KIND_HAS_SLOW_PART)) return;

  double sigma2 = lz_problem_sigma2(p);
  im->temperature = h > 0 ? 0.5 * h * sigma2 : NAN;
  im->f0_mean = ratio_or_nan(sums->sum_f0, n);
  im->temperature_fit = n > 0 ? lz_gibbs_fit_temperature(pp, im->f0_mean) : NAN;
  if (pp->multiscale.f0 == LZ_F0_QUADRATIC && h > 0 && h < 2)
    im->variance_linear = h * sigma2 / (2.0 - h);
  /* rows are always written: NaN where there is nothing to compare (no samples, no T) */
  const int64_t B2 = B * B;
  for (size_t i = 0; gibbs && i < C * (size_t)B; ++i) gibbs[i] = NAN;
  for (int64_t i = 0; gibbs2d && i < B2; ++i) gibbs2d[i] = NAN;
  if (n > 0 && gibbs) compare_with_gibbs(job, pp, im->temperature, hist, hist2d, im, gibbs, gibbs2d);
  if (wells) describe_wells(pp, sums, im, wells);
}

void lz_im_sums_from_result(const lz_job *job, const lz_im_result *im, const double *wells,
                            const double *moments, lz_im_sums *sums) {
  const size_t C = job->analyze.invariant_measure.ncoords;
  const double n = (double)im->samples;
  memset(sums, 0, sizeof *sums);
  sums->samples = im->samples;
  if (im->samples <= 0) return;
  sums->outside = isfinite(im->outside_fraction) ? llround(im->outside_fraction * n) : 0;
  sums->sum_f0 = isfinite(im->f0_mean) ? im->f0_mean * n : 0.0;
  for (size_t k = 0; k < C; ++k) {
    sums->sum[k] = moments[2 * k] * n;
    sums->sum_sq[k] = moments[2 * k + 1] * n;
  }
  sums->transitions = im->transitions;
  /* the wells row holds 2^dim entries of the job's largest dim (at most LZ_WELLS_MAX_DIM): 2,
   * not 4, in a 1-D job */
  const int64_t W = wells ? lz_array_shape_size(lz_job_array_shape(job, LZ_ARRAY_WELLS)) : 0;
  for (int64_t w = 0; w < W && w < (1 << LZ_WELLS_MAX_DIM); ++w)
    if (isfinite(wells[w])) sums->well_count[w] = llround(wells[w] * n);
}

void lz_im_sums_add(lz_im_sums *sums, const lz_im_sums *other) {
  sums->samples += other->samples;
  sums->outside += other->outside;
  sums->sum_f0 += other->sum_f0;
  for (int k = 0; k < LZ_IM_MAX_COORDS; ++k) {
    sums->sum[k] += other->sum[k];
    sums->sum_sq[k] += other->sum_sq[k];
  }
  sums->transitions += other->transitions;
  for (int w = 0; w < 1 << LZ_WELLS_MAX_DIM; ++w) sums->well_count[w] += other->well_count[w];
}
