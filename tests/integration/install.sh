#!/bin/bash
# lrzoo installed as a site installs it: cmake --install into a temporary prefix, loaded with
# Debian's Lmod (module use, module load lrzoo) in a clean environment, then an example job run
# from a directory outside the source tree, and its report drawn by the installed
# lrzoo-report. Checks:
#   - the module puts the prefix's lrzoo and lrzoo-report first on PATH, its man pages on
#     MANPATH (man -w finds them) and the analysis scripts on PYTHONPATH; unloading removes them;
#   - the installed tree holds the example jobs, the docs and the man pages;
#   - the example job runs and its report has the same figures and numbers (report.json) as
#     analysis/report.py of the source tree draws from the same file;
#   - a moved copy of the installed tree still works (the modulefile and lrzoo-report find
#     their prefix from where they are).
# Needs Lmod (scripts/install-deps --test installs the lmod package): without it, this fails.
set -u
build=$(dirname "$LRZOO")
tmp=$(mktemp -d)
trap '[ -n "${LZ_KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail=0
check() {  # check "what" command...
  local what=$1
  shift
  if ! "$@" >>"$tmp/check.log" 2>&1; then echo "FAIL: $what"; tail -5 "$tmp/check.log"; fail=1; fi
}

lmod_init=/usr/share/lmod/lmod/init/bash
if [ ! -r "$lmod_init" ]; then
  echo "FAIL: Lmod is not installed ($lmod_init); scripts/install-deps --test installs it"
  exit 1
fi
if ! cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1; then
  echo "FAIL: cmake --install $build --prefix $tmp/prefix"; cat "$tmp/install.log"; exit 1
fi
version=$("$LRZOO" --version | awk '{print $2; exit}')
for f in bin/lrzoo bin/lrzoo-report share/man/man1/lrzoo.1 share/man/man1/lrzoo-report.1 \
         "share/modulefiles/lrzoo/$version.lua" share/lrzoo/jobs/mlp_blobs.yaml \
         share/lrzoo/jobs/quickstart/regimes.yaml share/lrzoo/analysis/report.py \
         share/doc/lrzoo/README.md share/doc/lrzoo/job-file.md; do
  check "installed tree has $f" test -s "$tmp/prefix/$f"
done

# Everything below runs in a clean environment, as a user's login shell would, outside the
# source tree; it prints KEY=VALUE lines the checks read.
use_module() {  # use_module PREFIX WORKDIR
  mkdir -p "$2"
  env -i HOME="$tmp" PATH=/usr/bin:/bin LANG=C.UTF-8 \
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 \
    bash --noprofile --norc -c '
      set -u
      . '"$lmod_init"'
      module use "$1/share/modulefiles" && module load lrzoo || exit 10
      echo "LRZOO=$(command -v lrzoo)"
      echo "REPORT=$(command -v lrzoo-report)"
      echo "MAN=$(man -w lrzoo 2>/dev/null)"
      echo "MAN_REPORT=$(man -w lrzoo-report 2>/dev/null)"
      echo "PYTHONPATH=${PYTHONPATH:-}"
      echo "JOBS=${LRZOO_JOBS:-}"
      cd "$2" || exit 11
      cp "$LRZOO_JOBS/quickstart/regimes.yaml" job.yaml || exit 12
      lrzoo run job.yaml -o out.h5 --threads 1 >run.log 2>&1 || { cat run.log; exit 13; }
      lrzoo-report out.h5 -o report >report.log 2>&1 || { cat report.log; exit 14; }
      /usr/bin/python3 -c "import lrzoo_file, figures" || exit 15
      module unload lrzoo
      echo "AFTER=$(command -v lrzoo || true)"
    ' use_module "$1" "$2"
}
value() { sed -n "s/^$1=//p" "$2"; }

check_use() {  # check_use PREFIX WORKDIR LABEL
  local prefix=$1 work=$2 label=$3 out="$tmp/$3.env"
  use_module "$prefix" "$work" >"$out" 2>&1
  local rc=$?
  if [ $rc -ne 0 ]; then echo "FAIL ($label): the module session ended with $rc:"; cat "$out"; fail=1; return; fi
  check "($label) lrzoo on PATH is the prefix's" test "$(value LRZOO "$out")" = "$prefix/bin/lrzoo"
  check "($label) lrzoo-report on PATH is the prefix's" \
    test "$(value REPORT "$out")" = "$prefix/bin/lrzoo-report"
  check "($label) man -w lrzoo finds the prefix's page" \
    test "$(value MAN "$out")" = "$prefix/share/man/man1/lrzoo.1"
  check "($label) man -w lrzoo-report finds the prefix's page" \
    test "$(value MAN_REPORT "$out")" = "$prefix/share/man/man1/lrzoo-report.1"
  check "($label) PYTHONPATH starts with the analysis scripts" \
    test "$(value PYTHONPATH "$out" | cut -d: -f1)" = "$prefix/share/lrzoo/analysis"
  check "($label) LRZOO_JOBS is the prefix's jobs" test "$(value JOBS "$out")" = "$prefix/share/lrzoo/jobs"
  check "($label) module unload removes lrzoo from PATH" test -z "$(value AFTER "$out")"
  check "($label) the example job wrote its file" test -s "$work/out.h5"
  check "($label) the report has its page" test -s "$work/report/index.html"
  check "($label) the report drew figures" \
    test -n "$(find "$work/report" -name '*.png' -size +10k | head -1)"
}

check_use "$tmp/prefix" "$tmp/work" installed
# The figures of the installed entry point are those of the source tree's report.py.
"${LZ_PYTHON:-/usr/bin/python3}" "$LZ_SOURCE_DIR/analysis/report.py" "$tmp/work/out.h5" \
  -o "$tmp/source_report" >/dev/null 2>&1
check "the installed report's report.json equals the source tree's" \
  cmp "$tmp/work/report/report.json" "$tmp/source_report/report.json"

# A copy of the tree at another prefix (as a site moving an installation) still works.
cp -a "$tmp/prefix" "$tmp/moved"
rm -rf "$tmp/prefix"
check_use "$tmp/moved" "$tmp/work_moved" moved

[ $fail -eq 0 ] && echo "install: all checks passed"
exit $fail
