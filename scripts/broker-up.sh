#!/usr/bin/env bash
# `make broker-up N=n`: start broker n of a running `make run` again after it exited (crash, kill -9, …).
# The running scripts/run-cluster.sh does the starting — same config/broker-n.properties, same data directory, output
# in make run's terminal, stopped by its Ctrl-C like the others — so this script only asks it (a request file in
# $DATA_DIR plus SIGUSR1) and waits until the broker answers 200 on /readyz. The broker rejoins with its data: it
# catches up from the partition leaders and the controller puts it back into the ISRs.
set -uo pipefail
cd "$(dirname "$0")/.."

DATA_DIR=${DATA_DIR:-.data}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-90}
n=${1:-}

say() { echo "broker-up: $*"; }

if ! [[ "$n" =~ ^[0-9]+$ ]] || [ ! -f "config/broker-$n.properties" ]; then
  say "usage: make broker-up N=<1|2|3> (the broker of make run to start again)" >&2
  exit 2
fi

run_pid=$(cat "$DATA_DIR/run-cluster.pid" 2>/dev/null)
if [ -z "$run_pid" ] || ! grep -qs run-cluster.sh "/proc/$run_pid/cmdline"; then
  say "no make run is running (no live PID in $DATA_DIR/run-cluster.pid); start the cluster with: make run" >&2
  exit 1
fi

live_broker_pid() {
  local pid
  pid=$(cat "$DATA_DIR/broker-$n.pid" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

http_port=$((9094 + 100 * (n - 1)))
if pid=$(live_broker_pid); then
  say "broker $n is already running (PID $pid)"
  exit 0
fi

touch "$DATA_DIR/broker-$n.up"
kill -USR1 "$run_pid"
say "asked make run (PID $run_pid) to start broker $n; waiting up to ${READY_TIMEOUT_S}s for http://127.0.0.1:$http_port/readyz"

deadline=$((SECONDS + READY_TIMEOUT_S))
pid=""
while true; do
  if [ -z "$pid" ] && [ ! -e "$DATA_DIR/broker-$n.up" ]; then
    # make run took the request: the PID file names the new process (unless it already exited).
    pid=$(live_broker_pid) || { say "broker $n exited right after it started; see make run's output" >&2; exit 1; }
  fi
  if [ -n "$pid" ]; then
    if curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$http_port/readyz"; then
      say "broker $n is ready (PID $pid, 127.0.0.1:$((9092 + 100 * (n - 1)))); its output is in make run's terminal"
      exit 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      say "broker $n (PID $pid) exited before it was ready; see make run's output" >&2
      exit 1
    fi
  fi
  if ! kill -0 "$run_pid" 2>/dev/null; then
    say "make run (PID $run_pid) stopped" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    say "broker $n not ready within ${READY_TIMEOUT_S}s; see make run's output" >&2
    exit 1
  fi
  sleep 0.2
done
