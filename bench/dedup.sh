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
seconds="${1:-20}"
rounds="${2:-2}"

cp_file="$root/bench/target/perftest.classpath"
if [ ! -s "$cp_file" ]; then
  mkdir -p "$root/bench/target"
  mvn -q -B -f "$root/bench/perftest/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp_file" >&2
fi

data_dir="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$data_dir"
}
trap cleanup EXIT

"$root/courier" server --amqp-port 0 --http-port 0 --data-dir "$data_dir/data" >"$data_dir/server.out" 2>"$data_dir/server.err" &
server_pid=$!
for _ in $(seq 1 600); do
  grep -q ready "$data_dir/server.out" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$data_dir/server.err" >&2; exit 1; }
  sleep 0.1
done
port="$(sed -n 's/.*amqp=[^:]*:\([0-9]*\).*/\1/p' "$data_dir/server.out" | head -1)"
[ -n "$port" ] || { echo "dedup: server did not become ready" >&2; exit 1; }

java -Xmx1g -Dlogback.configurationFile=logback-perf-test.xml -cp "$(cat "$cp_file")" \
  "$root/bench/runner/DedupLoad.java" "amqp://guest:guest@127.0.0.1:$port" "$seconds" "$rounds"
