/* cos, sin and tanh for vectors of doubles, and the same functions for one double.
 *
 * lrzoo steps the multiscale objectives both one run at a time and many runs at once (the
 * lanes engine, the invariant-measure sampler). The per-run results must agree to the bit with
 * the vector ones, and glibc's libm cos and its vector libmvec cos differ in the last bit. So
 * the scalar functions here are the vector ones: the argument goes into every element of a
 * vector, and element 0 of the vector result is the answer. libmvec computes each element on
 * its own (elements it cannot handle go to libm's scalar cos one by one), so an element's
 * result does not depend on its neighbours (tests/test_objectives.c checks this).
 *
 * The width is the widest the build's -march allows: 8 with AVX-512, 4 with AVX2; without
 * AVX2 a "vector" is one double and libm does the work, which keeps the same guarantee. Every
 * file of one build sees the same width, so they all share one set of roundings. libmvec's
 * documented error is at most 4 ulp (glibc manual, "Errors in Math Functions"). tanh entered
 * libmvec with glibc 2.35 (Debian 12 has 2.36); the mlp objective uses it. */
#ifndef LZ_VMATH_H
#define LZ_VMATH_H

#include <math.h>
#include <stdint.h>

#if defined(__AVX512F__)
#define LZ_VW 8
typedef double lz_vd __attribute__((vector_size(64)));
typedef int64_t lz_vi __attribute__((vector_size(64)));
lz_vd _ZGVeN8v_cos(lz_vd);
lz_vd _ZGVeN8v_sin(lz_vd);
lz_vd _ZGVeN8v_tanh(lz_vd);
static inline lz_vd lz_vcos(lz_vd x) { return _ZGVeN8v_cos(x); }
static inline lz_vd lz_vsin(lz_vd x) { return _ZGVeN8v_sin(x); }
static inline lz_vd lz_vtanh(lz_vd x) { return _ZGVeN8v_tanh(x); }
#elif defined(__AVX2__)
#define LZ_VW 4
typedef double lz_vd __attribute__((vector_size(32)));
typedef int64_t lz_vi __attribute__((vector_size(32)));
lz_vd _ZGVdN4v_cos(lz_vd);
lz_vd _ZGVdN4v_sin(lz_vd);
lz_vd _ZGVdN4v_tanh(lz_vd);
static inline lz_vd lz_vcos(lz_vd x) { return _ZGVdN4v_cos(x); }
static inline lz_vd lz_vsin(lz_vd x) { return _ZGVdN4v_sin(x); }
static inline lz_vd lz_vtanh(lz_vd x) { return _ZGVdN4v_tanh(x); }
#else
#define LZ_VW 1
typedef double lz_vd __attribute__((vector_size(8)));
typedef int64_t lz_vi __attribute__((vector_size(8)));
static inline lz_vd lz_vcos(lz_vd x) { lz_vd r = {cos(x[0])}; return r; }
static inline lz_vd lz_vsin(lz_vd x) { lz_vd r = {sin(x[0])}; return r; }
static inline lz_vd lz_vtanh(lz_vd x) { lz_vd r = {tanh(x[0])}; return r; }
#endif

static inline lz_vd lz_vsplat(double a) { return (lz_vd){0} + a; }
static inline double lz_cos(double x) { return lz_vcos(lz_vsplat(x))[0]; }
static inline double lz_sin(double x) { return lz_vsin(lz_vsplat(x))[0]; }
static inline double lz_tanh(double x) { return lz_vtanh(lz_vsplat(x))[0]; }

#endif
