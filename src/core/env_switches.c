#include "lrzoo/env_switches.h"

#include <stdlib.h>
#include <string.h>

static const char *const mf_products_values[] = {"", "own", "blas", NULL};

const lz_env_switch lz_env_switches[LZ_ENV_SWITCH_COUNT] = {
    [LZ_ENV_MF_PRODUCTS] = {"LRZOO_MF_PRODUCTS",
                            "matrix factorization's products: own (the default) or blas, whose "
                            "rounding differs (read by src/core/problems/mf/objective.c)",
                            mf_products_values, "own (the default) or blas"},
    [LZ_ENV_OMP_NUM_THREADS] = {"OMP_NUM_THREADS",
                                "threads per rank when --threads is not given (read by "
                                "src/sched/sched.c)"},
    [LZ_ENV_OMPI_PML] = {"OMPI_MCA_pml",
                         "Open MPI's messaging layer: a run without a launcher sets ob1 unless "
                         "the user did (src/sched/sched.c)"},
    [LZ_ENV_OMPI_SINGLETON_ISOLATED] = {"OMPI_MCA_ess_singleton_isolated",
                                        "a run without a launcher sets 1 unless the user did: "
                                        "no orted daemon (src/sched/sched.c)"},
    [LZ_ENV_SKIP_SPACE_CHECK] = {"LZ_TEST_SKIP_SPACE_CHECK",
                                 "test hook: 1 skips the free-space and file-size checks before "
                                 "the file is created (src/io/space.c)"},
};

char *lz_env_switches_text(void) {
  size_t size = 1;
  for (int i = 0; i < LZ_ENV_SWITCH_COUNT; ++i) {
    const char *value = getenv(lz_env_switches[i].name);
    if (value) size += strlen(lz_env_switches[i].name) + strlen(value) + 2;
  }
  char *text = malloc(size);
  if (!text) return NULL;
  text[0] = '\0';
  for (int i = 0; i < LZ_ENV_SWITCH_COUNT; ++i) {
    const char *value = getenv(lz_env_switches[i].name);
    if (!value) continue;
    strcat(text, lz_env_switches[i].name);
    strcat(text, "=");
    strcat(text, value);
    strcat(text, "\n");
  }
  return text;
}

static int is_allowed(const lz_env_switch *sw, const char *value) {
  for (const char *const *v = sw->allowed; *v; ++v)
    if (strcmp(*v, value) == 0) return 1;
  return 0;
}

int lz_env_switches_check(lz_err *err) {
  for (int i = 0; i < LZ_ENV_SWITCH_COUNT; ++i) {
    const lz_env_switch *sw = &lz_env_switches[i];
    const char *value = getenv(sw->name);
    if (value && sw->allowed && !is_allowed(sw, value))
      return lz_err_set(err, LZ_EJOB, "the environment variable %s is \"%s\"; allowed: %s",
                        sw->name, value, sw->allowed_text);
  }
  return LZ_OK;
}
