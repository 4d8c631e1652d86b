#!/bin/bash
# Test 3 of issue 7: slurm/submit-array runs one array task per job file of a list through
# slurm/lrzoo-array.sbatch, and every output is complete. The cluster's MaxArraySize is 2 here,
# so the 3 job files need two arrays, the second with an offset into the list.
set -u
: "${LRZOO:?}" "${LZ_SOURCE_DIR:?}" "${LZ_PYTHON:?}"
LZ_SLURM_EXTRA_CONF="MaxArraySize=2"
source "$(dirname "$0")/cluster.sh"
export LRZOO LRZOO_PROGRESS=1
src=$LZ_SOURCE_DIR

printf '# three studies\n%s\n\n%s\n  # an indented comment\n%s\n' "$src/jobs/gd_regimes.yaml" \
  "$src/tests/data/jobs_layout/quadratic.yaml" "$src/jobs/scalar_balancing.yaml" > list.txt
ids=$("$src/slurm/submit-array" --ntasks=1 --cpus-per-task=1 --requeue list.txt)
check "submit-array split 3 job files into 2 arrays under MaxArraySize=2 (got: $(echo $ids))" \
  '[ "$(echo "$ids" | wc -l)" -eq 2 ]'
first=$(echo "$ids" | sed -n 1p); second=$(echo "$ids" | sed -n 2p)
wait_job "${first}_0"; wait_job "${first}_1"; wait_job "${second}_0"
for t in "${first}_0" "${first}_1" "${second}_0"; do
  check "array task $t completed (state $(job_state "$t"), exit $(exit_code "$t"))" '[ "$(job_state "$t")" = COMPLETED ]'
done
check "task ${first}_0 ran job file 0, gd_regimes" 'grep -q "task 0 + offset 0 runs job file 0 of list.txt: .*gd_regimes.yaml" lrzoo-${first}_0.out'
check "task ${second}_0 ran job file 2 (offset 2), scalar_balancing" \
  'grep -q "task 0 + offset 2 runs job file 2 of list.txt: .*scalar_balancing.yaml" lrzoo-${second}_0.out'
check "gd_regimes output complete" 'all_done results/gd_regimes.h5'
check "quadratic output complete" 'all_done results/layout_quadratic.h5'
check "scalar_balancing output complete" 'all_done results/scalar_balancing.h5'
past_end=$(SLURM_ARRAY_TASK_ID=1 bash "$src/slurm/lrzoo-array.sbatch" list.txt 2 2>&1); past_rc=$?
check "a task past the end of the list exits 2 with a clear message (exit $past_rc: $past_end)" \
  '[ "$past_rc" -eq 2 ] && echo "$past_end" | grep -q "list.txt has no job file number 3 (task 1 + offset 2)"'
lz_slurm_finish "job arrays over a list longer than MaxArraySize"
