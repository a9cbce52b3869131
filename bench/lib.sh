# Shared helpers of the bench/ scripts; source it: . "$root/bench/lib.sh"

cluster_pids=()
rabbit_cluster_pids=()

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

bench_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_courier_cluster ROOT DIR LOG: three nodes of ROOT/courier on 127.0.0.1 (free ports), data
# in DIR/n1..3, output in LOG-n1.out/.err...; sets cluster_pids (node 1 first) and
# cluster_amqp_port (node 1's). Returns 1 if a node dies or they are not ready in 5 minutes.
start_courier_cluster() {
  local root="$1" dir="$2" log="$3" i spec raft=()
  for i in 1 2 3; do raft+=("$(bench_free_port)"); done
  spec="n1=127.0.0.1:${raft[0]},n2=127.0.0.1:${raft[1]},n3=127.0.0.1:${raft[2]}"
  cluster_pids=()
  for i in 1 2 3; do
    "$root/courier" server --amqp-port 0 --http-port 0 --data-dir "$dir/n$i" \
      --node-id "n$i" --cluster "$spec" >"$log-n$i.out" 2>"$log-n$i.err" &
    cluster_pids+=($!)
  done
  cluster_amqp_port=""
  for _ in $(seq 1 3000); do
    local ready=0 pid
    for i in 1 2 3; do grep -q ready "$log-n$i.out" 2>/dev/null && ready=$((ready + 1)); done
    [ "$ready" = 3 ] && break
    for pid in "${cluster_pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || { echo "a Courier node died (see $log-n*.err)" >&2; return 1; }
    done
    sleep 0.1
  done
  cluster_amqp_port="$(sed -n 's/.*ready.*amqp=[^ ]*:\([0-9][0-9]*\).*/\1/p' "$log-n1.out" | head -1)"
  [ -n "$cluster_amqp_port" ] || { echo "the Courier nodes printed no ready line within 5 minutes" >&2; return 1; }
}

stop_courier_cluster() {
  local pid
  for pid in "${cluster_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${cluster_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  cluster_pids=()
}

# A three-node RabbitMQ cluster: nodes bench1..3@localhost on 127.0.0.1, AMQP 5691-5693, dist
# 25691-25693, a private epmd on 24370 and one private Erlang cookie; default configuration.
rabbit_cluster_epmd_port=24370

# rabbitmq_node_env DIR COOKIE_HOME NODE PORT DIST_PORT EPMD_PORT: sets renv to the environment of a
# private RabbitMQ node (state in DIR, default configuration, no plugins, bound to 127.0.0.1)
rabbitmq_node_env() {
  local dir="$1"
  renv=(
    HOME="$2" # the Erlang cookie lives here
    RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq" # does not exist: default configuration
    RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
    RABBITMQ_MNESIA_BASE="$dir/mnesia"
    RABBITMQ_LOG_BASE="$dir/log"
    RABBITMQ_PID_FILE="$dir/pid"
    RABBITMQ_NODENAME="$3"
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    RABBITMQ_NODE_PORT="$4"
    RABBITMQ_DIST_PORT="$5"
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    ERL_EPMD_ADDRESS=127.0.0.1
    ERL_EPMD_PORT="$6"
  )
}

# sets renv to the environment of RabbitMQ cluster node $1 (1-3) kept under $2 (one cookie for all three)
rabbit_cluster_env() {
  rabbitmq_node_env "$2/rabbit$1" "$2/rabbit-home" "bench$1@localhost" "$((5690 + $1))" "$((25690 + $1))" \
    "$rabbit_cluster_epmd_port"
}

rabbit_cluster_ctl() { # rabbit_cluster_ctl NODE ARGS...: rabbitmqctl against a node of the running cluster
  local i="$1"; shift
  rabbit_cluster_env "$i" "$rabbit_cluster_dir"
  env "${renv[@]}" "$rabbit_cluster_bin/rabbitmqctl" -n "bench$i@localhost" -q "$@"
}

# start_rabbit_cluster BIN DIR LOG: starts the three nodes (state under DIR, output in
# LOG-rabbit1..3.out/.err) and joins 2 and 3 to 1; sets rabbit_cluster_pids, cluster_amqp_port
# (node 1's), rabbit_cluster_version and rabbit_cluster_beam_pid (node 1's Erlang VM). Returns 1
# on failure.
start_rabbit_cluster() {
  rabbit_cluster_bin="$1" rabbit_cluster_dir="$2"
  local log="$3" i up
  mkdir -p "$rabbit_cluster_dir/rabbit-home"
  rabbit_cluster_pids=()
  for i in 1 2 3; do
    local dir="$rabbit_cluster_dir/rabbit$i"
    mkdir -p "$dir/mnesia" "$dir/log"
    echo '[].' >"$dir/enabled_plugins"
    : >"$dir/rabbitmq-env.conf"
    rabbit_cluster_env "$i" "$rabbit_cluster_dir"
    (cd "$dir" && exec env "${renv[@]}" "$rabbit_cluster_bin/rabbitmq-server") >"$log-rabbit$i.out" 2>"$log-rabbit$i.err" &
    rabbit_cluster_pids+=($!)
    # the first node starts the private epmd the others use: let it get there first
    if [ "$i" = 1 ]; then sleep 2; fi
  done
  for i in 1 2 3; do
    up=0
    for _ in $(seq 1 120); do
      kill -0 "${rabbit_cluster_pids[$((i - 1))]}" 2>/dev/null \
        || { echo "RabbitMQ node $i died (see $log-rabbit$i.out)" >&2; return 1; }
      if rabbit_cluster_ctl "$i" await_startup --timeout 5 >/dev/null 2>&1; then up=1; break; fi
      sleep 1
    done
    [ "$up" = 1 ] || { echo "RabbitMQ node $i did not boot within 2 minutes" >&2; return 1; }
  done
  for i in 2 3; do
    rabbit_cluster_ctl "$i" stop_app >/dev/null \
      && rabbit_cluster_ctl "$i" join_cluster bench1@localhost >/dev/null \
      && rabbit_cluster_ctl "$i" start_app >/dev/null \
      || { echo "RabbitMQ node $i could not join the cluster" >&2; return 1; }
  done
  rabbit_cluster_version="$(rabbit_cluster_ctl 1 version 2>/dev/null || echo unknown)"
  rabbit_cluster_beam_pid="$(cat "$rabbit_cluster_dir/rabbit1/pid" 2>/dev/null || true)"
  cluster_amqp_port=5691
}

stop_rabbit_cluster() {
  [ ${#rabbit_cluster_pids[@]} -gt 0 ] || return 0
  local i pid
  for i in 3 2 1; do rabbit_cluster_ctl "$i" stop >/dev/null 2>&1 || true; done
  for pid in "${rabbit_cluster_pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rabbit_cluster_pids=()
  local epmd_bin; epmd_bin="$(command -v epmd || ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -1)"
  [ -n "$epmd_bin" ] && ERL_EPMD_PORT="$rabbit_cluster_epmd_port" "$epmd_bin" -kill >/dev/null 2>&1 || true
}
