#define _POSIX_C_SOURCE 200809L  /* gmtime_r */
#include "lrzoo/sysinfo.h"

#include <stdio.h>
#include <time.h>

/* OpenBLAS extensions, declared weak so another CBLAS still links (they are then NULL). */
extern char *openblas_get_config(void) __attribute__((weak));
extern char *openblas_get_corename(void) __attribute__((weak));
extern void openblas_set_num_threads(int) __attribute__((weak));

void lz_blas_description(char *buf, size_t len) {
  if (openblas_get_config && openblas_get_corename)
    snprintf(buf, len, "%s (kernel %s)", openblas_get_config(), openblas_get_corename());
  else
    snprintf(buf, len, "CBLAS (not OpenBLAS)");
}

/* OpenBLAS splits a large product across its own threads, and the split can change the
 * rounding (measured here: SkylakeX kernel, 2 threads, 1068 entries of a dgemm differ). lrzoo does
 * its own threading with a fixed reduction order, so every BLAS call must compute on the calling
 * thread for results to be bitwise independent of thread counts. It also keeps BLAS threads
 * from oversubscribing cores that our OpenMP threads already use. */
void lz_blas_use_one_thread(void) {
  static int done = 0;
#pragma omp critical(lz_blas_threads)
  {
    if (!done && openblas_set_num_threads) openblas_set_num_threads(1);
    done = 1;
  }
}

void lz_utc_now(char *buf, size_t len) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
