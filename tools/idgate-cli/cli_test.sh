#!/usr/bin/env bash
# idgate-cli's command line (ctest idgate_cli_command_line): --help of every
# command lists its subcommands and flags with their defaults; an unknown
# flag or command, or a flag without its value, exits 2 naming it; then the
# README's calls and the Helm probe's against a gateway started on free
# ports still work.
#
#   cli_test.sh IDGATE IDGATE_CLI SOURCE_DIR
set -euo pipefail
idgate=$1 cli=$2 src=$3
# shellcheck source=scripts/lib/server_smoke.sh
source "$src/scripts/lib/server_smoke.sh"
# shellcheck source=tools/idgate-cli/cli_test_lib.sh
source "$src/tools/idgate-cli/cli_test_lib.sh"
cd "$src"
tool=$cli

connection=(--target --timeout-ms --ca --cert --key --authority)
request=(--caller --purpose --request-id --consent-id --scopes --recipients)

help_lists "" verify health "${connection[@]}" "${request[@]}" \
  127.0.0.1:50051 10000 esign.signer_identity
help_lists verify carrier bank face "${connection[@]}" "${request[@]}"
help_lists "verify carrier" "${connection[@]}" "${request[@]}" \
  --name --id-number --mobile
help_lists "verify bank" "${connection[@]}" "${request[@]}" \
  --name --id-number --card --mobile
help_lists "verify face" "${connection[@]}" "${request[@]}" \
  --name --id-number --face-image --liveness-video
help_lists health "${connection[@]}" --service
help_lacks "verify carrier" --card --face-image --service
echo "--help lists every command and flag"

usage_error --bogus "$cli" --bogus verify carrier
usage_error --nme "$cli" verify carrier --nme 测试甲
usage_error --card "$cli" verify carrier --card 6222020000000000018
usage_error --service "$cli" verify carrier --service x
usage_error --name "$cli" verify carrier --name
usage_error --target "$cli" health --target
usage_error telepathy "$cli" verify telepathy
usage_error frobnicate "$cli" frobnicate
usage_error "missing command" "$cli"
usage_error "which check" "$cli" verify
usage_error --timeout-ms "$cli" health --timeout-ms=0
usage_error --scopes "$cli" verify carrier --scopes=identity,telepathy
usage_error --face-image "$cli" verify face --face-image /nonexistent.jpg
echo "unknown flags and commands, missing values: exit 2, named"

server_start "$work/gateway.log" "$idgate" --config="$src/config/dev.json" --state_dir="$work/state" \
  --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0
target=127.0.0.1:$port

expect_output VERDICT_MATCH "$cli" --target "$target" verify carrier \
  --name 测试甲 --id-number 110101199003070134 --mobile 13800000001
# Options after the check, --flag=value.
expect_output VERDICT_MATCH "$cli" verify bank --name 测试甲 --id-number 110101199003070134 \
  --card 6222020000000000018 --mobile 13800000001 --target="$target" --request-id=cli-test-bank
expect_output VERDICT_MATCH "$cli" --target="$target" verify face --name 测试甲 \
  --id-number 110101199003070134 --face-image config/testdata/faces/adult-match.jpg
# The Helm chart's probes: every option after the command; the startup
# probe's service is empty (helm/idgate/templates/_helpers.tpl).
expect_output SERVING "$cli" health "--target=$target" --timeout-ms=2000 \
  --service=idgate.v1.VerificationService
expect_output SERVING "$cli" health "--target=$target" --timeout-ms=2000 --service=
# An empty --caller= sends no caller metadata (it does not swallow the next
# argument): development mode then has no caller.
status=0
"$cli" --target "$target" --caller= verify carrier --name 测试甲 --id-number 110101199003070134 \
  --mobile 13800000001 >"$work/out" 2>"$work/err" || status=$?
[[ $status -eq 1 ]] || fail "--caller= : exit $status, not 1 (call refused)"
grep -q "^error: 16 " "$work/err" || fail "--caller= : not UNAUTHENTICATED: $(cat "$work/err")"
echo "calls and the health probe work"

server_stop
