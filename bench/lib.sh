# bench/lib.sh: helpers shared by the benchmarks (sourceable bash).
#   now_ms             wall clock in ms
#   wait_200 URL       poll every 10 ms (0.25 s per try) for a 200, 60 s in all
#   median             median of integers on stdin
#   compare TITLE TARGET BASE_LABEL BASE_RUNS LABEL RUNS RATIO_LABEL
#                      print TITLE, the median of each run array (passed by
#                      name, in ms) and the ratio RUNS/BASE_RUNS against TARGET
now_ms() { echo $(($(date +%s%N) / 1000000)); }
wait_200() {
	# bounded as a whole: QEMU's user-mode forward holds connections while
	# the guest boots, so each try may take its full 0.25 s
	local end=$(($(now_ms) + 60000))
	while [ "$(now_ms)" -lt "$end" ]; do
		curl -fs -o /dev/null -m 0.25 "$1" && return 0
		sleep 0.01
	done
	return 1
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
compare() {
	local title=$1 target=$2 bl=$3 l=$5 rl=$7 bm m w
	local -n _base=$4 _runs=$6
	w=${#bl}
	[ ${#l} -gt "$w" ] && w=${#l}
	[ ${#rl} -gt "$w" ] && w=${#rl}
	bm=$(printf '%s\n' "${_base[@]}" | median)
	m=$(printf '%s\n' "${_runs[@]}" | median)
	echo "$title"
	printf '  %-*s : %s ms   (runs: %s)\n' "$w" "$bl" "$bm" "${_base[*]}"
	printf '  %-*s : %s ms   (runs: %s)\n' "$w" "$l" "$m" "${_runs[*]}"
	awk -v a="$m" -v b="$bm" -v w="$w" -v l="$rl" -v t="$target" \
		'BEGIN { printf "  %-*s : %.2f (target <= %s)\n", w, l, a / b, t }'
}
