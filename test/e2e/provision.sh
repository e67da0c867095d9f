#!/usr/bin/env bash
# Provision every tool the end-to-end tier uses. Idempotent: a Debian package is
# installed only when missing, a Go tool is built only when its cached binary
# for the pinned version is missing. Prints how long each step took and the total.
#
#   CLEANIMG_TOOLS   cache root (default /root/.cache/cleanimg-tools); binaries go to
#                    $CLEANIMG_TOOLS/<name>-<version>/, links to them in $CLEANIMG_TOOLS/bin
#   CLEANIMG_PROVISION_LANES  1 = one build at a time; 2 (default) = two lanes of builds at once
#                    (a Go build leaves part of two cores idle: module downloads, links)
#
# The Pulumi steps (pulumi: CLI, Node.js language host, Kubernetes provider; pulumi-yaml: the YAML
# language host) run by default once package.json depends on @pulumi/pulumi (the Pulumi suites are
# then mandatory), or when named: `provision.sh pulumi`. The Node.js language host comes from an
# old sdk/v3 (pulumi_tools).
#
# Usage: provision.sh [STEP...]   (default: every step; pulumi only when package.json uses it)
#
# Exits non-zero when any tool cannot be had.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS_SRC="$(cd "$HERE/../tools" && pwd)"
TOOLS="${CLEANIMG_TOOLS:-/root/.cache/cleanimg-tools}"

# Pinned versions. Bump here; the cache is keyed by these.
K8S_VERSION=v1.35.4          # kube-apiserver, kubectl, kubelet, kube-scheduler, kube-controller-manager; staging modules v0.35.4 (test/tools/kubernetes/go.mod)
PSA_VERSION=v0.35.4          # k8s.io/pod-security-admission in test/tools/psa-check/go.mod
SIGS_YAML_VERSION=v1.6.0     # sigs.k8s.io/yaml in test/tools/yaml-echo/go.mod (psa-check's module versions)
COSIGN2_VERSION=v2.6.5
COSIGN3_VERSION=v3.1.3
CRANE_VERSION=v0.22.1
DISTRIBUTION_VERSION=v3.1.2
KUBE_SCORE_VERSION=v1.20.0
POLICY_CONTROLLER_VERSION=v0.13.1
KYVERNO_VERSION=v1.19.1           # its ClusterPolicy CRD; the CLI only with the opt-in step kyverno
KUBE_ROUTER_VERSION=v2.1.0   # the real node's NetworkPolicy enforcer (its firewall only; the advisory on v2.1.0 is about its service proxy, which the node does not run)
CHECKOV_VERSION=3.3.30
PULUMI_VERSION=v3.248.0                # CLI; @pulumi/pulumi 3.248.0 is the last for Node 20
PULUMI_LANGHOST_VERSION=v3.68.0        # newest sdk/v3 that still holds the Node.js language host
PULUMI_K8S_VERSION=v4.34.2             # matches @pulumi/kubernetes 4.34.2
PULUMI_K8S_MODULE=v4.0.0-20260115033456-f47bc2d6f199  # the provider module's served pseudo-version
PULUMI_YAML_VERSION=v1.32.0            # YAML language host (test/tools/pulumi-yaml): programs using cleanimg's plugin package
GO_MIN_MINOR=25              # the kubernetes tools module needs Go >= 1.25
GO_FALLBACK_TOOLCHAIN=go1.26.8

mkdir -p "$TOOLS/bin"
export GOMODCACHE="$TOOLS/gomod" GOCACHE="$TOOLS/gocache" GOFLAGS="-buildvcs=false" CGO_ENABLED=0
export GOBIN= # set per build

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
T_ALL=$(now)
SUMMARY_FILE=$(mktemp)
trap 'rm -f "$SUMMARY_FILE"' EXIT
LANE=""
log() { printf '[provision%s] %s\n' "${LANE:+ $LANE}" "$*" >&2; }
die() { printf '[provision] FAILED: %s\n' "$*" >&2; exit 1; }

