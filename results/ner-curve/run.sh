#!/usr/bin/env bash
# The SpERT-like baseline's budget curve on CoNLL04 (issue 20 §2), committed in this folder:
# `autorc train --task ner --arch spert-like` for EPOCHS epochs at each setting of SETTINGS
# (negatives a training sentence : batch size in statements : peak lr), its dev entity micro-F1
# after every epoch (the whole dev set, every candidate span), the best epoch's model on the whole
# test set; then `curve.py` writes curve.md and curve.png from the runs' metrics.json.
#
#   bash results/ner-curve/run.sh [RUNS_DIR]                (from the project root; runs/ner-curve)
#   EPOCHS=10 SETTINGS="100:128:1e-4 50:32:1e-4" bash results/ner-curve/run.sh
#
# An interrupted training resumes (`--resume`); a finished one is kept. Commands and wall times
# go to results/ner-curve/commands.log.
# The default setting: SpERT's batch holds 2 sentences of 100 negatives each; 128 statements hold
# about 2.5 sentences of 50 (a sentence's spans share a batch: `group_text`, NER's default), at
# MiniLM's measured RC lr. Earlier points (results/extract-conll04): 1 epoch / 10 negatives /
# batch 32 / lr 1e-4 gave test 31.75, 2 / 50 / 32 / 1e-4 gave 66.21.
source "$(dirname "$0")/../common.sh" results/ner-curve
RUNS=${1:-runs/ner-curve}
EPOCHS=${EPOCHS:-8}
SETTINGS=${SETTINGS:-"50:128:2e-4"}
mkdir -p "$RUNS"

outs=()
for setting in $SETTINGS; do
  IFS=: read -r neg bs lr <<< "$setting"
  out=$RUNS/e$EPOCHS-neg$neg-bs$bs-lr$lr
  outs+=("$out")
  [[ -f $out/metrics.json ]] && continue
  resume=()
  [[ -d $out ]] && resume=(--resume)
  timed $AUTORC train --task ner --dataset conll04 --arch spert-like --encoder minilm \
    --epochs "$EPOCHS" --neg-per-sentence "$neg" --batch-size "$bs" --lr "$lr" --seed 1 \
    --no-progress --out "$out" ${resume[@]+"${resume[@]}"}
done
timed .venv/bin/python results/ner-curve/curve.py "${outs[@]}" --out "$OUT" \
  --command "EPOCHS=$EPOCHS SETTINGS=\"$SETTINGS\" bash results/ner-curve/run.sh"
