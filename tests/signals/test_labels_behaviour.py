"""Each label fires on clear positives and stays quiet on its hard negatives.

The examples are written for this test and are not in the training data; they
run through the default configuration (cascade.v1) exactly as `anchorwatch
score` would.
"""

from __future__ import annotations

import pytest

from anchorwatch.signals import get_detector

# (label, text, context)
POSITIVES = [
    (
        "newcomer_answer",
        "别着急哈，新车前500公里都这样，胎压在APP里能看，2.5左右就正常",
        "新手求助，刚提车仪表盘胎压灯亮了是啥情况😭",
    ),
    (
        "newcomer_answer",
        "No worries, just hold the scroll wheel for 10 seconds and the screen reboots. "
        "Happens to all of us at first",
        "Newbie here, my screen went black, what do I do?",
    ),
    ("welcome", "欢迎新朋友进群🎉 提的什么颜色？有啥问题随时问大家", None),
    ("welcome", "Welcome aboard! Which trim did you get? Feel free to ask anything here", None),
    (
        "deescalate_humor",
        "两位别吵了，再吵我这台车的续航都要被你们吵掉一半了😂",
        "你懂个屁，增程就是落后技术",
    ),
    (
        "deescalate_summary",
        "我捋一下：老王在意的是长途补能方便，小李在意的是日常用车成本，其实两边说的都没错",
        "你们纯电党就是不考虑实际情况",
    ),
    ("deescalate_redirect", "咱们就事论事，说车的问题，别上升到人身攻击", "你这种人就不配开车"),
    (
        "empathy",
        "太理解你了，换谁遇到这种事都会窝火，辛苦了",
        "修了三次还是异响，4S店还说我开车方式有问题，气死了",
    ),
    (
        "guide_details",
        "方便说下具体车型、出问题的时间和当时的里程吗？这样好判断",
        "车机又死机了，真的服了",
    ),
    (
        "guide_channel",
        "建议直接在APP里提个售后工单，或者打400客服热线，有记录处理会快很多",
        "售后一直推来推去，到底找谁啊",
    ),
    ("newcomer_question", "萌新求问，第一次保养要去哪里做？需要提前预约吗", None),
    ("complaint", "提车才两个月，中控屏幕第三次黑屏了，售后还说是正常现象，太失望了", None),
    ("heated", "你到底看没看我说的？？？张口就来，懂不懂啊！！！", "我觉得你说的不对"),
    ("offensive", "开这种车的都是脑残，智商税交得真开心", None),
    ("personal_attack", "@老刘 你就是个托，闭嘴吧你", "我觉得这次OTA挺好的"),
    (
        "gratitude",
        "谢谢老张！按你说的重启了车机，真的好了🙏",
        "长按方向盘右边滚轮十秒就能重启车机",
    ),
    (
        "bias_accusation",
        "你这明显拉偏架啊，收了厂家多少钱在这洗地？",
        "两边都冷静一下，其实各有道理",
    ),
    ("fatigue", "每天回答一样的问题，真的心累了，以后不想管了", None),
]

NEGATIVES = [
    ("newcomer_answer", "自己不会搜吗？群公告写得清清楚楚", "新手求问，冬天续航掉多少正常"),
    ("welcome", "@老周 好久不见啊，最近跑长途去了？", None),
    ("empathy", "哟，好可怜哦，谁让你当初非要买的🙄", "车机又黑屏了，气死"),
    ("guide_channel", "加我微信 xx12345，专业代办维权，包解决", "售后一直推，怎么办"),
    ("gratitude", "您好，感谢您的反馈，我们会持续改进", "车机老是卡顿"),
    ("offensive", "这车机真的卡得要命，又是转圈圈", None),
    ("bias_accusation", "听说有些品牌会请水军刷好评，大家看评测要擦亮眼睛", None),
    ("fatigue", "今天开了八个小时高速，累死了，终于到家", None),
    ("newcomer_question", "有人测过800V平台在零下二十度时的快充曲线吗？想对比一下热管理策略", None),
    ("heated", "我不太同意，我的实测冬天续航掉了三成左右，仅供参考", "冬天续航基本不掉"),
]


@pytest.fixture(scope="module")
def detector():  # type: ignore[no-untyped-def]
    return get_detector()


@pytest.mark.parametrize(("label", "text", "context"), POSITIVES)
def test_fires_on_clear_positive(detector, label: str, text: str, context: str | None) -> None:  # type: ignore[no-untyped-def]
    det = detector.detect([text], [context])
    assert label in det.labels_of(0), {
        lab: round(float(s), 2) for lab, s in zip(det.labels, det.scores[0], strict=True)
    }


@pytest.mark.parametrize(("label", "text", "context"), NEGATIVES)
def test_quiet_on_hard_negative(detector, label: str, text: str, context: str | None) -> None:  # type: ignore[no-untyped-def]
    det = detector.detect([text], [context])
    assert label not in det.labels_of(0), {
        lab: round(float(s), 2) for lab, s in zip(det.labels, det.scores[0], strict=True)
    }


def test_encoder_reads_thanks_buried_in_a_long_message() -> None:
    """A known limit of the lexical stage: in a long message the thanks is diluted
    among other n-grams and scored below threshold; the encoder still reads it.
    (The cascade sends a message to the encoder only when the lexical score is
    near the threshold, so this one stays a miss of the default: see
    docs/signals.md, known limits.)"""
    text = "太感谢老张了，按你说的重置了一下车机，真的好了🙏"
    context = "长按方向盘右边滚轮十秒就能重启车机"
    assert "gratitude" in get_detector("e5-heads.v1").detect([text], [context]).labels_of(0)
