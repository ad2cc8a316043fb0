# bash with a coprocess (coproc: a child `cat` joined to the shell by two pipes), a line already
# sent to it and its echo not yet read. After restart the shell reads the echo, a second round
# trip works, and closing the coprocess's input ends it with status 0 (wait on its pid).
set -u
coproc CAT { cat; }
pid=$CAT_PID
echo "in flight before the checkpoint" >&"${CAT[1]}"
sleep 0.05
echo READY
read -r _go || { echo "FAIL: stdin closed before the go line"; exit 1; }
IFS= read -r -t 5 reply <&"${CAT[0]}" || { echo "FAIL: the echo of the in-flight line is gone"; exit 1; }
[[ $reply == "in flight before the checkpoint" ]] || { echo "FAIL: echo '$reply'"; exit 1; }
echo "after restart" >&"${CAT[1]}"
IFS= read -r -t 5 reply <&"${CAT[0]}" || { echo "FAIL: no echo for a line sent after restart"; exit 1; }
[[ $reply == "after restart" ]] || { echo "FAIL: second echo '$reply'"; exit 1; }
exec {fd}>&"${CAT[1]}"-
exec {fd}>&-
wait "$pid"
st=$?
[[ $st == 0 ]] || { echo "FAIL: the coprocess ended with $st, want 0"; exit 1; }
echo PASS
