# Shell helpers the benchmark scripts share; sourced, never run.

# The median of the numbers on standard input, one per line.
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# The two workloads $2 and $3 in the order round $1 runs them: A B, then
# B A, and so on. Whatever drifts through a run (bloat, WAL, checkpoints,
# the neighbours' load) then weighs on both alike instead of always on the
# second.
in_turn() { if (($1 % 2)); then echo "$2 $3"; else echo "$3 $2"; fi; }
