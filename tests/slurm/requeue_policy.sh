#!/bin/bash
# Which endings slurm/lrzoo.sbatch requeues: only a stop (exit 3), and only LRZOO_MAX_REQUEUES
# times. A bad job file (exit 2) and a runtime failure (exit 1) end the job for good, even when
# it was submitted with --requeue.
set -u
: "${LRZOO:?}" "${LZ_SOURCE_DIR:?}" "${LZ_PYTHON:?}"
source "$(dirname "$0")/cluster.sh"
export LRZOO LRZOO_PROGRESS=1
src=$LZ_SOURCE_DIR
sbatch_lrzoo() { sbatch --parsable --ntasks=2 --cpus-per-task=1 --requeue "$@"; }
# wait_for_log ID PATTERN: until the job's log has a line matching PATTERN (at most 60 s).
wait_for_log() { for _ in $(seq 600); do grep -q "$2" "lrzoo-$1.out" 2>/dev/null && return; sleep 0.1; done; }

# 1. A bad job file: exit 2, not requeued.
printf 'name: bad\nproblem: {kind: quadratic, eigenvalues: [1.0]}\ninit: {kind: gaussian, scale: 1, replicas: 2}\nlr: {values: [-1]}\n' > bad.yaml
bad=$(sbatch_lrzoo "$src/slurm/lrzoo.sbatch" bad.yaml bad.h5)
# 2. A runtime failure: the output's directory is a file, exit 1, not requeued.
touch not_a_dir
broken=$(sbatch_lrzoo "$src/slurm/lrzoo.sbatch" "$src/jobs/gd_regimes.yaml" not_a_dir/out.h5)
wait_job "$bad"; wait_job "$broken"
check "a bad job file ends the job with exit 2, not requeued (state $(job_state "$bad"), exit $(exit_code "$bad"), restarts $(restarts "$bad"))" \
  '[ "$(job_state "$bad")" = FAILED ] && [ "$(exit_code "$bad")" = 2:0 ] && [ "$(restarts "$bad")" = 0 ]'
check "its log says what is wrong, at the line" 'grep -q "bad.yaml:4:15: lr value h must be > 0, got -1" "lrzoo-$bad.out"'
check "nothing was written for it" '[ ! -e bad.h5 ]'
check "a runtime failure ends the job with exit 1, not requeued (state $(job_state "$broken"), exit $(exit_code "$broken"), restarts $(restarts "$broken"))" \
  '[ "$(job_state "$broken")" = FAILED ] && [ "$(exit_code "$broken")" = 1:0 ] && [ "$(restarts "$broken")" = 0 ]'
check "its log says why" 'grep -q "not_a_dir is not a directory" "lrzoo-$broken.out"'

# 3. The requeue cap: with LRZOO_MAX_REQUEUES=1 the first stop is requeued, the second is not.
# The job must still run at the second stop: it is calibrated to 30 s of work on this machine,
# far more than the two stops and the requeue between them take.
"$LZ_PYTHON" "$src/tests/integration/calibrate.py" "$src/tests/slurm/timelimit.yaml" 30 \
  timelimit.yaml || { echo "FAIL: calibration"; exit 1; }
capped=$(LRZOO_MAX_REQUEUES=1 sbatch_lrzoo "$src/slurm/lrzoo.sbatch" timelimit.yaml capped.h5)
wait_for_log "$capped" "lrzoo: slurm_timelimit: tiles"
scancel --batch --signal=USR1 "$capped"
wait_for_log "$capped" "job $capped restart 1 on"
wait_for_log "$capped" "requeues so far 1"
scancel --batch --signal=USR1 "$capped"
wait_job "$capped"
check "the first stop was requeued, the second was not (restarts $(restarts "$capped"), state $(job_state "$capped"), exit $(exit_code "$capped"))" \
  '[ "$(restarts "$capped")" = 1 ] && [ "$(job_state "$capped")" = FAILED ] && [ "$(exit_code "$capped")" = 3:0 ]'
check "the log says why it was not requeued and how to resume" \
  'grep -q "not requeueing: already requeued 1 times (LRZOO_MAX_REQUEUES=1)" "lrzoo-$capped.out"'
check "the stopped file can be resumed (some tiles left, job recorded)" \
  '"$LRZOO" info capped.h5 | grep -qE "tiles: +[0-9]+ of 150 done \(continue"'
lz_slurm_finish "only stops are requeued, at most LRZOO_MAX_REQUEUES times"
