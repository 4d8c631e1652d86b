# Sourced by the tests in tests/slurm/: starts a private single-node SLURM cluster (own
# slurm.conf, ports, state and logs in a temporary directory; no systemd, auth/none, addresses
# 127.0.0.1 so the host name does not matter) and stops its daemons by PID when the sourcing
# script exits, whether it passed or not. Exits 77 (ctest's SKIP) with a SKIP line where SLURM
# cannot start here: the packages are missing or we are not root.
#
# After sourcing: $LZ_SLURM_DIR (temporary directory), $SLURM_CONF, and the helpers below.
# LZ_SLURM_EXTRA_CONF adds lines to slurm.conf; LZ_KEEP_SLURM_DIR=1 keeps the directory.

for c in slurmctld slurmd sbatch scontrol sinfo scancel; do
  command -v "$c" >/dev/null || { echo "SKIP: $c not installed (scripts/install-deps --test)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to start slurmd"; exit 77; }

LZ_SLURM_DIR=$(mktemp -d /tmp/lrzoo-slurm.XXXXXX)
mkdir -p "$LZ_SLURM_DIR/state" "$LZ_SLURM_DIR/spool" "$LZ_SLURM_DIR/work"
export SLURM_CONF=$LZ_SLURM_DIR/slurm.conf

lz_slurm_stop() {
  local f pid
  for f in "$LZ_SLURM_DIR/slurmd.pid" "$LZ_SLURM_DIR/slurmctld.pid"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  [ -n "${LZ_KEEP_SLURM_DIR:-}" ] || rm -rf "$LZ_SLURM_DIR"
}
trap lz_slurm_stop EXIT

lz_slurm_node=$(slurmd -C | head -1 | sed 's/ RealMemory=[0-9]*//')
lz_slurm_mem=$(slurmd -C | head -1 | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
# write_conf PORT: the cluster's configuration, the controller on PORT and slurmd on PORT + 1.
write_conf() {
  local lz_slurm_port=$1
  cat > "$SLURM_CONF" <<CONF
ClusterName=lrzootest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$lz_slurm_port
SlurmdPort=$((lz_slurm_port + 1))
AuthType=auth/none
CredType=cred/none
# A requeued job may start again only once the killed attempt's credential has expired (120 s by
# default); a short lifetime keeps these tests quick.
AuthInfo=cred_expire=5
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=${LZ_SLURM_TASK_PLUGIN:-task/none}
SelectType=select/cons_tres
# Quick scheduling cycles, so a requeued job starts again within seconds.
SchedulerParameters=batch_sched_delay=0,bf_interval=1,sched_interval=1
MpiDefault=pmix
JobRequeue=1
ReturnToService=2
MailProg=/bin/true
StateSaveLocation=$LZ_SLURM_DIR/state
SlurmdSpoolDir=$LZ_SLURM_DIR/spool
SlurmctldPidFile=$LZ_SLURM_DIR/slurmctld.pid
SlurmdPidFile=$LZ_SLURM_DIR/slurmd.pid
SlurmctldLogFile=$LZ_SLURM_DIR/slurmctld.log
SlurmdLogFile=$LZ_SLURM_DIR/slurmd.log
${LZ_SLURM_EXTRA_CONF:-}
$lz_slurm_node NodeAddr=127.0.0.1 RealMemory=$((lz_slurm_mem * 9 / 10))
PartitionName=test Nodes=$(hostname -s) Default=YES MaxTime=INFINITE State=UP
CONF
  # PMIx keeps a directory per step, named by job and step id only (/tmp/spmix_appdir_0_1.0
  # by default). Every test cluster numbers its jobs from 1, so another cluster's step, or a
  # stale directory of a killed one, made the launch fail with "File exists"; here each
  # cluster has its own.
  mkdir -p "$LZ_SLURM_DIR/pmix"
  echo "PMIxCliTmpDirBase=$LZ_SLURM_DIR/pmix" > "$(dirname "$SLURM_CONF")/mpi.conf"
}

# The ports are drawn at random and may be taken (a port of an earlier test still in use):
# slurmctld then exits at once with "Address already in use", and every SLURM command would
# wait for a controller that never comes. So each start is checked, and retried elsewhere.
for attempt in 1 2 3 4 5; do
  : > "$LZ_SLURM_DIR/slurmctld.log"
  write_conf $((20000 + RANDOM % 20000))
  slurmctld -i -f "$SLURM_CONF" || { cat "$LZ_SLURM_DIR/slurmctld.log"; exit 1; }
  sleep 1
  grep -q "Address already in use" "$LZ_SLURM_DIR/slurmctld.log" || break
  echo "slurmctld: port taken (attempt $attempt), trying another"
  [ "$attempt" -lt 5 ] || { tail "$LZ_SLURM_DIR/slurmctld.log"; exit 1; }
done
slurmd -f "$SLURM_CONF" || { cat "$LZ_SLURM_DIR/slurmd.log"; exit 1; }
for _ in $(seq 100); do
  [ "$(timeout 5 sinfo -h -o %T 2>/dev/null)" = "idle" ] && break
  sleep 0.2
done
[ "$(timeout 5 sinfo -h -o %T)" = "idle" ] || {
  echo "FAIL: the SLURM node did not come up"; sinfo; tail "$LZ_SLURM_DIR"/*.log; exit 1; }

lz_fail=0
# check DESCRIPTION EXPR: prints ok/FAIL and remembers a failure.
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; lz_fail=1; fi; }
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
job_state() { job_field "$1" JobState; }
restarts() { job_field "$1" Restarts; }
exit_code() { job_field "$1" ExitCode; }
# wait_job ID [SECONDS]: polls scontrol (sbatch --wait polls slowly) until the job has ended for
# good (at most SECONDS, default 300); a job that is being requeued passes through
# REQUEUED/PENDING and is waited for.
wait_job() {
  for _ in $(seq $((${2:-300} * 4))); do
    case $(job_state "$1") in
      COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) return ;;
    esac
    sleep 0.25
  done
  echo "FAIL: job $1 still $(job_state "$1") after ${2:-300} s"
}
all_done() { "$LRZOO" info "$1" | grep -qE 'tiles: +([0-9]+) of \1 done'; }
# lz_slurm_finish: prints the job logs and daemon log tails on failure; exits with the verdict.
lz_slurm_finish() {
  if [ "$lz_fail" -ne 0 ]; then
    for f in "$LZ_SLURM_DIR"/work/*.out; do [ -e "$f" ] && { echo "== $f"; cat "$f"; }; done
    tail -n 30 "$LZ_SLURM_DIR/slurmctld.log" "$LZ_SLURM_DIR/slurmd.log"
    exit 1
  fi
  echo "PASS: $1"
  exit 0
}
cd "$LZ_SLURM_DIR/work" || exit 1
