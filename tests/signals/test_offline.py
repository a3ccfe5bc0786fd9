"""`anchorwatch score` needs no network: it runs with every socket refused."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network is cut in this test")
# Belt and braces: even inside a network namespace, refuse every connection.
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from anchorwatch.cli import app
sys.argv = ["anchorwatch", "score", sys.argv[1], "-o", sys.argv[2]]
app()
"""


def test_score_runs_with_the_network_cut(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"id": 1, "text": "心累，每天回答一样的问题，不想管了"}, ensure_ascii=False)
        + "\n"
        + json.dumps(
            {"id": 2, "text": "建议在APP里提个售后工单", "context": "售后一直推"},
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-c", SCRIPT, str(src), str(out)]
    # A real cut where the system allows it: a new network namespace with no
    # interfaces but loopback (needs root, as in CI).
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"]).returncode == 0:
        command = ["unshare", "-n", *command]
    proc = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "ANCHORWATCH_LOCALE": "en"},
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert "fatigue" in rows[0]["labels"]
    assert "guide_channel" in rows[1]["labels"]
    assert socket.socket is not None  # the test process itself was not touched
