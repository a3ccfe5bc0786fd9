"""Optional polish of thank-you drafts by an LLM behind any OpenAI-compatible
endpoint (off by default; the same ``ANCHORWATCH_LLM_URL`` / ``_MODEL`` /
``_KEY`` settings as the ``llm.v1`` detector).

The model may smooth the wording, never the facts: a polished draft is kept
only if every quoted topic and the member's name survive; otherwise the
template draft stands.  Drafts are sent to the endpoint, so the operator
chooses this explicitly (``anchorwatch thanks --polish``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from anchorwatch.care.thanks import Draft

_QUOTED = re.compile(r"「([^」]+)」|\"([^\"]+)\"")

SYSTEM = {
    "zh-CN": (
        "你是汽车品牌社群运营团队的文字编辑。请润色下面这条写给社群成员的一对一感谢私信，"
        "让语气更自然真诚。必须保留其中所有具体事实：称呼、时间、「」里的话题、对方做了什么、"
        "带来了什么结果；不要添加任何新的事实，不要写成群发的套话。只输出润色后的私信正文。"
    ),
    "en": (
        "You edit messages for a car brand's community team. Polish the following 1:1 "
        "thank-you message to a community member so it reads naturally and sincerely. Keep "
        "every concrete fact: the name, the dates, the quoted topics, what they did and what "
        "came of it; add no new facts and do not make it generic. Answer with the message only."
    ),
}


def facts_of(draft: Draft) -> list[str]:
    """What a polished draft must still contain: the quoted topics."""
    return [a or b for a, b in _QUOTED.findall(draft.text)]


def polish(draft: Draft, client: Any) -> tuple[Draft, bool]:
    """``(draft, polished)``: the model's version when it kept every fact,
    else the original.  ``client`` has ``complete(messages) -> str``
    (``anchorwatch.signals.llm.LLMDetector``)."""
    reply = client.complete(
        [
            {"role": "system", "content": SYSTEM.get(draft.locale, SYSTEM["en"])},
            {"role": "user", "content": draft.text},
        ]
    ).strip()
    if not reply or any(fact not in reply for fact in facts_of(draft)):
        return draft, False
    return replace(draft, text=reply), True


def polish_drafts(drafts: Sequence[Draft], client: Any | None = None) -> list[Draft]:
    """Polish each draft with ``client`` (default: the LLM of the environment)."""
    if client is None:
        from anchorwatch.signals.llm import LLMDetector

        client = LLMDetector.from_env()
    return [polish(d, client)[0] for d in drafts]
