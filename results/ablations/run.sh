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
# are fine: a finished run's records are kept in results/ablations/runs/, committed, and not run
# again; ONLY="semeval10-autorc-M1-s0 …" runs just those rows). Commands, wall times and the commit go to results/ablations/commands.log.
source "$(dirname "$0")/../common.sh" results/ablations
RUNS=${1:-runs/ablations}
DS=${DATASET:-semeval10}
SEEDS=${SEEDS:-"0 1"}
mkdir -p "$RUNS"
# every run shares its finished trainings with the others (`autorc run --reuse`): a model that
# two rows train with the same setting and seed (R-BERT winning two races, a row's model equal
# to another's) is trained once and copied (a training is deterministic for its config)
REUSE=(--reuse "$RUNS/trainings")

# The AutoRC + race row runs first; AutoRC on M with the paper's selection then starts from its
# finished search (the same search config and seed: the race's format_draws only add draws after
# the search), so the two selections are compared on one search and no search is run twice
copy_search() {  # copy_search FROM TO: a finished search, unless TO has one
  if [[ -f $1/search/summary.json && ! -e $2/search ]]; then
    mkdir -p "$2" && cp -r "$1/search" "$2/search" && rm -f "$2/search/.autorc.lock"
  fi
}

arun() {  # arun NAME ARGS...: one protocol run into RUNS/DS-NAME, its records kept
  local name=$DS-$1; shift
  wanted "$name" || return 0
  timed $AUTORC run --config configs/ablations-cpu.yml --set "dataset=$DS" "$@" \
    --out "$RUNS/$name" "${REUSE[@]}"
  keep "$RUNS/$name"
}

# AutoRC + race with three finalists (race.finalists: the best 3 at the full training go to the
# seeds stage, the best mean dev over seeds is the model) is the race run's search and race
# again: its rung files are copied (not race.json, which it writes with its finalists), so only
# the finalists' seeds are new, and those the other rows trained are reused
copy_race() {  # copy_race FROM TO: a finished race's entrants, unless TO has a race
  if [[ -f $1/race/race.json && ! -e $2/race ]]; then
    copy_search "$1" "$2"
    mkdir -p "$2/race" && cp -r "$1/race/entrants" "$2/race/entrants"
  fi
}

for s in $SEEDS; do
  arun "autorc-M-race-s$s" --method autorc --select race --seed "$s" --set "label=AutoRC + race"
  copy_search "$RUNS/$DS-autorc-M-race-s$s" "$RUNS/$DS-autorc-M-s$s"
  copy_race "$RUNS/$DS-autorc-M-race-s$s" "$RUNS/$DS-autorc-M-race3-s$s"
  arun "autorc-M-race3-s$s" --method autorc --select race --seed "$s" \
    --set "label=AutoRC + race (3 finalists)" --set race.finalists=3
  # Table 2: AutoRC on each space (M is also Table 3's AutoRC row)
  for space in M M1 M2 M3; do
    arun "autorc-$space-s$s" --method autorc --space "$space" --seed "$s"
  done
  # Table 3: the changes to ENAS, on M
  for m in autorc1 autorc2 autorc3 naive-enas; do
    arun "$m-s$s" --method "$m" --seed "$s"
  done
done
report_kept "bash results/ablations/run.sh"
