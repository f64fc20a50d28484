"""Tokens and sparse features for matching user text against training phrases.

The features are deliberately simple and language-agnostic: normalised words, word pairs and
character trigrams. Words carry meaning, pairs carry word order ("can I" vs "I can"), trigrams make
typos, plurals and inflections overlap. Scripts written without spaces (Chinese, Japanese) are split
into single characters, so their pairs act as character bigrams.

Entity values found in the user's text are replaced by placeholder tokens such as ``<@media>`` or
``<@sys.number>`` before features are computed, so "what about Instagram page" and the annotated
training phrase "what about Facebook page" produce the same features.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_QUOTES = "'\u2019"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+(?:[{_QUOTES}][^\W{_CJK}]+)*")
_APOSTROPHES = re.compile(f"[{_QUOTES}]")

#: Relative weight of each feature family in a phrase vector.
WORD_WEIGHT = 1.0
PAIR_WEIGHT = 0.6
TRIGRAM_WEIGHT = 0.5

Vector = Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Token:
    """A normalised token and the span of the user's text it came from."""

    norm: str
    start: int
    end: int

    @property
    def is_placeholder(self) -> bool:
        return self.norm.startswith("<@")


def placeholder(entity_class: str) -> str:
    """The token that stands for any value of an entity class, e.g. ``<@sys.number>``."""
    return f"<{entity_class}>"


def normalize(text: str) -> str:
    """Case-fold and unify the forms of a word; apostrophes vanish (``what's`` -> ``whats``)."""
    return _APOSTROPHES.sub("", unicodedata.normalize("NFKC", text).casefold())


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """Split ``text`` into word tokens; spans are relative to ``text`` plus ``offset``."""
    return [Token(normalize(m.group()), m.start() + offset, m.end() + offset) for m in _TOKEN.finditer(text)]


def stem(word: str, language: str) -> str:
    """A light suffix strip for English so "bugs"/"bug" and "working"/"work" share a word feature."""
    if not language.startswith("en") or word.startswith("<@"):
        return word
    for suffix, min_len in (("ing", 6), ("ed", 5), ("es", 5), ("s", 4)):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def features(words: Sequence[str], language: str) -> dict[str, float]:
    """Weighted feature counts of a token sequence (before IDF weighting)."""
    counts: dict[str, float] = {}
    stems = [stem(word, language) for word in words]
    for word in stems:
        _add(counts, f"w:{word}", WORD_WEIGHT)
        if not word.startswith("<@") and len(word) > 1:
            padded = f" {word} "
            for i in range(len(padded) - 2):
                _add(counts, f"c:{padded[i : i + 3]}", TRIGRAM_WEIGHT)
    for first, second in itertools.pairwise(stems):
        _add(counts, f"p:{first} {second}", PAIR_WEIGHT)
    return counts


def _add(counts: dict[str, float], key: str, weight: float) -> None:
    counts[key] = counts.get(key, 0.0) + weight


def idf_table(documents: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Smoothed inverse document frequency of every feature over ``documents``."""
    frequency: dict[str, int] = {}
    total = 0
    for document in documents:
        total += 1
        for key in document:
            frequency[key] = frequency.get(key, 0) + 1
    return {key: math.log((1 + total) / (1 + count)) + 1.0 for key, count in frequency.items()}


def weigh(counts: Mapping[str, float], idf: Mapping[str, float], unseen_idf: float) -> dict[str, float]:
    """TF-IDF weights scaled to unit length, so a dot product is a cosine similarity."""
    weighted = {key: value * idf.get(key, unseen_idf) for key, value in counts.items()}
    norm = math.sqrt(sum(value * value for value in weighted.values()))
    if norm == 0.0:
        return {}
    return {key: value / norm for key, value in weighted.items()}
