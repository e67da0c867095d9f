#!/usr/bin/env bash
# A real single-node Kubernetes for the end-to-end tier, in its own PID, network and mount
# namespaces, so that nothing it does reaches the host and everything dies with it:
#
#   setpriv --pdeathsig KILL -- unshare --pid --net --mount --fork --kill-child --mount-proc \
#     --propagation private -- bash node.sh DIR TOOLS_BIN RUNTIME_DIR
#
# This script is PID 1 of the new PID namespace: it starts etcd, kube-apiserver (Pod Security
# "restricted" cluster-wide, as in the rest of the tier; privileged containers allowed by the server,
# as kubeadm clusters do, so Pod Security is what refuses them), kube-controller-manager, kube-scheduler,
# a registry (distribution, 127.0.0.1:5000 inside the namespace), containerd + runc with the CNI
# bridge, the kubelet, and kube-router's firewall (the bridge plugin does not enforce
# NetworkPolicies; kube-router's netpol controller does, with iptables and ipset), then reaps
# children until it is killed. When it dies the kernel kills
# every process of the namespace (pods, shims and containers included), and the network namespace
# (bridge, iptables rules, ip_forward) and the mount namespace (tmpfs, bind mounts) go with them.
# The one host change that outlives it is the kubelet's cgroup folders, under a per-run root
# (/cleanimg-e2e-<id>) that the caller removes.
#
# DIR holds admission.yaml (written by the caller), certificates, kubeconfigs, config files and
# one log per component (DIR/logs).
# Everything listens on the namespace's own 127.0.0.1: reach it with `nsenter -t PID --net`.
set -euo pipefail

# `node.sh --remove-cgroups ROOT`, on the host after the node is gone: removes the cgroup folders
# the kubelet made under ROOT (deepest first; a folder with live processes stays and is reported).
if [ "${1:-}" = "--remove-cgroups" ]; then
  root="${2:?cgroup root}"; case "$root" in /cleanimg-e2e-*) ;; *) echo "refusing cgroup root '$root'" >&2; exit 2;; esac
  rc=0
  for h in /sys/fs/cgroup/*/; do
    [ -d "$h${root#/}" ] || continue
    while IFS= read -r d; do rmdir "$d" 2>/dev/null || { echo "cannot remove $d" >&2; rc=1; }; done \
      < <(find "$h${root#/}" -depth -type d)
  done
  exit $rc
fi

DIR="$1" BIN="$2" RT="$3" CGROUP_ROOT="$4"
mkdir -p "$DIR/logs" "$DIR/pki"
log() { printf '[node %s] %s\n' "$(date +%T)" "$*"; }

# ------------------------------------------------------------------ the namespaces
ip link set lo up
# The node's address: one end of a veth pair (both ends stay in the namespace) holds it and the
# default route. The kubelet wants a non-loopback node IP; nothing leaves the namespace through it.
NODE_IP=10.99.0.1
ip link add e2e0 type veth peer name e2e1
ip addr add "$NODE_IP/24" dev e2e0
ip link set e2e1 up
ip link set e2e0 up
ip route add default dev e2e0
# Private tmpfs over the folders the kubelet, containerd and CNI use by fixed paths.
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=0755 tmpfs /var/lib
mount -t tmpfs -o mode=0755 tmpfs /var/log
mkdir -p /run/netns /var/lib/kubelet /var/lib/containerd /var/lib/cni /var/log/pods
# The kubelet sets three kernel sysctls it expects (protectKernelDefaults: false); they are not
# namespaced, so files with the expected values are bind-mounted over them here.
mkdir -p "$DIR/sysctl"
for kv in vm/overcommit_memory=1 kernel/panic=10 kernel/panic_on_oops=1; do
  k="${kv%%=*}" v="${kv#*=}" f="$DIR/sysctl/${kv%%=*}"
  mkdir -p "$(dirname "$f")"; echo "$v" > "$f"
  mount --bind "$f" "/proc/sys/$k"
done
sysctl -q -w net.ipv4.ip_forward=1   # this network namespace's own
# Pod-to-pod packets cross the bridge: br_netfilter hands them to iptables, where kube-router's
# NetworkPolicy chains see them (a per-namespace setting).
sysctl -q -w net.bridge.bridge-nf-call-iptables=1
# The kubelet's cgroup root must exist in every v1 hierarchy (cgroup v1 here: hybrid mode).
for h in /sys/fs/cgroup/*/; do
  [ -e "$h/cgroup.procs" ] || continue
  mkdir -p "$h$CGROUP_ROOT"
  if [ -e "$h/cpuset.cpus" ]; then
    cat "$h/cpuset.cpus" > "$h$CGROUP_ROOT/cpuset.cpus"; cat "$h/cpuset.mems" > "$h$CGROUP_ROOT/cpuset.mems"
  fi
done
HOST="$(hostname)"
NODE="$(printf '%s' "$HOST" | tr 'A-Z' 'a-z')"

