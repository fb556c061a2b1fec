# shellcheck shell=bash
# bash completion for nfr and every nfr-* program. Installed as
# /usr/share/bash-completion/completions/nfr and under each program's name.
# Options come from each program's own --help, so they never go stale;
# threat ids from nfr-score --list-threats; interfaces from /sys/class/net.

_nfr_interfaces() {
	local i out=(any)
	for i in /sys/class/net/*; do [ -e "$i" ] && out+=("${i##*/}"); done
	printf '%s\n' "${out[@]}"
}

_nfr_threats() {
	nfr-score --list-threats 2>/dev/null | awk '{print $1}'
}

# _nfr_options PROG prints the long and short options PROG --help lists.
_nfr_options() {
	"$1" --help 2>/dev/null | grep -oE '(^|[[:space:],])--?[A-Za-z0-9][-A-Za-z0-9]*' | tr -d ' ,\t' | sort -u
}

# _nfr_value PROG OPTION: does OPTION take a value, as PROG --help says?
_nfr_value() {
	"$1" --help 2>/dev/null | grep -qE -- "(^|[[:space:],])$2[= ]"
}

_nfr_program() {
	local cur prev prog=$1
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	case "$prev" in
	-i | --interface)
		mapfile -t COMPREPLY < <(compgen -W "$(_nfr_interfaces)" -- "$cur")
		return
		;;
	--disable | --threat | --only)
		mapfile -t COMPREPLY < <(compgen -W "$(_nfr_threats)" -- "$cur")
		return
		;;
	-t | --type | --types)
		case "$prog" in
		nfr-parse-bro) mapfile -t COMPREPLY < <(compgen -W "dns conn http ssl x509" -- "$cur") ;;
		*) mapfile -t COMPREPLY < <(compgen -W "dns ip http tls" -- "$cur") ;;
		esac
		return
		;;
	-*)
		if _nfr_value "$prog" "$prev"; then
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
			compopt -o filenames 2>/dev/null
			return
		fi
		;;
	esac
	if [[ "$cur" == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_nfr_options "$prog")" -- "$cur")
		return
	fi
	case "$prog" in
	nfr-account) mapfile -t COMPREPLY < <(compgen -W "register status reset" -- "$cur") ;;
	nfr-engine) mapfile -t COMPREPLY < <(compgen -W "keys add list revoke" -- "$cur") ;;
	nfr-capture) mapfile -t COMPREPLY < <(compgen -W "$(_nfr_interfaces)" -f -- "$cur") ;;
	*)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		compopt -o filenames 2>/dev/null
		;;
	esac
}

_nfr() {
	local cur prev i cmd=""
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	for ((i = 1; i < COMP_CWORD; i++)); do
		case "${COMP_WORDS[i]}" in
		-c | --config) ((i++)) ;;
		-*) ;;
		*)
			cmd=${COMP_WORDS[i]}
			break
			;;
		esac
	done
	case "$prev" in
	-c | --config)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		compopt -o filenames 2>/dev/null
		return
		;;
	-i | --interface)
		mapfile -t COMPREPLY < <(compgen -W "$(_nfr_interfaces)" -- "$cur")
		return
		;;
	esac
	case "$cmd" in
	"") mapfile -t COMPREPLY < <(compgen -W "account check help listen read version -c --config -n --dry-run -h --help -v --version" -- "$cur") ;;
	listen) mapfile -t COMPREPLY < <(compgen -W "$(_nfr_interfaces) --help" -- "$cur") ;;
	read)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		compopt -o filenames 2>/dev/null
		;;
	check) mapfile -t COMPREPLY < <(compgen -W "-i --interface -q --quiet --help" -- "$cur") ;;
	account)
		if [ "$prev" = account ]; then
			mapfile -t COMPREPLY < <(compgen -W "register reset status --help" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "--name --email --json --help" -- "$cur")
		fi
		;;
	help) mapfile -t COMPREPLY < <(compgen -W "account check listen read version" -- "$cur") ;;
	esac
}

complete -F _nfr nfr
for _nfr_p in nfr-account nfr-alert nfr-capture nfr-check nfr-engine nfr-parse-bro nfr-parse-suricata nfr-scope nfr-score nfr-submit; do
	# shellcheck disable=SC2064 # the program name is fixed now
	eval "_${_nfr_p//-/_}() { _nfr_program $_nfr_p; }"
	complete -F "_${_nfr_p//-/_}" "$_nfr_p"
done
unset _nfr_p