# step NAME FUNCTION: runs FUNCTION, records its time and whether it built or was cached.
STATUS=""
step() {
  local name="$1"; shift
  local t0; t0=$(now)
  STATUS="ok"
  log "== $name"
  "$@" || die "$name"
  local dt; dt=$(secs "$t0" "$(now)")
  printf '%-34s %-8s %7ss\n' "$name" "$STATUS" "$dt" >> "$SUMMARY_FILE"
  log "   $name: $STATUS in ${dt}s"
}

# link BIN_PATH [NAME]: expose a cached binary in $TOOLS/bin (atomic replace).
link() {
  local target="$1" name="${2:-$(basename "$1")}"
  ln -sfn "$target" "$TOOLS/bin/.$name.tmp"
  mv -Tf "$TOOLS/bin/.$name.tmp" "$TOOLS/bin/$name"
}

# ---------------------------------------------------------------- Debian packages
APT_PACKAGES=(etcd-server docker-registry skopeo umoci apache2-utils openssl python3-venv python3-pip ca-certificates iproute2 util-linux curl)
apt_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then STATUS="cached"; return 0; fi
  [ "$(id -u)" -eq 0 ] || { log "missing packages ${missing[*]} and not root"; return 1; }
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Do not let the package start a system etcd on the default ports.
  local prc=/usr/sbin/policy-rc.d created=""
  if [ ! -e "$prc" ]; then printf '#!/bin/sh\nexit 101\n' > "$prc"; chmod +x "$prc"; created=1; fi
  local rc=0
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || rc=$?
  [ -n "$created" ] && rm -f "$prc"
  STATUS="built"
  return $rc
}

# ---------------------------------------------------------------- Go
go_toolchain() {
  command -v go >/dev/null 2>&1 || { log "go is not on PATH (install Go >= 1.21; newer toolchains then come from the Go module proxy)"; return 1; }
  local v minor
  v=$(go env GOVERSION)            # e.g. go1.26.8
  minor=$(echo "$v" | sed -E 's/^go1\.([0-9]+).*/\1/')
  if [ "$minor" -lt "$GO_MIN_MINOR" ]; then
    export GOTOOLCHAIN="$GO_FALLBACK_TOOLCHAIN"
    log "go $v is older than 1.$GO_MIN_MINOR: using GOTOOLCHAIN=$GOTOOLCHAIN"
    go version >/dev/null || return 1
  else
    export GOTOOLCHAIN=local
  fi
  STATUS="$(go env GOVERSION)"
}

# go_build NAME VERSION BINARIES -- COMMAND...: runs COMMAND with GOBIN set to a temp dir,
# checks that each of BINARIES was produced, then renames the dir to NAME-VERSION.
go_build() {
  local name="$1" version="$2"; shift 2
  local bins=()
  while [ "$1" != "--" ]; do bins+=("$1"); shift; done; shift
  local dir="$TOOLS/$name-$version" ok=1
  for b in "${bins[@]}"; do [ -x "$dir/$b" ] || ok=0; done
  if [ "$ok" -eq 0 ]; then
    local tmp="$dir.tmp.$$"
    rm -rf "$tmp"; mkdir -p "$tmp"
    ( export GOBIN="$tmp"; nice -n 10 "$@" ) || { rm -rf "$tmp"; return 1; }
    for b in "${bins[@]}"; do [ -x "$tmp/$b" ] || { log "$name: $b was not produced"; rm -rf "$tmp"; return 1; }; done
    rm -rf "$dir"; mv "$tmp" "$dir"
    STATUS="built"
  else
    STATUS="cached"
  fi
  for b in "${bins[@]}"; do link "$dir/$b"; done
}

k8s_tools() {
  local v="$K8S_VERSION" minor
  minor=$(echo "$v" | cut -d. -f2)
  local ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  grep -qE "^[[:space:]]*(require[[:space:]]+)?k8s.io/kubernetes $v([[:space:]]|\$)" "$TOOLS_SRC/kubernetes/go.mod" \
    || { log "test/tools/kubernetes/go.mod does not require k8s.io/kubernetes $v"; return 1; }
  go_build kubernetes "$v" kube-apiserver kubectl kubelet kube-scheduler kube-controller-manager -- \
    bash -c "cd '$TOOLS_SRC/kubernetes' && go install -trimpath -ldflags '$ld' tool"
}

