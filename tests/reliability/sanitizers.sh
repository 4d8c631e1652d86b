#!/bin/sh
# AddressSanitizer + UndefinedBehaviorSanitizer check (CI): builds lrzoo with -DLRZOO_SANITIZE=ON
# into build-asan (or $LZ_ASAN_BUILD), then runs under the sanitizers
#   1. the CMocka tests (ctest -L cmocka: test_rng, test_job, test_lanczos, test_sharpness,
#      test_gd, test_objectives, test_config, test_analysis, test_measure, test_io_np1 and
#      test_io_np2; not the Python or SLURM integration tests),
#   2. `lrzoo validate` on every tests/jobs_bad/*.yaml (exit 2, and the error paths free what
#      they allocated),
#   3. the real binary on 2 MPI ranks x 2 threads, then `lrzoo info` on each output:
#      tests/reliability/mf.yaml (matrix factorization, every analysis and the invariant
#      measure), tests/reliability/mf_chunks.yaml (a run split into row chunks over threads),
#      tests/reliability/multiscale.yaml (1-D and 2-D multiscale, every analysis, invariant
#      measure, pooling), tests/reliability/mlp.yaml (the network and its /data) and jobs/quickstart/invariant_measure.yaml, jobs/quickstart/escapes.yaml
#      (jobs of dimension 1 only: their per-run rows are shorter).
# Any ASan or UBSan report, any leak outside the third-party libraries of lsan.supp, or any
# failure exits non-zero. The last line is a summary.
# usage: tests/reliability/sanitizers.sh        (1.5-3 minutes on 2 cores, build included)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
rel=$top/tests/reliability
build=${LZ_ASAN_BUILD:-$top/build-asan}
jobs=${LZ_JOBS:-2}
t0=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lrzoo-asan.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# halt_on_error: the first report ends the process with a non-zero exit (UBSan too: the build
# has -fno-sanitize-recover=undefined). LSan needs the slow unwinder so that a leak's stack
# reaches the third-party library it comes from (lsan.supp matches on any frame).
# intercept_tls_get_addr=0: GCC 12's runtime can mistake a dynamic TLS block of glibc >= 2.25
# for an old-layout one and then crash LeakSanitizer's tracer at exit ("Tracer caught signal
# 11", seen here with test_io run without mpiexec); our code has no dynamic TLS to scan.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:intercept_tls_get_addr=0"
export LSAN_OPTIONS="suppressions=$rel/lsan.supp:fast_unwind_on_malloc=0:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:report_error_type=1"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# 2 ranks x 2 threads share 2 cores: passive waiting keeps OpenMP barriers from spinning
# against a descheduled thread (docs/cluster.md: 30x slower otherwise).
export OMP_WAIT_POLICY=passive

