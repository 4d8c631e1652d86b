#!/bin/sh
# The command line contract: usage errors exit 2, --version exits 0, an existing output is not
# overwritten without --overwrite, a missing target dataset is reported at its place in the
# job file before anything is written, and so is an environment switch with a bad value.
set -u
: "${LRZOO:?}" "${LZ_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect_rc() {  # expect_rc WANT DESCRIPTION COMMAND...
  want=$1; what=$2; shift 2
  "$@" >"$tmp/stdout" 2>"$tmp/stderr"; rc=$?
  if [ "$rc" -ne "$want" ]; then echo "FAIL $what: exit $rc, want $want"; cat "$tmp/stderr"; fail=1; fi
}
expect_rc 2 "no command" "$LRZOO"
expect_rc 2 "unknown command" "$LRZOO" frobnicate x.yaml
expect_rc 2 "unknown option" "$LRZOO" run "$LZ_SOURCE_DIR/jobs/gd_regimes.yaml" --frob
expect_rc 2 "bad --threads" "$LRZOO" run "$LZ_SOURCE_DIR/jobs/gd_regimes.yaml" --threads zero
expect_rc 2 "resume and overwrite" "$LRZOO" run "$LZ_SOURCE_DIR/jobs/gd_regimes.yaml" --resume --overwrite
expect_rc 2 "missing job file" "$LRZOO" run "$tmp/nope.yaml" -o "$tmp/nope.h5"
[ -e "$tmp/nope.h5" ] && { echo "FAIL missing job file: output created"; fail=1; }
expect_rc 0 "--version" "$LRZOO" --version
grep -q '^lrzoo ' "$tmp/stdout" || { echo "FAIL --version output"; fail=1; }
expect_rc 0 "validate a good job" "$LRZOO" validate "$LZ_SOURCE_DIR/jobs/gd_regimes.yaml"
grep -q '^runs: *50 ' "$tmp/stdout" || { echo "FAIL validate should print 50 runs"; cat "$tmp/stdout"; fail=1; }

# run, then refuse to overwrite, then overwrite
out="$tmp/regimes.h5"
expect_rc 0 "run gd_regimes" "$LRZOO" run "$LZ_SOURCE_DIR/jobs/gd_regimes.yaml" -o "$out"
sum1=$(cksum < "$out")
expect_rc 2 "existing output without --overwrite" "$LRZOO" run "$LZ_SOURCE_DIR/jobs/gd_regimes.yaml" -o "$out"
grep -q -- "--overwrite" "$tmp/stderr" || { echo "FAIL refusal should mention --overwrite"; fail=1; }
[ "$(cksum < "$out")" = "$sum1" ] || { echo "FAIL refused run changed the file"; fail=1; }
expect_rc 0 "run with --overwrite" "$LRZOO" run "$LZ_SOURCE_DIR/jobs/gd_regimes.yaml" -o "$out" --overwrite
expect_rc 0 "info" "$LRZOO" info "$out"
grep -q 'tiles: *1 of 1 done' "$tmp/stdout" || { echo "FAIL info tiles line"; cat "$tmp/stdout"; fail=1; }

# an environment switch with a value lrzoo does not accept: exit 2 before anything is written,
# from validate as from run; accepted values are recorded and shown by info
expect_rc 2 "bad LRZOO_MF_PRODUCTS" env LRZOO_MF_PRODUCTS=bogus "$LRZOO" run "$LZ_SOURCE_DIR/jobs/gd_regimes.yaml" -o "$tmp/env.h5"
grep -q 'LRZOO_MF_PRODUCTS is "bogus"; allowed: own (the default) or blas' "$tmp/stderr" ||
  { echo "FAIL bad switch message"; cat "$tmp/stderr"; fail=1; }
[ -e "$tmp/env.h5" ] && { echo "FAIL bad switch: output created"; fail=1; }
expect_rc 2 "validate with bad LRZOO_MF_PRODUCTS" env LRZOO_MF_PRODUCTS=bogus "$LRZOO" validate "$LZ_SOURCE_DIR/jobs/gd_regimes.yaml"
expect_rc 0 "run with LRZOO_MF_PRODUCTS=own" env LRZOO_MF_PRODUCTS=own "$LRZOO" run "$LZ_SOURCE_DIR/jobs/gd_regimes.yaml" -o "$tmp/env.h5"
expect_rc 0 "info of it" "$LRZOO" info "$tmp/env.h5"
grep -q '^  LRZOO_MF_PRODUCTS=own$' "$tmp/stdout" || { echo "FAIL info should list the switch"; cat "$tmp/stdout"; fail=1; }

