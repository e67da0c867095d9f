#!/usr/bin/env bash
# Run before `npm test`: the tests use real tools (a registry, skopeo, umoci, openssl, htpasswd,
# buildah, busybox). Installs only the Debian packages of the tools that are missing, and asks apt
# not to upgrade anything already installed (--no-upgrade); as non-root, or without apt, it prints
# the exact command and fails, rather than letting tests fail one by one.
set -euo pipefail

# tool:package (the Debian package that provides the tool)
tools="docker-registry:docker-registry skopeo:skopeo umoci:umoci htpasswd:apache2-utils openssl:openssl buildah:buildah busybox:busybox-static"

missing=()
packages=()
for pair in $tools; do
  tool=${pair%%:*} package=${pair#*:}
  if ! command -v "$tool" >/dev/null 2>&1; then
    missing+=("$tool")
    packages+=("$package")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

echo "npm test needs these tools, which are not installed:" >&2
for pair in $tools; do
  tool=${pair%%:*} package=${pair#*:}
  for m in "${missing[@]}"; do [ "$m" = "$tool" ] && echo "  $tool (Debian package $package)" >&2; done
done
command="apt-get install -y --no-upgrade ${packages[*]}"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing them (nothing else is upgraded): $command" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-upgrade "${packages[@]}" >/dev/null
else
  echo "install them first, then run npm test again:" >&2
  echo "  sudo $command" >&2
  exit 1
fi
