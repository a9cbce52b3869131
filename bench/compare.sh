#!/usr/bin/env bash
# Side-by-side benchmark (issue 8): Courier (A) against RabbitMQ (B) with RabbitMQ PerfTest 2.22.1,
# alternating A B A B so that drift of this shared machine hits both brokers alike.
#
#   bench/compare.sh                                   # default scenarios, 20 s per run, 2 rounds
#   bench/compare.sh --duration 10 --rounds 1 --scenarios transient,durable --no-docs
#   bench/compare.sh --scenarios curves                # size, queues and connections curves
#
# It starts Courier (./courier server, fresh temporary data dir) and, when rabbitmq-server is
# installed, a private RabbitMQ node bound to 127.0.0.1 on non-default ports (5673, dist 25673,
# epmd 24369; its own temporary data dir and Erlang cookie), runs every scenario against both,
# deletes each run's queues through AMQP (bench/runner/BenchAdmin.java), stops both brokers and
# writes the figures with bench/runner/report.py: a dated section in docs/benchmarks.md and SVG
# charts in docs/bench/. Raw PerfTest output stays in bench/target/compare/<timestamp>/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/bench/lib.sh"
command_line="bench/compare.sh $*"

usage() {
  cat <<'EOF'
usage: bench/compare.sh [options]
  --duration S          seconds per scenario run (default 20)
  --curve-duration S    seconds per point of the scaling curves (default 10)
  --rounds N            A B rounds per scenario (default 2: A1 B1 A2 B2)
  --scenarios LIST      comma-separated; names: transient durable fanout competing latency quorum
                        quorum3 large size queues connections backlog; groups: default (the
                        first six), curves (the last four), all (default: default); quorum3 =
                        a quorum queue on a fresh three-node cluster of each broker per run;
                        large = 16 MiB messages; backlog = broker memory against queued messages
  --warmup S            seconds of discarded traffic per broker before each scenario (default 5; 0 = none)
  --cluster-warmup S    the same for each fresh three-node cluster of quorum3 (default 60: three new
                        JVMs on a small machine spend the first minutes JIT-compiling)
  --no-rabbitmq         run Courier only, even when rabbitmq-server is installed
  --commit REV          benchmark a clean snapshot of REV (git archive, built with mvn package in
                        the temp dir) instead of the working tree's ./courier
  --courier-set K=V     pass --set K=V to the Courier server (repeatable), e.g. fsync=batch-ms 5
  --rabbitmq-port P     AMQP port of the private RabbitMQ node (default 5673)
  --no-docs             leave docs/ alone; the report and SVGs go to the results directory only
  -h, --help            this text
EOF
}

duration=20
curve_duration=10
rounds=2
scenario_list=default
warmup=5
cluster_warmup=60
use_rabbitmq=1
write_docs=1
commit=""
courier_sets=()
rabbit_port=5673
rabbit_dist_port=25673
epmd_port=24369

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --curve-duration) curve_duration="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --scenarios) scenario_list="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --cluster-warmup) cluster_warmup="$2"; shift 2 ;;
    --no-rabbitmq) use_rabbitmq=0; shift ;;
    --commit) commit="$2"; shift 2 ;;
    --courier-set) courier_sets+=(--set "$2"); shift 2 ;;
    --rabbitmq-port) rabbit_port="$2"; shift 2 ;;
    --no-docs) write_docs=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

die() { echo "compare: $*" >&2; exit 1; }
log() { echo "compare: $(date +%H:%M:%S) $*" >&2; }

for n in "$duration" "$curve_duration" "$rounds" "$warmup" "$cluster_warmup" "$rabbit_port"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "expected a whole number, got '$n'"
done
[ "$duration" -ge 1 ] && [ "$curve_duration" -ge 1 ] && [ "$rounds" -ge 1 ] || die "durations and rounds must be at least 1"

