/* The communicator handle that src/sched owns and src/io passes to HDF5's MPI-IO driver.
 * Only src/sched calls MPI; io never does more than hand these fields to HDF5. */
#ifndef LRZOO_COMM_H
#define LRZOO_COMM_H

#include <mpi.h>

typedef struct lz_comm {
  MPI_Comm comm;
  MPI_Info info;
  int rank;
  int size;
} lz_comm;

#endif
