/* What an input file holds, in the words of its errors (shared by target.c and
 * data_points.c). */
#include "input_datasets.h"

#include <stdio.h>
#include <string.h>

#include "h5util.h"

/* Root-level datasets named in a "no dataset" message; more are summarised as "...". */
#define LIST_AT_MOST 10

typedef struct dataset_list {
  char text[600];
  int listed;
  int more;
} dataset_list;

static herr_t list_one_dataset(hid_t group, const char *name, const H5L_info_t *info, void *data) {
  dataset_list *l = data;
  H5O_info_t oinfo;
  if (info->type != H5L_TYPE_HARD ||
      H5Oget_info_by_name2(group, name, &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
      oinfo.type != H5O_TYPE_DATASET)
    return 0;
  if (l->listed == LIST_AT_MOST) {
    l->more = 1;
    return 1;  /* stop: enough to show what is there */
  }
  size_t used = strlen(l->text);
  used += (size_t)snprintf(l->text + used, sizeof l->text - used, "%s/", l->listed ? ", " : "");
  /* A damaged file's names are any bytes: what is not printable ASCII reaches the terminal as
   * '?', as the job parser prints a binary file's text. */
  for (const unsigned char *c = (const unsigned char *)name; *c && used + 1 < sizeof l->text; ++c)
    l->text[used++] = *c >= 0x20 && *c < 0x7f ? (char)*c : '?';
  l->text[used < sizeof l->text ? used : sizeof l->text - 1] = '\0';
  ++l->listed;
  return 0;
}

void io_list_root_datasets(hid_t file, char *buf, size_t size) {
  dataset_list l = {.text = "", .listed = 0, .more = 0};
  hsize_t at = 0;
  H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, &at, list_one_dataset, &l);
  if (l.listed == 0)
    snprintf(buf, size, "the file has no datasets at its root");
  else
    snprintf(buf, size, "datasets: %s%s", l.text, l.more ? ", ..." : "");
}

/* H5Lexists needs every link on the way to exist, so walk the path one component at a time. */
static int link_path_exists(hid_t file, const char *dataset) {
  char path[512];
  if (snprintf(path, sizeof path, "%s", dataset) >= (int)sizeof path) return 0;
  for (char *p = path + 1; ; ++p) {
    if (*p != '/' && *p != '\0') continue;
    char saved = *p;
    *p = '\0';
    if (H5Lexists(file, path, H5P_DEFAULT) <= 0) return 0;
    *p = saved;
    if (saved == '\0') return 1;
  }
}

int io_is_dataset(hid_t file, const char *dataset) {
  H5O_info_t oinfo;
  return link_path_exists(file, dataset) &&
         H5Oget_info_by_name2(file, dataset, &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 &&
         oinfo.type == H5O_TYPE_DATASET;
}

static const char *type_class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "variable-length";
    case H5T_ARRAY: return "array";
    default: return "unknown";
  }
}

int io_check_numeric(hid_t ds, const char *path, const char *dataset, lz_err *err) {
  hid_t type = H5Dget_type(ds);
  if (type < 0) return lz_h5_fail(err, "%s: dataset '%s': H5Dget_type failed", path, dataset);
  H5T_class_t c = H5Tget_class(type);
  H5Tclose(type);
  if (c != H5T_INTEGER && c != H5T_FLOAT)
    return lz_err_set(err, LZ_EHDF5, "%s: dataset '%s' holds %s values, expected numbers "
                      "(integer or float)", path, dataset, type_class_name(c));
  return LZ_OK;
}

void io_describe_shape(const hsize_t *dims, int rank, char *buf, size_t size) {
  char extents[96] = "";
  size_t used = 0;
  for (int i = 0; i < rank && used < sizeof extents; ++i)
    used += (size_t)snprintf(extents + used, sizeof extents - used, "%s%llu", i ? " x " : "",
                             (unsigned long long)dims[i]);
  if (rank == 0) snprintf(buf, size, "a scalar");
  else if (rank == 2) snprintf(buf, size, "%s", extents);
  else snprintf(buf, size, "%d-D (%s)", rank, extents);
}

