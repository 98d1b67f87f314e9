"""Tasks: what a statement is, how training statements are drawn and how predictions are scored.

One registered class per task (``TASKS``), each in its own module; ``base`` holds the contract
(``Task``) and what every task shares (``TaskData``, ``load_task_data``, the stats table).

========  ================================================================================
``rc``    relation classification (``tasks/rc.py``): one statement per relation instance
``ner``   span NER (``tasks/ner.py``): every short span of a sentence is a statement
``coref`` coreference over gold mentions (``tasks/coref.py``): mention pairs
========  ================================================================================

During the search the reward and the ranking score statements with the pair metric
(``TaskData.pair_metric``): micro-F1 without the negative label, which is entity micro-F1 on
NER candidates and the F1 of the ``coref`` class on mention pairs. For NER and coreference the
search's validation statements are the dev gold spans/pairs plus negatives sampled as for
training (fixed), so that a reward batch holds positives at all; the evaluation phase then
decodes every candidate.

``--limit-train N`` caps the statements of each training epoch (seeded, label-stratified);
``--limit-eval N`` caps the units of dev and test (``Task.unit``: rc statements, NER sentences,
coreference documents), which are always decoded and scored whole.
"""

# the import order is the registration order, ``TASKS``'s: rc, ner, coref
from autorc_nni.tasks.base import (  # noqa: I001
    TASKS,
    LoadSettings,
    Task,
    TaskData,
    TaskOptions,
    check_task,
    format_task_stats,
    get_task,
    load_task_data,
    register_task,
    task_stats,
)
from autorc_nni.tasks.rc import RelationClassification
from autorc_nni.tasks.ner import NER_NEGATIVE, SpanNER, entity_scores, span_candidates
from autorc_nni.tasks.coref import (
    COREF,
    COREF_DATASETS,
    NOT_COREF,
    REPEATED_SPAN,
    Coreference,
    closure,
    mention_pairs,
)

__all__ = [
    "COREF",
    "COREF_DATASETS",
    "NER_NEGATIVE",
    "NOT_COREF",
    "REPEATED_SPAN",
    "TASKS",
    "Coreference",
    "LoadSettings",
    "RelationClassification",
    "SpanNER",
    "Task",
    "TaskData",
    "TaskOptions",
    "check_task",
    "closure",
    "entity_scores",
    "format_task_stats",
    "get_task",
    "load_task_data",
    "mention_pairs",
    "register_task",
    "span_candidates",
    "task_stats",
]
