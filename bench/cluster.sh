#!/usr/bin/env bash
# Quorum queues on a three-node Courier cluster on this machine (issue 6's benchmark, issue 8's
# "3-node" scenario), with RabbitMQ PerfTest 2.22.1: each run starts three fresh nodes, runs
# PerfTest through node 1 against one quorum queue, and stops them. With several revisions the
# runs alternate A B A B so that drift of this shared machine hits them alike.
#
#   bench/cluster.sh                                  # the working tree's ./courier, 1 run of 30 s
#   bench/cluster.sh --commits 3be2b62~1,3be2b62 --rounds 2 --duration 30
#   bench/cluster.sh -- -x 2 -y 2 -s 1000 -f persistent -c 100 -q 100 -qq -u qq -ad false -z 30
#   bench/cluster.sh --rabbitmq --rounds 2          # the working tree against a 3-node RabbitMQ
#
# With --rabbitmq a three-node RabbitMQ cluster (Debian's rabbitmq-server, default configuration,
# nodes bench1..3@localhost on 127.0.0.1 ports 5691-5693, dist 25691-25693, a private epmd on
# 24370 and Erlang cookie) is one more "revision" in the A B A B order, started fresh per run.
#
# Results: one line per run on stdout (revision, round, sent and received msg/s, consumer latency
# p50/p99) and PerfTest's and the nodes' output in bench/target/cluster/<timestamp>/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/bench/lib.sh"
duration=30
warmup=10
rounds=1
commits=""
with_rabbitmq=0
scenario=()

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'
  cat <<'EOF'
options:
  --commits A,B,...   revisions to build from clean snapshots (default: the working tree)
  --rabbitmq          also run a fresh three-node RabbitMQ cluster in each round
  --rounds N          runs per revision (default 1)
  --duration S        measured seconds per run (default 30)
  --warmup S          seconds of discarded PerfTest traffic per run, after the nodes start (default 10)
  -- ARGS             PerfTest arguments replacing the default scenario
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --commits) commits="$2"; shift 2 ;;
    --rabbitmq) with_rabbitmq=1; shift ;;
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --) shift; scenario=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) echo "cluster: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$duration" "$warmup" "$rounds"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "cluster: expected a whole number, got '$n'" >&2; exit 2; }
done

log() { echo "cluster: $(date +%H:%M:%S) $*" >&2; }
die() { echo "cluster: $*" >&2; exit 1; }

results="$root/bench/target/cluster/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$results"
work="$(mktemp -d)"
cluster_pids=()
rabbit_cluster_pids=()
cleanup() {
  stop_rabbit_cluster 2>/dev/null || true
  stop_courier_cluster 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# revision label -> directory holding its ./courier
declare -A tree
labels=()
if [ -z "$commits" ]; then
  labels=(worktree)
  tree[worktree]="$root"
else
  IFS=',' read -r -a revs <<<"$commits"
  for rev in "${revs[@]}"; do
    short="$(git -C "$root" rev-parse --short "$rev^{commit}")" || die "unknown revision $rev"
    dir="$work/src-$short"
    mkdir -p "$dir"
    log "building $short from a clean snapshot"
    git -C "$root" archive "$short" | tar -x -C "$dir"
    ln -s "$root/../shared" "$work/shared" 2>/dev/null || true # the protocol build reads ../shared
    (cd "$dir" && mvn -B -q -Dstyle.color=never -DskipTests -Dspotless.check.skip=true -pl server -am package) \
      >"$results/build-$short.log" 2>&1 || die "build of $short failed, see $results/build-$short.log"
    labels+=("$short")
    tree[$short]="$dir"
  done
fi

# --- a three-node RabbitMQ cluster (--rabbitmq) --------------------------------------------------

rabbit_bin=""
if [ "$with_rabbitmq" = 1 ]; then
  rabbit_bin="$(rabbitmq_bin_dir)"
  [ -n "$rabbit_bin" ] || die "--rabbitmq: rabbitmq-server is not installed (apt-get install rabbitmq-server)"
  labels+=(rabbitmq)
fi

# PerfTest's summary line: "... sending rate avg: N msg/s ... receiving rate avg: N msg/s"
summary() {
  local out="$1" sent received p50 p99
  sent="$(sed -n 's/.*sending rate avg: \([0-9]*\) msg\/s.*/\1/p' "$out" | tail -1)"
  received="$(sed -n 's/.*receiving rate avg: \([0-9]*\) msg\/s.*/\1/p' "$out" | tail -1)"
  # the consumer latency line of the summary: "consumer latency min/median/75th/95th/99th A/B/C/D/E µs"
  read -r p50 p99 < <(sed -n 's/.*consumer latency min\/median\/75th\/95th\/99th [0-9]*\/\([0-9]*\)\/[0-9]*\/[0-9]*\/\([0-9]*\) µs.*/\1 \2/p' "$out" | tail -1)
  printf '%s\t%s\t%s\t%s\n' "${sent:-?}" "${received:-?}" "$(( ${p50:-0} / 1000 ))" "$(( ${p99:-0} / 1000 ))"
}

queue="qq-bench"
[ ${#scenario[@]} -eq 0 ] && scenario=(-x 1 -y 1 -s 1000 -f persistent -c 100 -q 100 -qq -u "$queue" -ad false)
printf 'revision\tround\tsent msg/s\treceived msg/s\tp50 ms\tp99 ms\n'
for round in $(seq 1 "$rounds"); do
  for label in "${labels[@]}"; do
    run="$label-r$round"
    log "$run: starting three nodes"
    if [ "$label" = rabbitmq ]; then
      start_rabbit_cluster "$rabbit_bin" "$work/$run" "$results/$run" || die "$run: the RabbitMQ cluster did not start"
      log "$run: RabbitMQ $rabbit_cluster_version cluster of 3 nodes ready"
    else
      start_courier_cluster "${tree[$label]}" "$work/$run" "$results/$run" || die "$run: the Courier cluster did not start"
    fi
    amqp_port="$cluster_amqp_port"
    uri="amqp://guest:guest@127.0.0.1:$amqp_port"
    if [ "$warmup" -gt 0 ]; then
      "$root/bench/perftest.sh" --uri "$uri" -- "${scenario[@]}" -z "$warmup" >"$results/$run-warmup.txt" 2>&1 || true
    fi
    log "$run: PerfTest for $duration s"
    "$root/bench/perftest.sh" --uri "$uri" -- "${scenario[@]}" -z "$duration" >"$results/$run.txt" 2>&1 || true
    grep -q "receiving rate avg" "$results/$run.txt" || log "$run: PerfTest failed (see $results/$run.txt)"
    printf '%s\t%s\t%s\n' "$label" "$round" "$(summary "$results/$run.txt")"
    if [ "$label" = rabbitmq ]; then stop_rabbit_cluster; else stop_courier_cluster; fi
  done
done
log "raw output in $results"
