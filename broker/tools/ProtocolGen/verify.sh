#!/usr/bin/env bash
# Regenerates broker/src/Tributary.Protocol/Messages from the .kmsg definitions and fails if the checked-in
# output differs (someone edited a definition without regenerating, or edited a *.g.cs by hand).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$repo_root"

definitions=broker/src/Tributary.Protocol/Definitions
messages=broker/src/Tributary.Protocol/Messages

dotnet run --project broker/tools/ProtocolGen -v q -- "$definitions" "$messages"

changes="$(git status --porcelain --untracked-files=all -- "$messages")"
if [ -n "$changes" ]; then
    echo "verify: generated protocol code is out of date; run 'make generate' and commit the result:" >&2
    echo "$changes" >&2
    exit 1
fi

echo "verify: generated protocol code is up to date"
