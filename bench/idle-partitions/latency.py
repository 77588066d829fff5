#!/usr/bin/python3
"""Issue 20's light-load latency measurement, standalone.

Starts a fresh 3-broker Tributary cluster (every node a broker and quorum voter, loopback, free ports, a temporary data
directory), optionally creates idle RF=3 topics (4 partitions each, no traffic), then produces 100 B records with
acks=all, linger.ms=0 at a fixed rate to a 1-partition RF=3 topic and prints the delivery latency librdkafka measured
for each record (Message.latency(): produce() to delivery report) as p50/p99/p99.9. At the end it prints each broker's
per-stage produce histograms from /metrics (tributary_produce_stage_seconds) when the broker exports them.

Usage (Debian's python3 with python3-confluent-kafka):
  /usr/bin/python3 bench/idle-partitions/latency.py --idle-partitions 1000 --rate 1000 --seconds 20
The broker must be built (make build, or dotnet build broker/src/Tributary.Host -c Release).
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=2):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except Exception as e:  # noqa: BLE001 - a broker still starting answers nothing
        return None, str(e)


class Cluster:
    def __init__(self, dll, nodes, root, overrides):
        self.root = root
        self.brokers = []
        ports = [(free_port(), free_port(), free_port()) for _ in range(nodes)]
        voters = ",".join(f"{i + 1}@127.0.0.1:{q}" for i, (_, q, _) in enumerate(ports))
        for i, (kafka, quorum, http) in enumerate(ports):
            data = os.path.join(root, f"broker-{i + 1}")
            os.makedirs(data)
            settings = {
                "node.id": str(i + 1),
                "process.roles": "broker,controller",
                "listeners": f"PLAINTEXT://127.0.0.1:{kafka},CONTROLLER://127.0.0.1:{quorum}",
                "advertised.listeners": f"PLAINTEXT://127.0.0.1:{kafka}",
                "controller.listener.names": "CONTROLLER",
                "controller.quorum.voters": voters,
                "http.listeners": f"http://127.0.0.1:{http}",
                "log.dirs": data,
                "default.replication.factor": "3",
                "min.insync.replicas": "2",
                "offsets.topic.replication.factor": "3",
                "tributary.log.level": "Warning",
            }
            settings.update(overrides)
            args = ["dotnet", dll]
            for k, v in settings.items():
                args += ["--override", f"{k}={v}"]
            out = open(os.path.join(root, f"broker-{i + 1}.out"), "w")
            env = dict(os.environ)
            env.pop("LD_LIBRARY_PATH", None)
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=data, env=env)
            self.brokers.append({"kafka": kafka, "http": http, "proc": proc, "out": out})

    @property
    def bootstrap(self):
        return ",".join(f"127.0.0.1:{b['kafka']}" for b in self.brokers)

    def wait_ready(self, timeout):
        deadline = time.time() + timeout
        for b in self.brokers:
            while True:
                if b["proc"].poll() is not None:
                    raise RuntimeError(f"broker exited with {b['proc'].returncode}; see {self.root}")
                status, _ = http_get(b["http"], "/readyz")
                if status == 200:
                    break
                if time.time() > deadline:
                    raise RuntimeError("cluster not ready in time")
                time.sleep(0.2)

    def stop(self):
        for b in self.brokers:
            if b["proc"].poll() is None:
                b["proc"].terminate()
        for b in self.brokers:
            try:
                b["proc"].wait(30)
            except subprocess.TimeoutExpired:
                b["proc"].kill()
                b["proc"].wait()
            b["out"].close()


def create_topics(admin, topics, timeout=300):
    """Creates the topics 50 at a time; a busy controller's REQUEST_TIMED_OUT is retried (the topic may exist by then)."""
    pending = list(topics)
    deadline = time.time() + timeout
    while pending:
        batch, pending = pending[:50], pending[50:]
        for name, future in admin.create_topics(batch, operation_timeout=60, request_timeout=120).items():
            try:
                future.result()
            except Exception as e:  # noqa: BLE001
                if "REQUEST_TIMED_OUT" in str(e) or "NOT_CONTROLLER" in str(e):
                    pending.extend(t for t in batch if t.topic == name)
                elif "TOPIC_ALREADY_EXISTS" not in str(e):
                    raise
        if time.time() > deadline:
            raise RuntimeError("topic creation took too long")


