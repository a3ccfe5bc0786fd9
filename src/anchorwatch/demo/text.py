"""Turn phrase-bank templates into messages in a member's own voice.

:class:`Voice` fills ``{slot}`` fields recursively from the banks of
:mod:`anchorwatch.demo.phrases` and from numbers drawn on the fly, then styles
the text the way that member writes: emoji habits, 谐音 and typos, 繁體,
punctuation.  All randomness comes from the one ``random.Random`` it is given,
so the same seed gives the same words.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Protocol

from anchorwatch.demo.phrases import EN, GIVEN, SURNAMES, TRADITIONAL, TYPOS, ZH, Bank

_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_PHONES = ("华为", "小米", "苹果", "OPPO", "vivo", "荣耀", "一加")
_ENDINGS_ZH = ("", "", "", "。", "！", "~", "…", "!!", "。。。", "～～")
_CLOSERS = frozenset("。！？!?~～…)）」】")


class Speaker(Protocol):
    """What the voice needs to know about the member who speaks."""

    english: bool
    trad: bool
    emoji: float
    typo: float
    ending: float


class _Slots(dict[str, str]):
    """A ``format_map`` mapping that draws a fresh value for every missing slot."""

    __slots__ = ("english", "voice")

    def __init__(self, voice: Voice, english: bool, ctx: dict[str, str]) -> None:
        super().__init__(ctx)
        self.voice = voice
        self.english = english

    def __missing__(self, key: str) -> str:
        return self.voice.slot(key, self)


class Voice:
    """Render templates with slot filling and per-member styling.

    Examples
    --------
    >>> import random
    >>> v = Voice(random.Random(1))
    >>> text = v.fill(("{city}的{model}车主",))
    >>> text.endswith("车主")
    True
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        r = rng.randint
        self._gen: dict[str, Callable[[], str]] = {
            "n": lambda: str(r(2, 5)),
            "n0": lambda: str(r(0, 3)),
            "nn": lambda: str(r(10, 99)),
            "days": lambda: str(r(2, 45)),
            "days2": lambda: str(r(3, 15)),
            "hours": lambda: str(r(2, 8)),
            "mins": lambda: str(r(2, 40)),
            "sec": lambda: str(r(5, 15)),
            "ver": lambda: f"{r(2, 3)}.{r(0, 9)}.{r(0, 12)}",
            "pct": lambda: str(r(5, 60)),
            "pct2": lambda: str(r(20, 50)),
            "km": self._km,
            "km2": lambda: f"{r(12, 35) * 10}公里",
            "km3": lambda: f"{r(8, 90)}公里",
            "temp": lambda: str(r(3, 30)),
            "temp2": lambda: str(r(18, 24)),
            "kw": lambda: str(r(6, 25) * 10),
            "kwh": lambda: f"{r(12, 24)}.{r(0, 9)}",
            "odo": lambda: str(r(3, 400) * 100),
            "money": lambda: str(r(2, 80) * 100),
            "small_money": lambda: str(r(3, 40) * 10),
            "meters": lambda: str(r(25, 60)),
            "meters2": lambda: str(r(10, 30)),
            "wan": lambda: str(r(18, 36)),
            "wan2": lambda: str(r(2, 3)),
            "speed": lambda: str(r(4, 12) * 10),
            "hour": lambda: str(r(8, 11)),
            "price": lambda: f"0.{r(2, 6)}元",
            "ticket": lambda: f"SR26{r(100000, 999999)}",
            "weekday": lambda: rng.choice(_WEEKDAYS),
            "date": lambda: f"{r(1, 12)}月{r(1, 28)}号",
            "year": lambda: str(r(2023, 2026)),
            "month": lambda: str(r(1, 12)),
            "day": lambda: str(r(1, 28)),
            "surname": lambda: rng.choice(SURNAMES),
            "given": lambda: rng.choice(GIVEN),
            "phone": lambda: rng.choice(_PHONES),
        }

    def _km(self) -> str:
        x = self.rng.randint(25, 70) * 10
        return self.rng.choice((f"{x}公里", f"{x}km", f"{x}公里", f"{x}多公里"))

    def slot(self, key: str, mapping: _Slots) -> str:
        gen = self._gen.get(key)
        if gen is not None:
            return gen()
        bank = (EN.get(key) if mapping.english else None) or ZH.get(key)
        if bank is None:
            raise KeyError(key)
        text = self.rng.choice(bank)
        return text.format_map(mapping) if "{" in text else text

    def fill(self, bank: Bank, english: bool = False, **ctx: str) -> str:
        """One template from ``bank`` with every slot filled, unstyled."""
        text = self.rng.choice(bank)
        if "{" in text:
            text = text.format_map(_Slots(self, english, ctx))
        return text

    def say(
        self,
        key: str | Bank,
        speaker: Speaker,
        en: Bank | None = None,
        *,
        tail: str | None = None,
        p_tail: float = 0.5,
        **ctx: str,
    ) -> str:
        """A message by ``speaker``: a template from ``key`` (a bank name or a bank), styled.

        English-writing members use ``en`` (or the English bank of the same
        name) when there is one.  With probability ``p_tail`` a fragment from
        the bank named ``tail`` is added (Chinese only).
        """
        if isinstance(key, str):
            zh = ZH[key]
            en = en or EN.get(key)
        else:
            zh = key
        english = speaker.english and en is not None
        text = self.fill(en if english and en is not None else zh, english, **ctx)
        if tail is not None and not english and self.rng.random() < p_tail:
            text = text.rstrip("。！!") + self.fill(ZH[tail], False, **ctx)
        return self.style(text, speaker)

    def style(self, text: str, who: Speaker) -> str:
        """Apply a member's writing habits to a text."""
        rnd = self.rng.random
        if not who.english:
            if who.typo and rnd() < who.typo:
                text = self._typo(text)
            if rnd() < who.ending and text and text[-1] not in _CLOSERS:
                text += self.rng.choice(_ENDINGS_ZH)
        if rnd() < who.emoji:
            emo = self.rng.choice(ZH["emo"])
            text += emo * self.rng.choice((1, 1, 1, 2, 3))
        if who.trad:
            text = text.translate(TRADITIONAL)
        return text

    def _typo(self, text: str) -> str:
        found = [pair for pair in TYPOS if pair[0] in text]
        if not found:
            return text
        old, new = self.rng.choice(found)
        return text.replace(old, new, 1)
