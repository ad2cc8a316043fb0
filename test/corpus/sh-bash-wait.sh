# bash with a background job (a subshell blocked reading a FIFO, to exit 9 when it gets a line)
# and a trap on USR1. After restart the job is still running under the pid $! gave, it gets the
# line, `wait $pid` returns 9, `jobs` is then empty, and the trap still runs on `kill -USR1 $$`.
set -u
fifo=$PWD/job.fifo
mkfifo "$fifo"
( read -r x < "$fifo"; [[ $x == go ]] && exit 9; exit 3 ) &
pid=$!
got=0
trap 'got=1' USR1
echo READY
read -r _go || { echo "FAIL: stdin closed before the go line"; exit 1; }
kill -0 "$pid" 2>/dev/null || { echo "FAIL: the background job $pid is gone"; exit 1; }
echo go > "$fifo"
wait "$pid"
st=$?
[[ $st == 9 ]] || { echo "FAIL: wait \$pid returned $st, want 9"; exit 1; }
[[ -z $(jobs -p) ]] || { echo "FAIL: jobs left: $(jobs -p)"; exit 1; }
kill -USR1 $$
[[ $got == 1 ]] || { echo "FAIL: the USR1 trap did not run"; exit 1; }
echo PASS