def wait_all_in_sync(admin, names, replicas, timeout=300):
    """Until every partition of the named topics has a leader and a full ISR (so the measurement starts settled)."""
    deadline = time.time() + timeout
    while True:
        md = admin.list_topics(timeout=30)
        bad = 0
        for name in names:
            t = md.topics.get(name)
            if t is None or t.error is not None:
                bad += 1
                continue
            for p in t.partitions.values():
                if p.leader < 0 or len(p.isrs) < replicas:
                    bad += 1
        if bad == 0:
            return
        if time.time() > deadline:
            raise RuntimeError(f"{bad} partitions not settled")
        time.sleep(1)


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[k]


def measure(bootstrap, topic, rate, seconds, warmup, size, acks):
    latencies = []
    errors = [0]
    measuring = [False]

    def on_delivery(err, msg):
        if err is not None:
            errors[0] += 1
            if errors[0] <= 3:
                print(f"delivery error ({'measured' if measuring[0] else 'warm-up'}): {err}", flush=True)
        elif measuring[0]:
            latencies.append(msg.latency())

    producer = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 0, "enable.idempotence": False,
                         "message.timeout.ms": 30000})
    payload = b"x" * size
    interval = 1.0 / rate
    for phase, duration in (("warmup", warmup), ("measure", seconds)):
        measuring[0] = phase == "measure"
        start = time.perf_counter()
        n = 0
        total = int(duration * rate)
        while n < total:
            due = start + n * interval
            now = time.perf_counter()
            if now < due:
                producer.poll(min(due - now, 0.001))
                continue
            producer.produce(topic, payload, on_delivery=on_delivery)
            producer.poll(0)
            n += 1
        producer.flush(30)
    latencies.sort()
    return latencies, errors[0]


def stage_histograms(cluster):
    lines = []
    for i, b in enumerate(cluster.brokers):
        status, text = http_get(b["http"], "/metrics", timeout=10)
        if status != 200:
            continue
        for line in text.splitlines():
            if line.startswith("tributary_produce_stage_seconds_sum") or line.startswith("tributary_produce_stage_seconds_count"):
                lines.append(f"broker {i + 1}: {line}")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle-partitions", type=int, default=1000, help="idle RF=3 partitions (4 per topic)")
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--acks", default="all")
    ap.add_argument("--dll", default=os.path.join(REPO, "broker/src/Tributary.Host/bin/Release/net10.0/tributary-broker.dll"))
    ap.add_argument("--keep", action="store_true", help="keep the data directory and broker output")
    ap.add_argument("--override", action="append", default=[], help="extra broker setting key=value")
    args = ap.parse_args()

    overrides = dict(kv.split("=", 1) for kv in args.override)
    root = tempfile.mkdtemp(prefix="tributary-idle-latency-")
    cluster = Cluster(args.dll, 3, root, overrides)
    try:
        t0 = time.time()
        cluster.wait_ready(180)
        print(f"cluster ready in {time.time() - t0:.1f} s: {cluster.bootstrap}", flush=True)
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        idle_topics = [f"idle-{i}" for i in range(args.idle_partitions // 4)]
        if idle_topics:
            t0 = time.time()
            create_topics(admin, [NewTopic(t, 4, 3) for t in idle_topics])
            wait_all_in_sync(admin, idle_topics, 3)
            print(f"{len(idle_topics) * 4} idle RF=3 partitions created and in sync in {time.time() - t0:.1f} s", flush=True)
        create_topics(admin, [NewTopic("latency", 1, 3)])
        wait_all_in_sync(admin, ["latency"], 3)
        lat, errors = measure(cluster.bootstrap, "latency", args.rate, args.seconds, args.warmup, args.size, args.acks)
        ms = [x * 1000 for x in lat]
        print(f"idle partitions {args.idle_partitions}, acks={args.acks}, {args.size} B at {args.rate} msg/s, linger 0, "
              f"{len(ms)} delivered, {errors} errors: p50 {percentile(ms, 0.5):.2f} ms, p99 {percentile(ms, 0.99):.2f} ms, "
              f"p99.9 {percentile(ms, 0.999):.2f} ms, max {ms[-1] if ms else float('nan'):.2f} ms", flush=True)
        for line in stage_histograms(cluster):
            print(line)
    finally:
        cluster.stop()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