psa_check() {
  # Keyed by the evaluator version and a hash of the checker's sources.
  local h
  h=$(cat "$TOOLS_SRC/psa-check/go.mod" "$TOOLS_SRC/psa-check/go.sum" "$TOOLS_SRC/psa-check/"*.go | sha256sum | cut -c1-12)
  go_build psa-check "$PSA_VERSION-$h" psa-check -- \
    bash -c "cd '$TOOLS_SRC/psa-check' && go install -trimpath -ldflags '-s -w' ."
}

yaml_echo() {
  # Go's YAML reader as kubectl uses it. Keyed by the sigs.k8s.io/yaml version and a hash of the
  # tool's sources; its modules are psa-check's, so it downloads nothing once psa-check is built.
  local h
  h=$(cat "$TOOLS_SRC/yaml-echo/go.mod" "$TOOLS_SRC/yaml-echo/go.sum" "$TOOLS_SRC/yaml-echo/"*.go | sha256sum | cut -c1-12)
  go_build yaml-echo "$SIGS_YAML_VERSION-$h" yaml-echo -- \
    bash -c "cd '$TOOLS_SRC/yaml-echo' && go install -trimpath -ldflags '-s -w' ."
}

cosign_tool() { # MAJOR VERSION
  local major="$1" v="$2" dir="$TOOLS/cosign-$2"
  go_build cosign "$v" cosign -- \
    go install -trimpath -ldflags "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$v" \
      "github.com/sigstore/cosign/$major/cmd/cosign@$v"
  link "$dir/cosign" "cosign-$major"
  rm -f "$TOOLS/bin/cosign"   # two majors: tests name cosign-v2 or cosign-v3
}

crane_tool() {
  go_build crane "$CRANE_VERSION" crane -- \
    go install -trimpath -ldflags "-s -w -X github.com/google/go-containerregistry/cmd/crane/cmd.Version=$CRANE_VERSION" \
      "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
}

distribution_tool() {
  local dir="$TOOLS/distribution-$DISTRIBUTION_VERSION"
  go_build distribution "$DISTRIBUTION_VERSION" registry -- \
    go install -trimpath -ldflags "-s -w -X github.com/distribution/distribution/v3/version.version=$DISTRIBUTION_VERSION" \
      "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION"
  link "$dir/registry" distribution-registry
  rm -f "$TOOLS/bin/registry"
}

kube_score_tool() {
  go_build kube-score "$KUBE_SCORE_VERSION" kube-score -- \
    go install -trimpath -ldflags "-s -w -X main.version=$KUBE_SCORE_VERSION" \
      "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION"
}

