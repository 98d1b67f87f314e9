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
