#!/bin/sh
# Inputs that are not regular files, or are too large, are refused (issue 20): a job file, a
# target file and the output given to --resume that is a character device, a FIFO, a directory
# or a sparse 100 GB file each end with exit 2 within seconds, with bounded memory and a message
# naming the path. And a SIGTERM sent while a large job is parsed is obeyed within 2 s.
set -u
: "${LRZOO:?}" "${LZ_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
now() { date +%s.%N; }
# refused PATTERN DESCRIPTION COMMAND...: exit 2 within 10 s under 2 GB of address space
refused() {
  pattern=$1; what=$2; shift 2
  (ulimit -v 2000000; timeout 10 "$@") >"$tmp/stdout" 2>"$tmp/stderr"; rc=$?
  if [ "$rc" -ne 2 ]; then echo "FAIL $what: exit $rc, want 2"; cat "$tmp/stderr"; fail=1; return; fi
  grep -q -- "$pattern" "$tmp/stderr" || { echo "FAIL $what: no '$pattern' in:"; cat "$tmp/stderr"; fail=1; }
}

mkfifo "$tmp/fifo"
truncate -s 100G "$tmp/sparse"
mkdir "$tmp/dir"
for bad in /dev/zero:"a character device" /dev/urandom:"a character device" \
           "$tmp/fifo":"a FIFO" "$tmp/dir":"a directory" "$tmp/sparse":"too large: 100 GiB"; do
  path=${bad%%:*}; kind=${bad#*:}
  refused "$path: the job file is $kind" "validate $path" "$LRZOO" validate "$path"
  refused "$path: the job file is $kind" "run $path" "$LRZOO" run "$path" -o "$tmp/out.h5"
  cat > "$tmp/target.yaml" <<YAML
problem: {kind: mf, n: 4, d: 2, target: {kind: file, path: $path, dataset: /A}}
init: {kind: gaussian}
lr: {values: 0.1}
YAML
  refused "target: $path: the target file is $kind" "target $path" "$LRZOO" validate "$tmp/target.yaml"
  refused "$path: the output file is $kind" "--resume $path" \
    "$LRZOO" run "$LZ_SOURCE_DIR/jobs/gd_regimes.yaml" --resume -o "$path"
done
[ -e "$tmp/out.h5" ] && { echo "FAIL a refused job left $tmp/out.h5"; fail=1; }

# ---- a stop while a large job is parsed -------------------------------------------------------
/usr/bin/python3 - "$tmp/huge.yaml" <<'PY'
import sys
values = ", ".join("%.7f" % (0.1 + i * 1e-7) for i in range(3000000))
open(sys.argv[1], "w").write("problem: {kind: quadratic, eigenvalues: [1.0]}\n"
                             "init: {kind: gaussian}\nlr: {values: [%s]}\n" % values)
PY
t0=$(now); "$LRZOO" validate "$tmp/huge.yaml" >/dev/null 2>&1; t1=$(now)
parse=$(echo "$t1 - $t0" | bc)
if [ "$(echo "$parse < 1.0" | bc)" -eq 1 ]; then
  echo "SKIP stop during the parse: it took only ${parse} s here, too short to signal within it"
else
  for cmd in validate run; do
    out=""; [ $cmd = run ] && out="-o $tmp/huge.h5"
    "$LRZOO" $cmd "$tmp/huge.yaml" $out >/dev/null 2>"$tmp/stderr" &
    pid=$!
    sleep "$(echo "$parse / 3" | bc -l)"
    ts=$(now); kill -TERM $pid; wait $pid; rc=$?; te=$(now)
    took=$(echo "$te - $ts" | bc)
    want=2; [ $cmd = run ] && want=3  # run: exit 3 like any stop, so a batch script requeues it
    if [ "$rc" -ne $want ] || ! grep -q "stopped by a signal" "$tmp/stderr"; then
      echo "FAIL SIGTERM during the parse ($cmd): exit $rc, want $want and a stop message"; cat "$tmp/stderr"; fail=1
    elif [ "$(echo "$took > 2.0" | bc)" -eq 1 ]; then
      echo "FAIL SIGTERM during the parse ($cmd): obeyed after $took s, want at most 2 s"; fail=1
    else
      echo "ok SIGTERM during the parse ($cmd, a ${parse} s parse): exit $rc after $took s"
    fi
  done
  [ -e "$tmp/huge.h5" ] && { echo "FAIL a job stopped in its parse left its file"; fail=1; }
fi
exit $fail