# a file target whose dataset is missing: exit 2 at the target's line, nothing written
"$LZ_PYTHON" -c "
import h5py, numpy as np
with h5py.File('$tmp/targets.h5', 'w') as f: f['A'] = np.eye(3)
" || fail=1
cat > "$tmp/filejob.yaml" <<YAML
name: filejob
problem:
  kind: mf
  n: 3
  d: 1
  target: {kind: file, path: targets.h5, dataset: B}
init: {kind: gaussian, scale: 0.1}
lr: {values: [0.1]}
YAML
expect_rc 2 "missing target dataset" "$LRZOO" run "$tmp/filejob.yaml" -o "$tmp/filejob.h5"
grep -q "filejob.yaml:6:11: target: .*'B'" "$tmp/stderr" || { echo "FAIL target message"; cat "$tmp/stderr"; fail=1; }
[ -e "$tmp/filejob.h5" ] && { echo "FAIL missing target: output created"; fail=1; }
# targets of the wrong shape, type or values: exit 2 at the target's place, nothing written
"$LZ_PYTHON" -c "
import h5py, numpy as np
with h5py.File('$tmp/targets.h5', 'a') as f:
    f['rect'] = np.zeros((3, 4)); f['cube'] = np.zeros((3, 3, 3)); f['text'] = np.array([[b'a'] * 3] * 3)
    a = np.eye(3); a[2, 1] = np.nan; f['hole'] = a
" || fail=1
for bad in "rect:is 3 x 4, expected 3 x 3" "cube:is 3-D (3 x 3 x 3), expected 3 x 3" \
           "text:holds string values, expected numbers" "hole:holds nan at row 2, column 1"; do
  ds=${bad%%:*}; msg=${bad#*:}
  sed "s/dataset: B/dataset: $ds/" "$tmp/filejob.yaml" > "$tmp/bad_$ds.yaml"
  expect_rc 2 "target $ds" "$LRZOO" run "$tmp/bad_$ds.yaml" -o "$tmp/bad_$ds.h5"
  grep -q "bad_$ds.yaml:6:11: target: .*$msg" "$tmp/stderr" || { echo "FAIL target $ds message"; cat "$tmp/stderr"; fail=1; }
  [ -e "$tmp/bad_$ds.h5" ] && { echo "FAIL target $ds: output created"; fail=1; }
done
sed -i 's/dataset: B/dataset: A/' "$tmp/filejob.yaml"
expect_rc 0 "file target run" "$LRZOO" run "$tmp/filejob.yaml" -o "$tmp/filejob.h5"

# an output larger than the file system's free space is refused before anything is written
# (10^8 runs x 1001 trace records: about 850 GB, more than this machine's whole disk)
cat > "$tmp/huge.yaml" <<YAML
name: huge
problem: {kind: quadratic, eigenvalues: [1.0]}
init: {kind: gaussian, replicas: 10000000}
lr: {values: {linspace: [0.1, 1.0, 10]}}
run: {max_iter: 1000, record_every: 1}
YAML
expect_rc 0 "validate prints the file size" "$LRZOO" validate "$tmp/huge.yaml"
grep -q '^file size: ' "$tmp/stdout" || { echo "FAIL validate file size line"; fail=1; }
expect_rc 1 "output larger than the free space" "$LZ_SOURCE_DIR/scripts/mpirun" 2 "$LRZOO" run "$tmp/huge.yaml" -o "$tmp/huge.h5"
grep -q "huge.h5: the output needs .* GB .* GB free" "$tmp/stderr" || { echo "FAIL free-space message"; cat "$tmp/stderr"; fail=1; }
[ -e "$tmp/huge.h5" ] && { echo "FAIL free space: output created"; fail=1; }

[ "$fail" -eq 0 ] && echo "PASS: command line contract"
exit "$fail"
