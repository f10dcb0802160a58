#!/usr/bin/env bash
# End-to-end check with the real `aws kms` command line (`npm run test:cli`).
#
# For each aws CLI found (v1 from pip/pyenv, v2 from Debian's `awscli` package, or only the one
# named by AWS_CLI), this starts a fresh Keyward in normal (non-dev) mode on a free loopback
# port over a temporary data directory, reads the admin access key it generated on first start
# (or uses KEYWARD_ROOT_ACCESS_KEY_ID / KEYWARD_ROOT_SECRET_ACCESS_KEY when both are set), and
# drives it with `aws kms ... --endpoint-url`, then once with AWS_ENDPOINT_URL_KMS instead.
# It then adds, while the server runs, a user with a limited identity policy and a role trusting
# the admin (`keyward principals`), and checks `aws sts get-caller-identity`, AccessDenied with
# AWS's message, and a KMS call with `aws sts assume-role`'s temporary credentials.
#
# Blob arguments are passed as fileb:// files: CLI v1 never base64-decodes a blob given inline
# and v2 does by default, but both read fileb:// as raw bytes. Blob outputs are base64 in both.
#
# An operation the server answers "UnsupportedOperationException: … is not supported by this
# Keyward version" for is skipped with that reason; anything else that goes wrong is a failure.
# Prints "cli-e2e: N passed, F failed, S skipped" and exits non-zero on any failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PASS=0
FAIL=0
SKIP=0
RAN=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/keyward-cli-e2e.XXXXXX")
SERVER_PID=""
XKS_PID=""

stop_keyward() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
cleanup() {
  stop_keyward
  if [ -n "$XKS_PID" ]; then
    kill -TERM "$XKS_PID" 2>/dev/null || true
    wait "$XKS_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() {
  PASS=$((PASS + 1))
  echo "  ok    $1"
}
fail() {
  FAIL=$((FAIL + 1))
  echo "  FAIL  $1"
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" | head -n 6 | sed 's/^/        /'; fi
}
skip() {
  SKIP=$((SKIP + 1))
  echo "  skip  $1: $2"
}

# ---------------------------------------------------------------------------------------------
# Which CLIs

cli_version() { "$1" --version 2>&1 | head -n 1 | awk '{print $1}'; }

# True when the CLI reads AWS_ENDPOINT_URL_<SERVICE> (aws-cli 1.29.0 and 2.13.0 onwards,
# "Service-specific endpoints" in the AWS SDKs and Tools Reference Guide).
supports_service_endpoint_env() {
  local v=${1#aws-cli/} major minor
  major=${v%%.*}
  minor=${v#*.}
  minor=${minor%%.*}
  case $major in
    1) [ "$minor" -ge 29 ] ;;
    2) [ "$minor" -ge 13 ] ;;
    *) [ "$major" -gt 2 ] ;;
  esac
}

CLIS=()
if [ -n "${AWS_CLI:-}" ]; then
  command -v "$AWS_CLI" >/dev/null || { echo "cli-e2e: AWS_CLI=$AWS_CLI is not executable" >&2; exit 1; }
  CLIS=("$(command -v "$AWS_CLI")")
