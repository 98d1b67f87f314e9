"""``RCModel``: the fixed-architecture relation classifier (one point of the search space).

Data flow (docs/design.md §1): ``batch[arch.span]`` → [``posenc.embed``] → encoder → token states
→ ``posenc.extend`` → the five part masks → poolers (entity group for e1/e2, context group for
c0/c1/c2) → features over ``arch.slots()`` (parts and interactions) → dropout + linear → logits.

Parameter structure — the AutoRC supernet's heterogeneous sharing (docs/design.md §4) restricted to
this architecture, so that the same names address the same weights in a frozen child:

- entity poolers are shared per pooler type between e1 and e2, context poolers per type between
  c0, c1 and c2; the entity and context groups never share;
- ``start`` and ``dr`` share one linear layer per group, initialised from the encoder's pooler
  dense layer (``encoder.pooler.dense``, copied, not tied to it);
- parts are D wide: D = H, or D = H + 24 with ``posenc=concat``. With concat the shared linear
  layers are D × D with the pooler dense in their top-left H × H block, the identity in the
  bottom-right 24 × 24 block and zeros elsewhere (``autorc_nni.poolers.linear_from_dense``): the
  first H outputs start out equal to BERT's pooler and the positional columns pass through.

State-dict layout (only the modules the architecture needs exist)::

    encoder.*                              the HF BertModel (embeddings resized for markers)
    posenc.tables.0.weight                 e1 table (2·max_len+1, H) for add, (…, 12) for concat
    posenc.tables.1.weight                 e2 table; absent for posenc=none
    entity.linear.{weight,bias}            (D, D), (D,) if pool_e1 or pool_e2 is start/dr
    entity.poolers.<type>.*                one pooler per distinct type of pool_e1 / pool_e2:
        avg, max                             no parameters
        self_attn: proj.{weight,bias} (D, D), (D,); score.weight (1, D)
        start, dr: linear.{weight,bias}      tied to entity.linear (same tensors)
    context.linear.{weight,bias}           the same for the parts c0, c1, c2 that are needed
    context.poolers.<type>.*
    classifier.linear.{weight,bias}        (C, S·D), (C,); S = len(arch.slots()), slot blocks
                                           of D columns in arch.slots() order (SLOTS order)

A supernet that builds its groups with ``autorc_nni.poolers.PoolerGroup`` over every pooler
type has the same ``<group>.linear`` / ``<group>.poolers.<type>`` names; the classifier's
column block of slot s is ``classifier.linear.weight[:, i·D:(i+1)·D]`` with i the index of s in
``arch.slots()``. Interactions have no parameters.

Saved model directory (``save_pretrained`` / ``from_pretrained``)::

    architecture.json   the Architecture record
    labels.json         the label list (label id = index)
    config.json         {"format": "autorc-rcmodel", "version": 1, num_labels, dropout, max_len,
                         pooler_kwargs, task, task_options} (a model without task is an rc one)
    heads.safetensors   state dict of everything but the encoder (safetensors; a heads.pt of an
                        earlier version is still read, weights only)
    encoder/            the encoder (HF save_pretrained)
    tokenizer/          the tokenizer (HF save_pretrained), when the model has one
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from autorc_nni.architecture import (
    CONTEXT_PARTS,
    ENTITY_PARTS,
    PARTS,
    Architecture,
    resolve_architecture,
)
from autorc_nni.data.record import RelationExample
from autorc_nni.errors import AutoRCError
from autorc_nni.heads import INTERACTIONS, Classifier, assemble_features, part_masks
from autorc_nni.poolers import PoolerGroup
from autorc_nni.posencs import POSENCS, encode_distinct, encode_with_posenc

__all__ = ["RCModel", "ModelLoadError"]

HEADS_FILE = "heads.safetensors"
# statements whose heads run at once in `predict` when many share one encoder input (their
# gathered token states: HEAD_CHUNK x L x D floats)
HEAD_CHUNK = 512
_FORMAT = "autorc-rcmodel"
_VERSION = 1


class ModelLoadError(AutoRCError):
    """A saved model directory is missing or incomplete."""


class RCModel(nn.Module):
    """A relation classifier with a fixed architecture.

    Args:
        arch: an ``Architecture``, a preset name or an architecture JSON path.
        encoder: an HF ``BertModel``-like model (``config.hidden_size``, ``pooler.dense``,
            ``get_input_embeddings()``, accepts ``inputs_embeds``).
        num_labels: number of classes C.
        dropout: dropout before the classifier's linear layer.
        max_len: the clipping range of entity distances (positional tables have 2·max_len+1
            rows) and the featurizer's maximum length in ``predict``.
        labels: label names (label id = index); default ``["0", "1", …]``.
        tokenizer: the encoder's tokenizer (needed by ``predict`` and ``save_pretrained``).
        pooler_kwargs: options per pooler type, e.g. ``{"dr": {"iterations": 3}}``.
        task: the task it was trained for (``autorc_nni.tasks``: rc, ner, coref), which decides
            what ``predict`` reads and returns.
        task_options: the task's options it was trained with (``TaskOptions`` fields).
    """

    def __init__(
        self,
        arch: Architecture | str,
        encoder: Any,  # an HF BertModel-like model
        num_labels: int,
        dropout: float = 0.1,
        max_len: int = 256,
        labels: Sequence[str] | None = None,
        tokenizer: Any = None,
        pooler_kwargs: dict[str, dict[str, Any]] | None = None,
        task: str = "rc",
        task_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.task = task
        self.task_options = dict(task_options or {})
        self.arch = resolve_architecture(arch)
        if labels is not None and len(labels) != num_labels:
            raise ValueError(f"{len(labels)} labels given for num_labels={num_labels}")
        self.labels = list(labels) if labels is not None else [str(i) for i in range(num_labels)]
        self.num_labels = num_labels
        self.dropout_p = dropout
        self.max_len = max_len
        self.pooler_kwargs = dict(pooler_kwargs or {})
        self.tokenizer = tokenizer

        self.encoder = encoder
        hidden = encoder.config.hidden_size
        init_std = getattr(encoder.config, "initializer_range", 0.02)
        self.posenc = POSENCS.get(self.arch.posenc)(hidden, max_len=max_len, init_std=init_std)
        self.dim = self.posenc.out_dim(hidden)

        dense = getattr(getattr(encoder, "pooler", None), "dense", None)
        needed = self.arch.needed_parts()
        self.entity = PoolerGroup(
            self.dim,
            [self.arch.pooler(p) for p in needed if p in ENTITY_PARTS],
            dense,
            self.pooler_kwargs,
        )
        self.context = PoolerGroup(
            self.dim,
            [self.arch.pooler(p) for p in needed if p in CONTEXT_PARTS],
            dense,
            self.pooler_kwargs,
        )
        ops = {self.arch.interaction(s) for s in self.arch.slots() if s not in PARTS}
        self.interactions = nn.ModuleDict({op: INTERACTIONS.get(op)() for op in sorted(ops)})
        self.classifier = Classifier(len(self.arch.slots()) * self.dim, num_labels, dropout)

    # -- forward ---------------------------------------------------------------------------
    def group(self, part: str) -> PoolerGroup:
        """The pooler group of a part: ``entity`` for e1/e2, ``context`` for c0/c1/c2."""
        return self.entity if part in ENTITY_PARTS else self.context

    def encode(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Token states the poolers see: ``input_ids (B, L)`` -> ``(B, L, D)``."""
        return encode_with_posenc(self.encoder, self.posenc, inputs)

    def pool(self, states: torch.Tensor, spans: torch.Tensor) -> dict[str, torch.Tensor]:
        """Pooled vectors of the needed parts: ``(B, L, D), (B, 5, 2) -> {part: (B, D)}``."""
        masks = part_masks(spans, states.shape[1])  # (B, 5, L)
        return {
            p: self.group(p)(self.arch.pooler(p), states, masks[:, PARTS.index(p)])
            for p in self.arch.needed_parts()
        }

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        """``batch`` as produced by ``autorc_nni.batching.collate`` -> logits ``(B, C)``.

        Reads ``batch[arch.span]`` (``input_ids``, ``attention_mask``, ``spans``, ``dist``).
        """
        try:
            inputs = batch[self.arch.span]
        except KeyError:
            raise KeyError(
                f"batch has no {self.arch.span!r} input (formats present: "
                f"{[k for k, v in batch.items() if isinstance(v, dict)]}); featurize with "
                f"formats including {self.arch.span!r}"
            ) from None
        states = self.encode(inputs)  # (B, L, D)
        pooled = self.pool(states, inputs["spans"])  # {part: (B, D)}
        features = assemble_features(self.arch, pooled, self.interactions)  # (B, S·D)
        return self.classifier(features)  # (B, C)

    # -- prediction ------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def predict(self, inputs: Sequence[Any], batch_size: int = 32) -> list[Any]:
        """Predictions for ``inputs``, as the model's task makes them (``Task.predict``).

        rc: ``(label, probability)`` per statement. A statement is a ``RelationExample`` or an
        OpenNRE-style dict: ``{"text": ..., "h": {"pos": [s, e]}, "t": {"pos": [s, e]}}`` with
        character offsets, or ``{"token": [...], "h": {"pos": ...}, "t": {"pos": ...}}`` with
        word offsets; one the featurizer drops (its two entities do not fit together in
        ``max_len`` wordpieces) gets ``(None, 0.0)``. The usage OpenNRE users know from
        ``model.infer``::

            model = RCModel.from_pretrained("runs/be/model")
            model.predict([RelationExample(tokens, head=(0, 1), tail=(3, 5), label=None, id="x")])

        ner: a dict per sentence (``{"text": ...}`` or ``{"tokens": [...]}``, optional ``id``):
        ``{"id", "tokens", "entities": [{"start", "end", "type", "prob", "words"}, ...]}`` (word
        offsets, end exclusive; with ``text``, ``char_start`` / ``char_end`` too). coref: a dict
        per document (``{"sentences": [[word, ...], ...], "mentions": [[s, e], ...]}``, word
        offsets over the document): ``{"id", "clusters": [[[s, e], ...], ...], ...}``.
        """
        from autorc_nni.tasks import get_task

        task = get_task(self.task)
        units = [
            task.read_input(x, f"example {i}") if isinstance(x, Mapping) else x
            for i, x in enumerate(inputs)
        ]
        out = task.predict(self, units, batch_size=batch_size)
        if self.task == "rc":
            return [(row["label"], row["prob"]) for row in out]
        return out

    @torch.no_grad()
    def statement_probs(
        self, examples: Sequence[RelationExample], batch_size: int = 32
    ) -> list[torch.Tensor | None]:
        """The label probabilities ``(C,)`` of each statement (gold labels are ignored);
        ``None`` for one the featurizer drops (its two entities do not fit in ``max_len``
        wordpieces together). Batches by length, in eval mode: ``batch_size`` statements a
        batch, or, for a model that :meth:`shares_input`, ``batch_size`` distinct texts with all
        their statements (each text encoded once)."""
        from autorc_nni.batching import collate, text_keys
        from autorc_nni.featurize import Featurizer

        if self.tokenizer is None:
            raise AutoRCError("this model has no tokenizer; build it with tokenizer=… to predict")
        # Our own ids (the index) so rows map back to examples whatever their ids are.
        examples = [dataclasses.replace(ex, label=None, id=str(i)) for i, ex in enumerate(examples)]
        results: list[torch.Tensor | None] = [None] * len(examples)
        fmt = self.arch.span
        featurizer = Featurizer(self.tokenizer, self.max_len, formats=[fmt], cache=False)
        split = featurizer.featurize(examples, {})
        rows = split.rows.to_list()
        if not rows:
            return results
        # by length, the statements of one text side by side (levitated markers: one pass each)
        keys = text_keys(rows, [fmt]) or [()] * len(rows)
        first: dict[tuple[int, ...], int] = {}
        rank = [first.setdefault(k, len(first)) for k in keys]
        order = sorted(range(len(rows)), key=lambda i: (len(rows[i][f"{fmt}_input_ids"]), rank[i]))
        shared = self.shares_input()
        if shared:  # batch_size distinct inputs a batch, with all their statements
            groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
            for i in order:
                groups[tuple(rows[i][f"{fmt}_input_ids"])].append(i)
            inputs = list(groups.values())
            batches = [
                [i for group in inputs[s : s + batch_size] for i in group]
                for s in range(0, len(inputs), batch_size)
            ]
        else:
            batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
        was_training = self.training
        self.eval()
        device = self.device
        pad_id = self.tokenizer.pad_token_id or 0
        try:
            for idx in batches:
                batch = collate([rows[i] for i in idx], [fmt], max_len=self.max_len, pad_id=pad_id)
                batch[fmt] = {k: v.to(device) for k, v in batch[fmt].items()}
                logits = self.shared_input_logits(batch[fmt]) if shared else self(batch)
                probs = torch.softmax(logits.float(), dim=-1).cpu()  # (B, C)
                for i, p in zip(idx, probs, strict=True):
                    results[int(rows[i]["id"])] = p
        finally:
            self.train(was_training)
        return results

    def shares_input(self) -> bool:
        """Whether statements of one text have one encoder input: ``standard`` input and a
        positional encoding that leaves the embeddings alone (span NER's candidates of a
        sentence, the pairs of one sentence or coreference window)."""
        return self.arch.span == "standard" and not self.posenc.modifies_input

    def shared_input_logits(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Logits ``(B, C)`` of a batch whose statements share few distinct inputs (a model that
        :meth:`shares_input`): each distinct input is encoded once, then the heads run over the
        statements ``HEAD_CHUNK`` at a time (their states gathered from the distinct inputs')."""
        ids = inputs["input_ids"]  # (B, L)
        out, inverse = encode_distinct(self.encoder, ids, inputs["attention_mask"])  # (U, L, H)
        logits = []
        for c in range(0, ids.shape[0], HEAD_CHUNK):
            rows = slice(c, c + HEAD_CHUNK)
            own = out[rows] if inverse is None else out.index_select(0, inverse[rows])
            states = self.posenc.extend(own, inputs["dist"][rows])
            pooled = self.pool(states, inputs["spans"][rows])  # {part: (b, D)}
            features = assemble_features(self.arch, pooled, self.interactions)  # (b, S·D)
            logits.append(self.classifier(features))  # (b, C)
        return torch.cat(logits)  # (B, C)

    # -- persistence -----------------------------------------------------------------------
    def config_dict(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "num_labels": self.num_labels,
            "dropout": self.dropout_p,
            "max_len": self.max_len,
            "pooler_kwargs": self.pooler_kwargs,
            "task": self.task,
            "task_options": self.task_options,
        }

    def heads_state_dict(self) -> dict[str, torch.Tensor]:
        """The state dict without the encoder (what ``heads.safetensors`` holds)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("encoder.")}

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the model directory described in the module docstring; returns its path."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.arch.save(d / "architecture.json")
        (d / "labels.json").write_text(json.dumps(self.labels, indent=2) + "\n")
        (d / "config.json").write_text(json.dumps(self.config_dict(), indent=2) + "\n")
        # safetensors: loading never runs code; tied tensors are stored once each (cloned)
        from safetensors.torch import save_file

        heads = {
            k: v.detach().cpu().clone().contiguous() for k, v in self.heads_state_dict().items()
        }
        save_file(heads, str(d / HEADS_FILE))
        (d / "heads.pt").unlink(missing_ok=True)
        self.encoder.save_pretrained(d / "encoder")
        if self.tokenizer is not None:
            self.tokenizer.save_pretrained(d / "tokenizer")
        return d

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str | torch.device = "cpu") -> RCModel:
        """Load a directory written by ``save_pretrained`` (in eval mode, on ``device``)."""
        from transformers import AutoModel, AutoTokenizer

        d = Path(directory)
        if not d.is_dir():
            raise ModelLoadError(f"{d}: no such model directory")
        for name in ("architecture.json", "labels.json", "config.json", "encoder"):
            if not (d / name).exists():
                raise ModelLoadError(f"{d}: missing {name!r}; not a saved RCModel directory")
        heads_path = d / HEADS_FILE
        if not heads_path.is_file():
            heads_path = d / "heads.pt"  # written by earlier versions (loaded weights-only)
            if not heads_path.is_file():
                raise ModelLoadError(f"{d}: missing {HEADS_FILE!r}; not a saved RCModel directory")
        arch = Architecture.load(d / "architecture.json")
        try:
            cfg = json.loads((d / "config.json").read_text())
            labels = json.loads((d / "labels.json").read_text())
        except json.JSONDecodeError as e:
            raise ModelLoadError(f"{d}: invalid JSON: {e}") from None
        if cfg.get("format") != _FORMAT or cfg.get("version") != _VERSION:
            raise ModelLoadError(
                f"{d / 'config.json'}: format {cfg.get('format')!r} version "
                f"{cfg.get('version')!r}; expected {_FORMAT!r} version {_VERSION}"
            )
        encoder = AutoModel.from_pretrained(d / "encoder")
        tok_dir = d / "tokenizer"
        tokenizer = AutoTokenizer.from_pretrained(tok_dir) if tok_dir.is_dir() else None
        model = cls(
            arch,
            encoder,
            num_labels=cfg["num_labels"],
            dropout=cfg["dropout"],
            max_len=cfg["max_len"],
            labels=labels,
            tokenizer=tokenizer,
            pooler_kwargs=cfg.get("pooler_kwargs") or {},
            task=cfg.get("task") or "rc",  # absent in models saved before tasks were recorded
            task_options=cfg.get("task_options") or {},
        )
        if heads_path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(heads_path))
        else:
            state = torch.load(heads_path, map_location="cpu", weights_only=True)
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as e:  # a shape mismatch
            raise ModelLoadError(f"{heads_path}: does not match architecture.json: {e}") from None
        missing = [k for k in missing if not k.startswith("encoder.")]
        if missing or unexpected:
            raise ModelLoadError(
                f"{heads_path}: does not match architecture.json "
                f"(missing {missing}, unexpected {unexpected})"
            )
        return model.to(device).eval()