policy_tester_tool() {
  # sigstore policy-controller's tester: checks an image against a ClusterImagePolicy offline, as the
  # webhook would (test/tools/policy-tester/go.mod says why a tools module).
  grep -qE "github.com/sigstore/policy-controller $POLICY_CONTROLLER_VERSION([[:space:]]|\$)" "$TOOLS_SRC/policy-tester/go.mod" \
    || { log "test/tools/policy-tester/go.mod does not require policy-controller $POLICY_CONTROLLER_VERSION"; return 1; }
  go_build policy-tester "$POLICY_CONTROLLER_VERSION" tester -- \
    bash -c "cd '$TOOLS_SRC/policy-tester' && go install -trimpath -ldflags '-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$POLICY_CONTROLLER_VERSION' tool"
  link "$TOOLS/policy-tester-$POLICY_CONTROLLER_VERSION/tester" policy-tester
  rm -f "$TOOLS/bin/tester"
  # The verifiers' CRDs, from their own modules (Kyverno's is only downloaded, not built), for the
  # schema checks of the policies we generate.
  local crds="$TOOLS/verifier-crds" kyverno
  kyverno=$(cd "$TOOLS_SRC/policy-tester" && go mod download -json "github.com/kyverno/kyverno@$KYVERNO_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || return 1
  [ -f "$kyverno/config/crds/kyverno/kyverno.io_clusterpolicies.yaml" ] || { log "kyverno $KYVERNO_VERSION: no ClusterPolicy CRD in $kyverno"; return 1; }
  mkdir -p "$crds"
  install -m 0644 "$GOMODCACHE/github.com/sigstore/policy-controller@$POLICY_CONTROLLER_VERSION/config/300-clusterimagepolicy.yaml" "$crds/policy.sigstore.dev_clusterimagepolicies.yaml" || return 1
  install -m 0644 "$kyverno/config/crds/kyverno/kyverno.io_clusterpolicies.yaml" "$crds/kyverno.io_clusterpolicies.yaml" || return 1
}

kyverno_tool() {
  # Opt-in (not a default step): the Kyverno CLI, about 15 minutes of two cores to build.
  grep -qE "github.com/kyverno/kyverno $KYVERNO_VERSION([[:space:]]|\$)" "$TOOLS_SRC/kyverno/go.mod" \
    || { log "test/tools/kyverno/go.mod does not require kyverno $KYVERNO_VERSION"; return 1; }
  go_build kyverno "$KYVERNO_VERSION" kubectl-kyverno -- \
    bash -c "cd '$TOOLS_SRC/kyverno' && go install -trimpath -ldflags '-s -w' tool"
}

kube_router_tool() {
  # Only its network-policy firewall runs on the node (test/e2e/node/node.sh): the CNI bridge
  # plugin does not enforce NetworkPolicies.
  go_build kube-router "$KUBE_ROUTER_VERSION" kube-router -- \
    go install -trimpath -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION" \
      "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
}

checkov_tool() {
  local dir="$TOOLS/checkov-$CHECKOV_VERSION"
  if [ -x "$dir/venv/bin/checkov" ] && [ -e "$dir/.complete" ]; then
    STATUS="cached"
  else
    # A venv is not relocatable: build it at its final path and mark it complete last.
    rm -rf "$dir"; mkdir -p "$dir"
    python3 -m venv "$dir/venv" || return 1
    PIP_DISABLE_PIP_VERSION_CHECK=1 nice -n 10 "$dir/venv/bin/pip" install -q "checkov==$CHECKOV_VERSION" || { rm -rf "$dir"; return 1; }
    touch "$dir/.complete"
    STATUS="built"
  fi
  link "$dir/venv/bin/checkov"
}

# ---------------------------------------------------------------- the real node's runtime
# containerd, runc and the CNI plugins from Debian, unpacked into the cache (apt-get download +
# dpkg-deb -x) rather than installed: installing would start a system containerd. Keyed by the
# package versions apt offers; test/e2e/node/node.sh runs them in the node's own namespaces.
NODE_DEBS=(containerd runc containernetworking-plugins ipset libipset13)   # ipset: kube-router's firewall
node_runtime() {
  apt-cache show "${NODE_DEBS[0]}" >/dev/null 2>&1 || apt-get update -qq || return 1
  local versions key dir tmp
  versions=$(for p in "${NODE_DEBS[@]}"; do printf '%s=%s ' "$p" "$(apt-cache policy "$p" | awk '/Candidate:/ { print $2 }')"; done)
  case "$versions" in *"=(none)"*|*"= "*) log "not offered by apt: $versions"; return 1;; esac
  key=$(printf '%s' "$versions" | sha256sum | cut -c1-12)
  dir="$TOOLS/node-runtime-$key"
  if [ -x "$dir/usr/bin/containerd" ] && [ -x "$dir/usr/sbin/runc" ] && [ -x "$dir/usr/lib/cni/bridge" ] && [ -x "$dir/usr/sbin/ipset" ]; then
    STATUS="cached"
  else
    tmp="$dir.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp/debs"
    log "unpacking $versions"
    ( cd "$tmp/debs" && apt-get download -qq "${NODE_DEBS[@]}" 2>/dev/null ) || { rm -rf "$tmp"; return 1; }
    for deb in "$tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$tmp" || { rm -rf "$tmp"; return 1; }; done
    rm -rf "$tmp/debs"
    printf '%s\n' "$versions" > "$tmp/VERSIONS"
    rm -rf "$dir"; mv "$tmp" "$dir"
    STATUS="built"
  fi
  ln -sfn "$dir" "$TOOLS/.node-runtime.tmp" && mv -Tf "$TOOLS/.node-runtime.tmp" "$TOOLS/node-runtime"
}

