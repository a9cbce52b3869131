#!/usr/bin/env bash
# End-to-end throughput with RabbitMQ PerfTest (com.rabbitmq:perf-test 2.22.1 from Maven Central).
#
#   bench/perftest.sh                 # start Courier on a free port, run the default scenario
#   bench/perftest.sh --uri amqp://guest:guest@127.0.0.1:5673 -- -x 1 -y 1 -s 1000 -a -z 15
#
# Without --uri it builds Courier if needed (via ./courier), starts it on a free port with a
# temporary data dir, runs PerfTest against it and stops it. Arguments after -- go to PerfTest
# and replace the default scenario (1 producer, 1 consumer, 1 KB, auto-ack, 15 s).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/bench/lib.sh"
uri=""
if [ "${1:-}" = "--uri" ]; then uri="$2"; shift 2; fi
[ "${1:-}" = "--" ] && shift
scenario=("$@")
[ ${#scenario[@]} -eq 0 ] && scenario=(-x 1 -y 1 -s 1000 -a -z 15)

cp_file="$root/bench/target/perftest.classpath"
if [ ! -s "$cp_file" ]; then
  mkdir -p "$root/bench/target"
  mvn -q -B -f "$root/bench/perftest/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp_file" >&2
fi

cleanup() {
  local pid="${courier_server_pid:-}"
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "${data_dir:-}" ]; then rm -rf "$data_dir"; fi # an && list here would make the exit status 1
}
trap cleanup EXIT

if [ -z "$uri" ]; then
  data_dir="$(mktemp -d)"
  start_courier_temp "$root" "$data_dir"
  uri="amqp://guest:guest@127.0.0.1:$courier_amqp_port"
fi

echo "perftest: ${scenario[*]} against $uri" >&2
java -Xmx1g -cp "$(cat "$cp_file")" com.rabbitmq.perf.PerfTest --uri "$uri" "${scenario[@]}"
