#!/usr/bin/env bash
# `make run`: a local three-broker Tributary cluster from config/broker-{1,2,3}.properties.
# Builds once, starts the three brokers (all controller voters), waits until each answers 200 on /readyz, prints the
# bootstrap string, and on Ctrl-C or SIGTERM sends SIGTERM to each broker it started (controlled shutdown: leadership
# moves away first) and waits for them to exit.
set -uo pipefail
cd "$(dirname "$0")/.."

CONFIG=${CONFIG:-Release}
DOTNET=${DOTNET:-dotnet}
HOST_DLL=broker/src/Tributary.Host/bin/$CONFIG/net10.0/tributary-broker.dll
READY_TIMEOUT_S=${READY_TIMEOUT_S:-90}
BROKERS=(1 2 3)
BOOTSTRAP=127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292

# NO_BUILD=1 runs whatever broker is already built.
if [ "${NO_BUILD:-0}" != 1 ]; then
  "$DOTNET" build broker/src/Tributary.Host -c "$CONFIG" -v q -nologo || exit 1
fi

pids=()
stopping=0
stop_brokers() {
  [ "$stopping" = 1 ] && return
  stopping=1
  echo "run-cluster: SIGTERM to broker PIDs ${pids[*]}"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}"
    echo "run-cluster: broker ${BROKERS[$i]} (PID ${pids[$i]}) exited with $?"
  done
}
trap 'stop_brokers; exit 130' INT
trap 'stop_brokers; exit 143' TERM

for n in "${BROKERS[@]}"; do
  mkdir -p ".data/broker-$n"
  # Process substitution keeps $! the broker's own PID (a pipe into sed would make it sed's).
  "$DOTNET" "$HOST_DLL" --config "config/broker-$n.properties" > >(sed -u "s/^/[broker-$n] /") 2>&1 &
  pids+=($!)
  echo "run-cluster: broker $n started, PID $!"
done

deadline=$((SECONDS + READY_TIMEOUT_S))
for i in "${!BROKERS[@]}"; do
  n=${BROKERS[$i]}
  port=$((9094 + 100 * (n - 1)))
  until curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$port/readyz"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "run-cluster: broker $n exited before it was ready" >&2
      stop_brokers
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "run-cluster: broker $n not ready on http://127.0.0.1:$port/readyz within ${READY_TIMEOUT_S}s" >&2
      stop_brokers
      exit 1
    fi
    sleep 0.2
  done
done

echo "run-cluster: 3 brokers ready; bootstrap.servers=$BOOTSTRAP (Ctrl-C stops them)"
# Returns when any broker exits on its own, or when a trap fires.
wait -n "${pids[@]}"
status=$?
echo "run-cluster: a broker exited with $status; stopping the others"
stop_brokers
exit "$status"
