"""The private venting channel (倾诉渠道) in the store (DESIGN 1.4, 3.5).

A care user invites a member; the member gets a link ``/vent/TOKEN`` (the
token is unguessable, 256 bits; only its SHA-256 is stored), that expires and
can be revoked.  Through it the member writes to the brand without an account
and reads the replies.  Every text is encrypted with the vault's current key
before it reaches the database; only the care user assigned to the channel
can read it.  A member may opt in to let their own messages count in their
burnout risk: only then are the signal labels of their messages kept (never
the text in the clear).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, null, select, update

from anchorwatch.care.vault import Vault
from anchorwatch.store import Store, schema, utc_now
from anchorwatch.store.users import CARE_ROLES, User, get_user, token_hash


class VentError(LookupError):
    """A refused venting operation; ``code`` is an i18n key, ``status`` the HTTP one."""

    def __init__(self, code: str, status: int = 404, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.params = params


@dataclass(frozen=True)
class Channel:
    id: int
    member: str
    care_user: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    opt_in_risk: bool


@dataclass(frozen=True)
class VentMessage:
    id: int
    channel: int
    member: str
    author: str  # "member" or "care"
    care_user: int | None
    at: datetime
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": self.channel,
            "member": self.member,
            "author": self.author,
            "at": self.at.isoformat(timespec="seconds") + "Z",
            "text": self.text,
        }


def _channel(row: Any) -> Channel:
    return Channel(
        row.id,
        row.member,
        row.care_user,
        row.created_at,
        row.expires_at,
        row.revoked_at,
        bool(row.opt_in_risk),
    )


def invite(store: Store, member: str, care_name: str, days: int = 30) -> tuple[str, Channel]:
    """Open a channel for ``member`` assigned to the care user ``care_name``.

    Returns the token (shown once, to be sent to the member as the link
    ``/vent/TOKEN``) and the channel.
    """
    if days < 1:
        raise VentError("error.vent_days", status=400)
    care = get_user(store, care_name)
    if care.role not in CARE_ROLES:
        raise VentError("error.vent_not_care", status=400, name=care_name, role=care.role)
    with store.engine.connect() as conn:
        known = conn.execute(select(schema.members.c.id).where(schema.members.c.id == member))
        if known.first() is None:
            raise VentError("error.no_member", member=member)
    token = secrets.token_urlsafe(32)
    now = utc_now()
    vc = schema.vent_channels
    with store.engine.begin() as conn:
        cid = conn.execute(
            insert(vc)
            .values(
                member=member,
                care_user=care.id,
                token_hash=token_hash(token),
                created_at=now,
                expires_at=now + timedelta(days=days),
                opt_in_risk=False,
            )
            .returning(vc.c.id)
        ).scalar_one()
        row = conn.execute(select(vc).where(vc.c.id == cid)).one()
    return token, _channel(row)


def open_channel(store: Store, token: str) -> Channel:
    """The live channel of a link; refused (404) when unknown, 410 when
    expired or revoked."""
    vc = schema.vent_channels
    with store.engine.connect() as conn:
        row = conn.execute(select(vc).where(vc.c.token_hash == token_hash(token))).first()
    if row is None:
        raise VentError("error.vent_unknown", status=404)
    if row.revoked_at is not None:
        raise VentError("error.vent_revoked", status=410)
    if row.expires_at <= utc_now():
        raise VentError("error.vent_expired", status=410)
    return _channel(row)


def revoke(store: Store, channel_id: int) -> None:
    vc = schema.vent_channels
    with store.engine.begin() as conn:
        done = conn.execute(
            update(vc)
            .where(vc.c.id == channel_id, vc.c.revoked_at.is_(None))
            .values(revoked_at=utc_now())
        )
    if not done.rowcount:
        raise VentError("error.vent_unknown", status=404)


def set_opt_in(store: Store, channel: Channel, opt_in: bool) -> None:
    vc = schema.vent_channels
    with store.engine.begin() as conn:
        conn.execute(update(vc).where(vc.c.id == channel.id).values(opt_in_risk=opt_in))


def write(
    store: Store,
    vault: Vault,
    channel: Channel,
    text: str,
    *,
    author: str = "member",
    care_user: User | None = None,
    labels: list[str] | None = None,
    max_chars: int = 4000,
    max_per_hour: int = 10,
) -> int:
    """Store one message, encrypted; returns its id.

    A member's messages are rate-limited (``max_per_hour`` per channel);
    ``labels`` are kept only when the channel's member opted in.
    """
    text = text.strip()
    if not text:
        raise VentError("error.vent_empty", status=400)
    if len(text) > max_chars:
        raise VentError("error.vent_too_long", status=413, limit=max_chars)
    if author == "care":
        if care_user is None or care_user.id != channel.care_user:
            raise VentError("error.vent_forbidden", status=403)
    elif author != "member":
        raise ValueError(author)
    vm = schema.vent_messages
    now = utc_now()
    with store.engine.begin() as conn:
        if author == "member":
            recent = conn.execute(
                select(func.count())
                .select_from(vm)
                .where(
                    vm.c.channel == channel.id,
                    vm.c.author == "member",
                    vm.c.at > now - timedelta(hours=1),
                )
            ).scalar_one()
            if recent >= max_per_hour:
                raise VentError("error.vent_rate", status=429, limit=max_per_hour)
        key_id, cipher = vault.encrypt(text)
        mid = conn.execute(
            insert(vm)
            .values(
                channel=channel.id,
                member=channel.member,
                author=author,
                care_user=care_user.id if care_user else None,
                at=now,
                key_id=key_id,
                ciphertext=cipher,
                # SQL NULL, not JSON null: "no labels kept" must be queryable.
                labels=labels if (author == "member" and channel.opt_in_risk) else null(),
            )
            .returning(vm.c.id)
        ).scalar_one()
    return int(mid)


def _messages(store: Store, vault: Vault, where: Any) -> list[VentMessage]:
    vm = schema.vent_messages
    with store.engine.connect() as conn:
        rows = conn.execute(select(vm).where(where).order_by(vm.c.at, vm.c.id)).all()
    return [
        VentMessage(
            r.id,
            r.channel,
            r.member,
            r.author,
            r.care_user,
            r.at,
            vault.decrypt(r.key_id, r.ciphertext),
        )
        for r in rows
    ]


def thread(store: Store, vault: Vault, channel: Channel) -> list[VentMessage]:
    """Everything written in one channel, oldest first (the member's view)."""
    return _messages(store, vault, schema.vent_messages.c.channel == channel.id)


def care_channels(store: Store, user: User, member: str | None = None) -> list[Channel]:
    """The channels assigned to ``user`` (one member's, or all)."""
    vc = schema.vent_channels
    stmt = select(vc).where(vc.c.care_user == user.id).order_by(vc.c.created_at)
    if member is not None:
        stmt = stmt.where(vc.c.member == member)
    with store.engine.connect() as conn:
        return [_channel(r) for r in conn.execute(stmt)]


def channel_by_id(store: Store, channel_id: int) -> Channel:
    vc = schema.vent_channels
    with store.engine.connect() as conn:
        row = conn.execute(select(vc).where(vc.c.id == channel_id)).first()
    if row is None:
        raise VentError("error.vent_unknown", status=404)
    return _channel(row)


def care_read(store: Store, vault: Vault, user: User, member: str) -> list[VentMessage]:
    """A member's venting messages, for the care user assigned to them only.

    Other users (any role) are refused with 403, so that what a member wrote
    to their care contact stays between the two of them.
    """
    mine = [c.id for c in care_channels(store, user, member)]
    if not mine:
        raise VentError("error.vent_forbidden", status=403)
    return _messages(store, vault, schema.vent_messages.c.channel.in_(mine))


def opted_in_labels(store: Store) -> list[tuple[str, datetime, list[str]]]:
    """``(member, at, labels)`` of the member messages whose writers opted in:
    what the burnout risk may count (never the text)."""
    vm, vc = schema.vent_messages, schema.vent_channels
    stmt = (
        select(vm.c.member, vm.c.at, vm.c.labels)
        .join(vc, vc.c.id == vm.c.channel)
        .where(vm.c.author == "member", vc.c.opt_in_risk.is_(True), vm.c.labels.is_not(None))
    )
    with store.engine.connect() as conn:
        return [(m, at, list(labels or [])) for m, at, labels in conn.execute(stmt)]


def key_usage(store: Store) -> dict[str, int]:
    """How many stored venting messages each key id encrypted."""
    vm = schema.vent_messages
    with store.engine.connect() as conn:
        return {
            str(k): int(n)
            for k, n in conn.execute(
                select(vm.c.key_id, func.count()).group_by(vm.c.key_id).order_by(vm.c.key_id)
            )
        }


def reencrypt(store: Store, vault: Vault, *, batch: int = 500) -> dict[str, int]:
    """Re-encrypt every stored venting message under the vault's current key.

    Rows already under the current key are left alone; each batch is
    decrypted with its old key, encrypted with the current one and committed,
    so an interrupted run simply resumes.  Afterwards the table is compacted
    (no old ciphertext stays in free pages), and keys no row uses any more
    can be retired (:func:`anchorwatch.care.vault.retire_key`).  Returns how
    many rows moved off each old key.
    """
    vm = schema.vent_messages
    moved: dict[str, int] = {}
    while True:
        with store.engine.begin() as conn:
            rows = conn.execute(
                select(vm.c.id, vm.c.key_id, vm.c.ciphertext)
                .where(vm.c.key_id != vault.current)
                .order_by(vm.c.id)
                .limit(batch)
            ).all()
            if not rows:
                break
            for rid, key_id, cipher in rows:
                new_key, new_cipher = vault.encrypt(vault.decrypt(key_id, cipher))
                conn.execute(
                    update(vm).where(vm.c.id == rid).values(key_id=new_key, ciphertext=new_cipher)
                )
                moved[key_id] = moved.get(key_id, 0) + 1
    if moved:
        store.compact(["vent_messages"])
    return moved


__all__ = [
    "Channel",
    "VentError",
    "VentMessage",
    "care_channels",
    "care_read",
    "channel_by_id",
    "invite",
    "key_usage",
    "open_channel",
    "opted_in_labels",
    "reencrypt",
    "revoke",
    "set_opt_in",
    "thread",
    "write",
]
