"""Where evidence photos are kept: a small interface, and the folder under the data directory that
implements it by default (another store, such as an object store, implements the same three calls)."""

import asyncio
import re
from pathlib import Path
from typing import Protocol

from domain.evidence import EVIDENCE_ID_PATTERN

_ID = re.compile(EVIDENCE_ID_PATTERN)


class EvidenceFiles(Protocol):
    async def put(self, evidence_id: str, content: bytes) -> None: ...

    async def get(self, evidence_id: str) -> bytes | None: ...

    async def delete(self, evidence_id: str) -> None: ...


class FolderEvidenceFiles:
    """One file per photo, named by its id, in ``folder`` (created when first needed)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, evidence_id: str) -> Path:
        # Ids are made by the API; the check keeps a forged one from naming a path outside the folder.
        if not _ID.fullmatch(evidence_id):
            raise ValueError(f"not an evidence id: {evidence_id!r}")
        return self.folder / evidence_id

    async def put(self, evidence_id: str, content: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(evidence_id), content)

    async def get(self, evidence_id: str) -> bytes | None:
        path = self._path(evidence_id)
        return await asyncio.to_thread(lambda: path.read_bytes() if path.exists() else None)

    async def delete(self, evidence_id: str) -> None:
        await asyncio.to_thread(self._path(evidence_id).unlink, missing_ok=True)

    def _write(self, path: Path, content: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(content)
        partial.replace(path)  # whole or not at all
