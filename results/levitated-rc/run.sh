#!/usr/bin/env bash
# Packed levitated markers on relation classification, trained (issue 20 §1): R-BERT's features
# over levitated markers (a sentence's entity pairs in one batch, `train.group_text: true`)
# against R-BERT with the paper's inline markers, both under results/race-cpu's protocol and
# budget (configs/race-cpu.yml: 2 epochs, lr 2e-4, batch 32, 3 seeds; CoNLL04's relations on
# the same stratified 4,000 training statements). The markers rows are results/race-cpu's own
# R-BERT runs (RACE_RUNS, default runs/race-cpu), read by the report when they are there.
#
#   bash results/levitated-rc/run.sh [RUNS_DIR]          (from the project root; runs/levitated-rc)
#   DATASETS=chemprot bash results/levitated-rc/run.sh
#
# Each run resumes where it stopped. Commands and wall times go to commands.log here.
source "$(dirname "$0")/../common.sh" results/levitated-rc
RUNS=${1:-runs/levitated-rc}
RACE_RUNS=${RACE_RUNS:-runs/race-cpu}
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
  # shellcheck disable=SC2046
  timed $AUTORC repeat --arch "$ARCH" --config configs/race-cpu.yml --dataset "$ds" \
    $(limits "$ds") --set train.group_text=true --label "R-BERT, levitated markers" \
    --out "$RUNS/$ds-r-bert-levitated"
  reports+=("$RUNS/$ds-r-bert-levitated")
  [[ -f $RACE_RUNS/$ds-r-bert/result.json ]] && reports+=("$RACE_RUNS/$ds-r-bert")
done
timed $AUTORC report "${reports[@]}" --out "$OUT" \
  --command "bash results/levitated-rc/run.sh (then: autorc report <its runs and race-cpu's R-BERT runs> --out $OUT)"
