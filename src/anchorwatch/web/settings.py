"""The web app's settings, from the environment in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from anchorwatch.care.thanks import care_settings


@dataclass(frozen=True)
class WebSettings:
    """``db``: the store URL; ``key_file``: the venting key file (None: the
    venting channel refuses to run); the venting limits from ``care.yaml``;
    ``settings_dir``: where ``/settings`` writes its overrides
    (``ANCHORWATCH_SETTINGS_DIR``; None: beside the SQLite file); the
    largest upload ``/import`` accepts (``ANCHORWATCH_UPLOAD_MAX_MB``)."""

    db: str | None = None
    key_file: str | None = None
    vent_max_chars: int = 4000
    vent_max_per_hour: int = 10
    settings_dir: str | None = None
    upload_max_bytes: int = 512 * 2**20

    @classmethod
    def from_env(cls, db: str | None = None, environ: dict[str, str] | None = None) -> WebSettings:
        from anchorwatch.care.vault import ENV_KEY_FILE

        env: Any = os.environ if environ is None else environ
        venting = care_settings()["venting"]
        return cls(
            db=db or env.get("ANCHORWATCH_DB"),
            key_file=env.get(ENV_KEY_FILE),
            vent_max_chars=int(venting["max_chars"]),
            vent_max_per_hour=int(venting["max_messages_per_hour"]),
            settings_dir=env.get("ANCHORWATCH_SETTINGS_DIR") or None,
            upload_max_bytes=int(float(env.get("ANCHORWATCH_UPLOAD_MAX_MB") or 512) * 2**20),
        )
