#include "lrzoo/results.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const char *const lz_status_names[LZ_STATUS_COUNT] = {"not_run",  "converged", "periodic",
                                                      "chaotic",  "diverged",  "undetermined"};

#define ALL_KINDS (LZ_KIND_BIT(LZ_PROBLEM_QUADRATIC) | LZ_KIND_BIT(LZ_PROBLEM_MF) | \
                   LZ_KIND_BIT(LZ_PROBLEM_MULTISCALE))
#define MF_ONLY LZ_KIND_BIT(LZ_PROBLEM_MF)
#define MULTISCALE_ONLY LZ_KIND_BIT(LZ_PROBLEM_MULTISCALE)
#define F(member) offsetof(lz_run_result, member)

static const lz_field fields[] = {
    {"status", LZ_DT_INT8, F(status), "",
     "0 not run, 1 converged, 2 periodic, 3 chaotic, 4 diverged, 5 undetermined", ALL_KINDS},
    {"iterations", LZ_DT_INT64, F(iterations), "steps",
     "GD steps taken; for diverged runs, the step k at which x_k left the bounded region",
     ALL_KINDS},
    {"h", LZ_DT_DOUBLE, F(h), "",
     "step size used (the lr coordinate times 2/sharpness_init when lr is relative)", ALL_KINDS},
    {"loss", LZ_DT_DOUBLE, F(loss), "",
     "f at the final state; for diverged runs, at the last iterate inside the bounded region",
     ALL_KINDS},
    {"grad_norm", LZ_DT_DOUBLE, F(grad_norm), "", "||grad f|| at the final state", ALL_KINDS},
    {"f0_loss", LZ_DT_DOUBLE, F(f0), "", "slow part f0 of the objective at the final state",
     MULTISCALE_ONLY},
    {"sharpness_init", LZ_DT_DOUBLE, F(sharpness_init), "",
     "L: largest Hessian eigenvalue at the initial point (Lanczos)", ALL_KINDS},
    {"norm_x", LZ_DT_DOUBLE, F(norm_x), "",
     "||X||_F at the final state (for quadratic and multiscale: ||x||)", ALL_KINDS},
    {"norm_y", LZ_DT_DOUBLE, F(norm_y), "", "||Y||_F at the final state", MF_ONLY},
    {"balance", LZ_DT_DOUBLE, F(balance), "", "||X^T X - Y^T Y||_F at the final state", MF_ONLY},
    {"scalar_gap", LZ_DT_DOUBLE, F(scalar_gap), "",
     "|x - y| at the final state (n = d = 1; else 0)", MF_ONLY},
    {"trace_len", LZ_DT_INT64, F(trace_len), "records",
     "number of valid entries in this run's row of /runs/trace/*", ALL_KINDS},
};

const lz_field *lz_run_fields(size_t *count) {
  *count = sizeof fields / sizeof fields[0];
  return fields;
}

const lz_trace_desc lz_trace_descs[LZ_TRACE_COUNT] = {
    {"loss", "", "f(x_k) at k = 0, record_every, 2 record_every, ...; entries past trace_len "
                 "are the fill value NaN (not recorded: the run had ended)"},
};

int lz_tile_result_alloc(lz_tile_result *tr, int64_t max_runs, int64_t trace_len, lz_err *err) {
  memset(tr, 0, sizeof *tr);
  tr->trace_len = trace_len;
  tr->runs = calloc((size_t)max_runs, sizeof *tr->runs);
  int ok = tr->runs != NULL;
  for (int t = 0; t < LZ_TRACE_COUNT && ok; ++t) {
    tr->trace[t] = malloc((size_t)max_runs * (size_t)trace_len * sizeof(double));
    ok = tr->trace[t] != NULL;
  }
  if (!ok) {
    lz_tile_result_free(tr);
    return lz_err_set(err, LZ_ENOMEM, "cannot allocate results for a tile of %lld runs x %lld "
                      "trace records", (long long)max_runs, (long long)trace_len);
  }
  return LZ_OK;
}

void lz_tile_result_free(lz_tile_result *tr) {
  if (!tr) return;
  free(tr->runs);
  for (int t = 0; t < LZ_TRACE_COUNT; ++t) free(tr->trace[t]);
  memset(tr, 0, sizeof *tr);
}
