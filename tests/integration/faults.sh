#!/bin/sh
# Faults around a run (issue 9): a memory limit, an output that cannot be written (a directory,
# a read-only file system, no permission, a file size limit, a full disk), and a write that
# fails while the file is built. Each must give a clear message, a non-zero exit, and leave no
# output file behind. Parts that need root (mounting a small tmpfs, dropping to nobody) are
# skipped with a note when they cannot run.
set -u
: "${LRZOO:?}" "${LZ_SOURCE_DIR:?}"
tmp=$(mktemp -d)
mnt=""
cleanup() {
  [ -n "$mnt" ] && umount "$mnt" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
mpirun="$LZ_SOURCE_DIR/scripts/mpirun"
expect() {  # expect WANT_RC PATTERN DESCRIPTION COMMAND...: exit code, and PATTERN on stderr
  want=$1; pattern=$2; what=$3; shift 3
  "$@" >"$tmp/stdout" 2>"$tmp/stderr"; rc=$?
  if [ "$rc" -ne "$want" ]; then echo "FAIL $what: exit $rc, want $want"; cat "$tmp/stderr"; fail=1; return; fi
  grep -q -- "$pattern" "$tmp/stderr" || { echo "FAIL $what: no '$pattern' in:"; cat "$tmp/stderr"; fail=1; }
}
absent() {  # absent FILE DESCRIPTION
  [ -e "$1" ] && { echo "FAIL $2: $1 was left behind"; fail=1; }
  return 0
}

# ---- memory ------------------------------------------------------------------------------
cat > "$tmp/dense.yaml" <<YAML
problem:
  kind: mf
  n: 3000
  d: 2
init: {kind: gaussian}
lr: {values: 0.1}
YAML
expect 2 "dense.yaml:3:6: sweep too large for memory: the problem instance" \
  "validate above --memory-limit" "$LRZOO" validate "$tmp/dense.yaml" --memory-limit 100M
expect 2 "above the limit of 0.10 GiB (--memory-limit)" \
  "run on 2 ranks above --memory-limit" "$mpirun" 2 "$LRZOO" run "$tmp/dense.yaml" -o "$tmp/dense.h5" --memory-limit 100M
absent "$tmp/dense.h5" "memory refusal"
expect 2 "--memory-limit needs a size" "malformed --memory-limit" "$LRZOO" validate "$tmp/dense.yaml" --memory-limit 12Q
"$LRZOO" validate "$tmp/dense.yaml" --memory-limit 1G >"$tmp/stdout" 2>&1 || { echo "FAIL validate under 1G"; fail=1; }
grep -q "^memory: *about .* MiB per rank .*limit 1024.0 MiB: --memory-limit" "$tmp/stdout" ||
  { echo "FAIL validate should print the estimate and the limit"; cat "$tmp/stdout"; fail=1; }

# ---- where the output goes --------------------------------------------------------------
job="$LZ_SOURCE_DIR/jobs/gd_regimes.yaml"
expect 2 "is a directory" "output is a directory" "$LRZOO" run "$job" -o "$tmp"
expect 1 "is not a directory" "output below a file" "$LRZOO" run "$job" -o "$tmp/dense.yaml/x.h5"
cat > "$tmp/big.yaml" <<YAML
problem: {kind: quadratic, eigenvalues: [1.0]}
init: {kind: gaussian, replicas: 1000}
lr: {values: {linspace: [0.1, 1.0, 10]}}
run: {max_iter: 1000, record_every: 1}
YAML
# A file size limit of 10 MB for a 90 MB file: refused before anything is written, on 1 and 2
# ranks. Then the same with the check skipped, so that the write itself fails inside HDF5.
for ranks in 1 2; do
  expect 1 "may write files of at most .* (ulimit -f" "ulimit -f on $ranks ranks" \
    sh -c 'ulimit -f 20000 && exec "$@"' sh "$mpirun" "$ranks" "$LRZOO" run "$tmp/big.yaml" -o "$tmp/big.h5"
  absent "$tmp/big.h5" "ulimit -f refusal on $ranks ranks"
done
expect 1 "H5Dcreate failed: file write failed" "a write that fails while the file is built" \
  env LZ_TEST_SKIP_SPACE_CHECK=1 sh -c 'ulimit -f 20000 && exec "$@"' sh "$LRZOO" run "$tmp/big.yaml" -o "$tmp/big.h5"
absent "$tmp/big.h5" "failed write"

if [ "$(id -u)" -eq 0 ] && mkdir -p "$tmp/mnt" && mount -t tmpfs -o size=4m tmpfs "$tmp/mnt" 2>/dev/null; then
  mnt="$tmp/mnt"
  expect 1 "has .* GB free" "full disk on 2 ranks" "$mpirun" 2 "$LRZOO" run "$tmp/big.yaml" -o "$mnt/big.h5"
  absent "$mnt/big.h5" "full-disk refusal"
  expect 1 "H5Dcreate failed: file write failed" "disk filling up while the file is built" \
    env LZ_TEST_SKIP_SPACE_CHECK=1 "$LRZOO" run "$tmp/big.yaml" -o "$mnt/big.h5"
  absent "$mnt/big.h5" "ENOSPC while building"
  [ "$(df -k "$mnt" | awk 'NR==2 {print $3}')" -le 4 ] || { echo "FAIL the full tmpfs was not emptied"; df -k "$mnt"; fail=1; }
  mount -o remount,ro "$mnt"
  expect 1 "is on a read-only file system" "read-only file system" "$LRZOO" run "$job" -o "$mnt/sub/x.h5"
else
  echo "note: not root or no tmpfs mount here: full-disk and read-only cases skipped"
fi
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
  mkdir -p "$tmp/private" && chmod 700 "$tmp/private" && chmod 755 "$tmp"
  expect 1 "cannot create files in .*: Permission denied" "no permission" \
    su nobody -s /bin/sh -c "'$LRZOO' run '$job' -o '$tmp/private/x.h5'"
else
  echo "note: cannot drop to nobody here: permission case skipped"
fi

[ "$fail" -eq 0 ] && echo "PASS: faults around a run"
exit "$fail"
