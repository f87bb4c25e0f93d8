"""``python -m bench assist``: the assistance's figures against their targets (docs/assistance.md).

- Reason suggestions on the labelled comments of tests/data/reason_comments.tsv: top-1 accuracy on the
  comments that get a suggestion (target ≥ 85 %), the share that gets none, p95 time per comment (≤ 10 ms).
- Duplicate photos on a generated set: every photo's resized, recompressed, 5 %-cropped and colour-shifted
  copies against the other photos and their copies: recall (≥ 95 %) and false positives (≤ 1 %) at the
  distance the evidence check uses, and at its neighbours.
- The risk model trained on a generated history with a known abuse pattern (bench/risk_history.py): its
  held-out AUC against the rule-based score's on the same held-out returns (target: above the rules').
"""

import argparse
import itertools
import time
from dataclasses import dataclass
from pathlib import Path

from assist.photos import perceptual_hash
from assist.reasons import reason_scorer
from assist.risk_training import train
from bench.measure import percentiles, verdict
from bench.photo_set import EDITS, textured_photo
from bench.risk_history import generated_history
from domain.evidence import SAME_PHOTO_MAX_DISTANCE, hamming_distance
from domain.reason_suggestions import clear_reason, model_reads

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "reason_comments.tsv"
NO_REASON = "none"


def labelled_comments() -> list[tuple[str, str]]:
    """(reason, comment) pairs; the reason "none" marks a comment that says no reason clearly."""
    rows = [line.split("\t", 1) for line in LABELLED.read_text().splitlines() if line and not line.startswith("#")]
    return [(reason, comment) for reason, comment in rows]


def reason_figures() -> dict[str, float]:
    scorer = reason_scorer()
    rows = labelled_comments()
    suggested = correct = 0
    durations = []
    for label, comment in rows:
        started = time.perf_counter()
        found = clear_reason(scorer.scores(comment)) if model_reads(comment) else None
        durations.append(time.perf_counter() - started)
        if found is not None:
            suggested += 1
            correct += found.reason.value == label
    return {
        "comments": len(rows),
        "suggested": suggested,
        "accuracy_on_suggested": correct / suggested if suggested else 0.0,
        "share_without_suggestion": 1 - suggested / len(rows),
        "p95_ms": percentiles(durations)["p95"],
    }


@dataclass
class PhotoFigures:
    photos: int
    same_pairs: int
    different_pairs: int
    # threshold → (recall, false-positive rate)
    sweep: dict[int, tuple[float, float]]

    @property
    def recall(self) -> float:
        return self.sweep[SAME_PHOTO_MAX_DISTANCE][0]

    @property
    def false_positive_rate(self) -> float:
        return self.sweep[SAME_PHOTO_MAX_DISTANCE][1]


def photo_figures(originals: int) -> PhotoFigures:
    """Distances of copies to their original and to each other (should match) and across different photos
    and their copies (should not)."""
    hashes: list[tuple[int, str]] = []  # (which original, hash), originals and copies alike
    for seed in range(originals):
        photo = textured_photo(10_000 + seed)
        hashes.append((seed, perceptual_hash(photo)))
        hashes += [(seed, perceptual_hash(edit(photo))) for edit in EDITS.values()]
    same: list[int] = []
    different: list[int] = []
    for (first, first_hash), (second, second_hash) in itertools.combinations(hashes, 2):
        (same if first == second else different).append(hamming_distance(first_hash, second_hash))
    sweep = {
        threshold: (
            sum(d <= threshold for d in same) / len(same),
            sum(d <= threshold for d in different) / len(different),
        )
        for threshold in range(SAME_PHOTO_MAX_DISTANCE - 4, SAME_PHOTO_MAX_DISTANCE + 5, 2)
    }
    return PhotoFigures(len(hashes), len(same), len(different), sweep)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench assist", description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=80, help="original photos generated (default 80)")
    parser.add_argument(
        "--risk-returns", type=int, default=1500, help="returns in the risk model's generated history (default 1500)"
    )
    args = parser.parse_args(argv)
    reasons = reason_figures()
    photos = photo_figures(args.photos)
    risk = train(generated_history(args.risk_returns))
    checks = [
        (
            "reason accuracy on suggested",
            f"{reasons['accuracy_on_suggested']:.1%}",
            "≥ 85 %",
            reasons["accuracy_on_suggested"] >= 0.85,
        ),
        ("reason share without suggestion", f"{reasons['share_without_suggestion']:.1%}", "reported", True),
        ("reason p95 per comment", f"{reasons['p95_ms']} ms", "≤ 10 ms", reasons["p95_ms"] <= 10),
        (
            f"duplicate-photo recall (≤ {SAME_PHOTO_MAX_DISTANCE} bits)",
            f"{photos.recall:.1%}",
            "≥ 95 %",
            photos.recall >= 0.95,
        ),
        (
            "duplicate-photo false positives",
            f"{photos.false_positive_rate:.2%}",
            "≤ 1 %",
            photos.false_positive_rate <= 0.01,
        ),
        (
            "risk model AUC, held out",
            f"{risk.held_out_auc:.3f}",
            f"> {risk.rules_held_out_auc:.3f} (rules)",
            risk.held_out_auc > risk.rules_held_out_auc,
        ),
    ]
    print(f"reason suggestions: {reasons['comments']} labelled comments, {reasons['suggested']} suggested")
    print(
        f"duplicate photos: {photos.photos} photos, {photos.same_pairs} same-photo pairs, "
        f"{photos.different_pairs} different-photo pairs"
    )
    for threshold, (recall, false_positives) in photos.sweep.items():
        print(f"  at ≤ {threshold:2d} bits: recall {recall:.1%}, false positives {false_positives:.2%}")
    print(f"risk model: {args.risk_returns} generated returns, a share held out")
    print(f"\n  {'figure':42} {'measured':>10}  {'target':8}")
    for name, measured, target, ok in checks:
        print(f"  {name:42} {measured:>10}  {target:8} {verdict(ok)}")
    return 0 if all(ok for *_, ok in checks) else 1