probe_tool() {
  # The tier's test app and the examples' stand-in (test/tools/probe), keyed by its sources.
  local h
  h=$(cat "$TOOLS_SRC/probe/go.mod" "$TOOLS_SRC/probe/"*.go | sha256sum | cut -c1-12)
  go_build cleanimg-probe "$h" cleanimg-probe -- \
    bash -c "cd '$TOOLS_SRC/probe' && go build -trimpath -ldflags '-s -w' -o \"\$GOBIN/cleanimg-probe\" ."
}

# ---------------------------------------------------------------- smoke check
# Every provisioned tool must run and name the pinned version: a truncated or foreign
# binary in the cache fails here, not halfway through a test.
smoke_one() { # NAME EXPECTED-SUBSTRING COMMAND...
  local name="$1" want="$2"; shift 2
  local out
  out=$("$@" 2>&1) || true
  if ! printf '%s' "$out" | grep -qF -- "$want"; then
    log "$name: expected '$want' from '$*', got: $(printf '%s' "$out" | head -3)"
    return 1
  fi
}
smoke() {
  local b="$TOOLS/bin" fail=0
  wants kubernetes   && { smoke_one kube-apiserver "$K8S_VERSION" "$b/kube-apiserver" --version || fail=1; }
  wants kubernetes   && { smoke_one kubectl "$K8S_VERSION" "$b/kubectl" version --client || fail=1; }
  wants kubernetes   && { smoke_one kubelet "$K8S_VERSION" "$b/kubelet" --version || fail=1; }
  wants kubernetes   && { smoke_one kube-scheduler "$K8S_VERSION" "$b/kube-scheduler" --version || fail=1; }
  wants kubernetes   && { smoke_one kube-controller-manager "$K8S_VERSION" "$b/kube-controller-manager" --version || fail=1; }
  wants node-runtime && { smoke_one containerd "containerd" "$TOOLS/node-runtime/usr/bin/containerd" --version || fail=1; }
  wants node-runtime && { smoke_one runc "runc version" "$TOOLS/node-runtime/usr/sbin/runc" --version || fail=1; }
  wants node-runtime && { smoke_one ipset "ipset v" env LD_LIBRARY_PATH="$TOOLS/node-runtime/usr/lib/x86_64-linux-gnu" "$TOOLS/node-runtime/usr/sbin/ipset" --version || fail=1; }
  wants kube-router  && { smoke_one kube-router "$KUBE_ROUTER_VERSION" "$b/kube-router" --version || fail=1; }
  wants probe        && { smoke_one cleanimg-probe "cleanimg-probe 1" "$b/cleanimg-probe" --version || fail=1; }
  wants psa-check    && { smoke_one psa-check "usage: psa-check" "$b/psa-check" || fail=1; }
  # It must read a YAML escape Go knows (\L, LINE SEPARATOR) and print it back as JSON.
  wants yaml-echo    && { smoke_one yaml-echo '"object":{"a":"x\u2028y"}' bash -c 'printf "%s\n" "a: \"x\\Ly\"" | "$0" -' "$b/yaml-echo" || fail=1; }
  wants kube-score   && { smoke_one kube-score "${KUBE_SCORE_VERSION#v}" "$b/kube-score" version || fail=1; }
  wants crane        && { smoke_one crane "$CRANE_VERSION" "$b/crane" version || fail=1; }
  wants cosign-v2    && { smoke_one cosign-v2 "$COSIGN2_VERSION" "$b/cosign-v2" version || fail=1; }
  wants cosign-v3    && { smoke_one cosign-v3 "$COSIGN3_VERSION" "$b/cosign-v3" version || fail=1; }
  wants distribution && { smoke_one distribution-registry "$DISTRIBUTION_VERSION" "$b/distribution-registry" --version || fail=1; }
  wants kyverno      && { smoke_one kubectl-kyverno "$KYVERNO_VERSION" "$b/kubectl-kyverno" version || fail=1; }
  wants policy-tester && { smoke_one policy-tester "$POLICY_CONTROLLER_VERSION" "$b/policy-tester" --version || fail=1; }
  wants checkov      && { smoke_one checkov "$CHECKOV_VERSION" "$b/checkov" --version || fail=1; }
  wants pulumi       && { smoke_one pulumi "$PULUMI_VERSION" "$b/pulumi" version || fail=1; }
  # The provider has no version flag: it must run, and carry the version set by the linker.
  wants pulumi       && { smoke_one pulumi-resource-kubernetes "Usage of" "$b/pulumi-resource-kubernetes" --help || fail=1; }
  wants pulumi       && { grep -aqF "${PULUMI_K8S_VERSION#v}" "$b/pulumi-resource-kubernetes" || { log "pulumi-resource-kubernetes: no ${PULUMI_K8S_VERSION#v} inside"; fail=1; }; }
  wants pulumi       && { smoke_one pulumi-language-nodejs-real "Usage of" "$b/pulumi-language-nodejs-real" --help || fail=1; }
  # The front passes --help to the real host (whose usage text it shows), then fails for want of a port.
  wants pulumi       && { smoke_one pulumi-language-nodejs "Usage of" "$b/pulumi-language-nodejs" --help || fail=1; }
  wants pulumi       && { smoke_one pulumi-language-python-real "Usage of" "$b/pulumi-language-python-real" --help || fail=1; }
  wants pulumi       && { smoke_one pulumi-language-python "Usage of" "$b/pulumi-language-python" --help || fail=1; }
  wants pulumi-yaml  && { smoke_one pulumi-language-yaml "Usage of" "$b/pulumi-language-yaml" --help || fail=1; }
  wants apt          && { smoke_one etcd "3." etcd --version || fail=1; }
  return $fail
}

