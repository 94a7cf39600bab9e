# bench/lib.sh: helpers shared by the benchmarks (sourceable bash).
#   now_ms             wall clock in ms
#   wait_200 URL       poll every 10 ms (0.25 s per try) up to 60 s for a 200
#   median             median of integers on stdin
now_ms() { echo $(($(date +%s%N) / 1000000)); }
wait_200() {
	local _
	for _ in $(seq 1 6000); do
		curl -fs -o /dev/null -m 0.25 "$1" && return 0
		sleep 0.01
	done
	return 1
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
