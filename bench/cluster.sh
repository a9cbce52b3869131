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
pids=()
cleanup() {
  stop_rabbit_cluster 2>/dev/null || true
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# starts three nodes of $1's tree; sets amqp_port to node 1's AMQP port
start_cluster() {
  local dir="$1" run="$2" spec="" i
  local raft=()
  for i in 1 2 3; do raft+=("$(free_port)"); done
  spec="n1=127.0.0.1:${raft[0]},n2=127.0.0.1:${raft[1]},n3=127.0.0.1:${raft[2]}"
  pids=()
  for i in 1 2 3; do
    "$dir/courier" server --amqp-port 0 --http-port 0 --data-dir "$work/$run/n$i" \
      --node-id "n$i" --cluster "$spec" >"$results/$run-n$i.out" 2>"$results/$run-n$i.err" &
    pids+=($!)
  done
  amqp_port=""
  for _ in $(seq 1 3000); do
    local ready=0
    for i in 1 2 3; do grep -q ready "$results/$run-n$i.out" 2>/dev/null && ready=$((ready + 1)); done
    [ "$ready" = 3 ] && break
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || die "a node of $run died (see $results/$run-n*.err)"; done
    sleep 0.1
  done
  amqp_port="$(sed -n 's/.*ready.*amqp=[^ ]*:\([0-9][0-9]*\).*/\1/p' "$results/$run-n1.out" | head -1)"
  [ -n "$amqp_port" ] || die "the nodes of $run printed no ready line within 5 minutes"
}

stop_cluster() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}

# --- a three-node RabbitMQ cluster (--rabbitmq) --------------------------------------------------

rabbit_bin=""
rabbit_epmd_port=24370
rabbit_pids=()
if [ "$with_rabbitmq" = 1 ]; then
  rabbit_bin="$(rabbitmq_bin_dir)"
  [ -n "$rabbit_bin" ] || die "--rabbitmq: rabbitmq-server is not installed (apt-get install rabbitmq-server)"
  labels+=(rabbitmq)
fi

# sets renv to the environment of RabbitMQ node $1 (1-3) of run $2
rabbit_env() {
  local i="$1" dir="$work/$2/rabbit$1"
  renv=(
    HOME="$work/$2/rabbit-home" # one private Erlang cookie for the three nodes
    RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq" # does not exist: default configuration
    RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
    RABBITMQ_MNESIA_BASE="$dir/mnesia"
    RABBITMQ_LOG_BASE="$dir/log"
    RABBITMQ_PID_FILE="$dir/pid"
    RABBITMQ_NODENAME="bench$i@localhost"
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    RABBITMQ_NODE_PORT="$((5690 + i))"
    RABBITMQ_DIST_PORT="$((25690 + i))"
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    ERL_EPMD_ADDRESS=127.0.0.1
    ERL_EPMD_PORT="$rabbit_epmd_port"
  )
}

rabbitmqctl_on() { # rabbitmqctl_on NODE RUN ARGS...
  local i="$1" run="$2"; shift 2
  rabbit_env "$i" "$run"
  env "${renv[@]}" "$rabbit_bin/rabbitmqctl" -n "bench$i@localhost" -q "$@"
}

start_rabbit_cluster() {
  local run="$1" i up
  mkdir -p "$work/$run/rabbit-home" # one Erlang cookie for the three nodes
  rabbit_pids=()
  rabbit_run="$run"
  for i in 1 2 3; do
    local dir="$work/$run/rabbit$i"
    mkdir -p "$dir/mnesia" "$dir/log"
    echo '[].' >"$dir/enabled_plugins"
    : >"$dir/rabbitmq-env.conf"
    rabbit_env "$i" "$run"
    (cd "$dir" && exec env "${renv[@]}" "$rabbit_bin/rabbitmq-server") \
      >"$results/$run-rabbit$i.out" 2>"$results/$run-rabbit$i.err" &
    rabbit_pids+=($!)
    # the first node starts the private epmd the others use: let it get there before the next
    if [ "$i" = 1 ]; then sleep 2; fi
  done
  for i in 1 2 3; do
    up=0
    for _ in $(seq 1 120); do
      kill -0 "${rabbit_pids[$((i - 1))]}" 2>/dev/null || die "RabbitMQ node $i of $run died (see $results/$run-rabbit$i.out)"
      if rabbitmqctl_on "$i" "$run" await_startup --timeout 5 >/dev/null 2>&1; then up=1; break; fi
      sleep 1
    done
    [ "$up" = 1 ] || die "RabbitMQ node $i of $run did not boot within 2 minutes"
  done
  for i in 2 3; do
    rabbitmqctl_on "$i" "$run" stop_app >/dev/null
    rabbitmqctl_on "$i" "$run" join_cluster bench1@localhost >/dev/null || die "node $i could not join the RabbitMQ cluster"
    rabbitmqctl_on "$i" "$run" start_app >/dev/null
  done
  rabbit_version="$(rabbitmqctl_on 1 "$run" version 2>/dev/null || echo unknown)"
  log "$run: RabbitMQ $rabbit_version cluster of 3 nodes ready"
  amqp_port=5691
}

stop_rabbit_cluster() {
  [ ${#rabbit_pids[@]} -gt 0 ] || return 0
  local i
  for i in 3 2 1; do rabbitmqctl_on "$i" "$rabbit_run" stop >/dev/null 2>&1 || true; done
  for pid in "${rabbit_pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rabbit_pids=()
  local epmd_bin; epmd_bin="$(command -v epmd || ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -1)"
  [ -n "$epmd_bin" ] && ERL_EPMD_PORT="$rabbit_epmd_port" "$epmd_bin" -kill >/dev/null 2>&1 || true
}

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
      start_rabbit_cluster "$run"
    else
      start_cluster "${tree[$label]}" "$run"
    fi
    uri="amqp://guest:guest@127.0.0.1:$amqp_port"
    if [ "$warmup" -gt 0 ]; then
      "$root/bench/perftest.sh" --uri "$uri" -- "${scenario[@]}" -z "$warmup" >"$results/$run-warmup.txt" 2>&1 || true
    fi
    log "$run: PerfTest for $duration s"
    "$root/bench/perftest.sh" --uri "$uri" -- "${scenario[@]}" -z "$duration" >"$results/$run.txt" 2>&1 || true
    grep -q "receiving rate avg" "$results/$run.txt" || log "$run: PerfTest failed (see $results/$run.txt)"
    printf '%s\t%s\t%s\n' "$label" "$round" "$(summary "$results/$run.txt")"
    if [ "$label" = rabbitmq ]; then stop_rabbit_cluster; else stop_cluster; fi
  done
done
log "raw output in $results"