# ---------------------------------------------------------------- Pulumi YAML language host
pulumi_yaml() {
  # For the YAML programs that use cleanimg's plugin package (pulumi-plugin/). v1.32.0 builds against
  # its own pkg/sdk v3.230.0, not the CLI's v3.248.0 (test/tools/pulumi-yaml/go.mod says why).
  grep -qE "github.com/pulumi/pulumi-yaml $PULUMI_YAML_VERSION([[:space:]]|\$)" "$TOOLS_SRC/pulumi-yaml/go.mod" \
    || { log "test/tools/pulumi-yaml/go.mod does not require pulumi-yaml $PULUMI_YAML_VERSION"; return 1; }
  go_build pulumi-yaml "$PULUMI_YAML_VERSION" pulumi-language-yaml -- \
    bash -c "cd '$TOOLS_SRC/pulumi-yaml' && go install -trimpath -ldflags '-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=$PULUMI_YAML_VERSION' tool"
}

# ---------------------------------------------------------------- Pulumi (last)
pulumi_tools() {
  # The Node.js and Python language hosts' own modules (sdk/{nodejs,python}/cmd/...) are not served
  # by the Go module proxy reachable here (403, no version list, no pseudo-version of the release
  # commits). sdk/v3 up to v3.68.0 still holds both as packages: those are built
  # (test/tools/pulumi-langhosts). The CLI comes from test/tools/pulumi, the Kubernetes provider from
  # its module (a pseudo-version: it has no provider tags), generated then built.
  local built=0
  # The Python host runs programs through pulumi-language-python-exec, a script of the same sdk that
  # it looks for beside its own executable: copied there.
  local exec_script="$GOMODCACHE/github.com/pulumi/pulumi/sdk/v3@$PULUMI_LANGHOST_VERSION/python/cmd/pulumi-language-python-exec"
  go_build pulumi-langhosts "$PULUMI_LANGHOST_VERSION" pulumi-language-nodejs pulumi-language-python pulumi-language-python-exec -- \
    bash -c "cd '$TOOLS_SRC/pulumi-langhosts' && go install -trimpath -ldflags '-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_LANGHOST_VERSION' tool && install -m 0755 '$exec_script' \"\$GOBIN/\"" || return 1
  [ "$STATUS" = built ] && built=1
  # Those hosts lack calls the CLI 3.248 makes (RunPlugin for Node.js policy packs and plugin
  # packages; GeneratePackage and Link for Python SDKs) and read runtime options only as start-up
  # flags: a front (test/tools/pulumi-langhost-front, ours) adds the calls, restarts the host with the
  # options as flags, and forwards every other call. The front is `pulumi-language-<lang>` on PATH;
  # the real host is `pulumi-language-<lang>-real` beside it. Its tests (main_test.go) run before
  # each build of a new source hash: a failing test fails provisioning.
  local hosts="$TOOLS/pulumi-langhosts-$PULUMI_LANGHOST_VERSION"
  link "$hosts/pulumi-language-nodejs" pulumi-language-nodejs-real
  link "$hosts/pulumi-language-python" pulumi-language-python-real
  local fh
  fh=$(cat "$TOOLS_SRC/pulumi-langhost-front/go.mod" "$TOOLS_SRC/pulumi-langhost-front/go.sum" "$TOOLS_SRC/pulumi-langhost-front/"*.go | sha256sum | cut -c1-12)
  go_build pulumi-langhost-front "$fh" pulumi-language-nodejs pulumi-language-python -- \
    bash -c "cd '$TOOLS_SRC/pulumi-langhost-front' && go test -count=1 . && go build -trimpath -ldflags '-s -w' -o \"\$GOBIN/pulumi-language-nodejs\" . && ln \"\$GOBIN/pulumi-language-nodejs\" \"\$GOBIN/pulumi-language-python\"" || return 1
  [ "$STATUS" = built ] && built=1
  go_build pulumi "$PULUMI_VERSION" pulumi -- \
    bash -c "cd '$TOOLS_SRC/pulumi' && go install -trimpath -ldflags '-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION' tool" || return 1
  [ "$STATUS" = built ] && built=1
  local pdir="$TOOLS/pulumi-resource-kubernetes-$PULUMI_K8S_VERSION"
  if [ ! -x "$pdir/pulumi-resource-kubernetes" ]; then
    local mod="github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_K8S_MODULE"
    local src="$pdir.src.$$" tmp="$pdir.tmp.$$" dl
    dl=$(go mod download -json "$mod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || return 1
    [ -n "$dl" ] || { log "cannot download $mod"; return 1; }
    rm -rf "$src" "$tmp"; cp -r "$dl" "$src"; chmod -R u+w "$src"; mkdir -p "$tmp"
    (
      cd "$src" &&
      go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4 &&
      # Upstream replaces sdk/v4 with ../sdk, so go.sum has no entries for it: fetch the version
      # go.mod requires (and its sums, checked against the checksum database through the proxy).
      sdkv=$(sed -n 's#^[[:space:]]*github.com/pulumi/pulumi-kubernetes/sdk/v4 \(v[^[:space:]]*\).*#\1#p' go.mod | head -1) &&
      [ -n "$sdkv" ] && go get "github.com/pulumi/pulumi-kubernetes/sdk/v4@$sdkv" &&
      cd cmd/pulumi-resource-kubernetes &&
      VERSION="${PULUMI_K8S_VERSION#v}" nice -n 10 go run generate.go &&
      nice -n 10 go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${PULUMI_K8S_VERSION#v}" \
        -o "$tmp/pulumi-resource-kubernetes" .
    ) || { rm -rf "$src" "$tmp"; return 1; }
    rm -rf "$src" "$pdir"; mv "$tmp" "$pdir"
    built=1
  fi
  link "$pdir/pulumi-resource-kubernetes"
  if [ "$built" -eq 1 ]; then STATUS=built; else STATUS=cached; fi
}

main() {
  # Steps: id, label, function [args]. `provision.sh ID...` runs only those steps (the Go
  # toolchain check always runs before a Go build).
  ALL_STEPS=(apt go kubernetes node-runtime probe psa-check yaml-echo kube-score crane cosign-v2 cosign-v3 distribution kube-router policy-tester kyverno checkov pulumi pulumi-yaml)
  DEFAULT_STEPS=(apt go kubernetes node-runtime probe psa-check yaml-echo kube-score crane cosign-v2 cosign-v3 distribution kube-router policy-tester checkov)
  # The Pulumi engine is needed (and then mandatory) once the project depends on @pulumi/pulumi.
  if grep -q '"@pulumi/pulumi"' "$HERE/../../package.json"; then DEFAULT_STEPS+=(pulumi pulumi-yaml); fi
  WANT=("$@")
  [ "${#WANT[@]}" -eq 0 ] && WANT=("${DEFAULT_STEPS[@]}")
  for w in "${WANT[@]}"; do
    case " ${ALL_STEPS[*]} " in *" $w "*) ;; *) die "unknown step '$w' (steps: ${ALL_STEPS[*]})";; esac
  done
  wants() { local w; for w in "${WANT[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }
  needs_go() { local w; for w in "${WANT[@]}"; do case "$w" in apt|checkov|node-runtime) ;; *) return 0;; esac; done; return 1; }

  # First, alone: the packages, the Go toolchain (its GOTOOLCHAIN export reaches both lanes) and
  # the node runtime (apt-get download). Then the builds in two lanes of about equal length on a
  # cold cache (kubernetes and cosign; Pulumi), each lane's steps one after the other.
  wants apt          && step "debian packages" apt_packages
  needs_go           && step "go toolchain" go_toolchain
  wants node-runtime && step "node runtime (containerd, runc, CNI)" node_runtime
  run_id() {
    wants "$1" || return 0
    case "$1" in
      kubernetes)   step "kubernetes $K8S_VERSION (control plane, kubelet, kubectl)" k8s_tools ;;
      probe)        step "cleanimg-probe (test app)" probe_tool ;;
      psa-check)    step "psa-check ($PSA_VERSION)" psa_check ;;
      yaml-echo)    step "yaml-echo (sigs.k8s.io/yaml $SIGS_YAML_VERSION)" yaml_echo ;;
      kube-score)   step "kube-score $KUBE_SCORE_VERSION" kube_score_tool ;;
      crane)        step "crane $CRANE_VERSION" crane_tool ;;
      cosign-v2)    step "cosign $COSIGN2_VERSION" cosign_tool v2 "$COSIGN2_VERSION" ;;
      cosign-v3)    step "cosign $COSIGN3_VERSION" cosign_tool v3 "$COSIGN3_VERSION" ;;
      distribution) step "distribution registry $DISTRIBUTION_VERSION" distribution_tool ;;
      kube-router)  step "kube-router $KUBE_ROUTER_VERSION (network policies)" kube_router_tool ;;
      policy-tester) step "policy-tester (policy-controller $POLICY_CONTROLLER_VERSION)" policy_tester_tool ;;
      kyverno)      step "kyverno CLI $KYVERNO_VERSION (opt-in)" kyverno_tool ;;
      checkov)      step "checkov $CHECKOV_VERSION" checkov_tool ;;
      pulumi)       step "pulumi" pulumi_tools ;;
      pulumi-yaml)  step "pulumi-language-yaml $PULUMI_YAML_VERSION" pulumi_yaml ;;
    esac
  }
  local lane_a=(kubernetes probe psa-check yaml-echo crane kube-score cosign-v3 cosign-v2 distribution kube-router pulumi-yaml)
  local lane_b=(checkov pulumi policy-tester kyverno)
  if [ "${CLEANIMG_PROVISION_LANES:-2}" = 1 ]; then
    for id in "${lane_a[@]}" "${lane_b[@]}"; do run_id "$id"; done
  else
    ( LANE=a; for id in "${lane_a[@]}"; do run_id "$id"; done ) & local pa=$!
    ( LANE=b; for id in "${lane_b[@]}"; do run_id "$id"; done ) & local pb=$!
    local failed=0
    wait "$pa" || failed=1
    wait "$pb" || failed=1
    [ "$failed" -eq 0 ] || die "a build lane failed (see the FAILED line above)"
  fi
  step "smoke check (each tool runs, right version)" smoke

  log "summary (cache $TOOLS):"
  while IFS= read -r line; do log "  $line"; done < "$SUMMARY_FILE"
  local total; total=$(secs "$T_ALL" "$(now)")
  log "total ${total}s"
  # Keep every run's figures beside the cache: a cold run's times are then on record (the README
  # quotes them), not reconstructed from memory. One line per step, one for the total.
  {
    local stamp; stamp="$(date -u +%Y-%m-%dT%H:%M:%SZ) nproc=$(nproc) load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ?)"
    while IFS= read -r line; do printf '%s  %s\n' "$stamp" "$line"; done < "$SUMMARY_FILE"
    printf '%s  %-34s %-8s %7ss\n' "$stamp" "total" "" "$total"
  } >> "$TOOLS/provision-times.log" 2>/dev/null || true
}

# main is parsed whole before it runs and the script exits on the same line, so editing this
# file during a run cannot change what the run does.
main "$@"; exit $?
