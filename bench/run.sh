#!/usr/bin/env bash
# make bench: micro-benchmarks (BenchmarkDotNet) then the end-to-end bench (Tributary vs librdkafka's mock cluster on one
# broker, then a 3-broker RF=3 acks=all cluster with a replication check, scale, recovery). Writes bench/results/latest.md
# (end-to-end table + micro-benchmark summary). Sizes: see BENCH_* in bench/Tributary.Bench.EndToEnd/Report.cs;
# BENCH_SECTIONS=clients,replicated,idle,transactions,scale,recovery picks sections (idle: issue 20's idle-partition rows, BENCH_IDLE_*; transactions: issue 21's transactional rows, BENCH_TXN_MESSAGES); BENCH_SKIP_MICRO=1 skips the micro-benchmarks;
# BENCH_BROKER_LOGS=<dir> keeps the 3-broker cluster's output.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
config="${CONFIG:-Release}"
results="$root/bench/results"
mkdir -p "$results" .tools/sasl
# librdkafka from Confluent.Kafka's package needs libsasl2.so.3; Debian 12 ships .so.2 (same ABI for our use).
ln -sf /usr/lib/x86_64-linux-gnu/libsasl2.so.2 .tools/sasl/libsasl2.so.3

dotnet build broker/src/Tributary.Host -c "$config" -v q -nologo
dotnet build bench/Tributary.Bench.EndToEnd -c "$config" -v q -nologo
dotnet build bench/Tributary.Bench.Micro -c "$config" -v q -nologo

micro_md="$(mktemp)"
if [[ "${BENCH_SKIP_MICRO:-0}" != 1 ]]; then
  artifacts="$(mktemp -d)"
  (cd "$artifacts" && dotnet "$root/bench/Tributary.Bench.Micro/bin/$config/net10.0/Tributary.Bench.Micro.dll" "$artifacts")
  {
    echo
    echo "## Micro-benchmarks (BenchmarkDotNet ShortRun, in-process; per record: batches of 100 records, fetch = 10 batches)"
    echo
    cat "$artifacts"/results/*-report-github.md
  } > "$micro_md"
  rm -rf "$artifacts"
fi

e2e="$root/bench/Tributary.Bench.EndToEnd/bin/$config/net10.0"
LD_LIBRARY_PATH="$e2e/runtimes/linux-x64/native:$root/.tools/sasl" BENCH_RESULTS="$results/latest.md" \
  dotnet "$e2e/Tributary.Bench.EndToEnd.dll"
# Connect: file source → topic records/s through one worker (tests/Tributary.Connect.Tests, Category=ConnectBench).
if [[ "${BENCH_SKIP_CONNECT:-0}" != 1 ]]; then
  { echo; echo "## Connect"; echo; echo "| Path | Records | Time | Rate |"; echo "|---|---|---|---|"; } >> "$results/latest.md"
  CONNECT_BENCH_RESULTS="$results/latest.md" make -s --no-print-directory connect-bench >/dev/null
fi
# Streams: Streamiz on one instance, 3 brokers, records/s end to end (tests/Tributary.Streams.Tests, Category=StreamsBench).
if [[ "${BENCH_SKIP_STREAMS:-0}" != 1 ]]; then
  { echo; echo "## Streams (Streamiz 1.8.2, one instance, 3 brokers)"; echo; echo "| Topology | Guarantee | Records | Time | Rate |"; echo "|---|---|---|---|---|"; } >> "$results/latest.md"
  STREAMS_BENCH_RESULTS="$results/latest.md" make -s --no-print-directory streams-bench >/dev/null
fi
cat "$micro_md" >> "$results/latest.md"
cat "$micro_md"
rm -f "$micro_md"
# Schema registry rows (issue 22); `make bench-registry` runs them alone. BENCH_SKIP_REGISTRY=1 skips them.
if [[ "${BENCH_SKIP_REGISTRY:-0}" != 1 ]]; then
  make --no-print-directory bench-registry CONFIG="$config"
  { echo; cat "$results/registry.md"; } >> "$results/latest.md"
fi
echo "bench: results in bench/results/latest.md"
