"""Entity positional encodings (paper §3.3), registered in ``POSENCS`` under the names of
``autorc_nni.architecture.POSENC_NAMES`` (checked at import):

- ``none``: the token states unchanged;
- ``add``: two learned (2·max_len+1, H) tables, one per entity, added to BERT's input embeddings;
- ``concat``: two learned (2·max_len+1, 12) tables appended to BERT's output states, so parts
  are H + 24 wide.

``encode_with_posenc`` runs the encoder with one of them: the token states the poolers see.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from autorc_nni.architecture import POSENC_NAMES
from autorc_nni.errors import AutoRCError
from autorc_nni.registry import Registry

__all__ = [
    "POSENCS",
    "CONCAT_SIZE",
    "PositionalEncoding",
    "NoPositionalEncoding",
    "AddPositionalEncoding",
    "ConcatPositionalEncoding",
    "encode_with_posenc",
]

POSENCS: Registry[type[PositionalEncoding]] = Registry("positional encoding")

CONCAT_SIZE = 12  # width of each of the two ``concat`` tables (docs/design.md §3)


class PositionalEncoding(nn.Module):
    """Base of the entity positional encodings.

    Life cycle:

    1. ``__init__(hidden, max_len=256, init_std=0.02)`` once per model; ``hidden`` is the
       encoder's width H. ``out_dim(hidden)`` says how wide the token states are afterwards.
    2. Per batch, before the encoder: ``embed(inputs_embeds (B, L, H), dist (B, 2, L))`` returns
       the input embeddings to feed BERT (as ``inputs_embeds``) — only called when
       ``modifies_input`` is true; BERT then adds its own position and token-type embeddings.
    3. Per batch, after the encoder: ``extend(states (B, L, H), dist (B, 2, L))`` returns the
       states the poolers see, ``(B, L, out_dim(H))``.

    ``dist[:, k, i]`` is token i's wordpiece index minus the start of entity k+1 (e1, e2); it is
    clipped here to ±max_len and shifted by max_len to index the tables (rows 0 … 2·max_len).
    Two tables, one per entity, ``tables.0`` and ``tables.1``.
    """

    modifies_input: bool = False

    def __init__(self, hidden: int, max_len: int = 256, init_std: float = 0.02) -> None:
        super().__init__()
        self.hidden = hidden
        self.max_len = max_len
        width = self.table_width(hidden)
        if width:
            self.tables = nn.ModuleList(nn.Embedding(2 * max_len + 1, width) for _ in range(2))
            for t in self.tables:
                assert isinstance(t, nn.Embedding)
                nn.init.normal_(t.weight, std=init_std)

    def table_width(self, hidden: int) -> int:
        """Width of each of the two tables (0: no tables)."""
        return 0

    def out_dim(self, hidden: int) -> int:
        """Width of the token states after ``extend``."""
        return hidden

    def lookup(self, dist: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``dist (B, 2, L)`` -> the e1 and e2 rows, each ``(B, L, width)``."""
        idx = dist.clamp(-self.max_len, self.max_len) + self.max_len  # (B, 2, L)
        return self.tables[0](idx[:, 0]), self.tables[1](idx[:, 1])

    def embed(self, inputs_embeds: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
        return inputs_embeds

    def extend(self, states: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
        return states


@POSENCS.register("none")
class NoPositionalEncoding(PositionalEncoding):
    """No entity positional encoding (no parameters)."""


@POSENCS.register("add")
class AddPositionalEncoding(PositionalEncoding):
    """Two (2·max_len+1, H) tables added to BERT's input (word) embeddings."""

    modifies_input = True

    def table_width(self, hidden: int) -> int:
        return hidden

    def embed(self, inputs_embeds: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
        p1, p2 = self.lookup(dist)  # (B, L, H) each
        return inputs_embeds + p1 + p2  # (B, L, H)


@POSENCS.register("concat")
class ConcatPositionalEncoding(PositionalEncoding):
    """Two (2·max_len+1, 12) tables concatenated to BERT's output states: H -> H + 24."""

    def table_width(self, hidden: int) -> int:
        return CONCAT_SIZE

    def out_dim(self, hidden: int) -> int:
        return hidden + 2 * CONCAT_SIZE

    def extend(self, states: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
        p1, p2 = self.lookup(dist)  # (B, L, 12) each
        return torch.cat([states, p1.to(states.dtype), p2.to(states.dtype)], dim=-1)  # (B, L, H+24)


# -- parts, features, classifier ---------------------------------------------------------------
def encode_with_posenc(
    encoder: Any, posenc: PositionalEncoding, inputs: dict[str, torch.Tensor]
) -> torch.Tensor:
    """The token states the poolers see: ``input_ids (B, L)`` -> ``(B, L, out_dim)``.

    Shared by ``RCModel`` and the supernet. When the input is not changed per statement
    (``posenc`` leaves the embeddings alone) identical rows are encoded once: the candidate
    spans of one sentence in the ``standard`` format (span NER) or the pairs of one sentence
    share one encoder pass, and their states are gathered back per row.
    """
    ids, attn, dist = inputs["input_ids"], inputs["attention_mask"], inputs["dist"]
    if "text_len" in inputs:  # levitated markers
        return posenc.extend(_encode_levitated(encoder, posenc, inputs), dist)
    if posenc.modifies_input:
        embeds = encoder.get_input_embeddings()(ids)  # (B, L, H)
        embeds = posenc.embed(embeds, dist)  # (B, L, H)
        states = encoder(inputs_embeds=embeds, attention_mask=attn).last_hidden_state
    else:
        out, inverse = encode_distinct(encoder, ids, attn)
        states = out if inverse is None else out.index_select(0, inverse)  # (B, L, H)
    return posenc.extend(states, dist)  # (B, L, D)


def encode_distinct(
    encoder: Any, ids: torch.Tensor, attn: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The encoder's states of ``ids`` / ``attn (B, L)`` with each distinct row encoded once:
    ``(U, L, H)`` and each row's index into them (``(B,)``), or ``(B, L, H)`` and ``None`` when
    every row differs."""
    L = ids.shape[1]
    uniq, inverse = torch.unique(torch.cat([ids, attn], 1), dim=0, return_inverse=True)
    if uniq.shape[0] < ids.shape[0]:  # (U, 2L): U distinct rows
        return encoder(input_ids=uniq[:, :L], attention_mask=uniq[:, L:]).last_hidden_state, inverse
    return encoder(input_ids=ids, attention_mask=attn).last_hidden_state, None


# the most marker tokens one packed pass holds beside its text (attention grows with the square)
PACK_MARKERS = 256


def levitated_mask(owner: torch.Tensor, valid: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The additive attention mask of levitated markers: ``owner (B, L)`` is -1 for a text token
    and the statement's number for a marker, ``valid (B, L)`` false on padding. A text token
    sees the text only; a marker sees the text and the markers of its own statement. Returns
    ``(B, 1, L, L)``: 0 where query i may attend key j, the dtype's minimum elsewhere."""
    text = (owner < 0) & valid  # (B, L)
    same = (owner.unsqueeze(2) == owner.unsqueeze(1)) & (owner.unsqueeze(2) >= 0)  # (B, L, L)
    allowed = text.unsqueeze(1) | (same & valid.unsqueeze(1))  # (B, L, L): query i, key j
    mask = torch.zeros(allowed.shape, dtype=dtype, device=owner.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min).unsqueeze(1)


def _encode_levitated(
    encoder: Any, posenc: PositionalEncoding, inputs: dict[str, torch.Tensor]
) -> torch.Tensor:
    """Token states ``(B, L, H)`` of levitated-marker rows (text, then the row's markers).

    The rows that share their text (the candidate spans or pairs of one sentence) are packed:
    one pass holds the text once and the markers of up to ``PACK_MARKERS`` tokens' worth of
    rows, each row's markers seeing the text and each other only; the states are then laid out
    per row as if it had been encoded alone, which the mask makes exact (the text never sees a
    marker). With a positional encoding that changes the embeddings per row nothing is shared.
    """
    kind = getattr(encoder.config, "model_type", "bert")
    if kind != "bert":  # position ids from 0 and a 4D additive mask: what BertModel reads
        raise AutoRCError(
            f"span=levitated needs a BERT-type encoder (absolute position ids from 0, a 4D "
            f"attention mask); this encoder is {kind!r}"
        )
    ids, attn, pos = inputs["input_ids"], inputs["attention_mask"], inputs["position_ids"]
    text_len = inputs["text_len"].tolist()
    lengths = attn.sum(1).tolist()
    dtype = encoder.get_input_embeddings().weight.dtype
    B, L = ids.shape
    if posenc.modifies_input:
        owner = torch.arange(L, device=ids.device).unsqueeze(0).expand(B, L)
        owner = torch.where(owner < inputs["text_len"].unsqueeze(1), -1, 0)  # (B, L)
        embeds = posenc.embed(encoder.get_input_embeddings()(ids), inputs["dist"])  # (B, L, H)
        mask = levitated_mask(owner, attn.bool(), dtype)  # (B, 1, L, L)
        return encoder(
            inputs_embeds=embeds, attention_mask=mask, position_ids=pos
        ).last_hidden_state
    groups: dict[tuple[int, ...], list[int]] = {}
    for i in range(B):
        groups.setdefault(tuple(ids[i, : text_len[i]].tolist()), []).append(i)
    packs: list[tuple[int, list[int]]] = []  # (a row holding the text, the rows of the pack)
    for rows in groups.values():
        chunk: list[int] = []
        size = 0
        for i in rows:
            m = lengths[i] - text_len[i]
            if chunk and size + m > PACK_MARKERS:
                packs.append((chunk[0], chunk))
                chunk, size = [], 0
            chunk.append(i)
            size += m
        packs.append((chunk[0], chunk))
    lp = max(text_len[t] + sum(lengths[i] - text_len[i] for i in rows) for t, rows in packs)
    P = len(packs)
    p_ids = torch.zeros((P, lp), dtype=ids.dtype, device=ids.device)
    p_pos = torch.zeros((P, lp), dtype=pos.dtype, device=ids.device)
    owner = torch.full((P, lp), -1, dtype=torch.long, device=ids.device)
    valid = torch.zeros((P, lp), dtype=torch.bool, device=ids.device)
    where: list[tuple[int, int, int]] = []  # (row, pack, first marker column in the pack)
    for p, (t, rows) in enumerate(packs):
        n = text_len[t]
        p_ids[p, :n], p_pos[p, :n] = ids[t, :n], pos[t, :n]
        col = n
        for k, i in enumerate(rows):
            m = lengths[i] - text_len[i]
            p_ids[p, col : col + m] = ids[i, text_len[i] : lengths[i]]
            p_pos[p, col : col + m] = pos[i, text_len[i] : lengths[i]]
            owner[p, col : col + m] = k
            where.append((i, p, col))
            col += m
        valid[p, :col] = True
    mask = levitated_mask(owner, valid, dtype)  # (P, 1, lp, lp)
    out = encoder(input_ids=p_ids, attention_mask=mask, position_ids=p_pos).last_hidden_state
    states = out.new_zeros((B, L, out.shape[-1]))  # (B, L, H)
    for i, p, col in where:
        n, m = text_len[i], lengths[i] - text_len[i]
        states[i, :n] = out[p, :n]
        states[i, n : n + m] = out[p, col : col + m]
    return states


POSENCS.check_names(POSENC_NAMES, "autorc_nni.architecture.POSENC_NAMES")