all_scenarios=(transient durable fanout competing latency quorum quorum3 large size queues connections backlog)
scenarios=()
IFS=',' read -r -a requested <<<"$scenario_list"
for s in "${requested[@]}"; do
  case "$s" in
    default) scenarios+=(transient durable fanout competing latency quorum) ;;
    curves) scenarios+=(size queues connections backlog) ;;
    all) scenarios+=("${all_scenarios[@]}") ;;
    transient|durable|fanout|competing|latency|quorum|quorum3|large|size|queues|connections|backlog) scenarios+=("$s") ;;
    *) die "unknown scenario '$s' (known: ${all_scenarios[*]}, default, curves, all)" ;;
  esac
done

command -v java >/dev/null || die "java not found (JDK 17 needed)"
command -v mvn >/dev/null || die "mvn not found (Maven needed to resolve PerfTest)"
command -v python3 >/dev/null || die "python3 not found (needed for the report)"

# --- working directories and cleanup -------------------------------------------------------------

# Courier blocks publishers below 1 GiB free and RabbitMQ stops when its disk fills: fail early
free_kb="$(df -Pk "${TMPDIR:-/tmp}" | awk 'NR == 2 {print $4}')"
[ "${free_kb:-0}" -ge $((4 * 1024 * 1024)) ] || die "less than 4 GiB free in ${TMPDIR:-/tmp}; the brokers need room for their data"

stamp="$(date -u +%Y%m%d-%H%M%S)"
results="$root/bench/target/compare/$stamp"
work="$(mktemp -d "${TMPDIR:-/tmp}/courier-compare.XXXXXX")"
mkdir -p "$results"
courier_pid=""
rabbit_pid=""
perftest_pid=""
sampler_pid=""
rabbit_beam_pid=""
rabbit_env=()

stop_courier() {
  [ -n "$courier_pid" ] || return 0
  kill -TERM "$courier_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$courier_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$courier_pid" 2>/dev/null || true
  wait "$courier_pid" 2>/dev/null || true
  courier_pid=""
}

stop_rabbitmq() {
  [ -n "$rabbit_pid" ] || return 0
  env "${rabbit_env[@]}" "$rabbit_bin/rabbitmqctl" -n "$rabbit_node" -q stop >/dev/null 2>&1 || true
  for _ in $(seq 1 100); do kill -0 "$rabbit_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$rabbit_pid" 2>/dev/null; then
    [ -n "$rabbit_beam_pid" ] && kill -KILL "$rabbit_beam_pid" 2>/dev/null || true
    kill -KILL "$rabbit_pid" 2>/dev/null || true
  fi
  wait "$rabbit_pid" 2>/dev/null || true
  rabbit_pid=""
  # the node started its own epmd (daemonized) on our private port: stop that one only
  local epmd_bin; epmd_bin="$(command -v epmd || ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -1)"
  [ -n "$epmd_bin" ] && ERL_EPMD_PORT="$epmd_port" "$epmd_bin" -kill >/dev/null 2>&1 || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$sampler_pid" ]; then kill "$sampler_pid" 2>/dev/null || true; fi
  if [ -n "$perftest_pid" ]; then kill -TERM "$perftest_pid" 2>/dev/null || true; wait "$perftest_pid" 2>/dev/null || true; fi
  stop_run_cluster courier 2>/dev/null || true
  stop_rabbit_cluster 2>/dev/null || true
  stop_courier
  stop_rabbitmq
  rm -rf "$work"
  if [ $rc -ne 0 ]; then
    # what did complete is still worth a look; docs/ stay untouched
    if [ "$(cat "$results/runs.tsv" 2>/dev/null | wc -l)" -gt 1 ]; then
      python3 "$root/bench/runner/report.py" "$results" >/dev/null 2>&1 \
        && echo "compare: report of the completed runs: $results/report.md" >&2
    fi
    echo "compare: stopped (exit $rc); raw output kept in $results" >&2
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- PerfTest and the admin helper ---------------------------------------------------------------

cp_file="$root/bench/target/perftest.classpath"
if [ ! -s "$cp_file" ]; then
  log "resolving PerfTest 2.22.1 with Maven"
  mkdir -p "$root/bench/target"
  mvn -q -B -Dstyle.color=never -f "$root/bench/perftest/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp_file" >&2 \
    || die "could not resolve com.rabbitmq:perf-test (see bench/perftest/pom.xml)"
fi
perftest_cp="$(cat "$cp_file")"
mkdir -p "$work/admin"
javac -nowarn -d "$work/admin" -cp "$perftest_cp" "$root/bench/runner/BenchAdmin.java" \
  || die "could not compile bench/runner/BenchAdmin.java"

admin() { # admin URI ARGS...: quiet logging, 60 s at most
  timeout 60 java -Dlogback.configurationFile=logback-perf-test.xml -cp "$work/admin:$perftest_cp" BenchAdmin "$@"
}

# --- Courier -------------------------------------------------------------------------------------

courier_root="$root"
courier_rev="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$commit" ]; then
  courier_rev="$(git -C "$root" rev-parse --short "$commit^{commit}")" || die "unknown commit $commit"
  courier_root="$work/src"
  mkdir -p "$courier_root"
  log "building Courier $courier_rev from a clean snapshot (mvn package, tests skipped)"
  git -C "$root" archive "$courier_rev" | tar -x -C "$courier_root"
  (cd "$courier_root" && mvn -B -q -Dstyle.color=never -DskipTests -Dspotless.check.skip=true -pl server -am package) \
    >"$results/courier-build.log" 2>&1 || die "Courier build failed, see $results/courier-build.log"
