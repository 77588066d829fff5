#!/usr/bin/python3
"""Records the first requests real Kafka clients send, as golden vectors for the protocol tests.

A minimal fake broker listens on a free 127.0.0.1 port, answers ApiVersions and Metadata with
hand-built responses (just enough for the client to go on: one broker, one topic with one
partition led by the fake broker), names itself the group coordinator in FindCoordinator, and saves the first request frame of each (api, version) the
run is after as tests/golden/<client>-<Api>-v<N>.hex: the frame without its 4-byte size prefix,
as one line of lowercase hex. Produce and JoinGroup requests are recorded, then the connection
is dropped.

Usage: /usr/bin/python3 tests/golden/capture.py [RUN ...]   (no argument: every run in RUNS)
Each run stops by itself within --timeout seconds (at most 15) and kills only the client it started.
Produce frames hold record timestamps, so re-capturing them gives different (equally valid) bytes.
"""

import argparse
import os
import socket
import struct
import subprocess
import sys
import threading
import time

API_NAMES = {0: "Produce", 3: "Metadata", 10: "FindCoordinator", 11: "JoinGroup", 18: "ApiVersions"}
PRODUCE, FETCH, METADATA, API_VERSIONS = 0, 1, 3, 18
OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR, JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP = 8, 9, 10, 11, 12, 13, 14
TOPIC = "golden-topic"
GROUP = "golden-group"

# What the fake broker claims to serve. Full ranges let each client pick its own highest version,
# which is the one worth recording.
# librdkafka only writes v2 record batches to a broker that also serves Fetch v4+, and only joins
# groups on a broker that serves the whole group API set.
ADVERTISED = [(PRODUCE, 3, 11), (FETCH, 4, 16), (METADATA, 0, 12), (OFFSET_COMMIT, 0, 8), (OFFSET_FETCH, 0, 8),
              (FIND_COORDINATOR, 0, 4), (JOIN_GROUP, 0, 9), (HEARTBEAT, 0, 4), (LEAVE_GROUP, 0, 5),
              (SYNC_GROUP, 0, 5), (API_VERSIONS, 0, 3)]


# --- Kafka primitive encoders (only what the two responses need) ---

def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def string(s, flexible, nullable=False):
    if s is None:
        assert nullable
        return uvarint(0) if flexible else struct.pack(">h", -1)
    raw = s.encode()
    return (uvarint(len(raw) + 1) if flexible else struct.pack(">h", len(raw))) + raw


def array_len(n, flexible):
    return uvarint(n + 1) if flexible else struct.pack(">i", n)


NO_TAGS = uvarint(0)


# --- responses ---

def api_versions_response(version):
    """ApiVersions response body; v3+ bodies are flexible, but the header never is (KIP-511)."""
    if version > 3:
        # Like Kafka: answer an unknown version with v0 and UNSUPPORTED_VERSION so the client retries lower.
        version, error = 0, 35
    else:
        error = 0
    flexible = version >= 3
    body = struct.pack(">h", error) + array_len(len(ADVERTISED), flexible)
    for key, lo, hi in ADVERTISED:
        body += struct.pack(">hhh", key, lo, hi) + (NO_TAGS if flexible else b"")
    if version >= 1:
        body += struct.pack(">i", 0)  # throttle time
    if flexible:
        body += NO_TAGS
    return body, False


def metadata_response(version, port):
    """Metadata response naming this fake broker as the only broker and leader of TOPIC's one partition."""
    flexible = version >= 9
    body = b""
    if version >= 3:
        body += struct.pack(">i", 0)  # throttle time
    body += array_len(1, flexible) + struct.pack(">i", 1) + string("127.0.0.1", flexible) + struct.pack(">i", port)
    if version >= 1:
        body += string(None, flexible, nullable=True)  # rack
    if flexible:
        body += NO_TAGS
    if version >= 2:
        body += string("golden-cluster", flexible, nullable=True)
    if version >= 1:
        body += struct.pack(">i", 1)  # controller id
    body += array_len(1, flexible)  # topics
    body += struct.pack(">h", 0) + string(TOPIC, flexible)
    if version >= 10:
        body += bytes(range(1, 17))  # topic id
    if version >= 1:
        body += b"\x00"  # not internal
    body += array_len(1, flexible) + struct.pack(">hii", 0, 0, 1)  # partition 0, no error, leader 1
    if version >= 7:
        body += struct.pack(">i", 0)  # leader epoch
    for _ in ("replicas", "isr"):
        body += array_len(1, flexible) + struct.pack(">i", 1)
    if version >= 5:
        body += array_len(0, flexible)  # offline replicas
    if flexible:
        body += NO_TAGS  # partition
    if version >= 8:
        body += struct.pack(">i", -2147483648)  # topic authorized operations: not requested
    if flexible:
        body += NO_TAGS  # topic
    if 8 <= version <= 10:
        body += struct.pack(">i", -2147483648)  # cluster authorized operations: not requested
    if flexible:
        body += NO_TAGS
    return body, flexible


