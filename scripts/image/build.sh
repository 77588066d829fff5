#!/usr/bin/env bash
# Builds the OCI images tributary-broker:<version> and tributary-operator:<version> offline from the package registries:
# a Debian bookworm rootfs (mmdebstrap, with this machine's apt sources) plus a self-contained `dotnet publish`, assembled
# with umoci; no container engine. Output: .build/image/oci (an OCI layout holding both tags) and one docker-archive tar
# per image for `skopeo copy` / `ctr images import` / `kind load image-archive`.
# Usage: scripts/image/build.sh [VERSION]   (needs root for mmdebstrap; installs mmdebstrap, umoci, skopeo when missing)
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=${1:-0.1.0}
OUT=$PWD/.build/image
mkdir -p "$OUT"

missing=()
for tool in mmdebstrap umoci skopeo; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 1. Base: Debian with what .NET's runtime loads (libssl for TLS to the API server, zlib, CA certificates); no shell
#    tools beyond the minbase variant. InvariantGlobalization is on, so no ICU.
ROOTFS_TAR=$OUT/rootfs-bookworm.tar
if [ ! -s "$ROOTFS_TAR" ]; then
  sources=/etc/apt/sources.list.d/debian.sources
  [ -f "$sources" ] || sources=/etc/apt/sources.list
  mmdebstrap --quiet --variant=minbase --include=ca-certificates,libssl3,zlib1g,libgcc-s1,libstdc++6 \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    bookworm "$ROOTFS_TAR" - < "$sources"
fi

# 2. Self-contained publishes (no dotnet in the image).
publish() { # project output-dir
  dotnet publish "$1" -c Release -r linux-x64 --self-contained true -p:PublishSingleFile=false -p:DebugType=none -v q -nologo -o "$2"
}
rm -rf "$OUT/publish"
publish broker/src/Tributary.Host "$OUT/publish/broker"
publish operator/src/Tributary.Operator "$OUT/publish/operator"

# 3. Assemble: base layer + app layer + config, one tag per image in one OCI layout.
LAYOUT=$OUT/oci
rm -rf "$LAYOUT" "$OUT/base"
mkdir -p "$OUT/base" && tar -C "$OUT/base" -xf "$ROOTFS_TAR"
umoci init --layout "$LAYOUT"
image() { # name app-dir entrypoint port...
  local name=$1 app=$2 entry=$3; shift 3
  local ref="$LAYOUT:$name-$VERSION"
  umoci new --image "$ref"
  umoci insert --image "$ref" "$OUT/base" /
  umoci insert --image "$ref" "$app" /opt/tributary
  local ports=()
  for p in "$@"; do ports+=(--config.exposedports "$p/tcp"); done
  umoci config --image "$ref" --config.entrypoint "/opt/tributary/$entry" --config.workingdir /opt/tributary \
    --config.user 65532:65532 --config.env DOTNET_gcServer=0 --config.env DOTNET_NOLOGO=1 "${ports[@]}" \
    --config.label "org.opencontainers.image.title=$name" --config.label "org.opencontainers.image.version=$VERSION" \
    --architecture amd64 --os linux
  skopeo copy --quiet "oci:$LAYOUT:$name-$VERSION" "docker-archive:$OUT/$name-$VERSION.tar:$name:$VERSION"
  echo "built $name:$VERSION -> $OUT/$name-$VERSION.tar"
}
image tributary-broker "$OUT/publish/broker" tributary-broker 9092 9093 9094
image tributary-operator "$OUT/publish/operator" tributary-operator 8080
