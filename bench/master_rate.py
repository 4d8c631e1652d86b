#!/usr/bin/python3
"""How fast the master hands out tiles: 20000 empty tiles (bench/jobs/empty.yaml) on 1, 2 and 3
ranks, tiles per second end to end (including each tile's HDF5 writes), and the master's own time
per tile handed out, which bounds how many workers one master can keep busy. That time is also
measured while the master computes real tiles (bench/jobs/compute.yaml), where its caches are
cold; the estimate uses the larger of the two.

usage: /usr/bin/python3 bench/master_rate.py [BUILD_DIR] [TYPICAL_TILE_SECONDS]"""
import os
import sys

from common import lrzoo_binary, master_cost_us, timed_run

build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "build")
tile_seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
lrzoo = lrzoo_binary(build)
tiles = 20000
print(f"{tiles} empty tiles (one GD step each; each tile still writes its results and its done flag)")
print(f"{'ranks':>5} {'seconds':>8} {'tiles/s':>9} {'master us/tile':>15}")
worst = 0.0
for ranks in (1, 2, 3):
    secs, err = timed_run(lrzoo, "empty.yaml", ranks, 1)
    handed, us = master_cost_us(err)
    worst = max(worst, us if handed else 0.0)
    print(f"{ranks:5d} {secs:8.2f} {tiles / secs:9.0f} {us if handed else float('nan'):15.2f}")
for ranks in (2, 3):
    secs, err = timed_run(lrzoo, "compute.yaml", ranks, 1)
    handed, us = master_cost_us(err)
    worst = max(worst, us)
    print(f"compute.yaml on {ranks} ranks: master spent {us:.2f} us per tile on {handed} tiles")
print(f"With {worst:.1f} us of master time per tile, one master keeps about "
      f"{tile_seconds / (worst * 1e-6):.0f} workers busy when a tile takes {tile_seconds:g} s "
      f"(workers = tile time / master time per tile).")
