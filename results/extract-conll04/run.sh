#!/usr/bin/env bash
# Raw text to relations on CoNLL04 (issue 21 §2), committed in this folder: a NER model and a
# relation model trained by the tool, then `autorc extract --score conll04` on the whole test
# set (288 sentences), scored as SpERT scores joint extraction.
#
#   bash results/extract-conll04/run.sh [RUNS_DIR]     (from the project root; default runs/extract)
#   NER_SPAN=standard NER_EPOCHS=2 NER_NEG=50 bash results/extract-conll04/run.sh runs/extract-std
#
# The budgets are this 2-core machine's (see README.md here); `autorc train --resume` picks up an
# interrupted training. Commands and wall times go to results/extract-conll04/commands.log.
source "$(dirname "$0")/../common.sh" results/extract-conll04
RUNS=${1:-runs/extract}
NER_EPOCHS=${NER_EPOCHS:-1}
NER_NEG=${NER_NEG:-10}
RC_EPOCHS=${RC_EPOCHS:-1}
mkdir -p "$RUNS"

train() {  # train OUT ARGS...: once (a finished run is kept), resumed after an interruption
  local out=$1; shift
  [[ -f $out/metrics.json ]] && return 0
  local resume=()
  [[ -d $out ]] && resume=(--resume)
  timed $AUTORC train "$@" --encoder minilm --seed 1 --out "$out" ${resume[@]+"${resume[@]}"}
}

# entities: the SpERT-like span classifier, NER_NEG negatives a sentence, over packed levitated
# markers (NER_SPAN=levitated, the default) or the sentence as it is (NER_SPAN=standard: the
# spert-like preset, one encoder pass a sentence in prediction)
NER_SPAN=${NER_SPAN:-levitated}
ARCH=$RUNS/spert-$NER_SPAN.json
[[ -f $ARCH ]] || .venv/bin/python -c "
import dataclasses, sys
from autorc_nni.architecture import PRESETS
dataclasses.replace(PRESETS['spert-like'], span=sys.argv[2]).save(sys.argv[1])" "$ARCH" "$NER_SPAN"
train "$RUNS/ner" --task ner --dataset conll04 --arch "$ARCH" --epochs "$NER_EPOCHS" \
  --neg-per-sentence "$NER_NEG" --batch-size 32 --lr 1e-4
# relations: R-BERT on the relation view (every ordered entity pair of a sentence)
train "$RUNS/rc" --dataset conll04 --arch r-bert --epochs "$RC_EPOCHS" --batch-size 32 --lr 2e-4
# the chain on the test set, scored; the predictions and an HTML page of the first sentences stay
# in RUNS (they hold the dataset's text, which the repository does not)
timed $AUTORC extract --ner "$RUNS/ner/model" --rc "$RUNS/rc/model" --score conll04 \
  --out "$RUNS/test_extracted.jsonl" | tee "$OUT/scores.json"
head -n 20 "$RUNS/test_extracted.jsonl" > "$RUNS/first20.jsonl"
.venv/bin/python -c "
import json, sys
from autorc_nni.extract import extraction_html
rows = [json.loads(x) for x in open(sys.argv[1])]
open(sys.argv[2], 'w').write(extraction_html(rows, 'CoNLL04 test: the first 20 sentences'))
" "$RUNS/first20.jsonl" "$RUNS/first20.html"
