/* Reading input datasets (target matrices, data points): what a file holds, said in errors.
 * Private to src/io. */
#ifndef LRZOO_IO_INPUT_DATASETS_H
#define LRZOO_IO_INPUT_DATASETS_H

#include <stddef.h>

#include <hdf5.h>

#include "lrzoo/error.h"

/* "datasets: /a, /b, ..." of the file's root, for a "no dataset" message. */
void io_list_root_datasets(hid_t file, char *buf, size_t size);
/* Whether dataset (a path from the root) names a dataset of the file. */
int io_is_dataset(hid_t file, const char *dataset);
/* LZ_OK for integer or float values, else an error naming what the dataset holds. */
int io_check_numeric(hid_t ds, const char *path, const char *dataset, lz_err *err);
/* "a scalar", "3 x 4" or "3-D (2 x 3 x 4)". */
void io_describe_shape(const hsize_t *dims, int rank, char *buf, size_t size);

#endif
