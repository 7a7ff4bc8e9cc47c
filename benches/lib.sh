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

# Each round's $1 / $2, one per line, given two lists of numbers in round
# order ("a1 a2 ...", "b1 b2 ...").
round_ratios() {
  paste -d ' ' <(tr ' ' '\n' <<<"$1" | grep .) <(tr ' ' '\n' <<<"$2" | grep .) | awk '{print $1 / $2}'
}

# The median of round_ratios. A round's runs follow each other within
# seconds, so their ratio cancels what drifts over a run (the disk's flush
# time moved by a third between rounds on this machine), which the ratio of
# the two medians does not.
median_ratio() { round_ratios "$1" "$2" | median; }

# The smallest and largest of round_ratios, as "min–max".
ratio_range() {
  round_ratios "$1" "$2" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.2f–%.2f", lo, hi}'
}
