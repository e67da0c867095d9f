#!/bin/sh
# Makes certs/corporate-ca.crt: a PUBLIC test-only CA certificate for the example. The private key is
# created in a temp folder and deleted at once: nothing can be signed with this CA, and no key is ever
# committed. Replace the file with your organization's real CA certificate.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p certs
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/key.pem" \
  -out certs/corporate-ca.crt.tmp -days 3650 -subj "/O=cleanimg example/CN=Example Corporate CA (test only)" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
mv certs/corporate-ca.crt.tmp certs/corporate-ca.crt
echo "wrote certs/corporate-ca.crt (key discarded)"
