/* The mf kind in the job file: its activation and target sub-maps, and the shape of X, Y. */
#include "../parser.h"
#include "kinds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N, D, ACTIVATION, TARGET };
static const key_spec keys[] = {
  [N] = {.name = "n", .type = T_SWEEP, .flags = F_REQUIRED | F_INTEGER | F_ALWAYS_AXIS,
         .check = C_POSITIVE, .slot = S_N, .offset = OFF(problem.mf.n),
         .help = "the target matrix is n x n"},
  [D] = {.name = "d", .type = T_SWEEP, .flags = F_REQUIRED | F_INTEGER | F_ALWAYS_AXIS,
         .check = C_POSITIVE, .slot = S_D, .offset = OFF(problem.mf.d),
         .help = "the factors X and Y are n x d"},
  [ACTIVATION] = {.name = "activation", .type = T_SPECIAL},
  [TARGET] = {.name = "target", .type = T_SPECIAL},
};

enum { ACT_KIND, ACT_ALPHA, ACT_COUNT };
enum {
  TGT_KIND, TGT_SCALE, TGT_MU, TGT_SINGULAR_VALUES, TGT_RANK, TGT_PATH, TGT_DATASET, TGT_COUNT
};
_Static_assert(TGT_COUNT <= MAX_SECTION_KEYS, "section_read holds MAX_SECTION_KEYS keys");

static const key_spec activation_keys[ACT_COUNT] = {
  [ACT_KIND] = {.name = "kind", .type = T_CHOICE, .flags = F_REQUIRED,
                .names = lz_activation_names, .slot = S_ACTIVATION,
                .offset = OFF(problem.mf.activation), .label = "activation kind",
                .help = "none, relu or leaky_relu, or a list of them"},
  [ACT_ALPHA] = {.name = "alpha", .type = T_SWEEP, .check = C_OPEN_UNIT, .dflt = 0.01,
                 .slot = S_ALPHA, .offset = OFF(problem.mf.alpha)},
};
static const section activation_section = {"problem.activation", "in problem.activation",
                                        activation_keys, ACT_COUNT, NULL};
/* The short form "activation: relu" (or a list) is the kind alone. */
static const key_spec activation_name_key = {
  .name = "activation", .type = T_CHOICE, .names = lz_activation_names, .slot = S_ACTIVATION,
  .offset = OFF(problem.mf.activation)};

#define GAUSSIAN_TARGET LZ_KIND_BIT(LZ_TARGET_GAUSSIAN)
#define SCALAR_TARGET LZ_KIND_BIT(LZ_TARGET_SCALAR)
#define LOWRANK_TARGET LZ_KIND_BIT(LZ_TARGET_LOWRANK)
#define FILE_TARGET LZ_KIND_BIT(LZ_TARGET_FILE)

static const key_spec target_keys[TGT_COUNT] = {
  [TGT_KIND] = {.name = "kind", .type = T_NAME, .flags = F_REQUIRED,
                .names = lz_target_kind_names, .label = "target kind"},
  [TGT_SCALE] = {.name = "scale", .type = T_SWEEP, .kinds = GAUSSIAN_TARGET, .check = C_POSITIVE,
                 .dflt = 1.0, .slot = S_TARGET_SCALE, .offset = OFF(problem.mf.target.scale),
                 .label = "target scale"},
  [TGT_MU] = {.name = "mu", .type = T_SWEEP, .kinds = SCALAR_TARGET, .flags = F_REQUIRED,
              .check = C_FINITE, .slot = S_MU, .offset = OFF(problem.mf.target.mu),
              .help = "the scalar target of (mu - x y)^2 / 2"},
  [TGT_SINGULAR_VALUES] = {.name = "singular_values", .type = T_VECTOR, .kinds = LOWRANK_TARGET,
                           .flags = F_REQUIRED, .check = C_POSITIVE, .slot = S_SINGULAR_VALUES,
                           .offset = OFF(problem.mf.target.singular_values),
                           .help = "the target's nonzero singular values, a list of numbers > 0"},
  [TGT_RANK] = {.name = "rank", .type = T_SPECIAL, .kinds = LOWRANK_TARGET, .check = C_POSITIVE},
  [TGT_PATH] = {.name = "path", .type = T_STRING, .kinds = FILE_TARGET, .flags = F_REQUIRED,
                .offset = OFF(problem.mf.target.path), .label = "target path",
                .help = "the HDF5 file holding the target matrix"},
  [TGT_DATASET] = {.name = "dataset", .type = T_STRING, .kinds = FILE_TARGET, .flags = F_REQUIRED,
                   .offset = OFF(problem.mf.target.dataset), .label = "target dataset",
                   .help = "the n x n dataset inside the target file"},
};
static const section target_section = {"problem.target", "in problem.target", target_keys,
                                       TGT_COUNT, lz_target_kind_names};


static void read_activation(parser *p, const yaml_node_t *n) {
  lz_job *job = p->job;
  job->problem.mf.activation = (lz_param){-1, LZ_ACT_NONE, {0, 0}};
  job->problem.mf.alpha = (lz_param){-1, 0.01, {0, 0}};
  if (!n) return;
  if (!cfg_is_map(n)) {
    cfg_read_choice(p, n, &activation_name_key, &job->problem.mf.activation);
    return;
  }
  section_read r;
  cfg_read_section(p, &activation_section, n, &r);
  if (r.node[ACT_ALPHA] && r.ok[ACT_ALPHA] && r.ok[ACT_KIND] &&
      !cfg_param_takes(p, &job->problem.mf.activation, LZ_ACT_LEAKY_RELU)) {
    cfg_report(p, job->problem.mf.alpha.mark,
               "alpha is the slope of leaky_relu, but activation kind has "
               "no leaky_relu; remove alpha or use kind leaky_relu");
  }
}