failures=""
fail() { failures="$failures
  $1"; echo "sanitizers.sh: FAIL: $1" >&2; }
# Prints the sanitizer reports found in a log (each up to its SUMMARY line, 100 lines in all);
# true if there were any.
sanitizer_re='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |Sanitizer CHECK failed|LeakSanitizer has encountered'
reports_in() {
  grep -q -E "$sanitizer_re" "$1" || return 1
  echo "---- sanitizer report in $(basename "$1") ----" >&2
  awk -v re="$sanitizer_re" '$0 ~ re { on = 1 } on { print } /SUMMARY: / { on = 0 }' "$1" |
    head -100 >&2
  return 0
}
elapsed() { echo $(($(date +%s) - t0)); }

echo "sanitizers.sh: configuring and building $build"
if ! cmake -S "$top" -B "$build" -DLRZOO_SANITIZE=ON -DLRZOO_NATIVE=OFF \
       -DLRZOO_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$tmp/configure.log" 2>&1; then
  cat "$tmp/configure.log" >&2
  echo "sanitizers.sh: FAIL (configure) after $(elapsed) s"
  exit 1
fi
if ! cmake --build "$build" -j"$jobs" >"$tmp/build.log" 2>&1; then
  tail -40 "$tmp/build.log" >&2
  echo "sanitizers.sh: FAIL (build) after $(elapsed) s"
  exit 1
fi
lrzoo=$build/lrzoo
# A cached build that is not instrumented would pass everything: refuse it.
if ! ldd "$lrzoo" | grep -q libasan || ! ldd "$lrzoo" | grep -q libubsan; then
  echo "sanitizers.sh: FAIL: $lrzoo is not linked with libasan and libubsan" >&2
  exit 1
fi
t_build=$(elapsed)

# 1. CMocka tests
echo "sanitizers.sh: CMocka tests (ctest -L cmocka)"
ctest --test-dir "$build" -L cmocka -j"$jobs" --output-on-failure --output-log "$tmp/ctest.log" \
  >"$tmp/ctest.out" 2>&1
rc=$?
tests_run=$(sed -n 's/.*tests passed, [0-9]* tests failed out of \([0-9]*\).*/\1/p' "$tmp/ctest.out")
grep -E '^ *[0-9]+/[0-9]+ Test' "$tmp/ctest.out"
[ "$rc" -eq 0 ] || { tail -60 "$tmp/ctest.out" >&2; fail "CMocka tests (ctest exit $rc)"; }
if reports_in "$tmp/ctest.log"; then fail "sanitizer report in the CMocka tests"; fi
[ "${tests_run:-0}" -ge 11 ] || fail "expected at least 11 CMocka tests, ctest ran ${tests_run:-0}"

# 2. every bad job file: exit 2, no sanitizer report
echo "sanitizers.sh: lrzoo validate on tests/jobs_bad/*.yaml"
bad=0
for job in "$top"/tests/jobs_bad/*.yaml; do
  bad=$((bad + 1))
  "$lrzoo" validate "$job" >"$tmp/bad.out" 2>"$tmp/bad.err"
  rc=$?
  if reports_in "$tmp/bad.err"; then fail "sanitizer report: lrzoo validate $job"
  elif [ "$rc" -ne 2 ]; then cat "$tmp/bad.err" >&2; fail "lrzoo validate $job: exit $rc, expected 2"; fi
done

# 2b. damaged output and target files (mutation fuzzing of the HDF5 inputs): refused cleanly
echo "sanitizers.sh: damaged output and target files (tests/integration/damaged.py)"
# libhdf5 leaks on the error paths of corrupt metadata (lsan_damaged.supp says which).
if ! LSAN_OPTIONS="suppressions=$rel/lsan_damaged.supp:fast_unwind_on_malloc=0:print_suppressions=0" \
     LRZOO=$lrzoo LZ_SOURCE_DIR=$top LZ_DAMAGE_CASES=10 /usr/bin/python3 \
       "$top/tests/integration/damaged.py" >"$tmp/damaged.log" 2>&1; then
  grep -E '^(FAIL|seed)' "$tmp/damaged.log" | head -20 >&2
  fail "damaged files (tests/integration/damaged.py)"
fi

# 3. the real binary on 2 ranks, then lrzoo info
cd "$tmp" || exit 1
runs=0
for job in tests/reliability/mf.yaml tests/reliability/mf_chunks.yaml \
           tests/reliability/multiscale.yaml tests/reliability/mlp.yaml \
           jobs/quickstart/invariant_measure.yaml \
           jobs/quickstart/escapes.yaml; do
  runs=$((runs + 1))
  name=$(basename "$job" .yaml)
  echo "sanitizers.sh: mpiexec -n 2 lrzoo run $job --threads 2"
  mpiexec -n 2 --oversubscribe --bind-to none "$lrzoo" run "$top/$job" -o "$tmp/$name.h5" \
    --threads 2 >"$tmp/$name.log" 2>&1
  rc=$?
  grep '^lrzoo: ' "$tmp/$name.log" | grep -v 'threads on a node with'  # (passive waiting is set)
  if reports_in "$tmp/$name.log"; then fail "sanitizer report: lrzoo run $job"
  elif [ "$rc" -ne 0 ]; then tail -30 "$tmp/$name.log" >&2; fail "lrzoo run $job: exit $rc"; fi
  "$lrzoo" info "$tmp/$name.h5" >"$tmp/$name.info" 2>&1
  rc=$?
  if reports_in "$tmp/$name.info"; then fail "sanitizer report: lrzoo info $name.h5"
  elif [ "$rc" -ne 0 ]; then cat "$tmp/$name.info" >&2; fail "lrzoo info $name.h5: exit $rc"
  elif ! awk '$1 == "tiles:" { ok = ($2 == $4 && $5 == "done") } END { exit !ok }' "$tmp/$name.info"; then
    cat "$tmp/$name.info" >&2; fail "lrzoo info $name.h5: not every tile is done"
  fi
done

total=$(elapsed)
if [ -n "$failures" ]; then
  rm -rf "$build/sanitizer-logs" && mkdir -p "$build/sanitizer-logs" &&
    cp "$tmp"/*.log "$tmp"/*.out "$tmp"/*.err "$tmp"/*.info "$build/sanitizer-logs/" 2>/dev/null
  echo "sanitizers.sh: FAIL after $total s (build $t_build s), logs in $build/sanitizer-logs:$failures"
  exit 1
fi
echo "sanitizers.sh: PASS in $total s (build $t_build s): ${tests_run} CMocka tests, $bad bad job files, damaged output and target files, $runs jobs on 2 ranks x 2 threads + lrzoo info; no ASan, UBSan or LSan report"
