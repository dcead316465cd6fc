# shellcheck shell=bash
# Command-line option parser for recipe scripts (Kaldi/ESPnet semantics).
#
# Source it after the script has given every option its default value:
#
#     stage=1
#     train_config=
#     help_message="Usage: $0 [options]"
#     . utils/parse_options.sh
#
# It consumes leading options from the caller's positional parameters ("$@"):
#   --foo-bar VALUE or --foo_bar VALUE   sets the existing shell variable foo_bar
#   --help, -h                           prints $help_message (on stdout) and exits 0
#   --                                   ends the options
# An option whose variable the script does not define is an error, as is an option without
# a value. A variable whose default is "true" or "false" only accepts "true" or "false".
# Parsing stops at the first argument that does not start with "--"; what is left stays in "$@".

while [ $# -gt 0 ]; do
    case "$1" in
        --help | -h)
            if [ -n "${help_message:-}" ]; then
                printf '%s\n' "${help_message}"
            else
                echo "$0: no help message available" >&2
            fi
            exit 0
            ;;
        --)
            shift
            break
            ;;
        --*) ;;
        *) break ;;
    esac

    __parse_options_name=${1#--}
    __parse_options_name=${__parse_options_name//-/_}
    if [[ "${__parse_options_name}" == *=* ]]; then
        echo "$0: error: write '${1%%=*} VALUE' instead of '$1'" >&2
        exit 1
    fi
    if ! [[ "${__parse_options_name}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] \
        || [ -z "${!__parse_options_name+defined}" ]; then
        echo "$0: error: unknown option '$1' (see $0 --help)" >&2
        exit 1
    fi
    if [ $# -lt 2 ]; then
        echo "$0: error: option '$1' needs a value" >&2
        exit 1
    fi
    case "${!__parse_options_name}" in
        true | false)
            if [ "$2" != true ] && [ "$2" != false ]; then
                echo "$0: error: option '$1' takes true or false, got '$2'" >&2
                exit 1
            fi
            ;;
    esac
    printf -v "${__parse_options_name}" '%s' "$2"
    shift 2
done
unset __parse_options_name
true
