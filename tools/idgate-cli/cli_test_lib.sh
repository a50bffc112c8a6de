# shellcheck shell=bash
# Checks shared by the command-line tests of idgate-cli and idgate-audit.
# Source after scripts/lib/server_smoke.sh (for $work and fail); set $tool
# to the binary whose help is read.

# A flag ("--ca") or a word ("verify") as help prints it: a whole word, so
# that --ca is not found in --caller.
_help_word() {
  printf '(^|[^[:alnum:]_-])%s([^[:alnum:]_-]|$)' "$(sed 's/[.[\*^$]/\\&/g' <<<"$1")"
}

# _help "SUBCOMMAND...": what `$tool SUBCOMMAND... --help` prints on
# stdout; fails unless it exits 0.
_help() {
  local status=0
  # shellcheck disable=SC2086  # the subcommands are split on purpose
  "$tool" $1 --help >"$work/help" 2>"$work/err" || status=$?
  [[ $status -eq 0 ]] || fail "$tool $1 --help exited $status: $(cat "$work/err")"
}

# help_lists "SUBCOMMAND..." WORD...: `$tool SUBCOMMAND... --help` lists
# every WORD.
help_lists() {
  _help "$1"
  local command="$tool $1 --help"
  shift
  for word in "$@"; do
    grep -qE -- "$(_help_word "$word")" "$work/help" || fail "$command does not list $word:
$(cat "$work/help")"
  done
}

# help_lacks "SUBCOMMAND..." WORD...: none of the WORDs is listed.
help_lacks() {
  _help "$1"
  local command="$tool $1 --help"
  shift
  for word in "$@"; do
    if grep -qE -- "$(_help_word "$word")" "$work/help"; then fail "$command lists $word"; fi
  done
}

# usage_error TEXT CMD...: CMD exits 2 and says TEXT on stderr, nothing on
# stdout.
usage_error() {
  local want=$1 status=0
  shift
  "$@" >"$work/out" 2>"$work/err" </dev/null || status=$?
  [[ $status -eq 2 ]] || fail "$* exited $status, not 2: $(cat "$work/err")"
  grep -qF -- "$want" "$work/err" || fail "$*: stderr does not name $want: $(cat "$work/err")"
  [[ ! -s $work/out ]] || fail "$*: printed on stdout: $(cat "$work/out")"
}

# expect_output TEXT CMD...: CMD exits 0 and prints TEXT.
expect_output() {
  local want=$1 status=0
  shift
  "$@" >"$work/out" 2>"$work/err" || status=$?
  [[ $status -eq 0 ]] || fail "$* exited $status: $(cat "$work/err")"
  grep -qF -- "$want" "$work/out" || fail "$*: no $want in: $(cat "$work/out")"
}
