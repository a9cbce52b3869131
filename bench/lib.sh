# Shared helpers of the bench/ scripts; source it: . "$root/bench/lib.sh"

# The directory of RabbitMQ's own scripts (rabbitmq-server, rabbitmqctl), or nothing when
# rabbitmq-server is not installed. On Debian the /usr/sbin wrappers would switch to the rabbitmq
# user, so the scripts under /usr/lib/rabbitmq/bin are used directly.
rabbitmq_bin_dir() {
  if [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
    echo /usr/lib/rabbitmq/bin
  elif command -v rabbitmq-server >/dev/null; then
    dirname "$(command -v rabbitmq-server)"
  fi
}

# start_courier_temp ROOT DIR: starts ROOT/courier on free ports with data in DIR/data, its output
# in DIR/server.out and DIR/server.err; sets courier_server_pid and courier_amqp_port, or exits 1.
start_courier_temp() {
  local root="$1" dir="$2"
  "$root/courier" server --amqp-port 0 --http-port 0 --data-dir "$dir/data" >"$dir/server.out" 2>"$dir/server.err" &
  courier_server_pid=$!
  for _ in $(seq 1 600); do
    grep -q ready "$dir/server.out" 2>/dev/null && break
    kill -0 "$courier_server_pid" 2>/dev/null || { cat "$dir/server.err" >&2; exit 1; }
    sleep 0.1
  done
  courier_amqp_port="$(sed -n 's/.*amqp=[^:]*:\([0-9]*\).*/\1/p' "$dir/server.out" | head -1)"
  [ -n "$courier_amqp_port" ] || { echo "Courier did not become ready (see $dir/server.err)" >&2; exit 1; }
}
