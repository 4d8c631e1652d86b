#!/bin/bash
# Test 1 of issue 7: sbatch of slurm/lrzoo.sbatch on jobs/quickstart.yaml with 2 tasks completes,
# logs the resolved settings and the version, and its file equals a local mpiexec run's bitwise.
set -u
: "${LRZOO:?}" "${LZ_SOURCE_DIR:?}" "${LZ_PYTHON:?}"
source "$(dirname "$0")/cluster.sh"
export LRZOO LRZOO_PROGRESS=5
src=$LZ_SOURCE_DIR

id=$(sbatch --parsable --ntasks=2 --cpus-per-task=1 "$src/slurm/lrzoo.sbatch" "$src/jobs/quickstart.yaml" slurm.h5)
"$src/scripts/mpirun" 2 "$LRZOO" run "$src/jobs/quickstart.yaml" -o local.h5 --threads 1 >local.log 2>&1 &
local_pid=$!
wait_job "$id"
wait "$local_pid"; local_rc=$?
log=lrzoo-$id.out
check "quickstart job completed (state $(job_state "$id"), exit $(exit_code "$id"))" \
  '[ "$(job_state "$id")" = COMPLETED ] && [ "$(exit_code "$id")" = 0:0 ]'
check "it was not requeued (restarts $(restarts "$id"))" '[ "$(restarts "$id")" = 0 ]'
check "its file has every tile" 'all_done slurm.h5'
check "the local mpiexec run succeeded (exit $local_rc)" '[ "$local_rc" -eq 0 ]'
check "the SLURM file equals the local run's bitwise" '"$LZ_PYTHON" "$src/tests/slurm/same_results.py" slurm.h5 local.h5'
check "the log has lrzoo's version" 'grep -q "lrzoo.sbatch: lrzoo [0-9.]* (git " "$log"'
check "the log has the layout and binding" 'grep -q "tasks 2 x 1 threads; tasks not bound (TaskPlugin=task/none)" "$log"'
check "the log has the resolved job (sha256, runs, tiles)" \
  'grep -q "lrzoo.sbatch:   sha256:" "$log" && grep -q "lrzoo.sbatch:   runs: *396" "$log"'
check "the log has lrzoo's progress and summary" 'grep -q "lrzoo: quickstart: tiles [0-9]*/51" "$log" && grep -q "396 runs this session" "$log"'
# A step that "succeeds" without running lrzoo (what a failed task launch looked like once):
# a stand-in binary that answers validate/info/--version but exits 0 at run.
cat > fake_lrzoo <<FAKE
#!/bin/sh
[ "\$1" = run ] && exit 0
exec "$LRZOO" "\$@"
FAKE
chmod +x fake_lrzoo
fake=$(LRZOO=$PWD/fake_lrzoo sbatch --parsable --ntasks=1 --cpus-per-task=1 "$src/slurm/lrzoo.sbatch" \
       "$src/jobs/quickstart/regimes.yaml" fake.h5)
wait_job "$fake"
check "a step that wrote no file fails the job (state $(job_state "$fake"), exit $(exit_code "$fake"))" \
  '[ "$(job_state "$fake")" = FAILED ] && [ "$(exit_code "$fake")" = 1:0 ]'
check "its log says why" 'grep -q "exit 0, but lrzoo info cannot read fake.h5" "lrzoo-$fake.out"'
lz_slurm_finish "quickstart under SLURM equals the local run"
