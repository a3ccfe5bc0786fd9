"""Encryption of venting text at rest, with keys kept outside the database.

The key file (``ANCHORWATCH_KEY_FILE``, made by ``anchorwatch key create
PATH``) is JSON: ``{"version": "anchorwatch.keys.v1", "current": ID, "keys":
{ID: KEY}}``, each key a Fernet key (AES-128-CBC with an HMAC-SHA256, from
``cryptography``).  Every ciphertext is stored with the id of the key that
made it, so a rotation (``anchorwatch key rotate PATH``) adds a key and makes
it current while older rows stay readable; re-encrypting them under the new
key then lets the old one be retired (see docs/privacy.md).

Without a key file the venting channel refuses to run: text is never written
in the clear.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

ENV_KEY_FILE = "ANCHORWATCH_KEY_FILE"
FORMAT = "anchorwatch.keys.v1"


class VaultError(RuntimeError):
    """The key file is missing, unreadable or lacks a key; ``code`` is an i18n key."""

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(f"{code}: {params}")
        self.code = code
        self.params = params


def _new_id() -> str:
    return f"k{datetime.now(UTC):%Y%m%d}{secrets.token_hex(3)}"


def _write(path: Path, data: dict[str, Any]) -> None:
    # Written beside and renamed, readable by the owner only: a crash never
    # leaves half a key file, and other local users never see the keys.
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


def create_key_file(path: Path) -> str:
    """Write a new key file with one key; refuses to overwrite. Returns the key id."""
    if path.exists():
        raise VaultError("error.key_exists", path=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key_id = _new_id()
    _write(
        path,
        {"version": FORMAT, "current": key_id, "keys": {key_id: Fernet.generate_key().decode()}},
    )
    return key_id


def rotate_key_file(path: Path) -> str:
    """Add a new key and make it current; older keys stay for reading. Returns its id."""
    data = _read(path)
    key_id = _new_id()
    while key_id in data["keys"]:
        key_id = _new_id()
    data["keys"][key_id] = Fernet.generate_key().decode()
    data["current"] = key_id
    _write(path, data)
    return key_id


def retire_key(path: Path, key_id: str) -> None:
    """Remove a key that no stored row uses any more (never the current one)."""
    data = _read(path)
    if key_id == data["current"]:
        raise VaultError("error.key_current", key_id=key_id)
    if key_id not in data["keys"]:
        raise VaultError("error.key_unknown", key_id=key_id)
    del data["keys"][key_id]
    _write(path, data)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VaultError("error.key_missing", path=str(path)) from None
    except (OSError, ValueError) as exc:
        raise VaultError("error.key_unreadable", path=str(path), detail=str(exc)) from None
    if (
        not isinstance(data, dict)
        or data.get("version") != FORMAT
        or not isinstance(data.get("keys"), dict)
        or data.get("current") not in data["keys"]
    ):
        raise VaultError(
            "error.key_unreadable", path=str(path), detail="not an anchorwatch key file"
        )
    return data


@dataclass
class Vault:
    """Encrypts and decrypts venting text with the keys of one key file."""

    current: str
    keys: dict[str, Fernet]

    @classmethod
    def load(cls, path: Path) -> Vault:
        data = _read(path)
        try:
            keys = {k: Fernet(v.encode()) for k, v in data["keys"].items()}
        except (ValueError, TypeError) as exc:
            raise VaultError("error.key_unreadable", path=str(path), detail=str(exc)) from None
        return cls(str(data["current"]), keys)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Vault:
        """The vault of ``ANCHORWATCH_KEY_FILE``; :class:`VaultError` without one."""
        env = os.environ if environ is None else environ
        path = env.get(ENV_KEY_FILE)
        if not path:
            raise VaultError("error.key_not_set", name=ENV_KEY_FILE)
        return cls.load(Path(path))

    def encrypt(self, text: str) -> tuple[str, bytes]:
        """``(key id, ciphertext)`` of ``text`` under the current key."""
        return self.current, self.keys[self.current].encrypt(text.encode("utf-8"))

    def decrypt(self, key_id: str, ciphertext: bytes) -> str:
        key = self.keys.get(key_id)
        if key is None:
            raise VaultError("error.key_unknown", key_id=key_id)
        try:
            return key.decrypt(bytes(ciphertext)).decode("utf-8")
        except InvalidToken:
            raise VaultError("error.key_mismatch", key_id=key_id) from None
