"""Normalisation: one form for traditional/simplified, full-width, repeats, URLs."""

from __future__ import annotations

import pytest

from anchorwatch.signals.normalize import (
    normalize,
    normalize_with_offsets,
    span_in_original,
)

CASES = [
    "原來如此，感謝老張耐心解答🙏🙏🙏🙏",
    "＠小李  ＯＴＡ升級失敗！！！！哈哈哈哈",
    "看這裡 https://club.example.cn/t/123?x=1 有教程",
    "@老王 你懂个屁   sb",
    "",
    "😂😂😂😂😂",
    "Bluetooth keeps dropping after OTA 2.4 lol",
    "車機黑屏\n\n\n重啟一下",
]


@pytest.mark.parametrize("text", CASES)
def test_fast_and_offset_paths_agree(text: str) -> None:
    norm, origin = normalize_with_offsets(text)
    assert norm == normalize(text)
    assert len(origin) == len(norm)
    assert all(0 <= i < max(len(text), 1) for i in origin)
    assert origin == sorted(origin)


def test_traditional_full_width_repeats_urls() -> None:
    assert normalize("車機黑屏") == "车机黑屏"
    assert normalize("ＯＴＡ") == "ota"
    assert normalize("哈哈哈哈哈！！！！") == "哈哈!!"
    assert normalize("见 https://x.cn/a 和 @张三 说的") == "见 <url> 和 @ 说的"


def test_span_maps_back_to_what_was_written() -> None:
    text = "原來如此，感謝老張耐心解答🙏"
    norm, origin = normalize_with_offsets(text)
    start = norm.index("感谢")
    s, e = span_in_original(origin, text, start, start + 2)
    assert text[s:e] == "感謝"
