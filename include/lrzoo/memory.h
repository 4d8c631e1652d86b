/* Peak memory of one rank running a job, estimated before anything is allocated, so that a
 * job that cannot fit is refused in seconds instead of killed by the OOM killer hours later. */
#ifndef LRZOO_MEMORY_H
#define LRZOO_MEMORY_H

#include <stdint.h>

#include "lrzoo/job.h"

typedef enum {
  LZ_MEM_PROBLEM,    /* the instance (target matrix or factors), and its building buffers */
  LZ_MEM_RUNS,       /* the scratch of the runs in flight: one per thread (or one per rank) */
  LZ_MEM_RESULTS,    /* a tile's result arrays (traces, orbits, histograms), and pooling */
  LZ_MEM_SAMPLER,    /* the invariant-measure chains in flight */
  LZ_MEM_LIBRARIES,  /* MPI, HDF5, OpenBLAS and the program itself (measured, fixed) */
  LZ_MEM_PARTS
} lz_memory_part;

typedef struct lz_memory_estimate {
  double part[LZ_MEM_PARTS];  /* bytes of each part at the peak */
  double total;
  double orbit_ring;          /* bytes of LZ_MEM_RUNS that are orbit rings */
  int largest_array;          /* lz_array_id with the most bytes in LZ_MEM_RESULTS */
  double largest_array_bytes; /* its bytes there */
  int threads;                /* threads assumed to hold run scratch at once */
} lz_memory_estimate;

/* Names for messages ("problem", "run scratch", ...). */
extern const char *const lz_memory_part_names[LZ_MEM_PARTS];

/* The peak over the job's instances for a rank of `threads` OpenMP threads. Counted in doubles
 * so that absurd sizes compare as large instead of overflowing. Walks the combinations of the
 * axes that change sizes (n, d, rank, dim); beyond 10^5 of them, an upper bound. */
void lz_job_memory_estimate(const lz_job *job, int threads, lz_memory_estimate *est);

/* The part that dominates, libraries aside (ties: the earlier part). */
lz_memory_part lz_memory_largest_part(const lz_memory_estimate *est);

/* Bytes this process may use: physical memory, or less where a cgroup (SLURM's --mem, a
 * container) sets a lower limit. 0 if unknown. */
double lz_memory_available(void);

/* Parses a size such as "4G", "512M", "1.5T" or "2000000000" (bytes; K, M, G, T are powers of
 * 1024, an optional trailing B or iB is accepted). Returns 0 on success, -1 if malformed or
 * not > 0. */
int lz_memory_parse_size(const char *text, double *bytes);

#endif
