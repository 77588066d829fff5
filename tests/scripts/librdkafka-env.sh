#!/usr/bin/env bash
# Prints the environment Confluent.Kafka needs to load its bundled librdkafka on Debian 12.
#
# The librdkafka.so from the librdkafka.redist NuGet package links against libsasl2.so.3; Debian 12 ships the same
# Cyrus SASL ABI as libsasl2.so.2 only. Without help the load fails and Confluent.Kafka silently falls back to
# Debian's librdkafka 2.0.x. This script makes <repo>/.tools/sasl/libsasl2.so.3 point at the system library and
# prints the export line that puts it (and the bundled native directory) on LD_LIBRARY_PATH.
#
# Usage: source <(tests/scripts/librdkafka-env.sh) && dotnet test tests/Tributary.Integration.Tests
#        CONFIGURATION=Release selects the Release test output (default Debug).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
configuration="${CONFIGURATION:-Debug}"
system_sasl="/usr/lib/x86_64-linux-gnu/libsasl2.so.2"
sasl_dir="$repo_root/.tools/sasl"
native_dir="$repo_root/tests/Tributary.Integration.Tests/bin/$configuration/net10.0/runtimes/linux-x64/native"

if [[ ! -e "$system_sasl" ]]; then
    echo "librdkafka-env.sh: $system_sasl not found (apt-get install -y libsasl2-2)" >&2
    exit 1
fi

mkdir -p "$sasl_dir"
ln -sfn "$system_sasl" "$sasl_dir/libsasl2.so.3"

printf 'export LD_LIBRARY_PATH=%q\n' "$native_dir:$sasl_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
