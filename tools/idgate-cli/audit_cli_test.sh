#!/usr/bin/env bash
# idgate-audit's command line (ctest idgate_audit_command_line): --help of
# every command lists its subcommands and flags with their defaults; an
# unknown flag or command, a missing value or a missing required flag exits
# 2 naming it; then the README's "compliance side" commands work on the
# ledger of a gateway that answered one call.
#
#   audit_cli_test.sh IDGATE IDGATE_CLI IDGATE_AUDIT SOURCE_DIR
set -euo pipefail
idgate=$1 cli=$2 audit=$3 src=$4
# shellcheck source=scripts/lib/server_smoke.sh
source "$src/scripts/lib/server_smoke.sh"
# shellcheck source=tools/idgate-cli/cli_test_lib.sh
source "$src/tools/idgate-cli/cli_test_lib.sh"
cd "$src"
tool=$audit

help_lists "" verify cat sharing-table subject pull help
help_lists verify ledger-dir --public-key
help_lists cat ledger-dir
help_lists sharing-table ledger-dir --config --format markdown
help_lists subject ledger-dir --id-number --key-file --format markdown
help_lists pull --target --discover --out --public-key --tls-ca --tls-cert --tls-key \
  --server-name --caller --timeout 3600
help_lacks cat --public-key --config --format
echo "--help lists every command and flag"

mkdir -p "$work/empty"
usage_error --bogus "$audit" verify "$work/empty" --bogus x
usage_error frobnicate "$audit" frobnicate "$work/empty"
usage_error "missing command" "$audit"
usage_error ledger-dir "$audit" verify
usage_error "--target (repeatable) or --discover" "$audit" pull --out "$work/m" \
  --public-key config/dev-secrets/checkpoint-ed25519.pub.pem
usage_error --out "$audit" pull --target 127.0.0.1:1 \
  --public-key config/dev-secrets/checkpoint-ed25519.pub.pem
usage_error --public-key "$audit" pull --target 127.0.0.1:1 --out "$work/m"
usage_error "--tls-cert and --tls-key go together" "$audit" pull --target 127.0.0.1:1 \
  --out "$work/m" --public-key config/dev-secrets/checkpoint-ed25519.pub.pem --tls-cert x
usage_error --public-key "$audit" verify "$work/empty" --public-key
usage_error --config "$audit" sharing-table "$work/empty"
usage_error yaml "$audit" sharing-table "$work/empty" --config config/dev.json --format yaml
usage_error --id-number "$audit" subject "$work/empty" --key-file 1:config/dev-secrets/subject-hmac-v1.key
usage_error --key-file "$audit" subject "$work/empty" --id-number 110101199003070134
usage_error VERSION:FILE "$audit" subject "$work/empty" --id-number 110101199003070134 --key-file nokey
echo "unknown flags and commands, missing values and flags: exit 2, named"

# A ledger with one disclosure.
server_start "$work/gateway.log" "$idgate" --config="$src/config/dev.json" --state_dir="$work/state" \
  --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0
expect_output VERDICT_MATCH "$cli" --target "127.0.0.1:$port" verify carrier \
  --name 测试甲 --id-number 110101199003070134 --mobile 13800000001
server_stop
ledger=$work/state/ledger

expect_output "signatures verified" "$audit" verify "$ledger" \
  --public-key config/dev-secrets/checkpoint-ed25519.pub.pem
expect_output "OK: " "$audit" verify --public-key=config/dev-secrets/checkpoint-ed25519.pub.pem "$ledger"
expect_output carrier_mock "$audit" sharing-table "$ledger" --config config/dev.json --format csv
expect_output carrier_mock "$audit" sharing-table "$ledger" --config config/dev.json
status=0
echo 110101199003070134 | "$audit" subject "$ledger" --id-number - \
  --key-file 1:config/dev-secrets/subject-hmac-v1.key >"$work/out" 2>"$work/err" || status=$?
[[ $status -eq 0 ]] || fail "subject --id-number - exited $status: $(cat "$work/err")"
grep -qF carrier_mock "$work/out" || fail "subject: no carrier_mock disclosure in: $(cat "$work/out")"
expect_output '"kind"' "$audit" cat "$ledger"
expect_output verify "$audit" help
echo "verify, sharing-table, subject, cat and help work on a real ledger"

# Several ledgers: one that cannot be read is named and fails the audit.
status=0
"$audit" verify "$ledger" "$work/gone" >"$work/out" 2>"$work/err" || status=$?
[[ $status -eq 1 ]] || fail "verify with a missing ledger exited $status, not 1"
grep -qF "$work/gone" "$work/out" "$work/err" || fail "the missing ledger is not named: $(cat "$work/out" "$work/err")"
cp -r "$ledger" "$work/replica-2"
expect_output "OK: 2 ledgers verified" "$audit" verify "$ledger" "$work/replica-2"
usage_error "given twice" "$audit" verify "$ledger" "$ledger/../ledger"
echo "several ledgers make one audit; a missing one is named, one given twice refused"
