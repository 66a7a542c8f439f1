# Bash completion for imgpipe: the command words, each command's options, and the values of the
# options that take one of a few words (--fit, -f, --shard-by, ...); files and folders elsewhere.
#
# The options are read from `imgpipe [WORD] --help` of the binary being completed, at each Tab
# (~20 ms): a new flag completes as soon as the binary has it, with nothing here to keep in step.
# Installed as share/bash-completion/completions/imgpipe, which bash-completion loads on first
# use; it needs nothing from bash-completion itself. tests/completion_test.sh drives _imgpipe.

# Prints "NAMES TYPE" for each option of `$1 [$2] --help`: NAMES such as -i,--input; TYPE the value
# it takes (TEXT, INT:..., a|b|c=default), or nothing for a flag. CLI11 writes an option's names
# and type in the 28 columns after two spaces and its description after them, or on the next
# line when they do not fit; a flag may carry {false} or "Excludes: ..." instead of a type.
# Plain awk: Debian's default awk, mawk 1.3.4, has no /x{30}/ repetition.
_imgpipe_options() {
  "$1" ${2:+"$2"} --help 2>/dev/null | awk '
    function emit(line, whole,   n, w) {
      n = split(whole ? line : substr(line, 1, 30), w, " ")
      sub(/\{.*/, "", w[1])
      print w[1], (n >= 2 && w[2] !~ /^(Excludes|Needs):$/ ? w[2] : "")
    }
    pending != "" { emit(pending, substr($0, 1, 30) ~ /^ +$/); pending = "" }
    /^  -/ { pending = $0 }
    END { if (pending != "") emit(pending, 0) }'
}

# Sets COMPREPLY to the paths that start with $2: folders ($1 is -d), or files and folders (-f).
_imgpipe_paths() {
  compopt -o filenames 2>/dev/null || true  # a / after folders; fails outside a Tab (tests)
  mapfile -t COMPREPLY < <(compgen "$1" -- "$2")
}

# Sets COMPREPLY to the values of option $1, whose type is $2, that start with $3.
_imgpipe_values() {
  local option=$1 type=$2 cur=$3
  case $type in
    TEXT | TEXT:FILE)
      # Perhaps a path: folders for the output, files (and folders on the way) for the rest. A
      # TEXT with a default (TEXT=256, TEXT=white) is a word, and numbers are numbers: nothing.
      if [[ $option == -o || $option == --output ]]; then
        _imgpipe_paths -d "$cur"
      else
        _imgpipe_paths -f "$cur"
      fi
      ;;
    *"|"*)
      # One of the words, a|b|c=default; compgen -W splits its list at IFS.
      local IFS="|"
      mapfile -t COMPREPLY < <(compgen -W "${type%%=*}" -- "$cur")
      ;;
  esac
}

_imgpipe() {
  local cur=${COMP_WORDS[COMP_CWORD]-} prev=${COMP_WORDS[COMP_CWORD - 1]-} word="" options type
  COMPREPLY=()
  # --fit=cover reaches us as three words, --fit = cover (= is in COMP_WORDBREAKS).
  if [[ $cur == = ]]; then
    cur=""
  elif [[ $prev == = ]] && ((COMP_CWORD > 2)); then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  fi
  case ${COMP_WORDS[1]-} in
    compare | plan | run | status) word=${COMP_WORDS[1]} ;;
  esac
  if ((COMP_CWORD == 1)) && [[ $cur != -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "compare plan run status" -- "$cur")
    return 0
  fi
  options=$(_imgpipe_options "${COMP_WORDS[0]}" "$word")
  if [[ $prev == -* ]]; then
    type=$(awk -v want="$prev" '{ n = split($1, f, ","); for (i = 1; i <= n; i++)
                                    if (f[i] == want) print $2 }' <<<"$options")
    if [[ -n $type ]]; then
      _imgpipe_values "$prev" "$type" "$cur"
      return 0
    fi
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(awk '{ gsub(",", " ", $1); print $1 }' <<<"$options")" \
      -- "$cur")
  elif [[ $word == run || $word == status ]]; then
    _imgpipe_paths -d "$cur"  # OUTDIR, the plan's folder
  fi
  return 0
}

complete -F _imgpipe imgpipe
