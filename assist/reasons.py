"""Scoring a customer's comment against the reason codes with WordLlama, a static text-embedding model
whose weights and tokenizer ship inside its wheel.

Loaded from the wheel's own files, never through ``WordLlama.load()`` (it looks for the tokenizer in a
folder the wheel does not have and then downloads it): nothing is fetched, ever. Loaded once per process,
on first use (``warm()`` at start-up takes the cost then).
"""

import threading
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

import numpy as np

from assist.reason_phrasings import PHRASINGS
from domain.reason_suggestions import model_reads, suggestion
from domain.returns import Reason, SuggestedReason

if TYPE_CHECKING:
    from wordllama.inference import WordLlamaInference

WEIGHTS = "weights/l2_supercat_256.safetensors"
TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
_loading = threading.Lock()


class ReasonScorer:
    """The model and every reason's phrasings, embedded once."""

    def __init__(self, model: "WordLlamaInference") -> None:
        self.model = model
        self.reasons = [reason for reason, phrasings in PHRASINGS.items() for _ in phrasings]
        self.phrasings = self._embed([text for phrasings in PHRASINGS.values() for text in phrasings])

    def _embed(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.embed(texts)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)

    def scores(self, comment: str) -> dict[Reason, float]:
        """Per reason, the similarity of the comment to its closest phrasing."""
        similarities = self.phrasings @ self._embed([comment])[0]
        best: dict[Reason, float] = {}
        for reason, similarity in zip(self.reasons, similarities, strict=True):
            best[reason] = max(best.get(reason, -1.0), float(similarity))
        return best

    def suggest(self, comment: str, chosen: Reason) -> SuggestedReason | None:
        if not comment.strip() or not model_reads(comment):
            return None
        return suggestion(self.scores(comment), chosen)


@cache
def _scorer() -> ReasonScorer:
    from safetensors import safe_open
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

    package = files("wordllama")
    with safe_open(str(package / WEIGHTS), framework="np", device="cpu") as weights:
        embedding = weights.get_tensor("embedding.weight")
    tokenizer = Tokenizer.from_file(str(package / TOKENIZER))
    return ReasonScorer(WordLlamaInference(embedding, tokenizer))


def reason_scorer() -> ReasonScorer:
    """The process's scorer, loaded on first use (about a second; thread-safe)."""
    with _loading:
        return _scorer()


def warm() -> None:
    """Load the model now (API start-up), not in the first request that needs it."""
    reason_scorer()
