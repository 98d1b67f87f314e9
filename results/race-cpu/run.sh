#!/usr/bin/env bash
# The race's evidence (issue 18 §3), committed in this folder: on three real sets, BERT-entity,
# R-BERT, random search with the race, AutoRC as the paper has it (select: shared) and AutoRC with
# the race, 3 training seeds per model (configs/race-cpu.yml), two search seeds for the searched
# methods on semeval10; then `autorc report`.
#
#   bash results/race-cpu/run.sh [RUNS_DIR]        (from the project root; default runs/race-cpu)
#   DATASETS=semeval10 bash results/race-cpu/run.sh
#
# Each run resumes where it stopped: re-run the script after an interruption. A finished run's
# records are kept in results/race-cpu/runs/ (committed; results/common.sh) and not run again, so
# sessions on other machines fill the same table; ONLY="semeval10-random-race …" runs just those
# rows. The commands, their wall times and the commit are appended to results/race-cpu/commands.log.
source "$(dirname "$0")/../common.sh" results/race-cpu
RUNS=${1:-runs/race-cpu}
DATASETS=${DATASETS:-"semeval10 chemprot conll04"}
mkdir -p "$RUNS"

source "$(dirname "$0")/limits.sh"  # limits DATASET: its stated training subset

run() {  # run DATASET NAME ARGS...: one protocol run into RUNS/DATASET-NAME
  local ds=$1 name=$2; shift 2
  wanted "$ds-$name" || return 0
  # shellcheck disable=SC2046
  timed $AUTORC run --config configs/race-cpu.yml --set "dataset=$ds" $(limits "$ds") "$@" \
    --out "$RUNS/$ds-$name"
  keep "$RUNS/$ds-$name"
}

# AutoRC with the paper's selection starts from the race run's search (the same search config
# and seed: format_draws only adds draws after it), so the two selections are compared on one
# search; its own re-ranking then writes its candidates
shared_search() {  # shared_search DATASET SEED: copy the race run's finished search
  local from=$RUNS/$1-autorc-race-s$2/search to=$RUNS/$1-autorc-shared-s$2/search
  if [[ -f $from/summary.json && ! -e $to ]]; then
    mkdir -p "$(dirname "$to")" && cp -r "$from" "$to" && rm -f "$to/.autorc.lock"
  fi
}

# first the comparison every dataset needs (the two baselines, AutoRC with either selection on
# search seed 0), then, dataset by dataset, random search with the race and semeval10's second
# search seed: an interrupted run leaves the widest table
autorc_pair() {  # autorc_pair DATASET SEED: AutoRC with the race, then with the paper's selection
  run "$1" "autorc-race-s$2" --method autorc --select race --seed "$2" --set "label=AutoRC + race"
  shared_search "$1" "$2"
  run "$1" "autorc-shared-s$2" --method autorc --select shared --seed "$2" \
    --set "label=AutoRC (shared)"
}

for ds in $DATASETS; do
  run "$ds" bert-entity --method bert-entity
  run "$ds" r-bert --method r-bert
  autorc_pair "$ds" 0
done
for ds in $DATASETS; do
  run "$ds" random-race --method random --select race --set "label=random + race"
  if [[ $ds == semeval10 ]]; then autorc_pair "$ds" 1; fi
done
report_kept "bash results/race-cpu/run.sh"
