# Shell helpers the benchmark scripts share; sourced, never run.

# The median of the numbers on standard input, one per line.
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# The workloads after $1 in the order round $1 runs them, each round
# starting one further along: A B, B A, ... or A B C, B C A, C A B, ...
# Whatever drifts through a run (bloat, WAL, checkpoints, the neighbours'
# load) then weighs on each alike instead of always on the last.
in_turn() {
  local round=$1 i
  shift
  for ((i = 0; i < $#; i++)); do
    local at=$(((round - 1 + i) % $# + 1))
    printf '%s ' "${!at}"
  done
  echo
}
