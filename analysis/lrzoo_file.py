"""Reading lrzoo HDF5 files (read-only). Shared by the plotting scripts and the tests."""
import h5py
import numpy as np

STATUS_NAMES = ["not_run", "converged", "periodic", "chaotic", "diverged", "undetermined"]
STATUS_COLORS = ["#bbbbbb", "#2a9d8f", "#e9c46a", "#9b5de5", "#e76f51", "#577590"]


class Run:
    """The /axes and /runs groups of one file as NumPy arrays."""

    def __init__(self, path):
        with h5py.File(path, "r") as f:
            self.attrs = {k: _text(v) for k, v in f.attrs.items()}
            self.axes = {k: f["axes"][k][()] for k in f["axes"]}
            self.axis_attrs = {k: {a: _text(v) for a, v in f["axes"][k].attrs.items()}
                               for k in f["axes"]}
            datasets = [k for k in f["runs"] if isinstance(f["runs"][k], h5py.Dataset)]
            self.runs = {k: f["runs"][k][()] for k in datasets}
            # mlp jobs: the fitted points x, y and their weights
            self.data = {k: f["data"][k][()] for k in f["data"]} if "data" in f else {}
            self.runs_attrs = {k: {a: _text(v) for a, v in f["runs"][k].attrs.items()
                                   if not a.startswith("DIMENSION")} for k in datasets}
            # /runs/trace/<name> with its step scale /runs/trace/<name>_step
            self.trace, self.trace_steps_of = {}, {}
            if "trace" in f["runs"]:
                g = f["runs/trace"]
                for k in g:
                    if k.endswith("_step"):
                        self.trace_steps_of[k[:-5]] = g[k][()]
                    else:
                        self.trace[k] = g[k][()]
            self.done = f["tiles/done"][()]
            # /pooled: the invariant measure added up over each sweep point's replicas
            self.pooled = {}
            if "pooled" in f and int(f["pooled/done"][()].ravel()[0]) == 1:
                self.pooled = {k: f["pooled"][k][()] for k in f["pooled"]
                               if isinstance(f["pooled"][k], h5py.Dataset)}
        self.status = self.runs["status"]

    @property
    def name(self):
        return self.attrs.get("job_name", "lrzoo")

    @property
    def lr_is_relative(self):
        return self.runs_attrs["lr"].get("relative_to") == "two_over_L"

    def axis_names(self, group=None):
        return [k for k in self.axes if group is None or self.axis_attrs[k].get("group") == group]

    def labels(self, axis):
        """Names of a choice axis, by code."""
        raw = self.axis_attrs[axis].get("labels_by_code")
        if raw is None:
            return None
        return raw if isinstance(raw, list) else [s.strip() for s in str(raw).split(",")]


def _text(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray) and v.dtype.kind in "SO":
        return [x.decode() if isinstance(x, bytes) else str(x) for x in v]
    return v