elif [ -n "$(git -C "$root" status --porcelain -- protocol broker store server pom.xml 2>/dev/null)" ]; then
  courier_rev="$courier_rev+uncommitted"
  log "note: the working tree has uncommitted broker changes; --commit HEAD benchmarks a clean HEAD"
fi

start_courier() {
  mkdir -p "$work/courier"
  log "starting Courier ($courier_root/courier; builds the jar first if it is stale)"
  # a one-node cluster, so that the quorum scenario has Raft-replicated queues to measure
  local raft_port
  raft_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "$courier_root/courier" server --amqp-port 0 --http-port 0 --data-dir "$work/courier/data" \
    --node-id bench --cluster "bench=127.0.0.1:$raft_port" "${courier_sets[@]}" \
    >"$results/courier.out" 2>"$results/courier.err" &
  courier_pid=$!
  local port=""
  for _ in $(seq 1 3000); do # up to 5 minutes: the first start may build the distribution
    port="$(sed -n 's/.*ready.*amqp=[^ ]*:\([0-9][0-9]*\).*/\1/p' "$results/courier.out" 2>/dev/null | head -1)"
    [ -n "$port" ] && break
    if ! kill -0 "$courier_pid" 2>/dev/null; then
      tail -20 "$results/courier.err" >&2
      courier_pid=""
      die "Courier did not start (log: $results/courier.err)"
    fi
    sleep 0.1
  done
  [ -n "$port" ] || die "Courier printed no 'ready' line within 5 minutes (log: $results/courier.err)"
  courier_uri="amqp://guest:guest@127.0.0.1:$port"
  log "Courier ready on 127.0.0.1:$port (pid $courier_pid)"
}

# --- RabbitMQ ------------------------------------------------------------------------------------

rabbit_bin=""
rabbit_node="rabbit@localhost"
if [ "$use_rabbitmq" = 1 ]; then
  rabbit_bin="$(rabbitmq_bin_dir)"
  if [ -z "$rabbit_bin" ]; then
    log "rabbitmq-server is not installed: Courier only (apt-get install rabbitmq-server for the comparison)"
    use_rabbitmq=0
  fi
