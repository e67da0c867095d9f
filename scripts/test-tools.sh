#!/usr/bin/env bash
# Run before `npm test`: the tests use real tools (a registry, skopeo, umoci, openssl, htpasswd,
# buildah, busybox). Installs what is missing from Debian's packages when running as root with apt;
# otherwise prints the command and fails, rather than letting tests fail one by one.
set -euo pipefail
missing=()
for tool in docker-registry skopeo umoci htpasswd openssl buildah busybox; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
packages="docker-registry skopeo umoci apache2-utils openssl buildah busybox-static"
echo "test tools missing: ${missing[*]}" >&2
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing: apt-get install -y $packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq $packages >/dev/null
else
  echo "install them first: sudo apt-get install -y $packages" >&2
  exit 1
fi