def find_coordinator_response(version, request_body, port):
    """FindCoordinator response naming this fake broker (node 1) the coordinator of every key asked for."""
    flexible = version >= 3
    node = struct.pack(">i", 1) + string("127.0.0.1", flexible) + struct.pack(">i", port)
    body = struct.pack(">i", 0) if version >= 1 else b""  # throttle time
    if version >= 4:
        # v4+ (KIP-699): one entry per key of the request's CoordinatorKeys, after its int8 KeyType.
        keys = read_compact_strings(request_body[1:])
        body += array_len(len(keys), True)
        for key in keys:
            body += string(key, True) + node + struct.pack(">h", 0) + string(None, True, nullable=True) + NO_TAGS
    else:
        body += struct.pack(">h", 0)
        if version >= 1:
            body += string(None, flexible, nullable=True)  # error message
        body += node
    if flexible:
        body += NO_TAGS
    return body, flexible


def read_uvarint(data, pos):
    value = shift = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def read_compact_strings(data):
    count, pos = read_uvarint(data, 0)
    keys = []
    for _ in range(count - 1):
        length, pos = read_uvarint(data, pos)
        keys.append(data[pos:pos + length - 1].decode())
        pos += length - 1
    return keys


def request_body(frame):
    """The request body after a v1 (non-flexible) or v2 (flexible: empty tag section assumed) header."""
    client_id_length = struct.unpack(">h", frame[8:10])[0]
    pos = 10 + max(client_id_length, 0)
    api_key, version = struct.unpack(">hh", frame[:4])
    if api_key == FIND_COORDINATOR and version >= 3:
        pos += 1  # the header's tag section
    return frame[pos:]


# --- fake broker ---

class FakeBroker:
    def __init__(self, client, wanted, out_dir):
        self.client = client
        self.wanted = wanted
        self.out_dir = out_dir
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.saved = set()
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()
        self.sock.close()

    def handle(self, conn):
        conn.settimeout(0.2)
        buf = b""
        try:
            while not self.stopping.is_set():
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    return
                buf += chunk
                while len(buf) >= 4:
                    size = struct.unpack(">i", buf[:4])[0]
                    if size < 8 or size > 1 << 20:
                        return
                    if len(buf) < 4 + size:
                        break
                    frame, buf = buf[4:4 + size], buf[4 + size:]
                    reply = self.on_frame(frame)
                    if reply is None:
                        return
                    conn.sendall(struct.pack(">i", len(reply)) + reply)
        finally:
            conn.close()

    def on_frame(self, frame):
        api_key, version, correlation_id = struct.unpack(">hhi", frame[:8])
        name = API_NAMES.get(api_key)
        if name is None:
            return None  # not something this fake broker speaks: drop the connection
        with self.lock:
            if api_key in self.wanted and (api_key, version) not in self.saved:
                self.saved.add((api_key, version))
                path = os.path.join(self.out_dir, f"{self.client}-{name}-v{version}.hex")
                with open(path, "w") as f:
                    f.write(frame.hex() + "\n")
                print(f"  saved {os.path.basename(path)} ({len(frame)} bytes)")
        if api_key in (PRODUCE, JOIN_GROUP):
            return None  # recorded; no need to acknowledge
        if api_key == API_VERSIONS:
            body, flexible_header = api_versions_response(version)
        elif api_key == FIND_COORDINATOR:
            body, flexible_header = find_coordinator_response(version, request_body(frame), self.port)
        else:
            body, flexible_header = metadata_response(version, self.port)
        header = struct.pack(">i", correlation_id) + (NO_TAGS if flexible_header else b"")
        return header + body

    def has_all(self, api_keys):
        with self.lock:
            return all(any(k == key for k, _ in self.saved) for key in api_keys)


