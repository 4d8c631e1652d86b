#!/bin/sh
# Valgrind memcheck check (CI): builds lrzoo without -march=native (valgrind cannot decode
# AVX-512) and without tests into build-valgrind (or $LZ_VALGRIND_BUILD), then runs the quickstart
# job (jobs/quickstart.yaml) as a single rank (no mpiexec: MPI singleton) with 2 OpenMP threads
# under memcheck, and `lrzoo info` on its output. Fails on any memcheck error, and on any
# definite leak, outside the third-party code of valgrind.supp and Open MPI's own suppressions.
#
# The full quickstart job takes ~35 s natively but 23 minutes under memcheck (measured on 2
# cores), so by default the job is a reduced copy made here from jobs/quickstart.yaml: the same
# problem, sizes n = 4, 16, 32, imbalances, 22 learning rates, seed and analyses, with 1 replica
# instead of 3 and max_iter 3000 instead of 100000: 132 runs that still converge, oscillate,
# diverge and stall, ~80 s under memcheck. LZ_VALGRIND_FULL=1 runs the full job instead.
# LZ_VALGRIND_OPTS adds memcheck options (e.g. --track-origins=yes to locate an uninitialised
# value). The last line is a summary.
# usage: tests/reliability/valgrind.sh          (1.5-3 minutes on 2 cores, build included)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
rel=$top/tests/reliability
build=${LZ_VALGRIND_BUILD:-$top/build-valgrind}
jobs=${LZ_JOBS:-2}
t0=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lrzoo-valgrind.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
elapsed() { echo $(($(date +%s) - t0)); }
die() { echo "valgrind.sh: FAIL ($1) after $(elapsed) s"; exit 1; }

command -v valgrind >/dev/null 2>&1 || { echo "valgrind.sh: valgrind not found: apt-get install valgrind" >&2; die "no valgrind"; }
ompi_supp=/usr/share/openmpi/openmpi-valgrind.supp
[ -r "$ompi_supp" ] || ompi_supp=""

echo "valgrind.sh: configuring and building $build"
cmake -S "$top" -B "$build" -DLRZOO_NATIVE=OFF -DLRZOO_BUILD_TESTS=OFF -DLRZOO_SANITIZE=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log" >&2; die configure; }
cmake --build "$build" -j"$jobs" >"$tmp/build.log" 2>&1 || { tail -40 "$tmp/build.log" >&2; die build; }
lrzoo=$build/lrzoo
t_build=$(elapsed)

job=$top/jobs/quickstart.yaml
what="jobs/quickstart.yaml"
if [ "${LZ_VALGRIND_FULL:-0}" != 1 ]; then
  # Each substitution must hit exactly one line: if quickstart.yaml changes, this says so
  # rather than silently running something else.
  for pat in '^  replicas: 3$' '^  max_iter: 100000$'; do
    [ "$(grep -c -- "$pat" "$job")" -eq 1 ] ||
      { echo "valgrind.sh: jobs/quickstart.yaml has no single line '$pat': update the reduction here" >&2; die "reduce job"; }
  done
  sed -e 's/^  replicas: 3$/  replicas: 1/' -e 's/^  max_iter: 100000$/  max_iter: 3000/' \
    "$job" >"$tmp/quickstart.yaml"
  job=$tmp/quickstart.yaml
  what="jobs/quickstart.yaml reduced (1 replica, max_iter 3000)"
fi

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Valgrind runs one thread at a time: a spinning OpenMP barrier would hold it for whole slices.
export OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive
# vg NAME ARGS...: lrzoo ARGS under memcheck, logs in $tmp/NAME.PID.log. Definite leaks count
# as errors. The MPI singleton forks a helper (orted) whose log stays empty: children are not
# traced.
vg() {
  name=$1
  shift
  # shellcheck disable=SC2086 # LZ_VALGRIND_OPTS is a list of options
  valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=40 \
    ${ompi_supp:+"--suppressions=$ompi_supp"} --suppressions="$rel/valgrind.supp" \
    ${LZ_VALGRIND_OPTS:-} --log-file="$tmp/$name.%p.log" "$lrzoo" "$@"
}
# errors_in NAME: prints the errors of the valgrind logs of NAME; true if there were any.
errors_in() {
  bad=1
  for log in "$tmp/$1".*.log; do
    n=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log")
    if [ -n "$n" ] && [ "$n" -ne 0 ]; then
      echo "---- $n memcheck errors in $(basename "$log") ----" >&2
      sed -n '/^==[0-9]*== Memcheck,/,$p' "$log" |
        grep -v -E '^==[0-9]+== (Copyright|Using Valgrind|Parent PID)' | head -300 >&2
      bad=0
    fi
  done
  return $bad
}

failures=""
echo "valgrind.sh: valgrind lrzoo run $what --threads 2 (1 rank)"
t1=$(date +%s)
vg run run "$job" -o "$tmp/quickstart.h5" --threads 2 >"$tmp/run.out" 2>&1
rc=$?
t_run=$(($(date +%s) - t1))
grep '^lrzoo: ' "$tmp/run.out"
if errors_in run; then failures="$failures memcheck errors in lrzoo run;"
elif [ "$rc" -ne 0 ]; then cat "$tmp/run.out" >&2; failures="$failures lrzoo run exit $rc;"; fi

echo "valgrind.sh: valgrind lrzoo info"
vg info info "$tmp/quickstart.h5" >"$tmp/info.out" 2>&1
rc=$?
if errors_in info; then failures="$failures memcheck errors in lrzoo info;"
elif [ "$rc" -ne 0 ]; then cat "$tmp/info.out" >&2; failures="$failures lrzoo info exit $rc;"
elif ! awk '$1 == "tiles:" { ok = ($2 == $4 && $5 == "done") } END { exit !ok }' "$tmp/info.out"; then
  cat "$tmp/info.out" >&2; failures="$failures not every tile done;"
fi

total=$(elapsed)
if [ -n "$failures" ]; then
  rm -rf "$build/valgrind-logs" && mkdir -p "$build/valgrind-logs" &&
    cp "$tmp"/*.log "$tmp"/*.out "$build/valgrind-logs/" 2>/dev/null
  echo "valgrind.sh: FAIL after $total s (build $t_build s, run $t_run s), logs in $build/valgrind-logs:$failures"
  exit 1
fi
echo "valgrind.sh: PASS in $total s (build $t_build s, run $t_run s): $what on 1 rank x 2 threads + lrzoo info, no memcheck error, no definite leak in lrzoo"
