# Bash completion for csb (csbackup): cmdlet names and aliases, their parameters (in the
# -PoolFqdn or --pool-fqdn spelling typed), modules, categories, $true/$false, the
# -ErrorAction/-WarningAction values, and the pool FQDNs of the cluster (--cluster on the
# line, else $CSB_CLUSTER). csb itself answers (`csb __complete WORD... CURRENT`), so the
# completions always match the binary. Use it with:  source contrib/csb.bash

_csb_complete() {
	local cur=${COMP_WORDS[COMP_CWORD]} out kind
	out=$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
	kind=${out%%$'\n'*}
	COMPREPLY=()
	case $kind in
	files) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
	dirs) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
	words) [[ $out == *$'\n'* ]] && mapfile -t COMPREPLY <<<"${out#*$'\n'}" ;;
	esac
	return 0
}

complete -F _csb_complete csb bazel-bin/cli/csb