def kafka_python(code):
    return ["/usr/bin/python3", "-c", "from kafka import KafkaProducer\n" + code]


def confluent_python(code):
    return ["/usr/bin/python3", "-c", "from confluent_kafka import Consumer, Producer\n" + code]


# run name -> (client label used in file names, API keys to record, command for a bootstrap address,
# stdin for the client). The produce runs record only Produce, so they never overwrite the
# ApiVersions/Metadata captures of the plain runs.
RUNS = {
    "kcat": ("kcat", {API_VERSIONS, METADATA},
             lambda b: ["kcat", "-b", b, "-L", "-t", TOPIC, "-m", "5"], None),
    "kcat-produce": ("kcat", {PRODUCE},
                     lambda b: ["kcat", "-b", b, "-P", "-t", TOPIC, "-p", "0", "-K:", "-m", "5"], b"key-1:value-1\n"),
    "kafka-python": ("kafka-python", {API_VERSIONS, METADATA},
                     lambda b: kafka_python(f"KafkaProducer(bootstrap_servers='{b}', max_block_ms=5000)"
                                            f".partitions_for('{TOPIC}')\n"), None),
    "kafka-python-produce": ("kafka-python", {PRODUCE},
                             lambda b: kafka_python(f"p = KafkaProducer(bootstrap_servers='{b}', max_block_ms=5000)\n"
                                                    f"p.send('{TOPIC}', b'value-1', key=b'key-1', partition=0)\n"
                                                    "p.flush(5)\n"), None),
    "confluent-kafka-python": ("confluent-kafka-python", {API_VERSIONS, METADATA},
                               lambda b: confluent_python(f"Producer({{'bootstrap.servers': '{b}'}})"
                                                          f".list_topics('{TOPIC}', timeout=5)\n"), None),
    # The group runs record how a consumer finds its coordinator and joins: FindCoordinator and JoinGroup only.
    "kafka-python-group": ("kafka-python", {FIND_COORDINATOR, JOIN_GROUP},
                           lambda b: ["/usr/bin/python3", "-c",
                                      "from kafka import KafkaConsumer\n"
                                      f"c = KafkaConsumer('{TOPIC}', bootstrap_servers='{b}', group_id='{GROUP}')\n"
                                      "c.poll(timeout_ms=10000)\n"], None),
    "confluent-kafka-python-group": ("confluent-kafka-python", {FIND_COORDINATOR, JOIN_GROUP},
                                     lambda b: confluent_python(f"c = Consumer({{'bootstrap.servers': '{b}', "
                                                                f"'group.id': '{GROUP}'}})\n"
                                                                f"c.subscribe(['{TOPIC}'])\n"
                                                                "c.poll(10)\n"), None),
}


def capture(run, out_dir, timeout):
    client, wanted, command, stdin = RUNS[run]
    broker = FakeBroker(client, wanted, out_dir)
    server = threading.Thread(target=broker.serve, daemon=True)
    server.start()
    print(f"{run}: fake broker on 127.0.0.1:{broker.port}")
    proc = subprocess.Popen(command(f"127.0.0.1:{broker.port}"), stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if stdin:
        proc.stdin.write(stdin)
    proc.stdin.close()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if broker.has_all(wanted):
                time.sleep(0.3)  # let a pipelined request or two arrive
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()  # only the client this run started
        proc.wait()
        broker.stopping.set()
        server.join(timeout=2)
    if not broker.has_all(wanted):
        print(f"{run}: not every wanted request was captured", file=sys.stderr)
        return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", metavar="RUN", help="one of: " + ", ".join(RUNS))
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--timeout", type=float, default=15.0)
    args = parser.parse_args()
    unknown = [r for r in args.runs if r not in RUNS]
    if unknown:
        parser.error(f"unknown run(s) {unknown}; choose from {list(RUNS)}")
    args.runs = args.runs or list(RUNS)
    ok = all([capture(r, args.out, min(args.timeout, 15.0)) for r in args.runs])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
