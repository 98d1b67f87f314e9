"""The one record type every reader produces."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RelationExample:
    """A relation statement: words, the head (e1) and tail (e2) spans, and the label.

    Spans are ``(start, end)`` word indices into ``tokens``, end exclusive. e1 is always the head
    and e2 the tail: direction matters. Spans may be adjacent, nested or overlapping.
    ``id`` identifies the record in its source (``file:line`` or the corpus' own id) so errors and
    predictions can point back to it. ``label`` is ``None`` for unlabeled input (prediction).
    """

    tokens: tuple[str, ...]
    head: tuple[int, int]
    tail: tuple[int, int]
    label: str | None
    id: str
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        n = len(self.tokens)
        for name, (s, e) in (("head", self.head), ("tail", self.tail)):
            if not (0 <= s < e <= n):
                raise ValueError(
                    f"{self.id}: {name} span {[s, e]} is outside the sentence of {n} tokens "
                    "or empty"
                )
