#!/bin/bash
# slurm/lrzoo.sbatch and slurm/lrzoo-array.sbatch under a real single-node SLURM, started here
# privately (own config, ports and state in a temporary directory; no systemd, auth/none):
#   1. a 2-task job runs to the end and its file is complete;
#   2. scancel --signal=USR1 mid-run (what --signal=USR1@T sends before the time limit): lrzoo
#      saves and exits 3, the script requeues the job, the requeued job resumes, and the final
#      file equals the uninterrupted one;
#   3. a job array runs two job files, one per task.
# Skips (exit 77) where SLURM's daemons are not installed or we are not root.
set -u
: "${LRZOO:?}" "${LZ_SOURCE_DIR:?}" "${LZ_PYTHON:?}"
for c in slurmctld slurmd sbatch scontrol sinfo scancel; do
  command -v "$c" >/dev/null || { echo "SKIP: $c not installed (scripts/install-deps --test)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to start slurmd"; exit 77; }

tmp=$(mktemp -d /tmp/lrzoo-slurm.XXXXXX)
mkdir -p "$tmp/state" "$tmp/spool" "$tmp/work"
conf=$tmp/slurm.conf
export SLURM_CONF=$conf
node=$(slurmd -C | head -1 | sed 's/ RealMemory=[0-9]*//')
mem=$(slurmd -C | head -1 | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
port=$((20000 + RANDOM % 20000))
cat > "$conf" <<CONF
ClusterName=lrzootest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/none
CredType=cred/none
# A requeued job may start again only once the killed attempt's credential has expired (120 s by
# default); a short lifetime keeps this test quick.
AuthInfo=cred_expire=5
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SchedulerParameters=batch_sched_delay=0
MpiDefault=pmix
JobRequeue=1
ReturnToService=2
MailProg=/bin/true
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
$node NodeAddr=127.0.0.1 RealMemory=$((mem * 9 / 10))
PartitionName=test Nodes=$(hostname -s) Default=YES MaxTime=INFINITE State=UP
CONF

stop_daemons() {
  for f in "$tmp/slurmd.pid" "$tmp/slurmctld.pid"; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
  done
  sleep 1
  [ -n "${LZ_KEEP_SLURM_DIR:-}" ] || rm -rf "$tmp"
}
trap stop_daemons EXIT
slurmctld -i -f "$conf" || { cat "$tmp/slurmctld.log"; exit 1; }
slurmd -f "$conf" || { cat "$tmp/slurmd.log"; exit 1; }
for _ in $(seq 100); do
  [ "$(sinfo -h -o %T 2>/dev/null)" = "idle" ] && break
  sleep 0.2
done
[ "$(sinfo -h -o %T)" = "idle" ] || { echo "FAIL: node not idle"; sinfo; tail "$tmp"/*.log; exit 1; }

fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1; }
wait_job() {  # wait_job ID: until the job has ended for good (not requeued)
  for _ in $(seq 1200); do
    case $(job_state "$1") in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) return ;; esac
    sleep 0.25
  done
}
restarts() { scontrol show job "$1" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p'; }
exit_code() { scontrol show job "$1" | sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p'; }
all_done() { "$LRZOO" info "$1" | grep -qE 'tiles: +([0-9]+) of \1 done'; }

cd "$tmp/work"
export LRZOO LRZOO_PROGRESS=1 LRZOO_SLURM_DIR="$LZ_SOURCE_DIR/slurm"
job="$LZ_SOURCE_DIR/tests/data/jobs_layout/resume.yaml"

# 1. a plain run
id=$(sbatch --parsable --ntasks=2 --cpus-per-task=1 "$LZ_SOURCE_DIR/slurm/lrzoo.sbatch" "$job" ref.h5)
wait_job "$id"
check "plain job completed (state $(job_state "$id"), exit $(exit_code "$id"))" '[ "$(job_state "$id")" = COMPLETED ]'
check "plain job wrote every tile" 'all_done ref.h5'

# 2. signal before the time limit, requeue, resume
id=$(sbatch --parsable --ntasks=2 --cpus-per-task=1 --requeue "$LZ_SOURCE_DIR/slurm/lrzoo.sbatch" "$job" sig.h5)
for _ in $(seq 400); do [ -e sig.h5 ] && "$LRZOO" info sig.h5 2>/dev/null | grep -qE 'tiles: +[1-9]' && break; sleep 0.1; done
scancel --signal=USR1 "$id"
wait_job "$id"
check "signalled job requeued once and completed (restarts $(restarts "$id"), state $(job_state "$id"))" \
  '[ "$(restarts "$id")" = 1 ] && [ "$(job_state "$id")" = COMPLETED ]'
check "its log shows the stop (exit 3) and the resume" \
  'grep -q "requeueing job" lrzoo-$id.out && grep -q "resuming it (restart 1)" lrzoo-$id.out'
check "resumed file complete" 'all_done sig.h5'
check "resumed file equals the uninterrupted one" \
  '"$LZ_PYTHON" -c "
import sys; sys.path.insert(0, \"$LZ_SOURCE_DIR/tests/integration\")
from lrzoo_test import datasets, differences
d = differences(datasets(\"ref.h5\"), datasets(\"sig.h5\")); print(d); sys.exit(1 if d else 0)"'

# 3. a job array over two job files
printf '# two studies\n%s\n\n%s\n' "$LZ_SOURCE_DIR/jobs/gd_regimes.yaml" "$LZ_SOURCE_DIR/tests/data/jobs_layout/quadratic.yaml" > list.txt
id=$(sbatch --parsable --array=0-1 --ntasks=1 --cpus-per-task=1 "$LZ_SOURCE_DIR/slurm/lrzoo-array.sbatch" list.txt)
wait_job "${id}_0"; wait_job "${id}_1"
check "array task 0 ran gd_regimes" 'all_done results/gd_regimes.h5'
check "array task 1 ran the quadratic job" 'all_done results/layout_quadratic.h5'

if [ "$fail" -ne 0 ]; then
  for f in lrzoo-*.out; do echo "== $f"; cat "$f"; done
  tail -n 20 "$tmp/slurmctld.log" "$tmp/slurmd.log"
  exit 1
fi
echo "PASS: slurm scripts under a real SLURM"
