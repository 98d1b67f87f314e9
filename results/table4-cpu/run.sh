#!/usr/bin/env bash
# Table 4 at CPU scale: span NER on CoNLL04 (configs/conll04-ner.yml) and mention-pair
# coreference on LitBank fold 0 (configs/litbank-coref.yml), each baseline (spert-like,
# pair-baseline) against AutoRC under one protocol and budget (3 seeds, MiniLM-L6), then
# `autorc report`.
#
#   bash results/table4-cpu/run.sh [RUNS_DIR]      (from the project root; default runs/table4-cpu)
#
# Every run resumes where it stopped (re-run the script after an interruption). The commands,
# their wall times and the commit are appended to results/table4-cpu/commands.log.
source "$(dirname "$0")/../common.sh" results/table4-cpu
RUNS=${1:-runs/table4-cpu}
RUNSPECS=${RUNSPECS:-"conll04-ner:spert-like conll04-ner:autorc litbank-coref:pair-baseline litbank-coref:autorc"}
mkdir -p "$RUNS"

for spec in $RUNSPECS; do
  cfg=${spec%%:*} method=${spec#*:}
  timed $AUTORC run --config "configs/$cfg.yml" --set "method=$method" --out "$RUNS/$cfg-$method"
done
timed $AUTORC report "$RUNS" --out "$OUT" --command "bash results/table4-cpu/run.sh"
