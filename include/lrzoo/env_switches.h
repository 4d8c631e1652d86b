/* The environment variables that change what lrzoo computes or how it runs: the one list of
 * them, which every output file records (the root attribute `environment`).
 *
 * A variable read or set anywhere in src/ that can change a result, or the way it is computed,
 * belongs here, and the code that reads it takes its name from here:
 * getenv(lz_env_switches[LZ_ENV_MF_PRODUCTS].name). */
#ifndef LRZOO_ENV_SWITCHES_H
#define LRZOO_ENV_SWITCHES_H

#include "lrzoo/error.h"

typedef enum lz_env_switch_id {
  LZ_ENV_MF_PRODUCTS,
  LZ_ENV_OMP_NUM_THREADS,
  LZ_ENV_OMPI_PML,
  LZ_ENV_OMPI_SINGLETON_ISOLATED,
  LZ_ENV_SKIP_SPACE_CHECK,
  LZ_ENV_SWITCH_COUNT
} lz_env_switch_id;

typedef struct lz_env_switch {
  const char *name;
  const char *effect;      /* one line, for docs and messages */
  /* The values lrzoo accepts, ended by NULL, and how to say them; NULL: any value (the
   * variable belongs to another library, which checks it). */
  const char *const *allowed;
  const char *allowed_text;
} lz_env_switch;

/* In the order the file records them. */
extern const lz_env_switch lz_env_switches[LZ_ENV_SWITCH_COUNT];

/* "NAME=value\n" for each switch set in this process's environment, in the order of the list;
 * "" when none is (a switch set to the empty string is set, and says so). Allocated (free it);
 * NULL when out of memory. */
char *lz_env_switches_text(void);

/* LZ_OK, or LZ_EJOB with a message in err naming the first switch set to a value lrzoo does not
 * accept, and what it accepts: checked before anything is written, like the job file. */
int lz_env_switches_check(lz_err *err);

#endif
