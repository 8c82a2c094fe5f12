#!/usr/bin/env bash
# Runs the commands of docs/clusters.md for real on this machine (not part of make test;
# `make check-clusters`): a private one-node Slurm cluster on localhost (own munge key and
# socket, daemons in the foreground), an `sbatch --array` over 4 slices of the smoke
# profile, then the same sweep with GNU parallel (`--sshlogin :` runs locally). Each sweep
# is checked by its shards, not by exit codes, merged, and compared with a local run
# (provenance columns and wall-time metrics left out). Needs root and
#   apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge parallel
# Usage: scripts/check-clusters.sh [attnlab binary] [experiment]   (defaults: .build/debug/attnlab mqar-recall)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
BIN="$(realpath "${1:-.build/debug/attnlab}")"
EXP="${2:-mqar-recall}"
PROFILE=smoke
SLICES=4
for tool in munged slurmctld slurmd sbatch parallel python3; do
  command -v "$tool" > /dev/null || { echo "check-clusters: $tool missing; apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge parallel"; exit 2; }
done
[ -x "$BIN" ] || { echo "check-clusters: no binary $BIN (swift build first)"; exit 2; }

# A short path: the munge socket's path must fit in a sockaddr_un.
D="$(mktemp -d /tmp/acl.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2> /dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# --- the reference: one uninterrupted local run, merged -------------------------------------
"$BIN" run "$EXP" --profile "$PROFILE" --results "$D/local" --merge > "$D/local.log" 2>&1
expected=$("$BIN" run "$EXP" --profile "$PROFILE" --results "$D/local" --dry-run | wc -l)
echo "local: $expected runs of $EXP ($PROFILE) → $D/local/$EXP.csv"

# every_shard_done <results>: all runs of the profile have their shard (the trustworthy check).
every_shard_done() {
  local listing done
  listing=$("$BIN" run "$EXP" --profile "$PROFILE" --results "$1" --dry-run)
  done=$(grep -c '^done ' <<< "$listing" || true)
  [ "$done" -eq "$expected" ] || { fail "$1: $done of $expected shards"; grep '^todo ' <<< "$listing" | head -5; return 1; }
}
# same_rows <a.csv> <b.csv>: equal rows once provenance columns and wall-time metrics are dropped.
same_rows() {
  python3 - "$1" "$2" <<'PY'
import csv, sys
PROVENANCE = {"git_commit", "git_dirty", "date", "build", "swift_version", "cpu_model", "logical_cores",
              "blas_core", "blas_threads", "openblas_coretype_env"}
TIMES = {"train_seconds", "train_tokens_per_second"}
def rows(path):
    r = list(csv.reader(open(path, newline="")))
    keep = [i for i, h in enumerate(r[0]) if h not in PROVENANCE]
    m = r[0].index("metric")
    return [[row[i] for i in keep] for row in r[1:] if row[m] not in TIMES]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
if a != b:
    print(f"{sys.argv[1]} ({len(a)} rows) differs from {sys.argv[2]} ({len(b)} rows)")
    sys.exit(1)
print(f"same {len(a)} rows (provenance and wall-time metrics left out)")
PY
}

# --- a private one-node Slurm cluster on localhost -----------------------------------------
mkdir -p "$D/state" "$D/spool" "$D/munge"
dd if=/dev/urandom of="$D/munge/munge.key" bs=1024 count=1 status=none
chmod 711 "$D/munge"; chmod 400 "$D/munge/munge.key"
munged --foreground --force --socket="$D/munge/sock" --key-file="$D/munge/munge.key" \
  --pid-file="$D/munge/munged.pid" --seed-file="$D/munge/seed" --log-file="$D/munge/munged.log" > "$D/munged.out" 2>&1 &
PIDS+=($!)
PORT=$((20000 + RANDOM % 20000))
cat > "$D/slurm.conf" <<CONF
ClusterName=attnlab
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
AuthInfo=socket=$D/munge/sock
CredType=cred/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$D/slurm.conf"
for _ in $(seq 50); do [ -S "$D/munge/sock" ] && break; sleep 0.1; done
slurmctld -D -f "$SLURM_CONF" > "$D/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -N localhost -f "$SLURM_CONF" > "$D/slurmd.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do sinfo -h -N -o '%T' 2> /dev/null | grep -qE '^(idle|mixed)' && break; sleep 0.2; done
sinfo -h -N -o '%N %T' | grep -qE 'idle|mixed' || { fail "the node did not come up: $(sinfo -N 2>&1)"; tail -5 "$D"/slurm*.log; exit 1; }
echo "slurm: one node up ($(sinfo -h -N -o '%N %c CPUs %T'))"

# --- the job array: the doc's command, smoke profile, 4 slices ------------------------------
# (docs/clusters.md: sbatch --array=0-7 scripts/attnlab-array.sbatch all paper results)
status=0
ATTNLAB="$BIN" sbatch --wait --array=0-$((SLICES - 1)) --chdir="$ROOT" --output="$D/slurm-%A_%a.out" \
  scripts/attnlab-array.sbatch "$EXP" "$PROFILE" "$D/slurm-results" || status=$?
echo "slurm: sbatch --wait exited $status; task outputs:"
for f in "$D"/slurm-*_*.out; do echo "  $(basename "$f"): $(grep -m1 "runs," "$f" || tail -1 "$f")"; done
if every_shard_done "$D/slurm-results"; then
  "$BIN" merge "$EXP" --profile "$PROFILE" --results "$D/slurm-results"
  same_rows "$D/slurm-results/$EXP.csv" "$D/local/$EXP.csv" || fail "slurm merge differs from the local run"
fi

# --- GNU parallel: the doc's command with --sshlogin : (this machine) -------------------------
# (docs/clusters.md: parallel --sshlogin 2/node1,2/node2 --workdir "$PWD" ... ::: $(seq 0 7))
status=0
parallel --will-cite --sshlogin : --workdir "$ROOT" --joblog "$D/parallel.log" \
  "$BIN" run "$EXP" --profile "$PROFILE" --results "$D/parallel-results" --shard {}/$SLICES \
  ::: $(seq 0 $((SLICES - 1))) > "$D/parallel.out" 2>&1 || status=$?
echo "parallel: exited $status; $(($(wc -l < "$D/parallel.log") - 1)) jobs"
if every_shard_done "$D/parallel-results"; then
  "$BIN" merge "$EXP" --profile "$PROFILE" --results "$D/parallel-results"
  same_rows "$D/parallel-results/$EXP.csv" "$D/local/$EXP.csv" || fail "parallel merge differs from the local run"
fi

if [ "$failures" -gt 0 ]; then echo "check-clusters: $failures failure(s) (KEEP=1 keeps $D)"; exit 1; fi
echo "check-clusters: Slurm array and GNU parallel sweeps match the local run"