# ------------------------------------------------------------------ credentials (per run)
cd "$DIR/pki"
openssl genrsa -out sa.key 2048 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout kubelet-ca.key -out kubelet-ca.crt -days 2 -subj '/CN=cleanimg-e2e-kubelet-ca' 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout apiserver-kubelet-client.key -out apiserver-kubelet-client.csr -subj '/O=system:masters/CN=kube-apiserver-kubelet-client' 2>/dev/null
openssl x509 -req -in apiserver-kubelet-client.csr -CA kubelet-ca.crt -CAkey kubelet-ca.key -CAcreateserial -out apiserver-kubelet-client.crt -days 2 2>/dev/null
tok() { openssl rand -hex 24; }
ADMIN=$(tok) SCHED=$(tok) CM=$(tok) KUBELET=$(tok) ROUTER=$(tok)
{
  echo "$ADMIN,e2e-admin,e2e-admin-uid,\"system:masters\""
  echo "$SCHED,system:kube-scheduler,system:kube-scheduler-uid"
  echo "$CM,system:kube-controller-manager,system:kube-controller-manager-uid"
  echo "$KUBELET,system:node:$NODE,system:node-uid,\"system:nodes\""
  echo "$ROUTER,system:kube-router,system:kube-router-uid"
} > tokens.csv
chmod 600 tokens.csv *.key
cd "$DIR"

APISERVER=https://127.0.0.1:6443
kubeconfig() { # FILE USER TOKEN
  cat > "$1" <<KC
apiVersion: v1
kind: Config
clusters:
  - name: e2e
    cluster:
      server: $APISERVER
      certificate-authority: $DIR/certs/apiserver.crt
users:
  - name: $2
    user:
      token: $3
contexts:
  - name: e2e
    context: {cluster: e2e, user: $2, namespace: default}
current-context: e2e
KC
  chmod 600 "$1"
}
kubeconfig admin.kubeconfig e2e-admin "$ADMIN"
kubeconfig scheduler.kubeconfig system:kube-scheduler "$SCHED"
kubeconfig controller-manager.kubeconfig system:kube-controller-manager "$CM"
kubeconfig kubelet.kubeconfig "system:node:$NODE" "$KUBELET"
kubeconfig kube-router.kubeconfig system:kube-router "$ROUTER"

# ------------------------------------------------------------------ processes
PIDS=()
start() { # NAME CMD...
  local name="$1"; shift
  "$@" > "$DIR/logs/$name.log" 2>&1 &
  PIDS+=("$!")
  echo "$name $!" >> "$DIR/pids"
  log "started $name (pid $! in the namespace)"
}
wait_http() { # WHAT URL SECONDS [curl args]
  local what="$1" url="$2" secs="$3"; shift 3
  for _ in $(seq $((secs * 4))); do
    curl -fsS -o /dev/null "$@" "$url" 2>/dev/null && return 0
    sleep 0.25
  done
  log "$what not ready after ${secs}s"; return 1
}

start etcd etcd --name=e2e --data-dir="$DIR/etcd" \
  --listen-client-urls=http://127.0.0.1:2379 --advertise-client-urls=http://127.0.0.1:2379 \
  --listen-peer-urls=http://127.0.0.1:2380 --initial-advertise-peer-urls=http://127.0.0.1:2380 \
  --initial-cluster=e2e=http://127.0.0.1:2380 --initial-cluster-state=new --log-level=warn
wait_http etcd http://127.0.0.1:2379/health 30

# The caller writes the AdmissionConfiguration (ADMISSION_CONFIG in support/cluster.ts, as for the
# tier's other API server).
[ -e "$DIR/admission.yaml" ] || { log "no $DIR/admission.yaml"; exit 2; }
start kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers=http://127.0.0.1:2379 --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
  --secure-port=6443 --cert-dir="$DIR/certs" --service-cluster-ip-range=10.0.0.0/24 \
  --service-account-issuer=$APISERVER --service-account-key-file="$DIR/pki/sa.key" \
  --service-account-signing-key-file="$DIR/pki/sa.key" \
  --authorization-mode=Node,RBAC --token-auth-file="$DIR/pki/tokens.csv" \
  --admission-control-config-file="$DIR/admission.yaml" \
  --kubelet-client-certificate="$DIR/pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$DIR/pki/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=Hostname --allow-privileged=true --profiling=false --v=1
wait_http kube-apiserver $APISERVER/readyz 120 -k -H "Authorization: Bearer $ADMIN"

start kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig="$DIR/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$DIR/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$DIR/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=10257 --use-service-account-credentials=true \
  --service-account-private-key-file="$DIR/pki/sa.key" --root-ca-file="$DIR/certs/apiserver.crt" \
  --cluster-name=e2e --leader-elect=false --profiling=false --v=1
start kube-scheduler "$BIN/kube-scheduler" \
  --kubeconfig="$DIR/scheduler.kubeconfig" \
  --authentication-kubeconfig="$DIR/scheduler.kubeconfig" \
  --authorization-kubeconfig="$DIR/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --profiling=false --v=1

