"""`anchorwatch analyze`, signals stage: every message scored once, with its
replied-to text as context; incremental and resumable.  SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from anchorwatch.cli import app
from anchorwatch.engines.local import run_signals
from anchorwatch.ingest.jsonl import JsonlSource
from anchorwatch.ingest.loader import import_source
from anchorwatch.signals import LABELS, get_detector
from anchorwatch.signals.detector import Detections
from anchorwatch.store import Store, schema

from ..conftest import FIXTURES

COMMUNITY = FIXTURES / "jsonl" / "community.jsonl"


def thanks(text: str) -> bool:
    return "谢" in text or "謝" in text


class Recording:
    """A detector that records what it was asked and can die after N batches."""

    name = "recording.v1"
    labels = LABELS

    def __init__(self, die_after: int | None = None) -> None:
        self.thresholds = np.full(len(LABELS), 0.5, dtype=np.float32)
        self.seen: list[tuple[str, str | None]] = []
        self.calls = 0
        self.die_after = die_after

    def predict_proba(self, texts: Sequence[str], contexts: Sequence[str | None]) -> np.ndarray:
        scores = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        scores[:, LABELS.index("gratitude")] = [0.9 if thanks(t) else 0.1 for t in texts]
        return scores

    def detect(self, texts: Sequence[str], contexts: Sequence[str | None]) -> Detections:
        self.calls += 1
        if self.die_after is not None and self.calls > self.die_after:
            raise RuntimeError("killed")
        self.seen.extend(zip(texts, contexts, strict=True))
        det = Detections(self.labels, self.predict_proba(texts, contexts), self.thresholds)
        det.evidence = [{"gratitude": [(0, 1)]} if thanks(t) else {} for t in texts]
        return det


@pytest.fixture
def community(store: Store) -> Store:
    import_source(store, JsonlSource(COMMUNITY))
    return store


def test_every_message_scored_with_its_context(community: Store) -> None:
    det = Recording()
    run = run_signals(community, det, batch_messages=4)
    assert run.scored == 13 and run.already == 0
    contexts = dict(det.seen)
    assert contexts["原來如此，感謝老張耐心解答🙏"] == (
        "正常的别担心，冬天电池活性低，开暖风也耗电。出门前在APP里预约加热，座椅加热比空调省电，能好不少👍"
    )
    assert contexts["又来一个问续航的，群公告不看的吗？？"] is None
    with community.engine.connect() as conn:
        row = conn.execute(
            select(schema.message_signals).where(schema.message_signals.c.message == "wx-4")
        ).one()
    assert row.labels == ["gratitude"] and row.p_gratitude == pytest.approx(0.9)
    assert row.evidence == {"gratitude": [[0, 1]]} and row.backend == "recording.v1"
    assert run.fired["gratitude"] == sum(1 for t, _ in det.seen if thanks(t))


def test_rerun_scores_nothing_and_new_messages_only(community: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run_signals(community, Recording())
    again = Recording()
    assert run_signals(community, again).scored == 0 and again.seen == []
    new = tmp_path / "new.jsonl"
    new.write_text(
        '{"type": "message", "id": "wx-9", "conversation": "wx-s7-1", "author": "u002", '
        '"reply_to": "wx-3", "sent_at": "2026-03-09T08:00:00+08:00", "text": "谢谢，今天好多了"}\n',
        encoding="utf-8",
    )
    import_source(community, JsonlSource(new))
    later = Recording()
    run = run_signals(community, later)
    assert run.scored == 1 and run.already == 13
    assert later.seen[0][1] is not None  # its replied-to text came along


def test_killed_run_resumes_without_duplicates(community: Store) -> None:
    with pytest.raises(RuntimeError):
        run_signals(community, Recording(die_after=2), batch_messages=3)
    assert community.count("message_signals") == 6
    run = run_signals(community, Recording(), batch_messages=3)
    assert run.scored == 7 and community.count("message_signals") == 13


def test_real_detector_and_cli(community: Store, store_url: str) -> None:
    result = CliRunner().invoke(
        app, ["analyze", "--db", store_url, "--backend", "lexical.v1", "-q"]
    )
    assert result.exit_code == 0, result.output
    with community.engine.connect() as conn:
        rows = {r.message: r for r in conn.execute(select(schema.message_signals))}
    assert len(rows) == 13
    assert "gratitude" in rows["wx-4"].labels
    assert "welcome" in rows["wx-1"].labels
    for r in rows.values():
        assert all(0 <= getattr(r, f"p_{lab}") <= 1 for lab in LABELS)
    assert get_detector("lexical.v1").name == rows["wx-1"].backend


def test_signal_columns_follow_the_label_config() -> None:
    assert schema.SIGNAL_LABELS == LABELS
