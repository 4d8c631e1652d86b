/* A team: the ranks that compute one run together (tiles.ranks_per_run = K).
 *
 * Core never calls MPI. An instance shared by a team gets these functions, and src/sched fills
 * them with MPI calls on the team's communicator. Every member makes the same calls in the
 * same order, with the same sizes: the members hold the same state, so their control flow is
 * the same. Each call returns once the data it names is in place. Nothing here reduces: sums
 * that span members are chains passed from member to member, or values gathered and added in
 * one fixed order, so a result never depends on K (see docs/design.md, "Teams"). */
#ifndef LRZOO_TEAM_H
#define LRZOO_TEAM_H

#include <stddef.h>

typedef struct lz_team {
  int rank, size;  /* this member, and K */
  void *ctx;
  /* len doubles to member rank + 1, and from member rank - 1; messages arrive in order. */
  void (*send_to_next)(void *ctx, const double *buf, size_t len);
  void (*receive_from_previous)(void *ctx, double *buf, size_t len);
  /* buf is n x w, row-major; member m holds rows [first[m], first[m + 1]) (first has size + 1
   * entries). Afterwards every member holds every row. */
  void (*gather_rows)(void *ctx, double *buf, size_t w, const size_t *first);
  /* len doubles of member root to every member. */
  void (*broadcast)(void *ctx, int root, double *buf, size_t len);
} lz_team;

#endif
