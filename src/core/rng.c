#include "lrzoo/rng.h"

#include <math.h>

#include <Random123/philox.h>
#include <Random123/u01fixedpt.h>

void lz_rng_init(lz_rng *rng, uint64_t seed, lz_rng_purpose purpose, uint64_t i0, uint64_t i1) {
  rng->key[0] = seed;
  rng->key[1] = (uint64_t)purpose;
  rng->ctr[0] = i0;
  rng->ctr[1] = i1;
  rng->ctr[2] = 0;  /* block counter */
  rng->ctr[3] = 0;
  rng->avail = 0;
}

static void refill(lz_rng *rng) {
  philox4x64_ctr_t c = {{rng->ctr[0], rng->ctr[1], rng->ctr[2], rng->ctr[3]}};
  philox4x64_key_t k = {{rng->key[0], rng->key[1]}};
  philox4x64_ctr_t r = philox4x64(c, k);
  for (int i = 0; i < 4; ++i) rng->out[i] = r.v[i];
  rng->ctr[2] += 1;
  if (rng->ctr[2] == 0) rng->ctr[3] += 1;
  rng->avail = 4;
}

/* A normal takes two words and a block holds four, so normal k starts at word 2k: in block
 * k / 2, at its start or its middle. */
void lz_rng_init_at_normal(lz_rng *rng, uint64_t seed, lz_rng_purpose purpose, uint64_t i0,
                           uint64_t i1, uint64_t skip) {
  lz_rng_init(rng, seed, purpose, i0, i1);
  rng->ctr[2] = skip / 2;
  if (skip % 2) {
    refill(rng);
    rng->avail = 2;
  }
}

uint64_t lz_rng_u64(lz_rng *rng) {
  if (rng->avail == 0) refill(rng);
  return rng->out[4 - rng->avail--];
}

double lz_rng_uniform(lz_rng *rng) { return u01fixedpt_open_open_64_double(lz_rng_u64(rng)); }

double lz_rng_normal(lz_rng *rng) {
  /* Box-Muller, keeping only the cosine branch: one normal per two uniforms keeps the k-th
   * normal a function of k alone, whatever was drawn in between. */
  const double two_pi = 6.283185307179586476925286766559;
  double u1 = lz_rng_uniform(rng);
  double u2 = lz_rng_uniform(rng);
  return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}