/* The 1 x 1 problem (mu - x y)^2 / 2 has n = d = 1 by definition. */
static void check_scalar_target_shape(parser *p, const section_read *prob) {
  const lz_param *dims[2] = {&p->job->problem.mf.n, &p->job->problem.mf.d};
  const char *names[2] = {"n", "d"};
  for (int i = 0; i < 2; ++i) {
    char got[128];
    if (!prob->ok[i == 0 ? N : D]) continue;
    if (cfg_param_is_single(p, dims[i]) && dims[i]->value == 1) continue;
    cfg_report(p, dims[i]->mark,
               "a scalar target is the 1 x 1 problem (mu - x y)^2 / 2, so %s must be 1; "
               "got %s = %s",
               names[i], names[i], cfg_param_text(p, dims[i], got, sizeof got));
  }
}

static void read_rank(parser *p, const section_read *r, const section_read *prob) {
  lz_job *job = p->job;
  lz_vparam *sv = &job->problem.mf.target.singular_values;
  const yaml_node_t *rank_node = r->node[TGT_RANK];
  int64_t rank = (int64_t)sv->len;
  bool ok = r->ok[TGT_SINGULAR_VALUES];
  if (rank_node) {
    ok = cfg_read_int(p, rank_node, &target_keys[TGT_RANK], &rank) && ok;
    if (ok && rank != (int64_t)sv->len) {
      cfg_report(p, cfg_mark_of(rank_node),
                 "rank must equal the number of singular_values (%zu), got %lld", sv->len,
                 (long long)rank);
      ok = false;
    }
  }
  lz_mark at = rank_node ? cfg_mark_of(rank_node) : sv->mark;
  job->problem.mf.target.rank = (lz_param){-1, (double)rank, at};
  if (!ok || !prob->ok[N]) return;
  size_t len;
  const double *n = cfg_param_values(p, &job->problem.mf.n, &len);
  for (size_t i = 0; i < len; ++i)
    if ((double)rank > n[i]) {
      cfg_report(p, at,
                 "a lowrank target needs rank <= n for every n, but rank is %lld and n can be "
                 "%.0f",
                 (long long)rank, n[i]);
      return;
    }
}

static void read_file_target(parser *p, const section_read *r, const section_read *prob) {
  lz_param *n = &p->job->problem.mf.n;
  if (r->ok[TGT_PATH]) cfg_resolve_next_to_job(p, &p->job->problem.mf.target.path);
  if (prob->ok[N] && !cfg_param_is_single(p, n)) {
    char got[128];
    cfg_report(p, n->mark,
               "a file target is one fixed n x n matrix, so n must be a single value; got %s",
               cfg_param_text(p, n, got, sizeof got));
  }
}

static void read_target(parser *p, const yaml_node_t *n, const section_read *prob) {
  lz_job *job = p->job;
  job->problem.mf.target.kind = LZ_TARGET_GAUSSIAN;
  job->problem.mf.target.scale = (lz_param){-1, 1.0, {0, 0}};
  job->problem.mf.target.mark = n ? cfg_mark_of(n) : job->problem.mark;
  if (!n) return;
  section_read r;
  if (!cfg_read_section(p, &target_section, n, &r)) return;
  job->problem.mf.target.kind = (lz_target_kind)r.kind;
  switch (job->problem.mf.target.kind) {
    case LZ_TARGET_SCALAR: check_scalar_target_shape(p, prob); break;
    case LZ_TARGET_LOWRANK: read_rank(p, &r, prob); break;
    case LZ_TARGET_FILE: read_file_target(p, &r, prob); break;
    default: break;
  }
}

/* 2 n d, the descriptor's formula (src/core/problems/mf/kind.c), counted in double: n and d
 * may each be up to 2^53 here, before the job's size is checked, where the descriptor's int64
 * product would overflow (the fuzzer found it). Both the fixed dimension and the smallest one
 * over the sweep come from here. */
static double mf_state_dim(double n, double d) { return 2.0 * n * d; }
static void settle_mf(parser *p, const section_read *r) {
  lz_job *job = p->job;
  read_activation(p, r->node[ACTIVATION]);
  read_target(p, r->node[TARGET], r);
  if (!r->ok[N] || !r->ok[D]) return;
  p->shape.known = true;
  p->shape.fixed =
      cfg_param_is_single(p, &job->problem.mf.n) && cfg_param_is_single(p, &job->problem.mf.d);
  char vals[96];
  if (p->shape.fixed) {
    p->shape.dim = mf_state_dim(job->problem.mf.n.value, job->problem.mf.d.value);
    snprintf(p->shape.how, sizeof p->shape.how, "mf: 2*n*d = 2*%.0f*%.0f, X row-major then Y",
             job->problem.mf.n.value, job->problem.mf.d.value);
  } else {
    const lz_param *swept =
        cfg_param_is_single(p, &job->problem.mf.n) ? &job->problem.mf.d : &job->problem.mf.n;
    snprintf(p->shape.how, sizeof p->shape.how, "%s is swept (%s at line %d), so 2*n*d varies",
             swept == &job->problem.mf.n ? "n" : "d", cfg_param_text(p, swept, vals, sizeof vals),
             swept->mark.line);
  }
}

static double min_state_dim(const parser *p) {
  const lz_mf_job *mf = &p->job->problem.mf;
  return mf_state_dim(cfg_param_min(p, &mf->n), cfg_param_min(p, &mf->d));
}

const cfg_kind cfg_kind_mf = {keys, CFG_KEY_COUNT(keys), settle_mf, min_state_dim};
