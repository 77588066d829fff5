#!/usr/bin/env bash
# `make run`: a local three-broker Tributary cluster from config/broker-{1,2,3}.properties.
# Builds once, starts the three brokers (all controller voters), waits until each answers 200 on /readyz and prints the
# bootstrap string. A broker that exits on its own (crash, kill -9) is reported with its exit status and the command
# that starts it again; the others keep running. `make broker-up N=n` (scripts/broker-up.sh) asks this script, through
# a request file and SIGUSR1, to start broker n again with the same config and data; its output joins this terminal.
# Ctrl-C or SIGTERM sends SIGTERM to every broker this script started or restarted (controlled shutdown: leadership
# moves away first) and waits for them to exit.
#
# Files in $DATA_DIR (default .data): run-cluster.pid (this script), broker-N.pid (each running broker),
# broker-N.up (a pending restart request from broker-up). DATA_DIR other than .data moves the brokers' log.dirs there
# too (tests use a temporary one); NO_BUILD=1 runs whatever broker is already built.
set -uo pipefail
cd "$(dirname "$0")/.."

CONFIG=${CONFIG:-Release}
DOTNET=${DOTNET:-dotnet}
DATA_DIR=${DATA_DIR:-.data}
HOST_DLL=broker/src/Tributary.Host/bin/$CONFIG/net10.0/tributary-broker.dll
# The schema registry (issue 22) on 8081, started once the brokers are ready; stopped first on Ctrl-C.
REGISTRY_DLL=schema-registry/src/Tributary.SchemaRegistry.Host/bin/$CONFIG/net10.0/tributary-schema-registry.dll
REGISTRY_PORT=8081
registry_pid=
READY_TIMEOUT_S=${READY_TIMEOUT_S:-90}
BROKERS=(1 2 3)
BOOTSTRAP=127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292
PID_FILE=$DATA_DIR/run-cluster.pid
# The Connect worker on 8083 runs by default with the default data directory (tests using their own DATA_DIR get none).
CONNECT=${CONNECT:-$([ "$DATA_DIR" = .data ] && echo 1 || echo 0)}

say() { echo "run-cluster: $*"; }
sorted() { printf '%s\n' "$@" | sort -n | paste -sd' '; }

# Kafka, quorum and HTTP ports of broker n (ARCHITECTURE.md: 9092/9093/9094 + 100·(n−1)).
ports_of() { local base=$((9092 + 100 * ($1 - 1))); echo "$base $((base + 1)) $((base + 2))"; }

if [ -f "$PID_FILE" ] && other=$(cat "$PID_FILE" 2>/dev/null) && [ -n "$other" ] \
   && grep -qs run-cluster.sh "/proc/$other/cmdline"; then
  say "another make run is already running (PID $other, $PID_FILE); stop it with Ctrl-C in its terminal first" >&2
  exit 1
fi

# A port already taken would make one broker fail after the others started; say which one instead.
if (exec 3<>"/dev/tcp/127.0.0.1/$REGISTRY_PORT") 2>/dev/null; then
  say "port $REGISTRY_PORT (schema registry) is already in use on 127.0.0.1; stop whatever listens there first" >&2
  exit 1
fi
for n in "${BROKERS[@]}"; do
  for port in $(ports_of "$n"); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      say "port $port (broker $n) is already in use on 127.0.0.1; stop whatever listens there (another make run, a broker started by hand) first" >&2
      exit 1
    fi
  done
done

if [ "${NO_BUILD:-0}" != 1 ]; then
  "$DOTNET" build broker/src/Tributary.Host -c "$CONFIG" -v q -nologo || exit 1
  "$DOTNET" build schema-registry/src/Tributary.SchemaRegistry.Host -c "$CONFIG" -v q -nologo || exit 1
  # The Connect worker (REST on 8083) and the file connectors on its plugin path; CONNECT=0 skips it.
  if [ "$CONNECT" = 1 ]; then
    "$DOTNET" build connect/src/Tributary.Connect -c "$CONFIG" -v q -nologo || exit 1
    "$DOTNET" build connect/plugins/Tributary.Connect.File -c "$CONFIG" -v q -nologo || exit 1
    "$DOTNET" build connect/plugins/Tributary.Connect.PostgreSql -c "$CONFIG" -v q -nologo || exit 1
  fi
