#!/usr/bin/env bash
# Table 4 on the whole test sets (issue 20 §2): span NER on CoNLL04 (configs/conll04-ner-full.yml:
# every dev and test sentence, the budget of results/ner-curve), the SpERT-like baseline against
# AutoRC with the race and AutoRC with the paper's selection on the same search, 3 training seeds
# each (MiniLM-L6); then `autorc report` (table4.md, with every metric the task reports).
#
#   bash results/table4-full/run.sh [RUNS_DIR]     (from the project root; default runs/table4-full)
#   ONLY="conll04-ner-spert-like" bash results/table4-full/run.sh
#
# Each run resumes where it stopped: re-run the script after an interruption. A finished run's
# records are kept in results/table4-full/runs/ (committed; results/common.sh) and not run again,
# so sessions on other machines fill the same table. The runs share their finished trainings
# (--reuse RUNS/trainings: the race's winner, if it is SpERT-like, is not trained again for its
# seeds). Commands, wall times and the commit go to results/table4-full/commands.log.
source "$(dirname "$0")/../common.sh" results/table4-full
RUNS=${1:-runs/table4-full}
mkdir -p "$RUNS"

run() {  # run NAME ARGS...: one protocol run into RUNS/NAME
  local name=$1; shift
  wanted "$name" || return 0
  timed $AUTORC run "$@" --out "$RUNS/$name" --reuse "$RUNS/trainings"
  keep "$RUNS/$name"
}

# the paper's selection starts from the race run's finished search (the same config and seed)
copy_search() {  # copy_search FROM TO
  local from=$RUNS/$1/search to=$RUNS/$2/search
  if [[ -f $from/summary.json && ! -e $to ]]; then
    mkdir -p "$(dirname "$to")" && cp -r "$from" "$to" && rm -f "$to/.autorc.lock"
  fi
}

NER=configs/conll04-ner-full.yml
run conll04-ner-spert-like --config $NER --method spert-like
run conll04-ner-autorc-race --config $NER --method autorc --select race --set "label=AutoRC + race"
copy_search conll04-ner-autorc-race conll04-ner-autorc-shared
run conll04-ner-autorc-shared --config $NER --method autorc --select shared \
  --set "label=AutoRC (shared)"
report_kept "bash results/table4-full/run.sh"
