"""Text normalisation before detection: one form for the many ways owners write.

* traditional → simplified Chinese (OpenCC ``t2s``): 車機 → 车机;
* full-width and compatibility forms → their plain form (NFKC): ＯＴＡ！ → ota!;
* lower case; URLs → ``<url>``; @mentions → ``@``; runs of one character
  longer than two → two (哈哈哈哈哈 → 哈哈, ！！！！ → !!);
* emoji are kept: 🙏 and 😡 carry meaning.

:func:`normalize` is the fast path used for features.  :func:`normalize_with_offsets`
also returns, for every normalised character, the index of the original
character it came from, so evidence found in normalised text can be shown as a
span of what the member actually wrote.

>>> normalize("原來如此，感謝老張耐心解答🙏🙏🙏🙏 https://x.cn/a")
'原来如此,感谢老张耐心解答🙏🙏 <url>'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache

URL_RE = re.compile(r"(?:https?://|www\.)[^\s\u3000，。！？]+", re.IGNORECASE)
MENTION_RE = re.compile(r"[@＠][^\s@，。！？,:：]{1,20}")
REPEAT_RE = re.compile(r"(.)\1{2,}", re.DOTALL)
SPACE_RE = re.compile(r"\s+")
URL_TOKEN = "<url>"
MENTION_TOKEN = "@"


@cache
def _converter() -> object:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    converted: str = _converter().convert(text)  # type: ignore[attr-defined]
    return converted


def normalize(text: str) -> str:
    """The normalised form of one text (see module docs)."""
    text = URL_RE.sub(f" {URL_TOKEN} ", text)
    text = MENTION_RE.sub(MENTION_TOKEN + " ", text)
    text = unicodedata.normalize("NFKC", text).lower()
    text = REPEAT_RE.sub(r"\1\1", text)
    text = SPACE_RE.sub(" ", text).strip()
    return to_simplified(text)


def normalize_batch(texts: Sequence[str]) -> list[str]:
    return [normalize(t) for t in texts]


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """Normalise and map every output character back to its source index.

    Slower than :func:`normalize`; used only for the few messages whose
    evidence is shown.
    """
    chars: list[str] = []
    origin: list[int] = []
    pos = 0
    specials = sorted(
        [(m.start(), m.end(), f" {URL_TOKEN} ") for m in URL_RE.finditer(text)]
        + [(m.start(), m.end(), MENTION_TOKEN + " ") for m in MENTION_RE.finditer(text)]
    )
    for start, end, token in specials:
        if start < pos:
            continue
        for i in range(pos, start):
            _emit(text[i], i, chars, origin)
        for ch in token:
            chars.append(ch)
            origin.append(start)
        pos = end
    for i in range(pos, len(text)):
        _emit(text[i], i, chars, origin)
    # Collapse runs (>2) and whitespace exactly as the fast path does.
    out_chars: list[str] = []
    out_origin: list[int] = []
    for ch, src in zip(chars, origin, strict=True):
        if ch.isspace():
            ch = " "
            if not out_chars or out_chars[-1] == " ":
                continue
        elif len(out_chars) >= 2 and out_chars[-1] == ch and out_chars[-2] == ch:
            continue
        out_chars.append(ch)
        out_origin.append(src)
    while out_chars and out_chars[-1] == " ":
        out_chars.pop()
        out_origin.pop()
    joined = "".join(out_chars)
    simplified = to_simplified(joined)
    if len(simplified) != len(joined):
        # OpenCC replaced a phrase with one of another length: convert per character.
        simplified = "".join(to_simplified(c) if len(to_simplified(c)) == 1 else c for c in joined)
    return simplified, out_origin


def _emit(ch: str, index: int, chars: list[str], origin: list[int]) -> None:
    for out in unicodedata.normalize("NFKC", ch).lower():
        chars.append(out)
        origin.append(index)


def span_in_original(origin: Sequence[int], text: str, start: int, end: int) -> tuple[int, int]:
    """Turn a ``[start, end)`` span of normalised text into a span of ``text``."""
    if not origin:
        return (0, 0)
    start = min(max(start, 0), len(origin) - 1)
    end = min(max(end, start + 1), len(origin))
    first = origin[start]
    stop = origin[end - 1] + 1
    return (first, min(stop, len(text)))
