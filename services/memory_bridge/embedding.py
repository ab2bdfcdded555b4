"""A local text embedding that needs no model and no network: hashed features, in the spirit of OpenMemory's
"synthetic" embedding (openmemory.md §4).

Words, word pairs and the character trigrams of longer words are hashed (CRC-32, so the same text gives the
same vector in every process) into a fixed number of signed buckets and L2-normalised. Texts that share
words and word shapes ("OOMKilled" and "oomkill") get a high cosine; unrelated texts stay near 0. It is what
the embedded store indexes, and what the OpenMemory backend uses to score OpenMemory's candidates the same
way, so both backends rank alike. Called by the stores and by selection; no I/O.
"""

from __future__ import annotations

import re
import zlib

import numpy as np
import numpy.typing as npt

DIMENSIONS = 256
Vector = npt.NDArray[np.float32]

_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "is", "it", "its", "of"),
        *("on", "or", "that", "the", "this", "to", "was", "were", "with"),
    }
)
_WORD, _PAIR, _TRIGRAM = 1.0, 0.5, 0.2


def tokens(text: str) -> list[str]:
    """Lower-case words of two characters or more, without the commonest English stop words."""
    return [t for t in _TOKEN.findall(text.lower()) if len(t) > 1 and t not in _STOPWORDS]


def _features(words: list[str]) -> tuple[list[str], list[float]]:
    names: list[str] = []
    weights: list[float] = []
    for i, word in enumerate(words):
        names.append(word)
        weights.append(_WORD)
        if i + 1 < len(words):
            names.append(f"{word} {words[i + 1]}")
            weights.append(_PAIR)
        if len(word) > 3:
            padded = f"^{word}$"
            grams = [padded[j : j + 3] for j in range(len(padded) - 2)]
            names.extend(f"#{g}" for g in grams)
            weights.extend([_TRIGRAM] * len(grams))
    return names, weights


def embed(text: str, dimensions: int = DIMENSIONS) -> Vector:
    """The unit vector of `text` (all zeros when it has no words)."""
    names, weights = _features(tokens(text))
    if not names:
        return np.zeros(dimensions, dtype=np.float32)
    hashes = np.fromiter((zlib.crc32(n.encode()) for n in names), dtype=np.uint64, count=len(names))
    buckets = (hashes % dimensions).astype(np.intp)
    signs = np.where((hashes >> np.uint64(31)) & np.uint64(1), -1.0, 1.0)
    vector = np.bincount(buckets, weights=signs * np.asarray(weights), minlength=dimensions).astype(np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def cosine(a: Vector, b: Vector) -> float:
    """Cosine of two unit vectors, clamped to 0..1 (opposite is as unrelated as orthogonal here)."""
    return max(0.0, min(1.0, float(np.dot(a, b))))


def overlap(query_words: list[str], text: str) -> float:
    """The share of the query's distinct words that appear in `text`."""
    wanted = set(query_words)
    if not wanted:
        return 0.0
    return len(wanted & set(tokens(text))) / len(wanted)
