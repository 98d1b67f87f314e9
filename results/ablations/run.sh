#!/usr/bin/env bash
# The paper's ablation tables at CPU scale (issue 19): Table 2 (search spaces M, M1, M2, M3) and
# Table 3 (AutoRC, AutoRC1, AutoRC2, AutoRC3, naive ENAS) on semeval10 with the paper's selection
# (configs/ablations-cpu.yml: select shared), 2 search seeds per row, 3 training seeds per model,
# and an AutoRC + race row; then `autorc report` (table2.md, table3.md, the searches' entropy
# and formats, the diagrams).
#
#   bash results/ablations/run.sh [RUNS_DIR]        (from the project root; default runs/ablations)
#
# Each run resumes where it stopped: re-run the script after an interruption (several sessions
# are fine). Commands, wall times and the commit go to results/ablations/commands.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-runs/ablations}
OUT=results/ablations
AUTORC=${AUTORC:-.venv/bin/python -m trial.cli}
export AUTORC_DATA_DIR=${AUTORC_DATA_DIR:-$(cd .. && pwd)/shared/data}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
DS=${DATASET:-semeval10}
SEEDS=${SEEDS:-"0 1"}
LOG=$OUT/commands.log
mkdir -p "$RUNS" "$OUT"
echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD)$(git diff --quiet || echo +dirty) on $(nproc) cores" >> "$LOG"

timed() {  # timed CMD...: run it, append the command and its wall time to the log
  local t0=$SECONDS
  "$@"
  echo "$(( SECONDS - t0 )) s  $*" >> "$LOG"
}

for s in $SEEDS; do
  # Table 2: AutoRC on each space (M is also Table 3's AutoRC row)
  for space in M M1 M2 M3; do
    timed $AUTORC run --config configs/ablations-cpu.yml --set "dataset=$DS" --method autorc \
      --space "$space" --seed "$s" --out "$RUNS/$DS-autorc-$space-s$s"
  done
  # Table 3: the changes to ENAS, on M
  for m in autorc1 autorc2 autorc3 naive-enas; do
    timed $AUTORC run --config configs/ablations-cpu.yml --set "dataset=$DS" --method "$m" \
      --seed "$s" --out "$RUNS/$DS-$m-s$s"
  done
  # the race beside the paper's selection
  timed $AUTORC run --config configs/ablations-cpu.yml --set "dataset=$DS" --method autorc \
    --select race --seed "$s" --out "$RUNS/$DS-autorc-M-race-s$s"
done
timed $AUTORC report "$RUNS"/* --out "$OUT" \
  --command "bash results/ablations/run.sh (then: autorc report $RUNS/* --out $OUT)"
