#!/usr/bin/python3
"""same_results.py A.h5 B.h5: exit 0 when every dataset under /runs, /tiles, /axes and /pooled
(what lrzoo computed, not when or where) is bitwise identical in both files; else prints the
datasets that differ and exits 1."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import h5py  # noqa: E402
from lrzoo_test import datasets, differences  # noqa: E402


def computed(path):
    with h5py.File(path, "r") as f:
        groups = [g for g in ("runs", "tiles", "axes", "pooled") if g in f]
    return datasets(path, groups)


a, b = computed(sys.argv[1]), computed(sys.argv[2])
diff = differences(a, b)
if diff:
    print(f"{sys.argv[1]} and {sys.argv[2]} differ in: {', '.join(diff)}")
    sys.exit(1)
print(f"{len(a)} datasets bitwise identical")
