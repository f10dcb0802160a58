#!/usr/bin/env bash
# Runs AWS's public XKS proxy compliance client (aws-samples/aws-kms-xksproxy-test-client,
# checked out OUTSIDE this repository) against Keyward's XKS proxy.
#
#   scripts/xks-compliance.sh <client-dir> [--backend local|softhsm] [--all] [--mtls]
#
#   --backend  local (default): the embedded keystore; softhsm: a SoftHSMv2 token in a
#              temporary directory (needs softhsm2).
#   --all      the client's -a: also the encrypt-only, decrypt-only and "impotent" keys.
#   --mtls     mutual TLS with a client certificate for cks.kms.us-east-1.amazonaws.com (the
#              client then also runs its negative mTLS tests, which expect the text
#              "TLS alert, handshake failure"; OpenSSL, under node, answers a certificate from
#              an unknown CA with "unknown CA" instead, so those two fail: see docs/xks-proxy.md).
#
# Needs a built tree (npm run build), openssl, curl >= 7.75, jq, uuidgen (uuid-runtime), xxd.
# Everything (certificates, keys, the proxy's data) lives in a temporary directory, removed at
# the end. The proxy's log is kept there while it runs and printed when the proxy fails.
set -euo pipefail

client_dir=""
backend=local
all=""
mtls=""
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend="$2"; shift 2 ;;
    --all) all="-a"; shift ;;
    --mtls) mtls=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) if [ -z "$client_dir" ]; then client_dir="$1"; shift; else echo "unexpected argument: $1" >&2; exit 2; fi ;;
  esac
done
[ -n "$client_dir" ] && [ -x "$client_dir/test-xks-proxy" ] || {
  echo "usage: $0 <client-dir> [--backend local|softhsm] [--all] [--mtls]" >&2
  exit 2
}
client_dir=$(cd "$client_dir" && pwd)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
keyward=("node" "$repo/bin/keyward.js")
for tool in openssl curl jq uuidgen xxd; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/keyward-xks-compliance.XXXXXX")
proxy_pid=""
cleanup() {
  [ -n "${KEEP_WORK:-}" ] && { echo "kept $work"; return; }
  if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A throwaway CA, a server certificate for localhost and a client certificate as AWS KMS's.
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
  -days 2 -subj "/CN=Keyward XKS compliance CA" -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
issue() { # name cn san
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$3" >"$1.ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 2 -extfile "$1.ext" 2>/dev/null
}
issue server localhost "DNS:localhost,IP:127.0.0.1"
issue client cks.kms.us-east-1.amazonaws.com "DNS:cks.kms.us-east-1.amazonaws.com"

uri_prefix="example/uri/path/prefix"
uri_path="/$uri_prefix/kms/xks/v1"
creds=$("${keyward[@]}" xks-proxy credentials --uri-path "$uri_path")
access_key_id=$(jq -r .XksProxyAuthenticationCredential.AccessKeyId <<<"$creds")
secret=$(jq -r .XksProxyAuthenticationCredential.RawSecretAccessKey <<<"$creds")

backend_json='{"type":"local"}'
if [ "$backend" = softhsm ]; then
  module=/usr/lib/softhsm/libsofthsm2.so
  [ -e "$module" ] || { echo "softhsm2 is not installed ($module)" >&2; exit 2; }
  mkdir -p softhsm/tokens
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
    "$work/softhsm/tokens" >softhsm/softhsm2.conf
  export SOFTHSM2_CONF="$work/softhsm/softhsm2.conf"
  softhsm2-util --init-token --free --label xks-compliance --so-pin 87654321 --pin 1234 >/dev/null
  export KEYWARD_XKS_PKCS11_PIN=1234
  backend_json="{\"type\":\"pkcs11\",\"modulePath\":\"$module\",\"tokenLabel\":\"xks-compliance\"}"
elif [ "$backend" != local ]; then
  echo "unknown backend $backend (local or softhsm)" >&2
  exit 2
fi
mtls_json=""
[ -n "$mtls" ] && mtls_json=',"clientCaFile":"ca.crt","clientNames":["cks.kms.us-east-1.amazonaws.com"]'
cat >config.json <<JSON
{
  "host": "127.0.0.1",
  "port": 0,
  "tls": { "certFile": "server.crt", "keyFile": "server.key"$mtls_json },
  "region": "us-east-1",
  "dataDir": "data",
  "backend": $backend_json,
  "keyStores": [
    { "uriPath": "$uri_path",
      "credentials": [{ "accessKeyId": "$access_key_id", "secretAccessKey": "$secret" }] }
  ]
}
JSON

# The key ids the client uses by default (its utils/test_config.sh).
"${keyward[@]}" xks-proxy keys create foo --config config.json >/dev/null
"${keyward[@]}" xks-proxy keys create encrypt_only_key --usage ENCRYPT --config config.json >/dev/null
"${keyward[@]}" xks-proxy keys create decrypt_only_key --usage DECRYPT --config config.json >/dev/null
"${keyward[@]}" xks-proxy keys create impotent_key --usage NONE --config config.json >/dev/null

"${keyward[@]}" xks-proxy serve --config config.json >proxy.out 2>proxy.log &
proxy_pid=$!
for _ in $(seq 1 100); do
  grep -q 'listening on' proxy.out 2>/dev/null && break
  kill -0 "$proxy_pid" 2>/dev/null || { cat proxy.out proxy.log >&2; exit 1; }
  sleep 0.1
done
port=$(sed -n 's/.*listening on https:\/\/[^:]*:\([0-9]*\).*/\1/p' proxy.out)
[ -n "$port" ] || { echo "the proxy did not start" >&2; cat proxy.out proxy.log >&2; exit 1; }
echo "Keyward XKS proxy ($backend backend) on https://localhost:$port$uri_path"

client_env=(
  XKS_PROXY_HOST="localhost:$port" URI_PREFIX="$uri_prefix" REGION=us-east-1
  SIGV4_ACCESS_KEY_ID="$access_key_id" SIGV4_SECRET_ACCESS_KEY="$secret"
  SECURE="--cacert $work/ca.crt" ANSI_ESCAPE=0 VERBOSE=-i
)
[ -n "$mtls" ] && client_env+=(MTLS="--key $work/client.key --cert $work/client.crt")
cd "$client_dir"
env "${client_env[@]}" ./test-xks-proxy $all >"$work/client.out" 2>&1 || true
grep -aE "^=> Test .*FAILED" "$work/client.out" || true
summary=$(grep -aE 'tests PASSED|tests FAILED' "$work/client.out" | tail -1)
echo "$summary"
case "$summary" in
  *"All "*" tests PASSED."*) exit 0 ;;
  *) exit 1 ;;
esac
