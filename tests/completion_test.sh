#!/usr/bin/env bash
# The bash completion (cli/imgpipe-completion.bash) against the built imgpipe: sourced into bash,
# _imgpipe driven through COMP_WORDS and COMP_CWORD as bash drives it at a Tab. It must offer the
# command words, exactly the options each command's --help lists, and the values of a few.
# Usage: completion_test.sh IMGPIPE COMPLETION_SCRIPT
set -uo pipefail  # not -e: every check reports, and the script sourced is the user's shell's

imgpipe=$(realpath "$1")
script=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Completed as the user types it, `imgpipe`, found on PATH.
mkdir "$work/bin" "$work/here"
ln -s "$imgpipe" "$work/bin/imgpipe"
PATH="$work/bin:$PATH"
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# shellcheck source=cli/imgpipe-completion.bash
source "$script"
[[ $(complete -p imgpipe 2>/dev/null) == "complete -F _imgpipe imgpipe" ]] ||
  fail "sourcing the script does not register _imgpipe for imgpipe"

# Prints what a Tab offers with the cursor at the end of the last word, one a line, sorted.
offers() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _imgpipe imgpipe "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  printf '%s\n' "${COMPREPLY[@]}" | sort
}

# expect "WANT (one a line)" WORDS...: a Tab after WORDS offers exactly WANT.
expect() {
  local want=$1 got
  shift
  got=$(offers "$@")
  [[ $got == "$want" ]] || fail "'$*': offered [${got//$'\n'/ }], expected [${want//$'\n'/ }]"
}

# The command words, as the main --help's first lines name them: "imgpipe compare [OPTIONS]: ...",
# "imgpipe plan | run | status: ...".
words=$(imgpipe --help | sed '/^Usage:/q' | grep -oE '(imgpipe|\|) [a-z]+' | cut -d' ' -f2 | sort -u)
[[ $(wc -l <<<"$words") -ge 4 ]] || fail "imgpipe --help names the command words no more"
expect "$words" imgpipe ''
expect plan imgpipe pl
expect $'--files-per-folder\n--fit' imgpipe --fi
expect $'contain\ncover' imgpipe -i l -o o --fit c
expect $'contain\ncover' imgpipe -i l -o o --fit = c
expect stretch imgpipe --fit s
expect $'avif\njpg\npng\nwebp' imgpipe compare -f ''
expect $'host\nline' imgpipe plan --shard-by ''
expect --shard imgpipe run job --sha
expect '' imgpipe -j ''  # a number
cd "$work/here" || exit 1
touch list.txt
mkdir job
expect list.txt imgpipe -i li
expect job imgpipe status j
expect job imgpipe -i list.txt -o ''

# Every option of each command's --help, short and long, read here with a plain regex.
for word in '' compare plan run status; do
  want=$(imgpipe ${word:+"$word"} --help | grep -oE '^  -[^ {]+' | tr ',' '\n' | tr -d ' ' | sort)
  [[ $(wc -l <<<"$want") -gt 1 ]] || fail "imgpipe $word --help lists no options"
  expect "$want" imgpipe ${word:+"$word"} -
done

if ((failures > 0)); then
  echo "$failures completion checks failed" >&2
  exit 1
fi
echo "completion: every check passed"
