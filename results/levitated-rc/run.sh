#!/usr/bin/env bash
# Packed levitated markers on relation classification, trained (issue 20 §1): R-BERT's features
# over levitated markers (a sentence's entity pairs in one batch, `train.group_text: true`)
# against R-BERT with the paper's inline markers, both under results/race-cpu's protocol and
# budget (configs/race-cpu.yml: 2 epochs, lr 2e-4, batch 32, 3 seeds; CoNLL04's relations on
# the same stratified 4,000 training statements). The markers rows are results/race-cpu's own
# R-BERT runs (RACE_RUNS, default their kept records, results/race-cpu/runs), read by the report
# when they are there. A finished run's records are kept in results/levitated-rc/runs/ and the
# report is made from them (results/common.sh).
#
#   bash results/levitated-rc/run.sh [RUNS_DIR]          (from the project root; runs/levitated-rc)
#   DATASETS=chemprot bash results/levitated-rc/run.sh
#
# Each run resumes where it stopped. Commands and wall times go to commands.log here.
source "$(dirname "$0")/../common.sh" results/levitated-rc
RUNS=${1:-runs/levitated-rc}
RACE_RUNS=${RACE_RUNS:-results/race-cpu/runs}
DATASETS=${DATASETS:-"chemprot conll04"}
mkdir -p "$RUNS"
ARCH=$RUNS/r-bert-levitated.json
[[ -f $ARCH ]] || .venv/bin/python -c "
import dataclasses, sys
from autorc_nni.architecture import PRESETS
dataclasses.replace(PRESETS['r-bert'], span='levitated').save(sys.argv[1])" "$ARCH"

source results/race-cpu/limits.sh  # limits DATASET: race-cpu's training subsets

reports=()
for ds in $DATASETS; do
  if ! kept "$ds-r-bert-levitated"; then  # kept records are not trained again
    # shellcheck disable=SC2046
    timed $AUTORC repeat --arch "$ARCH" --config configs/race-cpu.yml --dataset "$ds" \
      $(limits "$ds") --set train.group_text=true --label "R-BERT, levitated markers" \
      --out "$RUNS/$ds-r-bert-levitated"
    keep "$RUNS/$ds-r-bert-levitated"
  fi
  reports+=("$OUT/runs/$ds-r-bert-levitated")
  [[ -f $RACE_RUNS/$ds-r-bert/result.json ]] && reports+=("$RACE_RUNS/$ds-r-bert")
done
timed $AUTORC report "${reports[@]}" --out "$OUT" \
  --command "DATASETS=\"$DATASETS\" bash results/levitated-rc/run.sh"