# The registry containerd pulls from (plain HTTP on the namespace's loopback).
cat > "$DIR/registry.yaml" <<REG
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $DIR/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:5000}
REG
start registry "$BIN/distribution-registry" serve "$DIR/registry.yaml"

# containerd: its own root, state, socket and CNI config; runc through a wrapper (see runc-wrapper.sh).
mkdir -p "$DIR/cni" "$DIR/certs.d/127.0.0.1:5000"
cat > "$DIR/cni/10-cleanimg-e2e.conflist" <<CNI
{"cniVersion": "1.0.0", "name": "cleanimg-e2e", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.0.0/16"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "loopback"}]}
CNI
printf 'server = "http://127.0.0.1:5000"\n[host."http://127.0.0.1:5000"]\n  capabilities = ["pull", "resolve"]\n' > "$DIR/certs.d/127.0.0.1:5000/hosts.toml"
# registry.example.com, the examples' registry, is served by the same local registry (a mirror).
mkdir -p "$DIR/certs.d/registry.example.com"
printf 'server = "http://127.0.0.1:5000"\n[host."http://127.0.0.1:5000"]\n  capabilities = ["pull", "resolve"]\n' > "$DIR/certs.d/registry.example.com/hosts.toml"
cat > "$DIR/containerd.toml" <<CTD
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
[grpc]
  address = "/run/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "127.0.0.1:5000/pause:e2e"
  stream_server_address = "127.0.0.1"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_unprivileged_ports = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$RT/usr/sbin/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$RT/usr/lib/cni"
    conf_dir = "$DIR/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$DIR/certs.d"
CTD
PATH="$RT/usr/bin:$RT/usr/sbin:$PATH" start containerd "$RT/usr/bin/containerd" --config "$DIR/containerd.toml"
for _ in $(seq 120); do [ -S /run/containerd/containerd.sock ] && break; sleep 0.25; done

cat > "$DIR/kubelet.yaml" <<KL
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $DIR/pki/kubelet-ca.crt}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
failCgroupV1: false
failSwapOn: false
protectKernelDefaults: false
resolvConf: /etc/resolv.conf
podLogsDir: /var/log/pods
serializeImagePulls: false
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
evictionPressureTransitionPeriod: 5s
syncFrequency: 5s
fileCheckFrequency: 5s
maxPods: 60
KL
PATH="$RT/usr/bin:$RT/usr/sbin:$PATH" start kubelet "$BIN/kubelet" --config="$DIR/kubelet.yaml" \
  --kubeconfig="$DIR/kubelet.kubeconfig" --root-dir=/var/lib/kubelet --node-ip="$NODE_IP" --cert-dir="$DIR/kubelet-pki" --v=1
# kube-router's firewall only (no routing, no service proxy, no CNI of its own): it reads pods,
# namespaces and NetworkPolicies, and needs nothing more (its ClusterRole, bound below).
"$BIN/kubectl" --kubeconfig="$DIR/admin.kubeconfig" apply -f - > "$DIR/logs/kube-router-rbac.log" 2>&1 <<RBAC
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-kube-router}
rules:
  - {apiGroups: [""], resources: [pods, namespaces, nodes, services, endpoints], verbs: [get, list, watch]}
  - {apiGroups: [networking.k8s.io], resources: [networkpolicies], verbs: [get, list, watch]}
  - {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-kube-router}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-kube-router}
subjects: [{kind: User, name: "system:kube-router", apiGroup: rbac.authorization.k8s.io}]
RBAC
# It finds its node by name at start: wait until the kubelet has registered it.
for _ in $(seq 240); do
  "$BIN/kubectl" --kubeconfig="$DIR/admin.kubeconfig" get node "$NODE" >/dev/null 2>&1 && break
  sleep 0.25
done
PATH="$RT/usr/sbin:$PATH" LD_LIBRARY_PATH="$RT/usr/lib/x86_64-linux-gnu" start kube-router "$BIN/kube-router" \
  --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
  --kubeconfig="$DIR/kube-router.kubeconfig" --hostname-override="$NODE" \
  --service-cluster-ip-range=10.0.0.0/24 --health-port=20244 --metrics-port=0 --v=1
echo ready > "$DIR/started"
log "all started"

# PID 1: reap every child (orphaned shims and containers included) until killed. A component
# that exits takes the node down with it, so the caller sees it at once.
trap 'log "stopping"; kill -TERM "${PIDS[@]}" 2>/dev/null; sleep 2; exit 0' TERM INT
while :; do
  wait -n || true
  for p in "${PIDS[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      log "$(awk -v p="$p" '$2 == p { print $1 }' "$DIR/pids") (pid $p) exited: stopping the node"
      echo "$p" > "$DIR/exited"
      kill -TERM "${PIDS[@]}" 2>/dev/null; sleep 2; exit 1
    fi
  done
done