fi

mkdir -p "$DATA_DIR"
echo $$ > "$PID_FILE"

declare -A pid_of=()     # broker number → PID, for running brokers
declare -A broker_of=()  # PID → broker number
stopping=0

start_broker() {
  local n=$1 extra=()
  mkdir -p "$DATA_DIR/broker-$n"
  [ "$DATA_DIR" != .data ] && extra=(--override "log.dirs=$DATA_DIR/broker-$n")
  # Process substitution keeps $! the broker's own PID (a pipe into sed would make it sed's). Ctrl-C reaches the whole
  # foreground process group (and `timeout`'s SIGTERM its own group): the prefixer ignores both, so the brokers'
  # shutdown lines still reach the terminal; it ends when its broker closes the pipe.
  "$DOTNET" "$HOST_DLL" --config "config/broker-$n.properties" "${extra[@]}" > >(trap '' INT TERM; exec sed -u "s/^/[broker-$n] /") 2>&1 &
  local pid=$!
  pid_of[$n]=$pid
  broker_of[$pid]=$n
  echo "$pid" > "$DATA_DIR/broker-$n.pid"
}

forget_broker() {
  local pid=$1 n=${broker_of[$1]}
  unset "pid_of[$n]" "broker_of[$pid]"
  rm -f "$DATA_DIR/broker-$n.pid"
}

stop_registry() {
  [ -z "$registry_pid" ] && return
  kill -TERM "$registry_pid" 2>/dev/null
  wait "$registry_pid" 2>/dev/null
  say "schema registry (PID $registry_pid) stopped"
  registry_pid=
}

connect_pid=""
stop_brokers() {
  [ "$stopping" = 1 ] && return
  stopping=1
  if [ -n "$connect_pid" ]; then
    say "SIGTERM to the Connect worker (PID $connect_pid)"
    kill -TERM "$connect_pid" 2>/dev/null
    wait "$connect_pid" 2>/dev/null
  fi
  stop_registry
  [ "${#pid_of[@]}" -eq 0 ] && { say "no broker running"; return; }
  say "SIGTERM to brokers $(sorted "${!pid_of[@]}"); waiting for their controlled shutdown"
  for pid in "${pid_of[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for n in $(sorted "${!pid_of[@]}"); do
    local pid=${pid_of[$n]}
    wait "$pid" 2>/dev/null
    say "broker $n (PID $pid) exited with $(describe_status $?)"
    forget_broker "$pid"
  done
}

cleanup() {
  rm -f "$PID_FILE" "$DATA_DIR"/broker-[0-9]*.pid "$DATA_DIR"/broker-[0-9]*.up "$DATA_DIR"/schema-registry.pid
}

describe_status() {
  local status=$1
  if [ "$status" -gt 128 ]; then
    local name
    name=$(kill -l "$((status - 128))" 2>/dev/null) || name="signal $((status - 128))"
    echo "status $status (killed by SIG$name)"
  else
    echo "status $status"
  fi
}

