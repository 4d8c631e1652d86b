/* Facts about the running program for provenance: BLAS library and kernel, UTC time. */
#ifndef LRZOO_SYSINFO_H
#define LRZOO_SYSINFO_H

#include <stddef.h>

/* Writes e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... (kernel Haswell)" into buf. */
void lz_blas_description(char *buf, size_t len);

/* Makes the BLAS run single-threaded: lrzoo owns the threading, and a BLAS that splits work
 * by its own thread count would round differently for different counts. */
void lz_blas_use_one_thread(void);

/* Current time as ISO 8601 UTC ("2026-11-28T10:57:27Z"). */
void lz_utc_now(char *buf, size_t len);

#endif