fi

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_rabbitmq() {
  local dir="$work/rabbitmq"
  mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
  echo '[].' >"$dir/enabled_plugins"
  : >"$dir/rabbitmq-env.conf"
  for p in "$rabbit_port" "$rabbit_dist_port"; do
    port_in_use "$p" && die "port $p on 127.0.0.1 is taken (another RabbitMQ?); pick another with --rabbitmq-port"
  done
  rabbitmq_node_env "$dir" "$dir/home" "$rabbit_node" "$rabbit_port" "$rabbit_dist_port" "$epmd_port"
  rabbit_env=("${renv[@]}")
  log "starting RabbitMQ ($rabbit_bin/rabbitmq-server, 127.0.0.1:$rabbit_port)"
  (cd "$dir" && exec env "${rabbit_env[@]}" "$rabbit_bin/rabbitmq-server") >"$results/rabbitmq.out" 2>"$results/rabbitmq.err" &
  rabbit_pid=$!
  local up=0
  for _ in $(seq 1 120); do
    if ! kill -0 "$rabbit_pid" 2>/dev/null; then
      tail -20 "$results/rabbitmq.out" "$results/rabbitmq.err" >&2
      rabbit_pid=""
      die "RabbitMQ did not start (logs: $results/rabbitmq.out, $dir/log)"
    fi
    if env "${rabbit_env[@]}" "$rabbit_bin/rabbitmqctl" -n "$rabbit_node" -q await_startup --timeout 5 >/dev/null 2>&1; then
      up=1; break
    fi
    sleep 1
  done
  [ "$up" = 1 ] || die "RabbitMQ did not finish booting within 2 minutes (log: $results/rabbitmq.out)"
  rabbit_uri="amqp://guest:guest@127.0.0.1:$rabbit_port"
  rabbit_version="$(env "${rabbit_env[@]}" "$rabbit_bin/rabbitmqctl" -n "$rabbit_node" -q version 2>/dev/null || echo unknown)"
  rabbit_beam_pid="$(cat "$dir/pid" 2>/dev/null || true)"
  [ -n "$rabbit_beam_pid" ] || die "RabbitMQ wrote no pid file ($dir/pid)"
  log "RabbitMQ $rabbit_version ready (beam pid $rabbit_beam_pid)"
}

# --- scenarios -----------------------------------------------------------------------------------

points() { # the x values of a scenario; "-" for a single-point scenario
  case "$1" in
    size) echo 64 1024 16384 131072 1048576 ;;
    queues|connections) echo 1 10 100 1000 ;;
    backlog) echo 10000 100000 1000000 ;;
    *) echo - ;;
  esac
}

# Sets perftest_args and owned_queues (what to delete afterwards) for scenario $1 at point $2;
# $3 is the run's unique prefix for queue and exchange names.
scenario_setup() {
  local s="$1" p="$2" q="$3"
  local durable=(-f persistent -c 100 -q 100) # persistent, 100 confirms outstanding, manual ack, prefetch 100
  owned_queues=("$q")
  case "$s" in
    transient)   perftest_args=(-x 1 -y 1 -s 1000 -a -u "$q") ;;
    durable)     perftest_args=(-x 1 -y 1 -s 1000 "${durable[@]}" -u "$q") ;;
    competing)   perftest_args=(-x 2 -y 4 -s 1000 "${durable[@]}" -u "$q") ;;
    latency)     perftest_args=(-x 1 -y 1 -s 1000 "${durable[@]}" -r 1000 -u "$q") ;;
    quorum|quorum3) perftest_args=(-x 1 -y 1 -s 1000 "${durable[@]}" -qq -u "$q") ;;
    large)       perftest_args=(-x 1 -y 1 -s 16777216 -f persistent -c 4 -q 4 -u "$q") ;;
    # publish N persistent messages and stop (no consumer): the queue keeps them for the memory probe
    backlog)     perftest_args=(-x 1 -y 0 -C "$p" -s 1000 -f persistent -c 1000 -u "$q") ;;
    fanout)      perftest_args=(-x 1 -y 4 -s 1000 -a -e "$q-x" -t fanout --queue-pattern "$q-%d" -qpf 1 -qpt 4) ;;
    size)        perftest_args=(-x 1 -y 1 -s "$p" -a -u "$q") ;;
    queues)      perftest_args=(-x 1 -X "$p" -y 1 -Y "$p" -s 1000 -a --queue-pattern "$q-%d" -qpf 1 -qpt "$p") ;;
    # a fixed total of 10,000 msg/s spread over the N producers: unthrottled, 1,000 publishing
    # threads starve PerfTest's own consumers on 2 cores and the run measures the load generator
    connections) perftest_args=(-x "$p" -y "$p" -r $((10000 / p)) -s 1000 -a --queue-pattern "$q-%d" -qpf 1 -qpt "$p") ;;
  esac
  case "$s" in
    fanout) owned_queues=("$q-1" "$q-2" "$q-3" "$q-4" --exchange "$q-x") ;;
    queues|connections) owned_queues=(); for i in $(seq 1 "$p"); do owned_queues+=("$q-$i"); done ;;
  esac
  # named, non-auto-delete queues: BenchAdmin reports what a run left behind, then deletes them
  perftest_args+=(-ad false)
}

