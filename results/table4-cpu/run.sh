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
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-runs/table4-cpu}
OUT=results/table4-cpu
# `python -m trial.cli` from the project root runs this checkout's code
AUTORC=${AUTORC:-.venv/bin/python -m trial.cli}
export AUTORC_DATA_DIR=${AUTORC_DATA_DIR:-$(cd .. && pwd)/shared/data}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
RUNSPECS=${RUNSPECS:-"conll04-ner:spert-like conll04-ner:autorc litbank-coref:pair-baseline litbank-coref:autorc"}
LOG=$OUT/commands.log
mkdir -p "$RUNS" "$OUT"
echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD)$(git diff --quiet || echo +dirty) on $(nproc) cores" >> "$LOG"

timed() {  # timed CMD...: run it, append the command and its wall time to the log
  local t0=$SECONDS
  "$@"
  echo "$(( SECONDS - t0 )) s  $*" >> "$LOG"
}

for spec in $RUNSPECS; do
  cfg=${spec%%:*} method=${spec#*:}
  timed $AUTORC run --config "configs/$cfg.yml" --set "method=$method" --out "$RUNS/$cfg-$method"
done
timed $AUTORC report "$RUNS" --out "$OUT" --command "bash results/table4-cpu/run.sh"
