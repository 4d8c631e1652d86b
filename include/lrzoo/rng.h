/* Counter-based random numbers (Random123 Philox4x64-10).
 *
 * A stream is named by (seed, purpose, i0, i1): its numbers depend on nothing else, so a run's
 * random inputs are the same whatever rank or thread computes it and in whatever order. */
#ifndef LRZOO_RNG_H
#define LRZOO_RNG_H

#include <stdint.h>

/* Purposes keep streams for different uses apart even when their indices coincide. */
typedef enum {
  LZ_RNG_INIT = 1,     /* initial points: (i0, i1) = (replica, shape), see job.h */
  LZ_RNG_TARGET = 2,   /* target matrices: (i0, i1) = (n, 0) */
  LZ_RNG_LANCZOS = 3,  /* Lanczos start vectors: (i0, i1) = (dimension, 0) */
  LZ_RNG_TANGENT = 4,  /* Lyapunov tangent start vectors: (i0, i1) = (dimension, 0) */
  LZ_RNG_DATA = 5,     /* mlp data inputs: (i0, i1) = (points, 0) */
  LZ_RNG_TEST = 99
} lz_rng_purpose;

typedef struct lz_rng {
  uint64_t key[2];
  uint64_t ctr[4];
  uint64_t out[4];
  int avail;          /* unused words left in out */
} lz_rng;

/* Starts the stream named (seed, purpose, i0, i1) at its first number. */
void lz_rng_init(lz_rng *rng, uint64_t seed, lz_rng_purpose purpose, uint64_t i0, uint64_t i1);

/* Starts the stream at its normal number `skip` (0 is the first): the same numbers as
 * lz_rng_init and `skip` calls of lz_rng_normal, at the cost of one. A rank that holds rows
 * [r0, r1) of a matrix drawn row by row draws exactly those rows with it. */
void lz_rng_init_at_normal(lz_rng *rng, uint64_t seed, lz_rng_purpose purpose, uint64_t i0,
                           uint64_t i1, uint64_t skip);

/* Next 64 random bits. */
uint64_t lz_rng_u64(lz_rng *rng);

/* Uniform double in the open interval (0, 1). */
double lz_rng_uniform(lz_rng *rng);

/* Standard normal deviate (Box-Muller on two uniforms; no cached spare, so the k-th
 * normal of a stream is a pure function of the stream and k). */
double lz_rng_normal(lz_rng *rng);

#endif
