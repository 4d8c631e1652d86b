/* Invariant measures of GD: sampling the iterates into histograms, the Gibbs density they are
 * compared with, and the distances between the two. Pure kernels (OpenMP inside the tile
 * sampler only); no MPI, HDF5 or YAML. */
#ifndef LRZOO_MEASURE_H
#define LRZOO_MEASURE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "lrzoo/job.h"
#include "lrzoo/problem.h"
#include "lrzoo/results.h"

/* ---- Gibbs densities (multiscale f0) -------------------------------------------------------- */

/* Probabilities of `bins` equal bins over [lo, hi] under the marginal on coordinate c of
 * exp(-f0/T)/Z, normalized over [lo, hi]: 16-point Gauss-Legendre in every bin. The marginal of
 * a 2-D f0 integrates the other coordinate over the whole line (in closed form: f0 is
 * separable, or Gaussian for matyas). Returns LZ_EINVAL for T <= 0 or a kind without f0. */
int lz_gibbs_marginal(const lz_problem_params *pp, double T, double lo, double hi, int64_t bins,
                      double *p);

/* Joint probabilities of the bins x bins squares of [lo, hi]^2 (row: the first coordinate) under
 * exp(-f0(x, y)/T)/Z, normalized over the square; 8 x 8 Gauss-Legendre points per cell. */
int lz_gibbs_joint(const lz_problem_params *pp, double T, double lo, double hi, int64_t bins,
                   double *p);

/* Mean of f0 under exp(-f0/T)/Z over the whole space. */
double lz_gibbs_mean_f0(const lz_problem_params *pp, double T);

/* The maximum-likelihood temperature of the Gibbs family of f0 for samples whose mean of f0 is
 * f0_mean: the T with lz_gibbs_mean_f0(T) = f0_mean (closed form for quadratic f0: a sample of
 * x^2/2 gets T = E[x^2]; bisection otherwise). 0 when f0_mean <= 0. */
double lz_gibbs_fit_temperature(const lz_problem_params *pp, double f0_mean);

/* ---- distances between binned distributions ------------------------------------------------- */

/* Total variation 1/2 sum |c_i/n - q_i| of counts c (n = their sum) against probabilities q. */
double lz_tv_counts(const uint64_t *c, const double *q, int64_t bins);
/* KL(c/n || q), summing over bins with c_i > 0 (0 log 0 = 0); +inf if such a bin has q_i = 0. */
double lz_kl_counts(const uint64_t *c, const double *q, int64_t bins);
/* Wasserstein-1 of two binned distributions on equal bins of width w: w sum |C_i - Q_i| over
 * the cumulative sums. */
double lz_w1_counts(const uint64_t *c, const double *q, int64_t bins, double w);
/* TV between two count vectors (each normalized by its own sum). NaN if either is empty. */
double lz_tv_between_counts(const uint64_t *a, const uint64_t *b, int64_t bins);

/* ---- sampling -------------------------------------------------------------------------------- */

/* Raw sums of one chain's sampling, enough to finish its measurements and to pool chains by
 * adding them up. */
typedef struct lz_im_sums {
  int64_t samples, outside;
  double sum_f0;
  double sum[LZ_IM_MAX_COORDS], sum_sq[LZ_IM_MAX_COORDS];
  int64_t transitions;
  int64_t well_count[1 << LZ_WELLS_MAX_DIM];  /* samples per well (dimension <= 4) */
} lz_im_sums;

/* Samples the invariant measure of every run of a tile whose main run ended in bounds
 * (converged or at max_iter): GD goes on from its final state (final_states, count x dim) for
 * burn_in steps, then `samples` iterates are counted into the tile's HIST, HIST_HALF1, HIST2D
 * and HIST_OBS rows and into sums[i]. Multiscale problems of dimension 1 or 2 run as blocks of
 * 64 chains with vector cos from glibc's libmvec; every chain is computed by the same code
 * whatever its block or lane, so results do not depend on the thread count. Other problems
 * step each chain with the objective's gradient. Returns LZ_ESTOPPED when cancelled. */
int lz_sample_tile(const lz_job *job, const lz_problem *p, lz_tile_result *tr,
                   const double *final_states, lz_im_sums *sums,
                   const volatile sig_atomic_t *cancel);

/* Bytes each sampling thread allocates for instance pp (0 when the job does not sample). */
double lz_sample_thread_bytes(const lz_job *job, const lz_problem_params *pp);

/* From the sums and the histograms of a run or of a pooled point of instance p (hist: ncoords x
 * bins; half1, hist2d as in results.h; NULL where absent), fills im and the Gibbs, wells and
 * moments rows (NULL where absent). h: the step size (0: pooled over different h, so no Gibbs
 * comparison). */
void lz_im_finish(const lz_job *job, const lz_problem *p, double h, const lz_im_sums *sums,
                  const uint64_t *hist, const uint64_t *half1, const uint64_t *hist2d,
                  lz_im_result *im, double *gibbs, double *gibbs2d, double *wells,
                  double *moments);

/* Recovers a run's sums from what the file holds (its im fields, wells and moments rows), so
 * that pooled points can be computed after the fact by adding sums. */
void lz_im_sums_from_result(const lz_job *job, const lz_im_result *im, const double *wells,
                            const double *moments, lz_im_sums *sums);
/* sums += other */
void lz_im_sums_add(lz_im_sums *sums, const lz_im_sums *other);

#endif