# Restart requests from scripts/broker-up.sh: one file per broker, then SIGUSR1 to wake the wait below.
serve_restart_requests() {
  local request n
  for request in "$DATA_DIR"/broker-[0-9]*.up; do
    [ -e "$request" ] || continue
    n=${request##*/broker-}; n=${n%.up}
    if [ ! -f "config/broker-$n.properties" ]; then
      say "ignoring a restart request for unknown broker $n"
    elif [ -n "${pid_of[$n]:-}" ]; then
      say "broker $n is already running (PID ${pid_of[$n]})"
    else
      start_broker "$n"
      say "broker $n started again, PID ${pid_of[$n]} (config/broker-$n.properties, data in $DATA_DIR/broker-$n)"
    fi
    # Removed only now: broker-up reads the PID file once the request is gone.
    rm -f "$request"
  done
}

trap 'stop_brokers; exit 130' INT
trap 'stop_brokers; exit 143' TERM
trap ':' USR1
trap cleanup EXIT

for n in "${BROKERS[@]}"; do
  start_broker "$n"
  say "broker $n started, PID ${pid_of[$n]}"
done

deadline=$((SECONDS + READY_TIMEOUT_S))
for n in "${BROKERS[@]}"; do
  read -r _ _ http_port <<< "$(ports_of "$n")"
  until curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$http_port/readyz"; do
    if ! kill -0 "${pid_of[$n]}" 2>/dev/null; then
      say "broker $n exited before it was ready" >&2
      stop_brokers
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "broker $n not ready on http://127.0.0.1:$http_port/readyz within ${READY_TIMEOUT_S}s" >&2
      stop_brokers
      exit 1
    fi
    sleep 0.2
  done
done

say "3 brokers ready; bootstrap.servers=$BOOTSTRAP (Ctrl-C stops them)"

# The registry starts in the background: the loop below keeps serving broker exits and broker-up requests meanwhile, and
# a small watcher says when it answers (or that it exited or is still not up after READY_TIMEOUT_S).
if [ ! -f "$REGISTRY_DLL" ]; then
  say "schema registry not built ($REGISTRY_DLL); running without it"
else
  "$DOTNET" "$REGISTRY_DLL" config/schema-registry.properties > >(trap '' INT TERM; exec sed -u "s/^/[schema-registry] /") 2>&1 &
  registry_pid=$!
  echo "$registry_pid" > "$DATA_DIR/schema-registry.pid"
  say "schema registry starting, PID $registry_pid (config/schema-registry.properties)"
  (
    trap - INT TERM USR1
    for _ in $(seq 1 $((READY_TIMEOUT_S * 5))); do
      kill -0 "$registry_pid" 2>/dev/null || { say "schema registry (PID $registry_pid) exited before it was ready" >&2; exit 0; }
      curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$REGISTRY_PORT/" && { say "schema registry ready on http://127.0.0.1:$REGISTRY_PORT"; exit 0; }
      sleep 0.2
    done
    say "schema registry not ready on http://127.0.0.1:$REGISTRY_PORT within ${READY_TIMEOUT_S}s" >&2
  ) &
fi

# One distributed Connect worker (config/connect-distributed.properties, REST on 8083), unless CONNECT=0.
if [ "$CONNECT" = 1 ]; then
  if [ ! -f "connect/src/Tributary.Connect/bin/$CONFIG/net10.0/tributary-connect.dll" ]; then
    say "the Connect worker is not built; not starting it" >&2
  elif (exec 3<>"/dev/tcp/127.0.0.1/8083") 2>/dev/null; then
    say "port 8083 is in use; not starting the Connect worker" >&2
  else
    mkdir -p .tools/sasl && ln -sf /usr/lib/x86_64-linux-gnu/libsasl2.so.2 .tools/sasl/libsasl2.so.3
    connect_dir=connect/src/Tributary.Connect/bin/$CONFIG/net10.0
    LD_LIBRARY_PATH="$connect_dir/runtimes/linux-x64/native:$PWD/.tools/sasl" \
      "$DOTNET" "$connect_dir/tributary-connect.dll" distributed config/connect-distributed.properties \
      > >(trap '' INT TERM; exec sed -u "s/^/[connect] /") 2>&1 &
    connect_pid=$!
    say "Connect worker started, PID $connect_pid: REST on http://127.0.0.1:8083 (curl localhost:8083/connector-plugins)"
  fi
fi
say "if one broker exits the others keep running; 'make broker-up N=<n>' starts broker n again"

while true; do
  unset exited
  if [ "${#pid_of[@]}" -gt 0 ]; then
    # Returns when a broker exits (exited = its PID) or a trapped signal arrives (exited unset).
    # (stderr: bash's own "Killed …" job notice; the line below says it better.)
    wait -n -p exited "${pid_of[@]}" 2>/dev/null
    status=$?
  else
    sleep 1 &
    wait $!
  fi

  if [ -n "${exited:-}" ] && [ -n "${broker_of[$exited]:-}" ]; then
    n=${broker_of[$exited]}
    forget_broker "$exited"
    say "broker $n (PID $exited) exited with $(describe_status "$status")" >&2
    if [ "${#pid_of[@]}" -gt 0 ]; then
      say "brokers $(sorted "${!pid_of[@]}") keep running; start broker $n again with: make broker-up N=$n" >&2
    else
      say "no broker is running now; start broker $n again with: make broker-up N=$n (or Ctrl-C to quit)" >&2
    fi
  fi

  serve_restart_requests
done
