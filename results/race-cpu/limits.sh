# Sourced by results/race-cpu/run.sh and results/levitated-rc/run.sh: the stated training subset
# of each set (`limits DATASET` prints its flags). CoNLL04's relation view (every ordered entity
# pair of a sentence, 11,998 training statements) is large for this machine (see README.md): a
# stratified 4,000 statements for the training of every stage; chemprot (4,169) and semeval10
# (6,507) are used whole.
limits() {
  case $1 in
    conll04) echo "--limit-train 4000" ;;
    *) echo "" ;;
  esac
}
