"""The erased list: what an erasure removed, kept only as salted hashes.

DESIGN 3.5: an erased member must never come back, not even when the same
source is imported again.  The store remembers the member's id, their message
ids and the conversations that were theirs as HMAC-SHA256 hashes under a salt
of its own (32 random bytes, made on first use and kept in ``analysis_state``
under ``privacy``), so the list names nobody, yet an import can tell that a
row belongs to someone erased.  A reply to an erased message keeps its place
in the conversation and points at a tombstone (``erased:`` and 16 hex digits
of the message's hash) instead.

>>> from anchorwatch.store import open_store
>>> store = open_store("sqlite://")
>>> erased = erased_list(store)
>>> erased.member("u1"), is_tombstone(erased.tombstone("m1"))
(False, True)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from anchorwatch.store import Store, schema, utc_now, writer

#: Replies to an erased message point at ``erased:<16 hex>``.
TOMBSTONE_PREFIX = "erased:"
#: Kinds of the erased list.
KINDS = ("member", "message", "conversation", "title")
_STATE_KEY = "privacy"


def is_tombstone(ref: str | None) -> bool:
    """Is ``ref`` (a ``reply_to``, an audit entry's member) a tombstone?"""
    return bool(ref) and str(ref).startswith(TOMBSTONE_PREFIX)


def salted_hash(salt: bytes, value: str) -> str:
    """HMAC-SHA256 of ``value`` under ``salt``, in hex (64 characters)."""
    return hmac.new(salt, value.encode("utf-8"), hashlib.sha256).hexdigest()


def erased_ref(digest: str) -> str:
    """The short public name of a hash: ``erased:`` and its first 16 hex digits."""
    return TOMBSTONE_PREFIX + digest[:16]


def store_salt(conn: Connection) -> bytes:
    """The store's salt, made (race-free) on first use."""
    st = schema.analysis_state
    query = select(st.c.value).where(st.c.key == _STATE_KEY)
    row = conn.execute(query).scalar()
    if not isinstance(row, dict) or "salt" not in row:
        # Inserted if absent; a concurrent first use keeps whichever came first.
        fresh = {"salt": secrets.token_hex(32)}
        writer.insert_ignore(conn, st, [{"key": _STATE_KEY, "value": fresh}])
        row = conn.execute(query).scalar()
        if not isinstance(row, dict) or "salt" not in row:
            raise RuntimeError("analysis_state 'privacy' holds no salt")
    return bytes.fromhex(str(row["salt"]))


@dataclass
class ErasedList:
    """What an import consults: is this member, message or conversation erased?

    Built once per import by :func:`erased_list`; lookups are set membership
    of salted hashes, so they cost a hash each.
    """

    salt: bytes
    hashes: dict[str, set[str]] = field(default_factory=dict)
    #: Answers for member ids already looked up (authors repeat on every row).
    _members: dict[str, bool] = field(default_factory=dict, repr=False)

    def _has(self, kind: str, value: str | None) -> bool:
        known = self.hashes.get(kind)
        if not known or value is None:
            return False
        return salted_hash(self.salt, value) in known

    def __bool__(self) -> bool:
        return any(self.hashes.values())

    def member(self, member_id: str) -> bool:
        """Was this member erased?"""
        known = self._members.get(member_id)
        if known is None:
            known = self._members[member_id] = self._has("member", member_id)
        return known

    def message(self, message_id: str | None) -> bool:
        """Was this message erased (with its author)?"""
        return self._has("message", message_id)

    def conversation(self, conversation_id: str) -> bool:
        """Was this a conversation only an erased member wrote in?"""
        return self._has("conversation", conversation_id)

    def title(self, conversation_id: str) -> bool:
        """Was this conversation's title an erased member's text?"""
        return self._has("title", conversation_id) or self.conversation(conversation_id)

    def tombstone(self, message_id: str) -> str:
        """What a reply to the erased ``message_id`` points at."""
        return erased_ref(salted_hash(self.salt, message_id))


def erased_list(store: Store) -> ErasedList:
    """The erased list of ``store`` (the salt is made if there is none yet)."""
    er = schema.erased
    with store.engine.begin() as conn:
        salt = store_salt(conn)
        hashes: dict[str, set[str]] = {}
        for digest, kind in conn.execute(select(er.c.hash, er.c.kind)):
            hashes.setdefault(kind, set()).add(digest)
    return ErasedList(salt, hashes)


def remember(conn: Connection, salt: bytes, kind: str, values: Iterable[str]) -> int:
    """Add ``values`` of ``kind`` to the erased list; returns how many."""
    if kind not in KINDS:
        raise ValueError(f"unknown erased kind {kind!r}")
    now = utc_now()
    rows = [
        {"hash": salted_hash(salt, v), "kind": kind, "erased_at": now}
        for v in dict.fromkeys(values)
    ]
    for start in range(0, len(rows), writer.LOOKUP_CHUNK):
        writer.insert_ignore(conn, schema.erased, rows[start : start + writer.LOOKUP_CHUNK])
    return len(rows)


__all__ = [
    "KINDS",
    "TOMBSTONE_PREFIX",
    "ErasedList",
    "erased_list",
    "erased_ref",
    "is_tombstone",
    "remember",
    "salted_hash",
    "store_salt",
]
