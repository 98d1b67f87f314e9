# Sourced by the results/*/run.sh scripts: the project root as working directory, this
# checkout's command line, the data and offline settings, and `timed` (each command and its wall
# time appended to the folder's commands.log, after a header with the commit).
#
#   source "$(dirname "$0")/../common.sh" OUT_FOLDER
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${1:?common.sh: the results folder}
# `python -m trial.cli` from the project root runs this checkout's code (an editable install's
# `autorc` script would run the checkout it was installed from)
AUTORC=${AUTORC:-.venv/bin/python -m trial.cli}
export AUTORC_DATA_DIR=${AUTORC_DATA_DIR:-$(cd .. && pwd)/shared/data}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
LOG=$OUT/commands.log
mkdir -p "$OUT"
echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD)$(git diff --quiet || echo +dirty) on $(nproc) cores" >> "$LOG"

timed() {  # timed CMD...: run it, append the command and its wall time to the log
  local t0=$SECONDS
  "$@"
  echo "$(( SECONDS - t0 )) s  $*" >> "$LOG"
}

# A run folder lives on the machine that made it, and a session's machine is gone when it ends:
# each finished run's records (result.json, the metrics, the race, the search's ranking and
# TensorBoard logs; not its weights, checkpoints or predictions: see keep) are copied into the committed
# $OUT/runs/NAME, a run whose records are there is not run again, and the report is made from
# them, so one table can be filled over several sessions.
ROWS=()  # every row the script runs or has kept, in order
ONLY=${ONLY:-}  # ONLY="NAME …": run just these rows (the others are reported if kept)

kept() {  # kept NAME: its records are committed
  [[ -f $OUT/runs/$1/result.json ]]
}

wanted() {  # wanted NAME: record the row; true if it is to run in this session
  ROWS+=("$1")
  ! kept "$1" && { [[ -z $ONLY ]] || [[ " $ONLY " == *" $1 "* ]]; }
}

keep() {  # keep RUN_DIR: copy a finished run's records to $OUT/runs/<its name>
  local from=$1 to
  to=$(cd "$OUT" && pwd)/runs/$(basename "$1")
  [[ -f $from/result.json ]] || return 0
  rm -rf "$to.part" && mkdir -p "$to.part"
  # left out: weights, checkpoints, saved models, per-statement predictions and scorer keys
  # (derived from the data), the run's own report (made again), TensorBoard logs but the
  # search's (the reward curves); and any file of 2 MB or more
  (cd "$from" && find . -type f ! -name '*.pt' ! -name '*.safetensors' ! -name '*.bin' \
    ! -name '*.ckpt' ! -name '.autorc.lock' ! -path '*/model/*' ! -name '*predictions*' \
    ! -name '*.scorer.txt' ! -path './report/*' \( ! -path '*/tensorboard/*' -o -path \
    './search/tensorboard/*' \) -size -2097152c -print0 |
    xargs -0 -r cp --parents -t "$to.part")
  rm -rf "$to" && mv "$to.part" "$to"
}

report_kept() {  # report_kept COMMAND: `autorc report` over the kept rows, into $OUT when all
  # rows are kept, else into $OUT/partial (the table so far)
  local dirs=() missing=0 row
  for row in "${ROWS[@]}"; do
    if kept "$row"; then dirs+=("$OUT/runs/$row"); else missing=1; fi
  done
  ((${#dirs[@]})) || return 0
  local to=$OUT
  ((missing)) && to=$OUT/partial
  timed $AUTORC report "${dirs[@]}" --out "$to" --command "$1"
  if ((missing)); then  # what the table still lacks, for the next session
    for row in "${ROWS[@]}"; do kept "$row" || echo "$row"; done > "$to/rows-to-run.txt"
    echo "rows still to run (also in $to/rows-to-run.txt): $(tr '\n' ' ' < "$to/rows-to-run.txt")"
  else
    rm -rf "$OUT/partial"  # the whole table replaces the partial one
  fi
}