# memory_probe BROKER: "heap_kb rss_kb" of the broker now; Courier's heap is what is live after a
# full GC (jcmd GC.run, then the used figure of GC.heap_info); RabbitMQ has no separate heap: "-".
memory_probe() {
  local pid; pid="$(broker_pid "$1")"
  local heap=-
  if [ "$1" = courier ] && command -v jcmd >/dev/null; then
    jcmd "$pid" GC.run >/dev/null 2>&1 || true
    heap="$(jcmd "$pid" GC.heap_info 2>/dev/null | sed -n 's/.*total [0-9]*K, used \([0-9]*\)K.*/\1/p' | head -1)"
    [ -n "$heap" ] || heap=-
  fi
  echo "$heap $(proc_rss_kb "$pid")"
}

proc_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
proc_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# while a quorum3 run has its own three-node cluster up: node 1's process and URI
cluster_pid=""
cluster_uri=""
broker_pid() {
  if [ -n "$cluster_pid" ]; then echo "$cluster_pid"; elif [ "$1" = courier ]; then echo "$courier_pid"; else echo "$rabbit_beam_pid"; fi
}
broker_uri() {
  if [ -n "$cluster_uri" ]; then echo "$cluster_uri"; elif [ "$1" = courier ]; then echo "$courier_uri"; else echo "$rabbit_uri"; fi
}

# start_run_cluster BROKER RUN: a fresh three-node cluster of BROKER for one quorum3 run, then a
# discarded warm-up on it; stop_run_cluster stops it
start_run_cluster() {
  local broker="$1" run="$2" dir="$work/cluster-$2"
  mkdir -p "$dir"
  if [ "$broker" = courier ]; then
    start_courier_cluster "$courier_root" "$dir" "$results/runs/$run" || die "$run: the Courier cluster did not start"
    cluster_pid="${cluster_pids[0]}"
  else
    start_rabbit_cluster "$rabbit_bin" "$dir" "$results/runs/$run" || die "$run: the RabbitMQ cluster did not start"
    cluster_pid="$rabbit_cluster_beam_pid"
  fi
  cluster_uri="amqp://guest:guest@127.0.0.1:$cluster_amqp_port"
  log "  three $broker nodes ready for $run"
  if [ "$cluster_warmup" -gt 0 ]; then
    local saved=("${perftest_args[@]}")
    perftest_args=("${perftest_args[@]/$3/$3-warmup}")
    run_perftest "$broker" "$cluster_warmup" "$results/runs/$run-warmup"
    perftest_args=("${saved[@]}")
  fi
}

stop_run_cluster() {
  [ -n "$cluster_pid" ] || return 0
  if [ "$1" = courier ]; then stop_courier_cluster; else stop_rabbit_cluster; fi
  cluster_pid=""
  cluster_uri=""
}

check_alive() {
  if [ -n "$cluster_pid" ]; then
    kill -0 "$cluster_pid" 2>/dev/null || die "node 1 of the $1 cluster died (logs in $results/runs)"
    return 0
  fi
  if [ "$1" = courier ]; then
    kill -0 "$courier_pid" 2>/dev/null || { tail -30 "$results/courier.err" >&2; courier_pid=""; die "Courier died during the run; log: $results/courier.err"; }
  else
    kill -0 "$rabbit_beam_pid" 2>/dev/null || { tail -30 "$results/rabbitmq.out" >&2; die "RabbitMQ died (see above and $results/rabbitmq.out)"; }
  fi
}

# Every 0.5 s: time, the broker's CPU ticks and how many lines PerfTest's CSV has, so that the
# report can take the broker's CPU over the measured seconds only, not connection set-up and
# tear-down (which dominate with 2,000 connections).
sample_cpu() {
  local pid="$1" csv="$2" out="$3"
  while :; do
    printf '%s %s %s\n' "$(date +%s.%N)" "$(proc_cpu_ticks "$pid")" "$(cat "$csv" 2>/dev/null | wc -l)" >>"$out"
    sleep 0.5
  done
}

