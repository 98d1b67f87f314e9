#!/usr/bin/env bash
# The CPU-scale reproduction committed in this folder: every method of the paper's Table 1 (and
# naive ENAS) through the same protocol (configs/cpu-repro.yml: 1,000 training sentences, 500 dev,
# 500 test, 3 seeds, MiniLM-L6) on three real datasets, one transfer, then `autorc report`.
#
#   bash results/cpu-repro/run.sh [RUNS_DIR]        (from the project root; default runs/cpu-repro)
#
# Each run resumes where it stopped (re-run the script after an interruption). The commands, their
# wall times and the commit are appended to results/cpu-repro/commands.log.
source "$(dirname "$0")/../common.sh" results/cpu-repro
RUNS=${1:-runs/cpu-repro}
DATASETS=${DATASETS:-"semeval10 ddi chemprot"}
METHODS=${METHODS:-"bert-entity r-bert autorc random naive-enas"}
mkdir -p "$RUNS"

for ds in $DATASETS; do
  for m in $METHODS; do
    timed $AUTORC run --config configs/cpu-repro.yml --set "dataset=$ds" --set "method=$m" \
      --out "$RUNS/$ds-$m"
  done
done
# one transfer: the architecture AutoRC learned on semeval10, re-tuned and evaluated on chemprot
# (ddi at this budget teaches no model much: see README.md)
if [[ -f $RUNS/semeval10-autorc/result.json && $DATASETS == *chemprot* ]]; then
  timed $AUTORC transfer --arch "$RUNS/semeval10-autorc/result.json" --dataset chemprot \
    --config configs/cpu-repro.yml --out "$RUNS/transfer-semeval10-chemprot"
fi
timed $AUTORC report "$RUNS"/* --out "$OUT" \
  --command "bash results/cpu-repro/run.sh (then: autorc report $RUNS/* --out $OUT)"
