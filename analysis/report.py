#!/usr/bin/python3
"""Draws every figure that lrzoo output files have data for, and one index.html that shows them
with a caption each and a table of the run statuses per file. Reads the files through h5py only,
and never writes to them.

usage: /usr/bin/python3 analysis/report.py OUT.h5 [MORE.h5 ...] [-o DIR]

DIR defaults to OUT_report next to the first file. Each file's figures go to DIR/<file stem>/;
DIR/report.json holds, for every figure drawn, the numbers behind it (tests check their physics).
Exit codes: 0 done; 2 a file cannot be read, or no file has data for any figure."""
import argparse
import html
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from figures import FIGURES, Missing  # noqa: E402
from lrzoo_file import STATUS_NAMES, Run  # noqa: E402

import numpy as np  # noqa: E402


def status_table(run):
    counts = np.bincount(run.status, minlength=len(STATUS_NAMES))
    head = "".join(f"<th>{n}</th>" for n in STATUS_NAMES)
    row = "".join(f"<td>{c}</td>" for c in counts)
    done = int(run.done.sum())
    return (f"<table><tr><th>runs</th>{head}<th>tiles done</th></tr>"
            f"<tr><td>{run.status.size}</td>{row}<td>{done} of {run.done.size}</td></tr></table>")


def job_comment(run):
    """The leading comment of the job file: what the job is for, in its author's words."""
    text = run.attrs.get("job_yaml", "")
    lines = []
    for line in str(text).splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").rstrip())
    return " ".join(lines)


def report_file(path, out_dir):
    try:
        run = Run(path)
    except (OSError, KeyError) as e:
        print(f"report.py: cannot read {path} as an lrzoo output file: {e}", file=sys.stderr)
        sys.exit(2)
    os.makedirs(out_dir, exist_ok=True)
    drawn, skipped = [], {}
    for name, fig in FIGURES.items():
        try:
            drawn.append((name, fig(run, out_dir)))
        except Missing as e:
            skipped[name] = str(e)
    return run, drawn, skipped


def main(argv):
    # lrzoo-report, the installed entry point, names itself (man lrzoo-report)
    ap = argparse.ArgumentParser(prog=os.environ.get("LRZOO_REPORT_PROG"),
                                 description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", metavar="OUT.h5")
    ap.add_argument("-o", "--out", metavar="DIR")
    a = ap.parse_args(argv[1:])
    out = a.out or os.path.splitext(a.files[0])[0] + "_report"
    os.makedirs(out, exist_ok=True)
    sections, numbers, any_figure = [], {}, False
    for path in a.files:
        stem = os.path.splitext(os.path.basename(path))[0]
        run, drawn, skipped = report_file(path, os.path.join(out, stem))
        any_figure |= bool(drawn)
        numbers[stem] = {name: {"png": f"{stem}/{f.png}", "data": f.data} for name, f in drawn}
        figs = "".join(
            f'<figure><img src="{html.escape(stem)}/{html.escape(f.png)}" alt="{html.escape(f.title)}">'
            f"<figcaption><b>{html.escape(f.title)}.</b> {html.escape(f.caption)}</figcaption></figure>"
            for _, f in drawn)
        print(f"{path}: {len(drawn)} figures ({', '.join(n for n, _ in drawn) or 'none'})")
        sections.append(
            f"<section><h2>{html.escape(run.name)} <small>({html.escape(os.path.basename(path))})</small></h2>"
            f"<p>{html.escape(job_comment(run))}</p>{status_table(run)}{figs}"
            + (f"<p class=skip>Not drawn: " + "; ".join(f"{n} (needs {html.escape(w)})"
                                                       for n, w in skipped.items()) + "</p>")
            + "</section>")
    if not any_figure:
        print("report.py: no file has data for any figure", file=sys.stderr)
        return 2
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(numbers, f, indent=1, default=float)
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>lrzoo report</title>
<style>body{{font-family:sans-serif;max-width:1150px;margin:auto;padding:1em}}
figure{{margin:1.5em 0}} img{{max-width:100%;border:1px solid #ddd}}
figcaption{{max-width:900px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}} .skip{{color:#777;font-size:85%}}</style>
</head><body><h1>lrzoo report</h1>
<p>Files: {", ".join(html.escape(p) for p in a.files)}. Status: converged (‖∇f‖ below tol_grad),
periodic (the orbit repeats; smallest period), chaotic (bounded, largest Lyapunov exponent above
the threshold), diverged, undetermined.</p>
{"".join(sections)}
</body></html>
"""
    with open(os.path.join(out, "index.html"), "w") as f:
        f.write(page)
    print(f"report: {os.path.join(out, 'index.html')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