run_seq=0
# run_perftest BROKER SECONDS OUT_BASE: runs PerfTest with perftest_args, sets run_rc
run_perftest() {
  local broker="$1" seconds="$2" base="$3"
  timeout --kill-after=20 $((seconds + 180)) \
    java -Xms512m -Xmx2g -cp "$perftest_cp" com.rabbitmq.perf.PerfTest --uri "$(broker_uri "$broker")" \
    --id "$(basename "$base")" -z "$seconds" -o "$base.csv" "${perftest_args[@]}" >"$base.txt" 2>&1 &
  perftest_pid=$!
  run_rc=0
  wait "$perftest_pid" || run_rc=$?
  perftest_pid=""
}

# run_one SCENARIO POINT ROUND BROKER
run_one() {
  local s="$1" p="$2" r="$3" broker="$4"
  run_seq=$((run_seq + 1))
  local label="$s"; [ "$p" != - ] && label="$s-$p"
  local seconds="$duration"; [ "$p" != - ] && seconds="$curve_duration"
  [ "$s" = backlog ] && seconds=900 # PerfTest stops once it published N (-C); this is only a bound
  local base="$results/runs/$label-$r-$broker"
  mkdir -p "$results/runs"
  local q="cb-$run_seq-$label-$broker"
  scenario_setup "$s" "$p" "$q"
  [ "$s" = quorum3 ] && start_run_cluster "$broker" "$label-$r-$broker" "$q"
  # the arguments as the report shows them: the run's own queue prefix becomes "q"
  local a shown=()
  for a in "${perftest_args[@]}"; do shown+=("${a//$q/q}"); done
  echo "-z $seconds ${shown[*]}" >"$base.args"
  check_alive "$broker"
  local pid; pid="$(broker_pid "$broker")"
  local load1; load1="$(cut -d' ' -f1 /proc/loadavg)"
  local ticks0 t0; ticks0="$(proc_cpu_ticks "$pid")"; t0="$(date +%s.%N)"
  local memory_before="- -"; [ "$s" = backlog ] && memory_before="$(memory_probe "$broker")"
  log "run $run_seq: $label round $r on $broker (${seconds}s): ${perftest_args[*]}"
  sample_cpu "$pid" "$base.csv" "$base.cpu" &
  sampler_pid=$!
  run_perftest "$broker" "$seconds" "$base"
  kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""
  local ticks1 t1 rss; ticks1="$(proc_cpu_ticks "$pid")"; t1="$(date +%s.%N)"; rss="$(proc_rss_kb "$pid")"
  local memory_after="- -"
  if [ "$s" = backlog ]; then
    admin "$(broker_uri "$broker")" await-depth "$q" "$p" >>"$base.admin.out" 2>>"$base.admin.err" \
      || log "  warning: $q did not reach $p messages (see $base.admin.out)"
    memory_after="$(memory_probe "$broker")"
    log "  memory (heap KiB, RSS KiB): before $memory_before, with $p queued $memory_after"
  fi
  check_alive "$broker"
  local leftover
  leftover="$(admin "$(broker_uri "$broker")" delete "${owned_queues[@]}" 2>>"$base.admin.err" | sed -n 's/^leftover //p')" || true
  [ -n "$leftover" ] || log "  warning: could not delete this run's queues (see $base.admin.err)"
  [ "$s" = quorum3 ] && stop_run_cluster "$broker"
  local cpu wall
  cpu="$(awk -v a="$ticks0" -v b="$ticks1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')"
  wall="$(awk -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", t1 - t0 }')"
  [ "$run_rc" = 0 ] || log "  PerfTest exited with $run_rc (see $base.txt)"
  grep -h 'rate avg\|latency min' "$base.txt" | sed 's/^id: [^,]*, /  /' >&2 || true
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$p" "$r" "$broker" "$run_rc" \
    "$seconds" "$load1" "$wall" "$cpu" "$rss" "${leftover:-?}" "runs/$(basename "$base")" \
    $memory_before $memory_after >>"$results/runs.tsv" # each "heap rss": two fields
}

