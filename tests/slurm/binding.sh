#!/bin/bash
# Thread binding of slurm/lrzoo.sbatch where SLURM binds tasks (TaskPlugin=task/affinity here):
# each rank gets its own cores and its OpenMP threads are bound inside them. A wrapper in place
# of lrzoo logs each rank's CPU list and OpenMP settings, then runs lrzoo.
set -u
: "${LRZOO:?}" "${LZ_SOURCE_DIR:?}" "${LZ_PYTHON:?}"
LZ_SLURM_TASK_PLUGIN=task/affinity
source "$(dirname "$0")/cluster.sh"
src=$LZ_SOURCE_DIR
cat > lrzoo-wrapper <<WRAP
#!/bin/bash
if [ -n "\${SLURM_PROCID:-}" ] && [ "\${SLURM_STEP_ID:-batch}" != batch ]; then
  echo "rank \$SLURM_PROCID: cpus \$(sed -n 's/^Cpus_allowed_list:\s*//p' /proc/self/status)," \
       "OMP_NUM_THREADS=\$OMP_NUM_THREADS OMP_PROC_BIND=\${OMP_PROC_BIND:-unset} OMP_PLACES=\${OMP_PLACES:-unset}" >&2
fi
exec "$LRZOO" "\$@"
WRAP
chmod +x lrzoo-wrapper
export LRZOO=$PWD/lrzoo-wrapper LRZOO_PROGRESS=5

two=$(sbatch --parsable --ntasks=2 --cpus-per-task=1 "$src/slurm/lrzoo.sbatch" "$src/jobs/gd_regimes.yaml" two.h5)
wait_job "$two"
one=$(sbatch --parsable --ntasks=1 --cpus-per-task=2 "$src/slurm/lrzoo.sbatch" "$src/jobs/gd_regimes.yaml" one.h5)
wait_job "$one"
cat "lrzoo-$two.out" "lrzoo-$one.out" | grep -E "^rank|tasks [0-9]"
check "2 x 1: both jobs completed" '[ "$(job_state "$two")" = COMPLETED ] && [ "$(job_state "$one")" = COMPLETED ]'
check "2 x 1: the log states the binding" 'grep -q "tasks bound to cores (TaskPlugin=task/affinity), threads OMP_PROC_BIND=close OMP_PLACES=cores" "lrzoo-$two.out"'
cpus0=$(sed -n 's/^rank 0: cpus \([^,]*\),.*/\1/p' "lrzoo-$two.out"); cpus1=$(sed -n 's/^rank 1: cpus \([^,]*\),.*/\1/p' "lrzoo-$two.out")
check "2 x 1: each rank has one core of its own ($cpus0 and $cpus1)" \
  '[ -n "$cpus0" ] && [ -n "$cpus1" ] && [ "$cpus0" != "$cpus1" ] && [[ "$cpus0" =~ ^[0-9]+$ ]] && [[ "$cpus1" =~ ^[0-9]+$ ]]'
check "2 x 1: threads bound inside them" 'grep -q "^rank 1: cpus [0-9]*, OMP_NUM_THREADS=1 OMP_PROC_BIND=close OMP_PLACES=cores" "lrzoo-$two.out"'
check "1 x 2: the rank has both cores and 2 bound threads" \
  'grep -qE "^rank 0: cpus [0-9]+[-,][0-9]+, OMP_NUM_THREADS=2 OMP_PROC_BIND=close OMP_PLACES=cores" "lrzoo-$one.out"'
check "1 x 2: lrzoo ran 1 rank x 2 threads" 'grep -q "1 ranks x 2 threads" "lrzoo-$one.out"'
check "the results do not depend on the layout" '"$LZ_PYTHON" "$src/tests/slurm/same_results.py" one.h5 two.h5'
lz_slurm_finish "threads bound inside each task's cores where SLURM binds tasks"
