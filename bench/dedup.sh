#!/usr/bin/env bash
# Deduplication overhead end to end (issue 5): a plain durable queue against an
# x-message-deduplication one, A B A B, with bench/runner/DedupLoad.java (PerfTest's durable
# scenario with a unique message_id per message, which PerfTest itself cannot set).
#
#   bench/dedup.sh [SECONDS [ROUNDS]]        # default 20 s per run, 2 rounds
#
# Starts Courier (./courier server, temporary data dir, free ports) and stops it afterwards.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/bench/lib.sh"
seconds="${1:-20}"
rounds="${2:-2}"

cp_file="$root/bench/target/perftest.classpath"
if [ ! -s "$cp_file" ]; then
  mkdir -p "$root/bench/target"
  mvn -q -B -f "$root/bench/perftest/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp_file" >&2
fi

data_dir="$(mktemp -d)"
cleanup() {
  local pid="${courier_server_pid:-}"
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$data_dir"
}
trap cleanup EXIT

start_courier_temp "$root" "$data_dir"
port="$courier_amqp_port"

java -Xmx1g -Dlogback.configurationFile=logback-perf-test.xml -cp "$(cat "$cp_file")" \
  "$root/bench/runner/DedupLoad.java" "amqp://guest:guest@127.0.0.1:$port" "$seconds" "$rounds"