# --- the session ---------------------------------------------------------------------------------

brokers=(courier)
start_courier
if [ "$use_rabbitmq" = 1 ]; then start_rabbitmq; brokers+=(rabbitmq); fi

{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "clk_tck=$(getconf CLK_TCK)"
  echo "nproc=$(nproc)"
  echo "mem_total=$(awk '/^MemTotal:/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "command=$command_line"
  echo "java=$(java -version 2>&1 | sed -n 's/.*Runtime Environment.*(build \(.*\))/\1/p' | head -1)"
  echo "courier_java_opts=${COURIER_JAVA_OPTS:-$(sed -n 's/^java_opts=\${COURIER_JAVA_OPTS:-"\(.*\)"}$/\1/p' "$courier_root/courier") (launcher default)}"
  echo "erlang=$(cat /usr/lib/erlang/releases/*/OTP_VERSION 2>/dev/null | head -1)"
  echo "warmup=$warmup"
  echo "cluster_warmup=$cluster_warmup"
  echo "os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "courier=$courier_rev"
  echo "courier_sets=${courier_sets[*]:-}"
  echo "rabbitmq=${rabbit_version:-}"
  echo "perftest=2.22.1"
  echo "duration=$duration"
  echo "curve_duration=$curve_duration"
  echo "rounds=$rounds"
  echo "scenarios=${scenarios[*]}"
} >"$results/meta.env"
# load1: the machine's 1-minute load average as the run started; wall_s: PerfTest's whole process
# lifetime; broker_cpu_s: the broker's CPU time (user + system) in it
# heap/rss before/after: the backlog scenario's memory probes (KiB; "-" when not measured)
printf 'scenario\tpoint\tround\tbroker\trc\tseconds\tload1\twall_s\tbroker_cpu_s\tbroker_rss_kb\tleftover\tfile\theap_before_kb\trss_before_kb\theap_after_kb\trss_after_kb\n' >"$results/runs.tsv"
: >"$results/skipped.tsv"

# A short discarded run of the scenario on each broker first, so that neither meets a code path
# cold in its first measured run (the JIT for Courier; Erlang's is quicker but not free).
warm_up() {
  local s="$1" p="$2" b label="$1"
  [ "$warmup" -gt 0 ] || return 0
  [ "$1" = quorum3 ] && return 0 # each run warms up its own fresh cluster
  [ "$p" != - ] && label="$s-$p"
  mkdir -p "$results/warmup"
  for b in "${brokers[@]}"; do
    log "warm-up: $label on $b (${warmup}s, discarded)"
    scenario_setup "$s" "$p" "cb-warmup-$s-$b"
    run_perftest "$b" "$warmup" "$results/warmup/$s-$b"
    check_alive "$b"
    admin "$(broker_uri "$b")" delete "${owned_queues[@]}" >/dev/null 2>>"$results/warmup/$s-$b.admin.err" || true
  done
}

for s in "${scenarios[@]}"; do
  if [ "$s" = quorum ]; then
    probe="$(admin "$courier_uri" probe-quorum 2>/dev/null)" && probe_rc=0 || probe_rc=$?
    if [ "$probe_rc" != 0 ]; then
      log "quorum: skipped, Courier refuses x-queue-type=quorum: ${probe#quorum queues: }"
      printf 'quorum\tCourier refuses x-queue-type=quorum: %s\n' "${probe#quorum queues: }" >>"$results/skipped.tsv"
      continue
    fi
  fi
  first_point="$(points "$s" | cut -d' ' -f1)"
  warm_up "$s" "$first_point"
  for p in $(points "$s"); do
    for r in $(seq 1 "$rounds"); do
      for b in "${brokers[@]}"; do run_one "$s" "$p" "$r" "$b"; done
    done
  done
done

echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$results/meta.env"
stop_courier
stop_rabbitmq

report_args=("$results")
if [ "$write_docs" = 1 ]; then report_args+=(--docs "$root/docs/benchmarks.md" --svg-dir "$root/docs/bench"); fi
python3 "$root/bench/runner/report.py" "${report_args[@]}" || die "report failed (raw results in $results)"
log "done; raw results in $results"
