#!/bin/sh
# Every file in tests/jobs_bad/ must make `lrzoo run` and `lrzoo validate` exit 2, print each
# "# expect: LINE:COL: text" of the file as PATH:LINE:COL: ...text..., and create no output file.
# With 2 MPI ranks the messages must appear once, not once per rank: checked on a fixed sample of
# files (starting MPI costs 2 s a file here, and every rank parses the same text anyway).
set -u
: "${LRZOO:?}" "${LZ_SOURCE_DIR:?}"
dir="$LZ_SOURCE_DIR/tests/jobs_bad"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 count=0
for job in "$dir"/*.yaml; do
  count=$((count + 1))
  name=$(basename "$job")
  modes="run validate"
  case $name in two_errors.yaml|yaml_syntax.yaml|unknown_nested_key.yaml|too_much_memory.yaml|empty_file.yaml|bad_kind.yaml) modes="$modes mpi" ;; esac
  for mode in $modes; do
    out="$tmp/out_$mode.h5"
    case $mode in
      run) "$LRZOO" run "$job" -o "$out" >"$tmp/stdout" 2>"$tmp/stderr"; rc=$? ;;
      validate) "$LRZOO" validate "$job" >"$tmp/stdout" 2>"$tmp/stderr"; rc=$? ;;
      mpi) "$LZ_SOURCE_DIR/scripts/mpirun" 2 "$LRZOO" run "$job" -o "$out" >"$tmp/stdout" 2>"$tmp/stderr"; rc=$? ;;
    esac
    if [ "$rc" -ne 2 ]; then
      echo "FAIL $name ($mode): exit $rc, expected 2"; cat "$tmp/stderr"; fail=1
    fi
    if [ -e "$out" ]; then echo "FAIL $name ($mode): output file was created"; fail=1; fi
    sed -n 's/^# expect: //p' "$job" > "$tmp/expect"
    if [ ! -s "$tmp/expect" ]; then echo "FAIL $name: no '# expect:' line"; fail=1; fi
    while IFS= read -r line; do
      pos=${line%%: *}
      text=${line#*: }
      hits=$(grep -F -c -- "$job:$pos: " "$tmp/stderr")
      if [ "$hits" -ne 1 ] || ! grep -F -- "$job:$pos: " "$tmp/stderr" | grep -q -F -- "$text"; then
        echo "FAIL $name ($mode): expected once '$job:$pos: ...$text...', got:"; cat "$tmp/stderr"; fail=1
      fi
    done < "$tmp/expect"
  done
done
if [ "$count" -lt 10 ]; then echo "FAIL: only $count bad job files (want >= 10)"; fail=1; fi
[ "$fail" -eq 0 ] && echo "PASS: $count bad job files, each rejected with exit 2 and no output (run, validate; 6 of them also on 2 ranks)"
exit "$fail"