else
  seen=" "
  for candidate in "$(command -v aws || true)" /usr/bin/aws /usr/local/bin/aws; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    version=$(cli_version "$candidate" || true)
    case $version in aws-cli/*) ;; *) continue ;; esac
    case $seen in *" $version "*) continue ;; esac
    seen="$seen$version "
    CLIS+=("$candidate")
  done
fi
if [ ${#CLIS[@]} -eq 0 ]; then
  echo "cli-e2e: no aws CLI found (install v2 with 'apt-get install -y awscli' or v1 with 'pip install awscli', or set AWS_CLI)" >&2
  exit 1
fi

# ---------------------------------------------------------------------------------------------
# The server

if [ "${KEYWARD_E2E_SKIP_BUILD:-}" = 1 ]; then
  echo "cli-e2e: KEYWARD_E2E_SKIP_BUILD=1, using dist/ as it is"
else
  echo "cli-e2e: building"
  npx --no-install tsc -p tsconfig.json
fi

# Keyward's own XKS proxy (keyward xks-proxy), over TLS with a CA made here by openssl, and
# one external key in its local keystore. Keyward trusts the CA through NODE_EXTRA_CA_CERTS.
start_xks_proxy() {
  local dir=$WORK/xks
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" -subj '/CN=cli-e2e CA' \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/server.key" \
    -out "$dir/server.csr" -subj /CN=localhost 2>/dev/null
  printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
  XKS_CREDENTIAL=$(node bin/keyward.js xks-proxy credentials --uri-path /cli/kms/xks/v1)
  read -r XKS_ACCESS_KEY_ID XKS_SECRET < <(node -e '
    const c = JSON.parse(process.argv[1]).XksProxyAuthenticationCredential
    console.log(c.AccessKeyId + " " + c.RawSecretAccessKey)' "$XKS_CREDENTIAL")
  cat >"$dir/proxy.json" <<JSON
{ "host": "127.0.0.1", "port": 0, "region": "us-east-1", "dataDir": "$dir/data",
  "tls": { "certFile": "$dir/server.crt", "keyFile": "$dir/server.key" },
  "backend": { "type": "local" },
  "keyStores": [{ "uriPath": "/cli/kms/xks/v1",
                  "credentials": [{ "accessKeyId": "$XKS_ACCESS_KEY_ID", "secretAccessKey": "$XKS_SECRET" }] }] }
JSON
  node bin/keyward.js xks-proxy keys create cli-key --config "$dir/proxy.json" >/dev/null
  node bin/keyward.js xks-proxy serve --config "$dir/proxy.json" >"$dir/proxy.out" 2>"$dir/proxy.err" &
  XKS_PID=$!
  XKS_ENDPOINT=""
  for _ in $(seq 1 150); do
    XKS_ENDPOINT=$(grep -o 'listening on https://[^ ]*' "$dir/proxy.out" 2>/dev/null | head -n 1 | cut -d' ' -f3 | sed 's/127.0.0.1/localhost/' || true)
    [ -n "$XKS_ENDPOINT" ] && break
    kill -0 "$XKS_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$XKS_ENDPOINT" ]; then
    echo "cli-e2e: the XKS proxy did not start:" >&2
    cat "$dir/proxy.out" "$dir/proxy.err" >&2
    return 1
  fi
  echo "cli-e2e: XKS proxy pid $XKS_PID at $XKS_ENDPOINT"
}

start_keyward() {
  local data=$WORK/data-$1
  local env_creds=()
  if [ -n "${KEYWARD_ROOT_ACCESS_KEY_ID:-}" ] && [ -n "${KEYWARD_ROOT_SECRET_ACCESS_KEY:-}" ]; then
    env_creds=(KEYWARD_ROOT_ACCESS_KEY_ID="$KEYWARD_ROOT_ACCESS_KEY_ID" KEYWARD_ROOT_SECRET_ACCESS_KEY="$KEYWARD_ROOT_SECRET_ACCESS_KEY")
  fi
  # Only what we pass: no KEYWARD_DEV or KEYWARD_ROOT_KEY from the caller's shell.
  env -u KEYWARD_DEV -u KEYWARD_FORCE_DEV -u KEYWARD_ROOT_KEY -u KEYWARD_CONFIG -u KEYWARD_DATA_DIR \
    -u KEYWARD_HOST -u KEYWARD_PORT -u KEYWARD_ROOT_ACCESS_KEY_ID -u KEYWARD_ROOT_SECRET_ACCESS_KEY \
    "${env_creds[@]}" NODE_EXTRA_CA_CERTS="$WORK/xks/ca.crt" \
    node bin/keyward.js serve --host 127.0.0.1 --port 0 --data-dir "$data" \
    >"$WORK/server-$1.out" 2>"$WORK/server-$1.err" &
  SERVER_PID=$!
  ENDPOINT=""
  for _ in $(seq 1 150); do
    ENDPOINT=$(grep -o 'listening on http://[^ ]*' "$WORK/server-$1.out" 2>/dev/null | head -n 1 | cut -d' ' -f3 || true)
    [ -n "$ENDPOINT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$ENDPOINT" ]; then
    echo "cli-e2e: Keyward did not start:" >&2
    cat "$WORK/server-$1.out" "$WORK/server-$1.err" >&2
    return 1
  fi
  if [ ${#env_creds[@]} -gt 0 ]; then
    ACCESS_KEY_ID=$KEYWARD_ROOT_ACCESS_KEY_ID
    SECRET_ACCESS_KEY=$KEYWARD_ROOT_SECRET_ACCESS_KEY
  else
    # The admin key Keyward generated on first start (src/config/principals.ts).
    read -r ACCESS_KEY_ID SECRET_ACCESS_KEY < <(node -e '
      const f = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
      const k = f.accounts[0].users[0].accessKeys[0]
      console.log(k.accessKeyId + " " + k.secretAccessKey)' "$data/principals.json")
  fi
  DATA_DIR=$data
  echo "  Keyward pid $SERVER_PID at $ENDPOINT (non-dev; admin key $ACCESS_KEY_ID)"
}

# ---------------------------------------------------------------------------------------------
# Calling the CLI

# aws_kms ARGS... : `aws kms ARGS --endpoint-url …` with stdout in $OUT, stderr in $ERR.
aws_kms() {
  local rc=0
  "$AWS" kms "$@" --endpoint-url "$ENDPOINT" --cli-connect-timeout 5 --cli-read-timeout 30 \
    >"$WORK/out" 2>"$WORK/err" || rc=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
  return $rc
}

not_built() { grep -q 'UnsupportedOperationException.*is not supported by this Keyward version' <<<"$ERR"; }

# call NAME ARGS... : runs `aws kms ARGS`; on failure records FAIL, or SKIP when the operation
# is not built yet, and returns 1. The caller records the pass after checking the output.
call() {
  local name=$1
  shift
  if aws_kms "$@"; then return 0; fi
  if not_built; then skip "$name" "$(grep -o 'UnsupportedOperationException.*' <<<"$ERR")"; else fail "$name" "$ERR"; fi
  return 1
}

# check NAME COMMAND... : records a pass when COMMAND succeeds, a failure (showing $OUT) otherwise.
check() {
  local name=$1
  shift
  if "$@"; then ok "$name"; else fail "$name" "unexpected output: $OUT"; fi
}

# expect_error NAME EXCEPTION ARGS... : `aws kms ARGS` must fail with "(EXCEPTION)" in stderr.
expect_error() {
  local name=$1 exception=$2
  shift 2
  if aws_kms "$@"; then
    fail "$name" "expected $exception, but the call succeeded: $OUT"
  elif grep -q "($exception)" <<<"$ERR"; then
    ok "$name → $exception"
  elif not_built; then
    skip "$name" "$(grep -o 'UnsupportedOperationException.*' <<<"$ERR")"
  else
    fail "$name" "expected ($exception) in stderr, got: $ERR"
  fi
}

equals() { [ "$OUT" = "$1" ]; }
sorted_equals() { [ "$(sort <<<"$OUT")" = "$1" ]; }
contains() { grep -qF -- "$1" <<<"$OUT"; }
# Decodes base64 from stdin; garbage gives no output rather than aborting the script (set -e),
# so the check that follows fails and is counted.
unbase64() { base64 -d 2>/dev/null || true; }
b64_bytes() { printf '%s' "$OUT" | unbase64 | wc -c | tr -d ' '; }
file_mode() { stat -c '%a' "$1"; }

# ---------------------------------------------------------------------------------------------
# The scenario

scenario() {
  local label=$1 run alias key_id arn state ctx wrong_ctx
  run=$(printf '%s' "$label" | tr -c 'a-zA-Z0-9' '-')$$
  alias=alias/cli-e2e-$run
  ctx="purpose=cli-e2e,run=$run"
  wrong_ctx="purpose=cli-e2e,run=other"
  head -c 100 /dev/urandom >"$WORK/plain.bin"

  check "first start: principals.json is mode 600" [ "$(file_mode "$DATA_DIR/principals.json")" = 600 ]
  check "first start: root.key is mode 600" [ "$(file_mode "$DATA_DIR/root.key")" = 600 ]

  # create-key / describe-key / list-keys
  if ! call create-key create-key --description "cli e2e $run" --tags TagKey=team,TagValue=keyward \
    --query KeyMetadata.[KeyId,Arn,KeyState] --output text; then
    fail "the rest of the scenario" "create-key is required by every later step"
    return
  fi
  read -r key_id arn state <<<"$OUT"
  if [[ $key_id =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ && $state = Enabled &&
    $arn = "arn:aws:kms:us-east-1:111122223333:key/$key_id" ]]; then
    ok "create-key returns an Enabled key with a UUID and its ARN"
  else
    fail "create-key returns an Enabled key with a UUID and its ARN" "unexpected output: $OUT"
  fi
  call describe-key describe-key --key-id "$key_id" --query KeyMetadata.[KeyId,KeySpec,KeyUsage,Description] --output text &&
    check describe-key equals "$(printf '%s\t%s\t%s\t%s' "$key_id" SYMMETRIC_DEFAULT ENCRYPT_DECRYPT "cli e2e $run")"
  call list-keys list-keys --query 'Keys[].KeyId' --output text && check "list-keys lists the key" contains "$key_id"

  # create-alias / list-aliases, and the alias as a KeyId
  if call create-alias create-alias --alias-name "$alias" --target-key-id "$key_id"; then
    ok create-alias
    call list-aliases list-aliases --key-id "$key_id" --query 'Aliases[].[AliasName,TargetKeyId]' --output text &&
      check "list-aliases --key-id shows the alias" equals "$(printf '%s\t%s' "$alias" "$key_id")"
    call "describe-key by alias" describe-key --key-id "$alias" --query KeyMetadata.KeyId --output text &&
      check "describe-key by alias" equals "$key_id"
    expect_error "create-alias twice" AlreadyExistsException create-alias --alias-name "$alias" --target-key-id "$key_id"
  fi

  # encrypt / decrypt with an encryption context (fileb:// for binary input)
  if call encrypt encrypt --key-id "$key_id" --plaintext "fileb://$WORK/plain.bin" \
    --encryption-context "$ctx" --query CiphertextBlob --output text; then
    printf '%s' "$OUT" | unbase64 >"$WORK/ct.bin"
    check "encrypt returns a ciphertext" [ -s "$WORK/ct.bin" ]
    if call decrypt decrypt --ciphertext-blob "fileb://$WORK/ct.bin" --encryption-context "$ctx" \
      --query Plaintext --output text; then
      printf '%s' "$OUT" | unbase64 >"$WORK/plain.out"
      check "decrypt with the same context round-trips" cmp -s "$WORK/plain.bin" "$WORK/plain.out"
    fi
    call "decrypt KeyId" decrypt --ciphertext-blob "fileb://$WORK/ct.bin" --encryption-context "$ctx" \
      --query KeyId --output text && check "decrypt reports the key ARN" equals "$arn"
    expect_error "decrypt with another context" InvalidCiphertextException \
      decrypt --ciphertext-blob "fileb://$WORK/ct.bin" --encryption-context "$wrong_ctx"
    expect_error "decrypt without the context" InvalidCiphertextException \
      decrypt --ciphertext-blob "fileb://$WORK/ct.bin"
  fi
  call "encrypt by alias" encrypt --key-id "$alias" --plaintext "fileb://$WORK/plain.bin" \
    --query KeyId --output text && check "encrypt by alias answers the key ARN" equals "$arn"

  # generate-data-key: the plaintext key decrypts back from its blob
  if call generate-data-key generate-data-key --key-id "$key_id" --key-spec AES_256 \
    --encryption-context "$ctx" --query '[Plaintext,CiphertextBlob]' --output text; then
    local dk_plain dk_blob
    read -r dk_plain dk_blob <<<"$OUT"
    printf '%s' "$dk_blob" | unbase64 >"$WORK/dk.bin"
    OUT=$dk_plain
    check "generate-data-key AES_256 returns a 32-byte key" [ "$(b64_bytes)" = 32 ]
    call "decrypt a data key" decrypt --ciphertext-blob "fileb://$WORK/dk.bin" --encryption-context "$ctx" \
      --query Plaintext --output text && check "the data key decrypts to its plaintext" equals "$dk_plain"
  fi

  # tag-resource / list-resource-tags
  if call tag-resource tag-resource --key-id "$key_id" --tags TagKey=env,TagValue=e2e; then
    ok tag-resource
    call list-resource-tags list-resource-tags --key-id "$key_id" \
      --query 'Tags[].[TagKey,TagValue]' --output text &&
      check "list-resource-tags has the create-key and tag-resource tags" \
        sorted_equals "$(printf 'env\te2e\nteam\tkeyward')"
  fi

  # disable-key / enable-key
  if call disable-key disable-key --key-id "$key_id"; then
    call "describe disabled" describe-key --key-id "$key_id" --query KeyMetadata.KeyState --output text &&
      check "disable-key → Disabled" equals Disabled
    expect_error "encrypt under a disabled key" DisabledException \
      encrypt --key-id "$key_id" --plaintext "fileb://$WORK/plain.bin"
    call enable-key enable-key --key-id "$key_id" &&
      call "describe enabled" describe-key --key-id "$key_id" --query KeyMetadata.KeyState --output text &&
      check "enable-key → Enabled" equals Enabled
  fi

  # schedule-key-deletion / cancel-key-deletion
  expect_error "schedule-key-deletion for 3 days" ValidationException \
    schedule-key-deletion --key-id "$key_id" --pending-window-in-days 3
  if call schedule-key-deletion schedule-key-deletion --key-id "$key_id" --pending-window-in-days 7 \
    --query '[KeyState,PendingWindowInDays]' --output text; then
    check "schedule-key-deletion → PendingDeletion, 7 days" equals "$(printf 'PendingDeletion\t7')"
    expect_error "encrypt under a key pending deletion" KMSInvalidStateException \
      encrypt --key-id "$key_id" --plaintext "fileb://$WORK/plain.bin"
    call cancel-key-deletion cancel-key-deletion --key-id "$key_id" --query KeyId --output text &&
      check "cancel-key-deletion answers the key ARN" equals "$arn"
    call "describe after cancel" describe-key --key-id "$key_id" --query KeyMetadata.KeyState --output text &&
      check "cancel-key-deletion → Disabled (as AWS)" equals Disabled
    call "enable after cancel" enable-key --key-id "$key_id" && ok "enable-key after cancel-key-deletion"
  fi

  # get-key-policy
  call get-key-policy get-key-policy --key-id "$key_id" --policy-name default --query Policy --output text &&
    check "get-key-policy returns the default policy" contains '"kms:*"'
  expect_error "get-key-policy with another name" NotFoundException \
    get-key-policy --key-id "$key_id" --policy-name other

  # create-grant / list-grants / encrypt with the grant token / retire-grant
  local grantee="arn:aws:iam::111122223333:role/cli-e2e-$run" grant_id grant_token
  if call create-grant create-grant --key-id "$key_id" --grantee-principal "$grantee" \
    --operations Encrypt Decrypt --constraints "EncryptionContextSubset={run=$run}" --name "cli-e2e-$run" \
    --query '[GrantId,GrantToken]' --output text; then
    read -r grant_id grant_token <<<"$OUT"
    check "create-grant returns a 64-hex grant ID" grep -qE '^[0-9a-f]{64}$' <<<"$grant_id"
    call list-grants list-grants --key-id "$key_id" --grant-id "$grant_id" \
      --query 'Grants[].[GranteePrincipal,Name,join(`,`,Operations)]' --output text &&
      check "list-grants shows the grant" equals "$(printf '%s\t%s\t%s' "$grantee" "cli-e2e-$run" Encrypt,Decrypt)"
    call "encrypt with a grant token" encrypt --key-id "$key_id" --plaintext "fileb://$WORK/plain.bin" \
      --encryption-context "$ctx" --grant-tokens "$grant_token" --query KeyId --output text &&
      check "encrypt with a grant token" equals "$arn"
    expect_error "encrypt with a forged grant token" InvalidGrantTokenException \
      encrypt --key-id "$key_id" --plaintext "fileb://$WORK/plain.bin" --grant-tokens forged
    call retire-grant retire-grant --grant-token "$grant_token" &&
      call "list-grants after retire" list-grants --key-id "$key_id" --query 'length(Grants)' --output text &&
      check "retire-grant removes the grant" equals 0
  fi

  # generate-random
  call generate-random generate-random --number-of-bytes 32 --query Plaintext --output text &&
    check "generate-random returns 32 bytes" [ "$(b64_bytes)" = 32 ]
  expect_error "generate-random 2048 bytes" ValidationException generate-random --number-of-bytes 2048

  # Other errors
  expect_error "describe-key of an unknown key" NotFoundException \
    describe-key --key-id 00000000-0000-4000-8000-000000000000
  expect_error "describe-key of an unknown alias" NotFoundException describe-key --key-id alias/no-such-alias
  expect_error "encrypt under an unknown key" NotFoundException \
    encrypt --key-id 00000000-0000-4000-8000-000000000000 --plaintext "fileb://$WORK/plain.bin"
  AWS_SECRET_ACCESS_KEY="${SECRET_ACCESS_KEY}x" expect_error "a wrong secret key" InvalidSignatureException list-keys
  AWS_ACCESS_KEY_ID=AKIAUNKNOWNKEY000000 expect_error "an unknown access key" UnrecognizedClientException list-keys

  # The same CLI configured by AWS_ENDPOINT_URL_KMS instead of --endpoint-url
  if supports_service_endpoint_env "$label"; then
    local rc=0
    AWS_ENDPOINT_URL_KMS=$ENDPOINT "$AWS" kms encrypt --key-id "$alias" --plaintext "fileb://$WORK/plain.bin" \
      --encryption-context "$ctx" --query CiphertextBlob --output text >"$WORK/out" 2>"$WORK/err" || rc=$?
    if [ $rc -eq 0 ]; then
      unbase64 <"$WORK/out" >"$WORK/ct-env.bin"
      AWS_ENDPOINT_URL_KMS=$ENDPOINT "$AWS" kms decrypt --ciphertext-blob "fileb://$WORK/ct-env.bin" \
        --encryption-context "$ctx" --query Plaintext --output text >"$WORK/out" 2>"$WORK/err" || rc=$?
    fi
    if [ $rc -eq 0 ] && unbase64 <"$WORK/out" | cmp -s - "$WORK/plain.bin"; then
      ok "AWS_ENDPOINT_URL_KMS: encrypt/decrypt round trip"
    else
      fail "AWS_ENDPOINT_URL_KMS: encrypt/decrypt round trip" "$(cat "$WORK/err")"
    fi
  else
    skip "AWS_ENDPOINT_URL_KMS" "$label predates service-specific endpoint variables (aws-cli 1.29 / 2.13)"
  fi
}

# with_creds ID SECRET TOKEN COMMAND... : runs COMMAND (a function of this script, so the
# pass/fail counts stay in this shell) with other credentials; TOKEN may be empty.
with_creds() {
  local saved_id=$AWS_ACCESS_KEY_ID saved_secret=$AWS_SECRET_ACCESS_KEY rc=0
  export AWS_ACCESS_KEY_ID=$1 AWS_SECRET_ACCESS_KEY=$2
  if [ -n "$3" ]; then export AWS_SESSION_TOKEN=$3; fi
  shift 3
  "$@" || rc=$?
  export AWS_ACCESS_KEY_ID=$saved_id AWS_SECRET_ACCESS_KEY=$saved_secret
  unset AWS_SESSION_TOKEN
  return $rc
}

# aws_sts ARGS... : `aws sts ARGS --endpoint-url …` (STS is served on the KMS port).
aws_sts() {
  local rc=0
  "$AWS" sts "$@" --endpoint-url "$ENDPOINT" --cli-connect-timeout 5 --cli-read-timeout 30 \
    >"$WORK/out" 2>"$WORK/err" || rc=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
  return $rc
}

# expect_denied NAME MESSAGE ARGS... : `aws kms ARGS` must fail with AccessDeniedException and
# exactly AWS's MESSAGE (the CLI prints "An error occurred (AccessDeniedException) when calling
# the <Op> operation[ (reached max retries: N)]: <message>").
expect_denied() {
  local name=$1 message=$2 re='\(AccessDeniedException\) when calling the [A-Za-z]+ operation( \(reached max retries: [0-9]+\))?: (.*)$'
  shift 2
  if aws_kms "$@"; then
    fail "$name" "expected AccessDeniedException, but the call succeeded: $OUT"
  elif [[ $ERR =~ $re ]] && [ "${BASH_REMATCH[2]}" = "$message" ]; then
    ok "$name → AccessDeniedException"
  else
    fail "$name" "expected (AccessDeniedException) with '$message', got: $ERR"
  fi
}

# poll TRIES COMMAND... : retries COMMAND every 0.1 s; the server rereads the principals file
# when it changes, a moment after `keyward principals` writes it.
poll() {
  local tries=$1
  shift
  for _ in $(seq 1 "$tries"); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  return 1
}

principals() { node bin/keyward.js principals "$@" --data-dir "$DATA_DIR"; }

# Identity policies and STS (issue 12): a user whose identity policy allows only Encrypt and
# Decrypt is refused ScheduleKeyDeletion with AWS's text, GetCallerIdentity names each caller,
# and a role whose trust policy allows the admin is assumed and used for a KMS call.
authz_scenario() {
  local label=$1 key_id arn account=111122223333 user_id user_secret role_creds role_id role_secret role_token
  local user_arn=arn:aws:iam::111122223333:user/cli-limited
  local role_arn=arn:aws:iam::111122223333:role/cli-app
  local dir=$WORK/authz-${label//\//-}
  mkdir -p "$dir"
  head -c 32 /dev/urandom >"$WORK/plain.bin"

  # GetCallerIdentity of the admin
  if aws_sts get-caller-identity --query '[Account,Arn]' --output text; then
    check "sts get-caller-identity names the admin" equals "$(printf '%s\t%s' "$account" "arn:aws:iam::$account:user/admin")"
  else
    fail "sts get-caller-identity" "$ERR"
  fi

  if ! call "create-key (authz)" create-key --description "cli e2e authz" \
    --query 'KeyMetadata.[KeyId,Arn]' --output text; then
    return 0
  fi
  read -r key_id arn <<<"$OUT"

  # A user with a limited identity policy, added while the server runs.
  cat >"$dir/encrypt-only.json" <<'JSON'
{ "Version": "2012-10-17",
  "Statement": [{ "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*" }] }
JSON
  if ! principals add-user cli-limited >/dev/null ||
    ! principals attach-policy --user cli-limited --policy-name encrypt-only \
      --policy-document "$dir/encrypt-only.json" >/dev/null ||
    ! principals create-access-key cli-limited >"$dir/key.json"; then
    fail "keyward principals: a user with a limited policy" "see the lines above"
    return 0
  fi
  read -r user_id user_secret < <(node -e '
    const k = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).AccessKey
    console.log(k.AccessKeyId + " " + k.SecretAccessKey)' "$dir/key.json")
  if with_creds "$user_id" "$user_secret" "" poll 100 eval \
    'aws_sts get-caller-identity --query Arn --output text && [ "$OUT" = "$user_arn" ]'; then
    ok "sts get-caller-identity names the new user once the server has reread the file"
  else
    fail "sts get-caller-identity as the new user" "$OUT $ERR"
    return 0
  fi
  with_creds "$user_id" "$user_secret" "" call "encrypt as the limited user" \
    encrypt --key-id "$key_id" --plaintext "fileb://$WORK/plain.bin" --query KeyId --output text &&
    check "encrypt as the limited user (its policy allows it)" equals "$arn"
  with_creds "$user_id" "$user_secret" "" expect_denied "schedule-key-deletion as the limited user" \
    "User: $user_arn is not authorized to perform: kms:ScheduleKeyDeletion on resource: $arn because no identity-based policy allows the kms:ScheduleKeyDeletion action" \
    schedule-key-deletion --key-id "$key_id" --pending-window-in-days 7
  call "describe-key after the denied call" describe-key --key-id "$key_id" \
    --query KeyMetadata.KeyState --output text &&
    check "the denied schedule-key-deletion changed nothing" equals Enabled
  with_creds "$user_id" "$user_secret" "" expect_denied "list-keys as the limited user" \
    "User: $user_arn is not authorized to perform: kms:ListKeys on resource: * because no identity-based policy allows the kms:ListKeys action" \
    list-keys

  # A role whose trust policy allows the admin; its session encrypts under the key.
  cat >"$dir/trust.json" <<JSON
{ "Version": "2012-10-17",
  "Statement": [{ "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::$account:user/admin" },
                  "Action": "sts:AssumeRole" }] }
JSON
  if ! principals add-role cli-app --trust-policy "$dir/trust.json" >/dev/null ||
    ! principals attach-policy --role cli-app --policy-name encrypt-only \
      --policy-document "$dir/encrypt-only.json" >/dev/null; then
    fail "keyward principals: a role" "see the lines above"
    return 0
  fi
  if poll 100 aws_sts assume-role --role-arn "$role_arn" --role-session-name cli-e2e \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text; then
    role_creds=$OUT
    check "sts assume-role returns temporary credentials (ASIA…)" grep -q '^ASIA' <<<"$role_creds"
  else
    fail "sts assume-role of a role trusting the admin" "$ERR"
    return 0
  fi
  read -r role_id role_secret role_token <<<"$role_creds"
  with_creds "$role_id" "$role_secret" "$role_token" aws_sts get-caller-identity --query Arn --output text &&
    check "get-caller-identity with the session names the assumed role" \
      equals "arn:aws:sts::$account:assumed-role/cli-app/cli-e2e"
  with_creds "$role_id" "$role_secret" "$role_token" call "encrypt with the role's temporary credentials" \
    encrypt --key-id "$key_id" --plaintext "fileb://$WORK/plain.bin" --query KeyId --output text &&
    check "encrypt with the role's temporary credentials" equals "$arn"
  with_creds "$role_id" "$role_secret" "$role_token" expect_denied "schedule-key-deletion as the role session" \
    "User: arn:aws:sts::$account:assumed-role/cli-app/cli-e2e is not authorized to perform: kms:ScheduleKeyDeletion on resource: $arn because no identity-based policy allows the kms:ScheduleKeyDeletion action" \
    schedule-key-deletion --key-id "$key_id" --pending-window-in-days 7
  with_creds "$role_id" "${role_secret}x" "$role_token" expect_error "the session with a wrong secret" \
    InvalidSignatureException encrypt --key-id "$key_id" --plaintext "fileb://$WORK/plain.bin"
}

# Multi-Region keys (issue 14): one deployment serves every Region (the SigV4 scope), so the
# same endpoint with --region reaches each related key. Create, replicate, encrypt in one
# Region and decrypt in another, sign/verify and MAC across Regions, rotation reaching the
# replica, update-primary-region, and deletion of a primary that has a replica.
mrk_scenario() {
  local id sig_id mac_id
  head -c 64 /dev/urandom >"$WORK/mrk-plain.bin"
  if ! call "create-key --multi-region" create-key --multi-region --query KeyMetadata.KeyId --output text; then
    return 0
  fi
  id=$OUT
  check "create-key --multi-region returns an mrk- key ID" eval '[[ $OUT =~ ^mrk-[0-9a-f]{32}$ ]]'
  expect_error "describe-key in a Region without a replica" NotFoundException describe-key --key-id "$id" --region eu-west-1
  call replicate-key replicate-key --key-id "$id" --replica-region eu-west-1 \
    --query 'ReplicaKeyMetadata.[KeyState,MultiRegionConfiguration.MultiRegionKeyType,Arn]' --output text &&
    check "replicate-key answers the replica in Creating" \
      equals "$(printf 'Creating\tREPLICA\tarn:aws:kms:eu-west-1:111122223333:key/%s' "$id")"
  call "describe-key --region eu-west-1" describe-key --key-id "$id" --region eu-west-1 \
    --query 'KeyMetadata.[KeyState,MultiRegionConfiguration.PrimaryKey.Region]' --output text &&
    check "the replica is Enabled and names its primary" equals "$(printf 'Enabled\tus-east-1')"
  expect_error "replicate-key into the same Region again" AlreadyExistsException \
    replicate-key --key-id "$id" --replica-region eu-west-1
  expect_error "replicate-key of a replica" UnsupportedOperationException \
    replicate-key --key-id "$id" --replica-region ap-southeast-2 --region eu-west-1

  if call "encrypt (multi-Region)" encrypt --key-id "$id" --plaintext "fileb://$WORK/mrk-plain.bin" \
    --encryption-context purpose=mrk --query CiphertextBlob --output text; then
    unbase64 <<<"$OUT" >"$WORK/mrk-ct.bin"
    call "decrypt --region eu-west-1" decrypt --ciphertext-blob "fileb://$WORK/mrk-ct.bin" \
      --encryption-context purpose=mrk --region eu-west-1 --query Plaintext --output text &&
      check "a ciphertext of us-east-1 decrypts in eu-west-1" eval 'unbase64 <<<"$OUT" | cmp -s - "$WORK/mrk-plain.bin"'
  fi

  if call "create-key --multi-region RSA_2048" create-key --multi-region --key-spec RSA_2048 \
    --key-usage SIGN_VERIFY --query KeyMetadata.KeyId --output text; then
    sig_id=$OUT
    call "replicate-key RSA_2048" replicate-key --key-id "$sig_id" --replica-region ap-southeast-2 &&
      call "sign in us-east-1" sign --key-id "$sig_id" --message "fileb://$WORK/mrk-plain.bin" \
        --signing-algorithm RSASSA_PSS_SHA_256 --query Signature --output text &&
      unbase64 <<<"$OUT" >"$WORK/mrk-sig.bin" &&
      call "verify --region ap-southeast-2" verify --key-id "$sig_id" --message "fileb://$WORK/mrk-plain.bin" \
        --signature "fileb://$WORK/mrk-sig.bin" --signing-algorithm RSASSA_PSS_SHA_256 --region ap-southeast-2 \
        --query SignatureValid --output text &&
      check "a signature of us-east-1 verifies in ap-southeast-2" equals True
  fi

  if call "create-key --multi-region HMAC_256" create-key --multi-region --key-spec HMAC_256 \
    --key-usage GENERATE_VERIFY_MAC --query KeyMetadata.KeyId --output text; then
    mac_id=$OUT
    call "replicate-key HMAC_256" replicate-key --key-id "$mac_id" --replica-region eu-west-1 &&
      call "generate-mac --region eu-west-1" generate-mac --key-id "$mac_id" --region eu-west-1 \
        --message "fileb://$WORK/mrk-plain.bin" --mac-algorithm HMAC_SHA_256 --query Mac --output text &&
      unbase64 <<<"$OUT" >"$WORK/mrk-mac.bin" &&
      call "verify-mac in us-east-1" verify-mac --key-id "$mac_id" --message "fileb://$WORK/mrk-plain.bin" \
        --mac "fileb://$WORK/mrk-mac.bin" --mac-algorithm HMAC_SHA_256 --query MacValid --output text &&
      check "a MAC of eu-west-1 verifies in us-east-1" equals True
  fi

  # rotate-key-on-demand came in aws-cli 1.32.74 / 2.15.36 (2024-04); older CLIs lack it.
  if ! aws_kms rotate-key-on-demand --key-id "$id"; then
    if grep -q 'Invalid choice\|usage: aws' <<<"$ERR"; then
      skip "rotate-key-on-demand (multi-Region)" "this aws CLI predates rotate-key-on-demand"
    else
      fail "rotate-key-on-demand (multi-Region)" "$ERR"
    fi
  else
    local current
    aws_kms describe-key --key-id "$id" --query KeyMetadata.CurrentKeyMaterialId --output text || true
    current=$OUT
    call "describe-key after rotation" describe-key --key-id "$id" --region eu-west-1 \
      --query KeyMetadata.CurrentKeyMaterialId --output text &&
      check "the rotation reached the replica" equals "$current"
  fi

  if call update-primary-region update-primary-region --key-id "$id" --primary-region eu-west-1; then
    call "describe-key after update-primary-region" describe-key --key-id "$id" \
      --query KeyMetadata.MultiRegionConfiguration.[MultiRegionKeyType,PrimaryKey.Region] --output text &&
      check "update-primary-region swapped the roles" equals "$(printf 'REPLICA\teu-west-1')"
  fi
  call "schedule-key-deletion of a primary with a replica" schedule-key-deletion --key-id "$id" \
    --region eu-west-1 --pending-window-in-days 7 --query KeyState --output text &&
    check "a primary with a replica waits: PendingReplicaDeletion" equals PendingReplicaDeletion
}

# An external key store over Keyward's XKS proxy: create, connect, a key, double encryption.
xks_scenario() {
  local label=$1 store="" key="" state=""
  if ! aws_kms create-custom-key-store --custom-key-store-name "xks-$label" \
    --custom-key-store-type EXTERNAL_KEY_STORE --xks-proxy-connectivity PUBLIC_ENDPOINT \
    --xks-proxy-uri-endpoint "$XKS_ENDPOINT" --xks-proxy-uri-path /cli/kms/xks/v1 \
    --xks-proxy-authentication-credential "AccessKeyId=$XKS_ACCESS_KEY_ID,RawSecretAccessKey=$XKS_SECRET" \
    --query CustomKeyStoreId --output text; then
    if grep -q 'Unknown options\|Invalid choice\|valid choices' <<<"$ERR"; then
      skip "external key store" "$label does not know the XKS parameters of create-custom-key-store"
    else
      fail "create-custom-key-store EXTERNAL_KEY_STORE" "$ERR"
    fi
    return 0
  fi
  store=$OUT
  ok "create-custom-key-store EXTERNAL_KEY_STORE (the proxy answered its health check)"
  call connect-custom-key-store connect-custom-key-store --custom-key-store-id "$store" || return 0
  for _ in $(seq 1 50); do
    aws_kms describe-custom-key-stores --custom-key-store-id "$store" \
      --query 'CustomKeyStores[0].ConnectionState' --output text || break
    state=$OUT
    [ "$state" != CONNECTING ] && break
    sleep 0.1
  done
  check "connect-custom-key-store → CONNECTED" equals CONNECTED
  if call "create-key EXTERNAL_KEY_STORE" create-key --origin EXTERNAL_KEY_STORE \
    --custom-key-store-id "$store" --xks-key-id cli-key --query KeyMetadata.KeyId --output text; then
    key=$OUT
    ok "create-key EXTERNAL_KEY_STORE"
    aws_kms describe-key --key-id "$key" --query KeyMetadata.XksKeyConfiguration.Id --output text || true
    check "describe-key shows XksKeyConfiguration" equals cli-key
    if call "encrypt (XKS)" encrypt --key-id "$key" --plaintext "fileb://$WORK/plain.bin" \
      --query CiphertextBlob --output text; then
      unbase64 <<<"$OUT" >"$WORK/ct-xks.bin"
      call "decrypt (XKS)" decrypt --ciphertext-blob "fileb://$WORK/ct-xks.bin" --query Plaintext --output text &&
        check "encrypt/decrypt through the XKS proxy" eval 'unbase64 <<<"$OUT" | cmp -s - "$WORK/plain.bin"'
    fi
  fi
  expect_error "generate-random in an external key store" UnsupportedOperationException \
    generate-random --number-of-bytes 8 --custom-key-store-id "$store"
}

# ---------------------------------------------------------------------------------------------

# Nothing from the user's AWS configuration may leak in: empty config, no profile, no retries.
export AWS_CONFIG_FILE=$WORK/aws-config
export AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
# aws-cli v1 fetches any parameter value that starts with https:// (XksProxyUriEndpoint!)
# unless cli_follow_urlparam is off ("Loading parameters from a file", AWS CLI v1 guide).
printf '[default]\ncli_follow_urlparam = false\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_KMS
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_DEFAULT_OUTPUT=json AWS_PAGER=""
export AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard AWS_EC2_METADATA_DISABLED=true

start_xks_proxy
for AWS in "${CLIS[@]}"; do
  label=$(cli_version "$AWS")
  echo "cli-e2e: $label ($AWS)"
  start_keyward "${label//\//-}"
  export AWS_ACCESS_KEY_ID=$ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET_ACCESS_KEY
  scenario "$label"
  authz_scenario "$label"
  mrk_scenario
  xks_scenario "$label"
  stop_keyward
  RAN+=("$label")
done

echo "cli-e2e: ran ${RAN[*]}"
echo "cli-e2e: $PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ] && [ "$PASS" -gt 0 ]
