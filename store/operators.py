"""Operator accounts (the people who work in the console) and their signed-in browsers.

A password is stored as an argon2id hash (argon2-cffi's defaults, RFC 9106's low-memory
profile); a hash made with older parameters is replaced at the next successful login.
A session token is 256 random bits in the cookie and its SHA-256 in ``console_sessions``:
a stolen database row cannot be replayed as a cookie. A session ends at logout, after
``idle`` without a request, or as soon as its operator is disabled.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import as_utc
from store.tables import ConsoleSession, OperatorRow

_hasher = PasswordHasher()
# Verified against when the name is unknown, so a login takes as long whether or not the name exists.
_UNKNOWN_NAME_HASH = _hasher.hash(secrets.token_urlsafe(16))
# An operator's name is its id in the audit trail: short, readable, never mistaken for an API key's id.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 12
LANGUAGES = ("en", "zh-Hans")
# A session's last use is written at most this often, not on every request.
TOUCH_INTERVAL = timedelta(seconds=60)


class OperatorRefused(ValueError):
    """A name, password or language an operator account cannot have; the message says why."""


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    language: str


@dataclass(frozen=True)
class SignedIn:
    operator: Operator
    csrf_token: str


def _operator(row: OperatorRow) -> Operator:
    return Operator(id=row.id, name=row.name, language=row.language)


def check_account(name: str, password: str, language: str) -> None:
    if not NAME_PATTERN.match(name) or name.startswith("key_"):
        raise OperatorRefused(
            "a name is 2-64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise OperatorRefused(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if language not in LANGUAGES:
        raise OperatorRefused(f"the language is one of {', '.join(LANGUAGES)}")


async def save_operator(
    session: AsyncSession, name: str, password: str, now: datetime, language: str = "en", *, replace: bool = False
) -> Operator:
    """Create an operator; with ``replace`` an existing one gets the new password, is enabled again and loses
    its sessions. Raises ``OperatorRefused`` for a bad name or password, or a name taken without ``replace``."""
    check_account(name, password, language)
    row = await session.scalar(select(OperatorRow).where(OperatorRow.name == name))
    if row is not None and not replace:
        raise OperatorRefused(f"an operator named {name} exists already")
    if row is None:
        row = OperatorRow(id="op_" + secrets.token_hex(8), name=name, created_at=now, language=language)
        session.add(row)
    else:
        await session.execute(delete(ConsoleSession).where(ConsoleSession.operator_id == row.id))
    row.password_hash, row.disabled_at = _hasher.hash(password), None
    await session.flush()
    return _operator(row)


async def disable_operator(session: AsyncSession, name: str, now: datetime) -> bool:
    """Disable the operator and end its sessions; False when no enabled operator has that name."""
    row = await session.scalar(select(OperatorRow).where(OperatorRow.name == name, OperatorRow.disabled_at.is_(None)))
    if row is None:
        return False
    row.disabled_at = now
    await session.execute(delete(ConsoleSession).where(ConsoleSession.operator_id == row.id))
    return True


async def check_password(session: AsyncSession, name: str, password: str) -> Operator | None:
    """The enabled operator with this name and password, or None."""
    row = await session.scalar(select(OperatorRow).where(OperatorRow.name == name, OperatorRow.disabled_at.is_(None)))
    try:
        _hasher.verify(row.password_hash if row else _UNKNOWN_NAME_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
    return _operator(row)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(session: AsyncSession, operator: Operator, now: datetime) -> str:
    """A new session for ``operator``; returns the token the cookie carries."""
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=_token_hash(token),
            operator_id=operator.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
        )
    )
    return token


async def signed_in(session: AsyncSession, token: str, now: datetime, idle: timedelta) -> SignedIn | None:
    """Who holds this session token now: None when it is unknown, idle too long or its operator disabled."""
    found = (
        await session.execute(
            select(ConsoleSession, OperatorRow)
            .join(OperatorRow, OperatorRow.id == ConsoleSession.operator_id)
            .where(ConsoleSession.token_hash == _token_hash(token))
        )
    ).first()
    if found is None:
        return None
    console_session, row = found
    if row.disabled_at is not None or now - as_utc(console_session.last_seen_at) > idle:
        await session.delete(console_session)
        return None
    if now - as_utc(console_session.last_seen_at) > TOUCH_INTERVAL:
        console_session.last_seen_at = now
    return SignedIn(operator=_operator(row), csrf_token=console_session.csrf_token)


async def close_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _token_hash(token)))


async def set_language(session: AsyncSession, operator_id: str, language: str) -> None:
    if language not in LANGUAGES:
        raise OperatorRefused(f"the language is one of {', '.join(LANGUAGES)}")
    await session.execute(update(OperatorRow).where(OperatorRow.id == operator_id).values(language=language))
