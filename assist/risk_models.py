"""The installed risk model's file: JSON of its coefficients (not a pickle: loading it runs no code)."""

import json
import random
from functools import cache
from pathlib import Path

from domain.risk_model import RiskModel


def save_model(model: RiskModel, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{random.randrange(1 << 30)}.partial")
    partial.write_text(model.model_dump_json(indent=2) + "\n")
    partial.replace(path)  # whole or not at all: an API process reading it never sees half a model


def installed_model(path: Path) -> RiskModel | None:
    """The model at ``path``, re-read when the file changes; None when none is installed."""
    try:
        changed = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    return _read(path, changed)


@cache
def _read(path: Path, changed: int) -> RiskModel:
    return RiskModel.model_validate(json.loads(path.read_text()))
