"""Scripted episodes of the demo community, with their ground truth.

Each builder plays one scene into a :class:`~anchorwatch.demo.drafts.Batch`:

- :func:`newcomer_life` — a member joins (arrival, welcomed or not), asks a
  question or two from the recurring question families, and comes back or not;
- :func:`conflict` — an argument that turns personal, calmed by humour, an
  objective summary or a redirect, or not calmed at all;
- :func:`complaint` — venting about the product or service, met with empathy,
  questions and a pointer to the official channel, with an official boilerplate,
  or with silence while others pile on;
- :func:`chit_chat`, :func:`creator_post`, :func:`announcement`,
  :func:`fatigue_vent` — the life between the episodes.

The outcome of every episode is computed from the drafts that were actually
scripted (:func:`settle`), so the truth file always agrees with the data file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final

from anchorwatch.demo.drafts import END, Batch, Conv, Draft, Episode, Ids, Scene
from anchorwatch.demo.personas import ANCHORS, APP, DAY, Cast, Member
from anchorwatch.demo.phrases import (
    ANNOUNCE,
    BOARD_COMPLAINT,
    BOARD_DELIVERY,
    BOARD_NEWCOMER,
    BOARD_TRIP,
    BOARD_USE,
    CHAT_REPLY_TAIL,
    CHATS,
    COMPLAINT_VENT_END,
    COMPLAINTS,
    CONFLICTS,
    CREATOR_BODY,
    CREATOR_REPLY,
    CREATOR_SHARE,
    CREATOR_TITLE,
    EN,
    QUESTIONS,
    ZH,
    Bank,
    ChatTopic,
    ComplaintTopic,
    QuestionFamily,
)
from anchorwatch.demo.text import Voice

HEAT: Final = frozenset({"heated", "offensive", "personal_attack"})
# month index (0-based) of a time, for seasonal topics
_MONTH_START: Final = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


def month_of(t: int) -> int:
    """Calendar month (1..12) of a time in 2026."""
    day = t // DAY
    m = 12
    while _MONTH_START[m - 1] > day:
        m -= 1
    return m


class Deck:
    """Variants dealt from a shuffled deck, so that a small run still has each one."""

    def __init__(self, rng: random.Random, cards: tuple[str, ...]) -> None:
        self.rng = rng
        self.cards = cards
        self.stack: list[str] = []

    def draw(self) -> str:
        if not self.stack:
            self.stack = list(self.cards)
            self.rng.shuffle(self.stack)
        return self.stack.pop()


DECKS: Final[dict[str, tuple[str, ...]]] = {
    "arrival": (
        "welcome_post",
        "welcome_post",
        "welcome_post",
        "welcome_silent",
        "post_first",
        "post_only",
        "silent",
    ),
    "question": (
        "patient",
        "patient",
        "patient",
        "patient_followup",
        "two",
        "slow",
        "curt",
        "curt_then_patient",
        "rude",
        "ignored",
    ),
    "conflict": (
        "humor",
        "summary",
        "redirect",
        "humor_summary",
        "summary_redirect",
        "redirect",
        "fail",
        "none",
        "none",
    ),
    "complaint": (
        "empathy_full",
        "empathy_full",
        "empathy_split",
        "empathy_partial",
        "boilerplate",
        "boilerplate_then_member",
        "ignored_spread",
        "ignored_spread",
        "ignored_quiet",
    ),
}


@dataclass
class World:
    """What every builder needs: randomness, words, the cast, ids, the groups."""

    rng: random.Random
    voice: Voice
    cast: Cast
    ids: Ids
    streams: dict[str, Conv]
    decks: dict[str, Deck] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, cards in DECKS.items():
            self.decks[name] = Deck(self.rng, cards)

    def conv(self, batch: Batch, venue: str, board: str, title: str | None, t: int) -> Conv:
        """The group's stream, or a new forum thread on ``board``."""
        if venue != APP:
            return self.streams[venue]
        conv = Conv(self.ids.next_conv(), board, title, t, stream=False)
        batch.convs.append(conv)
        return conv

    def scene(self, batch: Batch, conv: Conv, t: int, episode: Episode | None = None) -> Scene:
        thread = self.ids.next_thread() if conv.stream else None
        return Scene(self.rng, self.voice, batch, conv, t, thread, episode)

    def episode(self, kind: str, conv: Conv, subject: Member, variant: str) -> Episode:
        return Episode(self.ids.next_episode(), kind, conv, subject, variant)

    def senti(self, low: float, high: float) -> float:
        return round(self.rng.uniform(low, high), 2)

    def seasonal(
        self,
        t: int,
        items: tuple[object, ...],
        months: list[tuple[int, ...]],
        only: list[bool] | None = None,
    ) -> int:
        """Index of an item, three times likelier in the months it belongs to.

        Items marked ``only`` (holidays) are never chosen outside their months.
        """
        m = month_of(t)
        weights = [3.0 if m in ms else 1.0 for ms in months]
        if only is not None:
            weights = [
                0.0 if o and m not in ms else x
                for x, o, ms in zip(weights, only, months, strict=True)
            ]
        x = self.rng.random() * sum(weights)
        for i, w in enumerate(weights):
            x -= w
            if x < 0:
                return i
        return len(items) - 1

    def delay(self, helper: Member, t: int, low: int, high: int) -> int:
        """Response delay: burning-out helpers answer later and later."""
        slow = helper.decline(t)
        extra = int(slow * self.rng.randint(1800, 6 * 3600)) if slow else 0
        return self.rng.randint(low, high) + extra


def _say(
    w: World,
    key: str | Bank,
    speaker: Member,
    en: Bank | None = None,
    *,
    tail: str | None = None,
    p_tail: float = 0.5,
    ctx: dict[str, str] | None = None,
    **slots: str,
) -> str:
    merged = {**ctx, **slots} if ctx else slots
    return w.voice.say(key, speaker, en, tail=tail, p_tail=p_tail, **merged)


def _likes(w: World, sc: Scene, d: Draft, venue: str, n: int, kind: str = "like") -> None:
    """``n`` distinct members react to ``d`` (forum only)."""
    if d.conv.stream or n <= 0:
        return
    seen: list[Member] = [d.author]
    for _ in range(n):
        m = w.cast.pick_mix((("lurker", 0.5), ("chatter", 0.5)), venue, d.t, tuple(seen))
        if m is None:
            break
        seen.append(m)
        sc.react(d, m, kind)


# ---------------------------------------------------------------------------
# outcomes
# ---------------------------------------------------------------------------


def settle(ep: Episode) -> None:
    """Compute ``ep.outcome`` from its drafts (DESIGN 3.3 fields)."""
    s = ep.subject
    ds = ep.drafts
    own = [d for d in ds if d.author is s]
    out: dict[str, object] = {}
    if ep.kind == "newcomer_question":
        q = next((d for d in own if "question" in d.tags), ds[0] if ds else None)
        first = None
        if q is not None:
            first = next((d for d in ds if d.author is not s and d.t > q.t), None)
        # ``replied``: the newcomer wrote back after someone answered (DESIGN 1.2)
        out["replied"] = first is not None and any(d.t > first.t for d in own)
        out["thanked"] = any("gratitude" in d.labels for d in own)
        out["answered"] = first is not None
        out["first_response_s"] = first.t - q.t if first is not None and q is not None else None
    elif ep.kind == "arrival":
        out["welcomed"] = any("welcome" in d.labels for d in ds)
        out["first_post"] = bool(own)
    elif ep.kind == "complaint":
        felt = [d.sentiment for d in own if d.sentiment is not None]
        out["sentiment_first"] = felt[0] if felt else None
        out["sentiment_last"] = felt[-1] if felt else None
        out["details_given"] = any("details" in d.tags for d in own)
        out["moved_to_channel"] = any("moved" in d.tags for d in own)
        spreaders: list[str] = []
        for d in ds:
            if d.author is not s and "complaint" in d.labels and d.author.id not in spreaders:
                spreaders.append(d.author.id)
        out["spread"] = len(spreaders)
    elif ep.kind == "conflict":
        first_act = next((i for i, d in enumerate(ds) if d.acts), None)
        split = first_act if first_act is not None else len(ds) // 2
        before, after = ds[:split], ds[split + (1 if first_act is not None else 0) :]

        def heat(part: list[Draft]) -> float:
            if not part:
                return 0.0
            return round(sum(1 for d in part if HEAT.intersection(d.labels)) / len(part), 2)

        out["intervened"] = first_act is not None
        out["heat_before"] = heat(before)
        out["heat_after"] = heat(after)
        out["attacks_stopped"] = first_act is not None and not any(
            "personal_attack" in d.labels for d in after
        )
        out["agreement"] = any("agree" in d.tags for d in ds)
    ep.outcome = out


def finish(batch: Batch) -> None:
    """Drop what falls after the end of the year and settle the episodes."""
    if any(d.t >= END for d in batch.drafts):
        batch.drafts = [d for d in batch.drafts if d.t < END]
        for ep in batch.episodes:
            ep.drafts = [d for d in ep.drafts if d.t < END]
        batch.convs = [c for c in batch.convs if c.started < END]
    batch.reactions = [r for r in batch.reactions if r[0] < END and r[1].t < END]
    for ep in batch.episodes:
        settle(ep)


# ---------------------------------------------------------------------------
# newcomers
# ---------------------------------------------------------------------------


def newcomer_life(w: World, t_join: int) -> Batch:
    """A newcomer's first weeks: arrival, questions, and coming back (or not)."""
    rng, cast = w.rng, w.cast
    b = Batch()
    m = cast.add_newcomer(t_join)
    b.members.append(m)
    venue = cast.group_for() if rng.random() < 0.65 else APP
    channel = venue if venue != APP else BOARD_NEWCOMER
    arrival_ep = _arrival(w, b, m, venue, t_join)
    b.joins.append((t_join, m, channel, arrival_ep))
    welcomed = any("welcome" in d.labels for d in arrival_ep.drafts)
    stay = rng.random() < (0.8 if welcomed else 0.5)
    n_questions = (1 + (rng.random() < 0.35)) if stay else int(rng.random() < 0.35)
    t = max([t_join, *(d.t for d in arrival_ep.drafts)])
    helped = False
    questions: list[Episode] = []
    for k in range(n_questions):
        t += rng.randint(2 * 3600, 10 * DAY) if k == 0 else rng.randint(DAY, 20 * DAY)
        q_venue = venue if venue == APP or rng.random() < 0.75 else APP
        ep = _question(w, b, m, q_venue, t)
        questions.append(ep)
        helped = helped or ep.variant.startswith(("patient", "two", "slow"))
        t = max(d.t for d in ep.drafts)
    p_return = 0.15 + 0.3 * welcomed + 0.35 * helped
    for _ in range(4):
        if rng.random() >= p_return:
            break
        t += rng.randint(DAY // 2, 25 * DAY)
        chat_venue = venue if venue == APP or rng.random() < 0.8 else APP
        chit_chat(w, b, chat_venue, t, opener=m)
        p_return *= 0.6
    finish(b)
    mine = sorted(d.t for d in b.drafts if d.author is m)
    for ep in (arrival_ep, *questions):
        own = [d.t for d in ep.drafts if d.author is m]
        ref = own[-1] if own else t_join
        later = [x for x in mine if x > ref]
        ep.outcome["returned_7d"] = bool(later) and later[0] <= ref + 7 * DAY
        ep.outcome["returned_30d"] = bool(later) and later[0] <= ref + 30 * DAY
    return b


def _arrival(w: World, b: Batch, m: Member, venue: str, t: int) -> Episode:
    rng, cast, v = w.rng, w.cast, w.voice
    variant = w.decks["arrival"].draw()
    welcome = variant.startswith("welcome")
    post = variant in ("welcome_post", "post_first", "post_only") or venue == APP
    if venue == APP:
        title = w.voice.fill(EN["intro_title"] if m.english else ZH["intro_title"], m.english)
        conv = w.conv(b, venue, BOARD_NEWCOMER, title, t + rng.randint(60, 3600))
        t = conv.started
    else:
        conv = w.streams[venue]
    ep = w.episode("arrival", conv, m, variant)
    b.episodes.append(ep)
    sc = w.scene(b, conv, t, ep)
    first: Draft | None = None
    if post and (venue == APP or variant == "post_first"):
        first = sc.post(m, _say(w, "intro", m), at=t if venue == APP else None, gap=(30, 900))
    if welcome:
        helper = cast.pick("welcomer", venue, sc.t + 300) or cast.pick("mentor", venue, sc.t + 300)
        if helper is not None:
            delay = w.delay(helper, sc.t, 40, 900)
            key = "welcome_forum" if venue == APP else "welcome"
            decline = helper.decline(sc.t + delay)
            wlabels: tuple[str, ...] = ("welcome",)
            if decline and rng.random() < 0.7 * decline:  # a tired, short welcome
                text = v.fill(ZH["welcome_plain"], who=m.name)
                if rng.random() < 0.4:
                    text += v.fill(ZH["fatigue_tag"])
                    wlabels = ("welcome", "fatigue")
                text = v.style(text, helper)
            else:
                text = _say(w, key, helper, who=m.name)
            wd = sc.post(helper, text, at=sc.t + delay, reply=first, quote=0.2, labels=wlabels)
            if venue == APP:
                _likes(w, sc, first or wd, venue, rng.randint(0, 3))
            if rng.random() < 0.45:
                other = cast.pick_mix(
                    (("chatter", 0.7), ("welcomer", 0.2), ("mentor", 0.1)), venue, sc.t, (helper,)
                )
                if other is not None:
                    sc.post(
                        other,
                        _say(w, "welcome_plain", other, who=m.name),
                        gap=(10, 240),
                        reply=first,
                        labels=("welcome",),
                    )
            if post:
                sc.post(
                    m,
                    _say(w, "newbie_reply", m),
                    gap=(60, 1800),
                    reply=wd,
                    labels=("gratitude",),
                    target=helper,
                )
                if rng.random() < 0.6 and venue != APP:
                    ask = sc.post(
                        helper,
                        _say(w, "draw_in", helper, who=m.name),
                        gap=(30, 600),
                        labels=("welcome",),
                    )
                    sc.post(m, _say(w, "newbie_answer", m), gap=(30, 900), reply=ask)
            return _named(ep)
    if post and first is None:
        sc.post(m, _say(w, "intro", m), gap=(60, 3600))
    return _named(ep)


def _named(ep: Episode) -> Episode:
    """Name an arrival's variant after what happened: welcomed or not, posted or not."""
    welcomed = any("welcome" in d.labels for d in ep.drafts)
    posted = any(d.author is ep.subject for d in ep.drafts)
    ep.variant = ("welcome" if welcomed else "no_welcome") + ("_post" if posted else "_silent")
    return ep


def _family(w: World, t: int) -> QuestionFamily:
    i = w.seasonal(t, QUESTIONS, [f.months for f in QUESTIONS])
    return QUESTIONS[i]


def _ask(w: World, m: Member, fam: QuestionFamily) -> str:
    v = w.voice
    if m.english:
        text = v.fill(EN["greet"], True) + v.fill(fam.en_q, True)
        tail = v.fill(EN["q_tail"], True)
        return v.style(f"{text} {tail}".strip(), m)
    core = v.fill(fam.q)
    text = v.fill(ZH["greet"]) + core
    if text[-1] not in "？?吗呢啊。":
        text += v.fill(ZH["q_end"])
    tail = v.fill(ZH["q_tail"])
    if tail:
        text += w.rng.choice(("，", " ", "。", "，")) + tail
    return v.style(text, m)


def _answer(
    w: World, helper: Member, subject: Member, fam: QuestionFamily, t: int, extra: str = ""
) -> tuple[str, tuple[str, ...]]:
    """A helper's answer; tired helpers answer short, curt, with fatigue words."""
    rng, v = w.rng, w.voice
    decline = helper.decline(t)
    english = subject.english
    if decline and rng.random() < decline * 0.85:
        if rng.random() < 0.3 * decline:
            text = v.fill(ZH["curt"])
            labels: tuple[str, ...] = ()
        else:
            text = v.fill(fam.short)
            labels = ("newcomer_answer",)
        if rng.random() < 0.35 + 0.5 * decline:
            text += v.fill(ZH["fatigue_tag"])
            labels = (*labels, "fatigue")
        return v.style(text, helper), labels
    if english:
        text = v.fill(EN["calm_pre"], True) + v.fill(fam.en_a, True)
        post = v.fill(EN["calm_post"], True)
        text = f"{text}. {post}" if post else text
        return v.style(text, helper), ("newcomer_answer",)
    pre = v.fill(ZH["repeat_pre"]) if rng.random() < 0.12 else v.fill(ZH["calm_pre"])
    text = extra + pre + v.fill(fam.a)
    post = v.fill(ZH["calm_post"])
    if post:
        text += rng.choice(("，", "。", "。", " ", "～")) + post
    return v.style(text, helper), ("newcomer_answer",)


def _question(w: World, b: Batch, m: Member, venue: str, t: int) -> Episode:
    rng, cast, v = w.rng, w.cast, w.voice
    fam = _family(w, t)
    variant = w.decks["question"].draw()
    text = _ask(w, m, fam)
    title = text[:24] if venue == APP else None
    conv = w.conv(b, venue, BOARD_USE, title, t)
    ep = w.episode("newcomer_question", conv, m, variant)
    ep.cluster = fam.cluster
    b.episodes.append(ep)
    sc = w.scene(b, conv, t, ep)
    q = sc.post(m, text, at=t, labels=("newcomer_question",), tags=("question",))
    helper: Member | None = None
    answer: Draft | None = None

    def mentor_at(when: int, exclude: tuple[Member, ...] = ()) -> Member | None:
        return cast.pick("mentor", venue, when, exclude) or cast.pick(
            "welcomer", venue, when, exclude
        )

    if variant in ("curt", "curt_then_patient", "rude"):
        rude = variant == "rude"
        who = cast.pick_mix(
            (("troll", 0.6), ("chatter", 0.4)) if rude else (("chatter", 0.7), ("troll", 0.3)),
            venue,
            t,
            chinese=True,
        )
        if who is not None:
            key = "curt_rude" if rude else "curt"
            curt = sc.post(
                who,
                _say(w, key, who),
                gap=(30, 900),
                reply=q,
                quote=0.3,
                labels=("offensive",) if rude else (),
            )
            if rng.random() < 0.5:
                sc.post(m, _say(w, "newbie_ok", m), gap=(30, 600), reply=curt)
            if variant == "curt" or (rude and rng.random() < 0.5):
                return ep
        when = sc.t + rng.randint(120, 1800)
        helper = mentor_at(when, (m,))
        if helper is not None:
            text, labels = _answer(
                w, helper, m, fam, when, extra=rng.choice(("别理他，", "", "新人问问怎么了，"))
            )
            answer = sc.post(helper, text, at=when, reply=q, quote=0.4, labels=labels)
    elif variant == "ignored":
        if rng.random() < 0.5:
            sc.post(m, _say(w, "bump", m), gap=(1800, 4 * 3600))
        return ep
    else:
        probe = sc.t + 300
        helper = mentor_at(probe, (m,))
        if helper is None:
            ep.variant = "ignored"
            return ep
        low, high = (2 * 3600, 9 * 3600) if variant == "slow" else (30, 600)
        when = sc.t + w.delay(helper, sc.t, low, high)
        text, labels = _answer(w, helper, m, fam, when)
        answer = sc.post(helper, text, at=when, reply=q, quote=0.35, labels=labels)
        if variant == "two":
            second = cast.pick_mix((("mentor", 0.6), ("chatter", 0.4)), venue, sc.t, (m, helper))
            if second is not None:
                more = v.fill(fam.en_a, True) if m.english else "补充一下，" + v.fill(fam.fa)
                sc.post(
                    second,
                    v.style(more, second),
                    gap=(60, 1200),
                    reply=q,
                    quote=0.3,
                    labels=("newcomer_answer",),
                )
        if variant == "patient_followup" and "newcomer_answer" in labels:
            fq = sc.post(
                m,
                v.style(v.fill(fam.fq), m) if not m.english else v.style(v.fill(fam.en_q, True), m),
                gap=(60, 900),
                reply=answer,
                labels=("newcomer_question",),
            )
            fa = v.style(v.fill(fam.fa) if not m.english else v.fill(fam.en_a, True), helper)
            answer = sc.post(
                helper,
                fa,
                gap=(60, 600) if not helper.decline(sc.t) else (1800, 7200),
                reply=fq,
                quote=0.4,
                labels=("newcomer_answer",),
            )
    if answer is None or helper is None:
        return ep
    if venue == APP:
        _likes(w, sc, answer, venue, rng.randint(0, 3))
        if rng.random() < 0.5:
            sc.react(answer, m, "thanks", (60, 1800))
    p_thanks = 0.8 * (1.0 - 0.65 * helper.decline(answer.t))
    if "newcomer_answer" in answer.labels and rng.random() < p_thanks:
        key = "thanks_target" if rng.random() < 0.6 else "thanks_bare"
        sc.post(
            m,
            _say(w, key, m, who=helper.name),
            gap=(30, 1800),
            reply=answer,
            quote=0.3,
            labels=("gratitude",),
            target=helper,
        )
    return ep


# ---------------------------------------------------------------------------
# conflicts
# ---------------------------------------------------------------------------


def conflict(w: World, venue: str, t: int) -> Batch:
    """An argument that gets personal; calmed, or not."""
    rng, cast, v = w.rng, w.cast, w.voice
    b = Batch()
    topic = rng.choice(CONFLICTS)
    a = cast.pick_mix(
        (("troll", 0.45), ("chatter", 0.35), ("complainer", 0.2)), venue, t, chinese=True
    )
    if a is None:
        return b
    bb = cast.pick_mix(
        (("chatter", 0.5), ("complainer", 0.25), ("troll", 0.25)), venue, t, (a,), chinese=True
    )
    if bb is None:
        return b
    variant = w.decks["conflict"].draw()
    ctx = {
        "issue": v.fill(topic.issue),
        "sa": v.fill(topic.sum_a),
        "sb": v.fill(topic.sum_b),
        "a": a.name,
        "b": bb.name,
    }
    conv = w.conv(b, venue, BOARD_USE, v.fill(topic.title), t)
    ep = w.episode("conflict", conv, a, variant)
    b.episodes.append(ep)
    sc = w.scene(b, conv, t, ep)
    first_text = v.fill(topic.side_a)
    if rng.random() < 0.5:
        first_text += v.fill(ZH["opinion_tail"])
    labels: tuple[str, ...] = ()
    if a.persona == "troll" and rng.random() < 0.4:
        first_text += "，" + v.fill(ZH["offend_group"])
        if rng.random() < 0.5:
            first_text += v.fill(ZH["group_tail"])
        labels = ("heated", "offensive")
    d1 = sc.post(a, v.style(first_text, a), at=t, labels=labels)
    d2 = sc.post(
        bb, _say(w, topic.side_b, bb, tail="opinion_tail"), gap=(30, 600), reply=d1, quote=0.3
    )
    d3 = sc.post(
        a,
        _say(w, "heat", a, tail="heat_tail", p_tail=0.65, ctx=ctx),
        gap=(20, 300),
        reply=d2,
        quote=0.3,
        labels=("heated",),
    )
    last = sc.post(
        bb,
        _say(w, "attack", bb, tail="attack_tail", p_tail=0.4, who=a.name),
        gap=(15, 240),
        reply=d3,
        labels=("heated", "offensive", "personal_attack"),
        target=a,
    )
    if rng.random() < 0.8:
        last = sc.post(
            a,
            _say(w, "attack", a, tail="attack_tail", p_tail=0.4, who=bb.name),
            gap=(15, 240),
            reply=last,
            labels=("heated", "offensive", "personal_attack"),
            target=bb,
        )
    if rng.random() < 0.4:
        c = cast.pick_mix((("chatter", 0.6), ("troll", 0.4)), venue, sc.t, (a, bb), chinese=True)
        if c is not None:
            if c.persona == "troll":
                sc.post(
                    c,
                    _say(w, "heat", c, tail="heat_tail", p_tail=0.65, ctx=ctx),
                    gap=(20, 300),
                    labels=("heated",),
                )
            else:
                sc.post(c, _say(w, "bystander", c, tail="by_tail", ctx=ctx), gap=(20, 300))
    for _ in range(rng.randint(0, 2)):
        x, y = (a, bb) if rng.random() < 0.5 else (bb, a)
        if rng.random() < 0.5:
            last = sc.post(
                x,
                _say(w, "heat", x, tail="heat_tail", p_tail=0.65, ctx=ctx),
                gap=(15, 200),
                reply=last,
                labels=("heated",),
            )
        else:
            last = sc.post(
                x,
                _say(w, "attack", x, tail="attack_tail", p_tail=0.4, who=y.name),
                gap=(15, 200),
                reply=last,
                labels=("heated", "offensive", "personal_attack"),
                target=y,
            )
    parties = (a, bb)
    pk: Member | None = None
    if variant != "none":
        probe = sc.t + 120
        pk = cast.pick("peacemaker", venue, probe, parties) or cast.pick(
            "mentor", venue, probe, parties, chinese=True
        )
        if pk is not None and pk.english:
            pk = None
    if pk is None:
        ep.variant = "none"
        for _ in range(rng.randint(1, 3)):
            x, y = (a, bb) if rng.random() < 0.5 else (bb, a)
            if rng.random() < 0.6:
                last = sc.post(
                    x,
                    _say(w, "attack", x, tail="attack_tail", p_tail=0.4, who=y.name),
                    gap=(15, 300),
                    reply=last,
                    labels=("heated", "offensive", "personal_attack"),
                    target=y,
                )
            else:
                last = sc.post(
                    x,
                    _say(w, "heat", x, tail="heat_tail", p_tail=0.65, ctx=ctx),
                    gap=(15, 300),
                    reply=last,
                    labels=("heated",),
                )
        quitter = rng.choice(parties)
        sc.post(
            quitter,
            _say(w, "fizzle", quitter, tail="heat_tail", p_tail=0.3, ctx=ctx),
            gap=(30, 600),
            labels=("heated",),
        )
        by = cast.pick("chatter", venue, sc.t, parties, chinese=True)
        if by is not None and rng.random() < 0.5:
            sc.post(by, _say(w, "bystander", by, tail="by_tail", ctx=ctx), gap=(30, 900))
        return b
    decline = pk.decline(sc.t)
    when = sc.t + w.delay(pk, sc.t, 30, 400)
    styles = {
        "humor": ("humor",),
        "summary": ("summary",),
        "redirect": ("redirect",),
        "humor_summary": ("humor", "summary"),
        "summary_redirect": ("summary", "redirect"),
        "fail": (rng.choice(("humor", "summary", "redirect")),),
    }[variant]
    label_of = {
        "humor": "deescalate_humor",
        "summary": "deescalate_summary",
        "redirect": "deescalate_redirect",
    }
    texts = [v.fill(ZH[s], False, **ctx) for s in styles]
    if len(texts) == 2 and rng.random() < 0.5:
        calm = sc.post(
            pk, v.style("，".join(texts), pk), at=when, labels=tuple(label_of[s] for s in styles)
        )
    else:
        calm = sc.post(pk, v.style(texts[0], pk), at=when, labels=(label_of[styles[0]],))
        for s, text in zip(styles[1:], texts[1:], strict=True):
            calm = sc.post(pk, v.style(text, pk), gap=(20, 180), labels=(label_of[s],))
    p_success = 0.15 if variant == "fail" else 0.88 - 0.5 * pk.strain(sc.t)
    if rng.random() < p_success:
        first, second = (a, bb) if rng.random() < 0.5 else (bb, a)
        agree = sc.post(
            first,
            _say(w, "agree", first, tail="agree_tail", who=second.name, ctx=ctx),
            gap=(30, 600),
            reply=calm,
            quote=0.3,
            tags=("agree",),
        )
        if rng.random() < 0.6:
            sc.post(
                second,
                _say(w, "agree", second, tail="agree_tail", who=first.name, ctx=ctx),
                gap=(20, 400),
                reply=agree,
                tags=("agree",),
            )
        if rng.random() < 0.4:
            by = cast.pick("chatter", venue, sc.t, (*parties, pk))
            if by is not None:
                sc.post(by, _say(w, "chat_reply", by), gap=(20, 300))
        return b
    angry = rng.choice(parties)
    other = bb if angry is a else a
    if variant == "fail" or rng.random() < 0.55 + 0.4 * pk.strain(sc.t):
        sc.post(
            angry,
            _say(w, "bias", angry, who=pk.name),
            gap=(20, 300),
            reply=calm,
            quote=0.4,
            labels=("heated", "bias_accusation"),
            target=pk,
        )
        if decline > 0.2 and rng.random() < decline + 0.2:
            sc.post(pk, _say(w, "fatigue", pk), gap=(60, 900), labels=("fatigue",))
        elif rng.random() < 0.5:
            sc.post(pk, _say(w, "bias_reply_calm", pk), gap=(60, 600))
        else:
            sc.post(
                pk, _say(w, "redirect", pk, ctx=ctx), gap=(60, 600), labels=("deescalate_redirect",)
            )
    last = sc.post(
        angry,
        _say(w, "attack", angry, tail="attack_tail", p_tail=0.4, who=other.name),
        gap=(20, 400),
        labels=("heated", "offensive", "personal_attack"),
        target=other,
    )
    if rng.random() < 0.6:
        sc.post(
            other,
            _say(w, "fizzle", other, tail="heat_tail", p_tail=0.3, ctx=ctx),
            gap=(20, 400),
            reply=last,
            labels=("heated",),
        )
    return b


# ---------------------------------------------------------------------------
# complaints
# ---------------------------------------------------------------------------


def _complaint_topic(w: World, t: int) -> ComplaintTopic:
    return COMPLAINTS[w.seasonal(t, COMPLAINTS, [c.months for c in COMPLAINTS])]


def complaint(w: World, venue: str, t: int) -> Batch:
    """Venting about the car or the service, and what the community does with it."""
    rng, cast, v = w.rng, w.cast, w.voice
    b = Batch()
    topic = _complaint_topic(w, t)
    s = cast.pick_mix((("complainer", 0.6), ("chatter", 0.4)), venue, t, chinese=True)
    if s is None:
        return b
    variant = w.decks["complaint"].draw()
    conv = w.conv(b, venue, BOARD_COMPLAINT, v.fill(topic.title), t)
    ep = w.episode("complaint", conv, s, variant)
    b.episodes.append(ep)
    sc = w.scene(b, conv, t, ep)
    end = rng.choice(COMPLAINT_VENT_END)
    labels: tuple[str, ...] = ("complaint",)
    if end == "垃圾售后":
        labels = ("complaint", "offensive")
    elif end == "心累":
        labels = ("complaint", "fatigue")
    vent_text = v.fill(topic.vent) + (rng.choice(("，", "！", "。", " ")) + end if end else "")
    vent = sc.post(s, v.style(vent_text, s), at=t, labels=labels, sentiment=w.senti(-0.9, -0.6))
    if rng.random() < 0.5:
        sc.post(
            s,
            _say(w, "complain_more", s, tail="complain_tail", p_tail=0.65),
            gap=(20, 300),
            labels=("complaint",),
            sentiment=w.senti(-0.95, -0.7),
        )
    seen: list[Member] = [s]

    def spread(n: int) -> None:
        for _ in range(n):
            x = cast.pick_mix(
                (("complainer", 0.5), ("chatter", 0.4), ("troll", 0.1)), venue, sc.t, tuple(seen)
            )
            if x is None:
                return
            seen.append(x)
            sc.post(
                x,
                _say(w, "spread", x, tail="spread_tail", p_tail=0.6),
                gap=(60, 3600),
                reply=vent,
                quote=0.25,
                labels=("complaint",),
            )
            sc.react(vent, x, "like", (10, 600))

    if rng.random() < 0.25 or variant == "ignored_spread":
        spread(1)
    if variant == "ignored_spread":
        spread(rng.randint(1, 4))
        sc.post(
            s,
            _say(w, "complain_more", s, tail="complain_tail", p_tail=0.65),
            gap=(300, 7200),
            labels=("complaint",),
            sentiment=w.senti(-0.98, -0.8),
        )
        _likes(w, sc, vent, venue, rng.randint(2, 10))
        return b
    if variant == "ignored_quiet":
        sc.post(
            s,
            _say(w, "give_up", s, tail="complain_tail", p_tail=0.4),
            gap=(3 * 3600, 20 * 3600),
            labels=("complaint",),
            sentiment=w.senti(-0.8, -0.6),
        )
        return b
    if variant.startswith("boilerplate"):
        off = cast.pick("official", venue, sc.t)
        if off is not None:
            text = _say(w, "boilerplate", off)
            if conv.stream:
                text = f"@{s.name} {text}"
            elif rng.random() < 0.5:
                text = f"{s.name}车主，{text}"
            olabels: tuple[str, ...] = ("guide_channel",)
            if "车架号" in text or "VIN" in text:
                olabels = ("guide_details", "guide_channel")
            sc.post(
                off,
                text,
                at=sc.t + rng.randint(600, 3 * 3600),
                reply=vent,
                quote=0.5,
                labels=olabels,
            )
            if rng.random() < 0.7 or variant == "boilerplate_then_member":
                sc.post(
                    s,
                    _say(w, "after_boilerplate", s, tail="complain_tail", p_tail=0.65),
                    gap=(300, 3600),
                    labels=("complaint",),
                    sentiment=w.senti(-0.9, -0.7),
                )
                if rng.random() < 0.5:
                    spread(rng.randint(1, 3))
            else:
                sc.post(
                    s,
                    v.style(v.fill(topic.moved), s),
                    gap=(600, 7200),
                    tags=("moved",),
                    sentiment=w.senti(-0.3, 0.1),
                )
                return b
        if variant == "boilerplate":
            return b
    # a member answers with empathy, questions and the way to the official channel
    probe = sc.t + 600
    helper = cast.pick_mix((("peacemaker", 0.5), ("mentor", 0.5)), venue, probe, tuple(seen))
    if helper is None:
        sc.post(
            s,
            _say(w, "give_up", s, tail="complain_tail", p_tail=0.4),
            gap=(3600, 6 * 3600),
            labels=("complaint",),
            sentiment=w.senti(-0.8, -0.6),
        )
        ep.variant = "ignored_quiet" if not variant.startswith("boilerplate") else variant
        return b
    decline = helper.decline(probe)
    when = sc.t + w.delay(helper, sc.t, 120, 1800)
    emp = v.fill(ZH["empathy"])
    ask = v.fill(topic.ask) if rng.random() < 0.5 else v.fill(ZH["ask_details"])
    chan = v.fill(ZH["guide_chan"])
    partial = variant == "empathy_partial"
    asked = False
    if variant == "empathy_split":
        last = sc.post(
            helper, v.style(emp, helper), at=when, reply=vent, quote=0.3, labels=("empathy",)
        )
        last = sc.post(helper, v.style(ask, helper), gap=(20, 180), labels=("guide_details",))
        asked = True
    elif partial:
        if rng.random() < 0.5:
            last = sc.post(
                helper,
                v.style(f"{emp}，{chan}", helper),
                at=when,
                reply=vent,
                quote=0.3,
                labels=("empathy", "guide_channel"),
            )
        else:
            last = sc.post(
                helper, v.style(emp, helper), at=when, reply=vent, quote=0.3, labels=("empathy",)
            )
    else:
        sep = rng.choice(("。", "，", "！", "～"))
        last = sc.post(
            helper,
            v.style(f"{emp}{sep}{ask}{rng.choice(('', ' ', '。'))}{chan}", helper),
            at=when,
            reply=vent,
            quote=0.3,
            labels=("empathy", "guide_details", "guide_channel"),
        )
        asked = True
    if rng.random() < 0.08 + 0.5 * helper.strain(probe):  # helping looks like 洗地 to some
        x = cast.pick_mix((("troll", 0.6), ("complainer", 0.4)), venue, sc.t, tuple(seen), True)
        if x is not None:
            seen.append(x)
            acc = sc.post(
                x,
                _say(w, "bias", x, who=helper.name),
                gap=(30, 900),
                reply=last,
                quote=0.4,
                labels=("heated", "bias_accusation"),
                target=helper,
            )
            if decline > 0.2 and rng.random() < decline + 0.2:
                sc.post(helper, _say(w, "fatigue", helper), gap=(60, 900), labels=("fatigue",))
                return b
            sc.post(helper, _say(w, "bias_reply_calm", helper), gap=(60, 900), reply=acc)
    p_convert = (0.5 if partial else 0.85) - 0.4 * decline
    if rng.random() >= p_convert:
        sc.post(
            s,
            _say(w, "give_up", s, tail="complain_tail", p_tail=0.4),
            gap=(300, 5400),
            reply=last,
            labels=("complaint",),
            sentiment=w.senti(-0.7, -0.5),
        )
        return b
    if asked or rng.random() < 0.5:
        sc.post(
            s,
            v.style(v.fill(topic.details), s),
            gap=(120, 3600),
            reply=last,
            quote=0.2,
            tags=("details",),
            sentiment=w.senti(-0.5, -0.2),
        )
    if variant == "empathy_split":
        last = sc.post(helper, v.style(chan, helper), gap=(60, 900), labels=("guide_channel",))
    sc.post(
        s,
        v.style(v.fill(topic.moved), s),
        gap=(1800, 6 * 3600),
        reply=last,
        quote=0.2,
        tags=("moved",),
        sentiment=w.senti(0.0, 0.4),
    )
    if rng.random() < 0.6 * (1.0 - 0.6 * decline):
        sc.post(
            s,
            _say(w, "thanks_calm", s, who=helper.name),
            gap=(60, 3600),
            reply=last,
            labels=("gratitude",),
            target=helper,
            sentiment=w.senti(0.3, 0.7),
        )
        sc.react(last, s, "thanks", (60, 1800))
    if rng.random() < 0.3:
        off = cast.pick("official", venue, sc.t)
        if off is not None:
            sc.post(off, _say(w, "official_follow", off), gap=(3600, 12 * 3600))
    return b


# ---------------------------------------------------------------------------
# the rest of community life
# ---------------------------------------------------------------------------

_CHAT_MIX: Final = (
    ("chatter", 0.6),
    ("mentor", 0.1),
    ("peacemaker", 0.07),
    ("welcomer", 0.08),
    ("complainer", 0.08),
    ("creator", 0.04),
    ("lurker", 0.06),
    ("troll", 0.04),
)
_BOARD_OF: Final = {"delivery": BOARD_DELIVERY, "trip": BOARD_TRIP, "mod": BOARD_DELIVERY}


def _chat_topic(w: World, t: int) -> ChatTopic:
    return CHATS[w.seasonal(t, CHATS, [c.months for c in CHATS], [c.only for c in CHATS])]


def chit_chat(w: World, b: Batch, venue: str, t: int, opener: Member | None = None) -> int:
    """A casual thread; returns how many messages it added."""
    rng, cast, v = w.rng, w.cast, w.voice
    topic = _chat_topic(w, t)
    first = opener or cast.pick_mix(_CHAT_MIX, venue, t)
    if first is None:
        return 0
    if first.english:
        text = (
            _say(w, "hello", first)
            if rng.random() < 0.3
            else v.style(v.fill(EN["chat_reply"], True), first)
        )
    else:
        text = _say(w, topic.open, first, tail="open_tail", p_tail=0.45)
    title = None
    if venue == APP:
        title = v.fill(topic.title) if topic.title and rng.random() < 0.6 else text[:20]
    conv = w.conv(b, venue, _BOARD_OF.get(topic.key, BOARD_USE), title, t)
    sc = w.scene(b, conv, t)
    head = sc.post(first, text, at=t)
    last = head
    people: list[Member] = [first]
    for _ in range(rng.randint(1, 6)):
        m = cast.pick_mix(_CHAT_MIX, venue, sc.t)
        if m is None:
            break
        helpers = [x for x in people if x.persona in ANCHORS]
        if m.persona == "troll" and helpers:
            hub = helpers[0]
            if rng.random() < 0.25 + 0.6 * hub.strain(sc.t):  # 托 / 水军 / 洗地
                last = sc.post(
                    m,
                    _say(w, "bias", m, who=hub.name),
                    gap=(30, 900),
                    reply=last,
                    quote=0.3,
                    labels=("heated", "bias_accusation"),
                    target=hub,
                )
                continue
        if m.persona == "troll" and rng.random() < 0.3:
            last = sc.post(
                m,
                _say(w, "offend_group", m, tail="group_tail", p_tail=0.6),
                gap=(30, 900),
                labels=("offensive",),
            )
            continue
        if rng.random() < 0.04:
            anchor = cast.pick_mix((("mentor", 0.6), ("welcomer", 0.4)), venue, sc.t, (m,))
            if anchor is not None and rng.random() < anchor.activity(sc.t):
                sc.post(
                    m,
                    _say(w, "thanks_later", m, who=anchor.name),
                    gap=(30, 900),
                    labels=("gratitude",),
                    target=anchor,
                )
                continue
        if m.english:
            reply_text = v.fill(EN["chat_reply"], True)
        else:
            if rng.random() < 0.4:
                reply_text = v.fill(topic.reply)
                if rng.random() < 0.75:
                    reply_text += rng.choice(("，", " ", "。")) + v.fill(ZH["frag"])
            else:
                reply_text = v.fill(ZH["chat_reply"])
            reply_text += v.fill(CHAT_REPLY_TAIL)
        labels: tuple[str, ...] = ()
        decline = m.decline(sc.t)
        if decline and rng.random() < 0.35 * decline:
            reply_text = reply_text.rstrip("。！!~") + v.fill(ZH["fatigue_tag"])
            labels = ("fatigue",)
        to = head if rng.random() < 0.6 else last
        last = sc.post(
            m, v.style(reply_text, m), gap=(15, 900), reply=to, quote=0.12, labels=labels
        )
        people.append(m)
        if rng.random() < 0.25 and first is not m:
            last = sc.post(
                first, _say(w, "chat_reply", first), gap=(15, 600), reply=last, quote=0.2
            )
    if venue == APP:
        _likes(w, sc, head, venue, rng.randint(0, 4))
    return len(sc.posted)


def creator_post(w: World, creator: Member, t: int) -> Batch:
    """Content that earns reads: a long forum post or a link shared in a group."""
    rng, cast, v = w.rng, w.cast, w.voice
    b = Batch()
    groups = [x for x in creator.venues if x != APP]
    venue = APP if not groups or rng.random() < 0.7 else rng.choice(groups)
    if venue == APP:
        board = rng.choice((BOARD_USE, BOARD_TRIP, BOARD_DELIVERY))
        title = v.fill(CREATOR_TITLE, creator=creator.name)
        conv = w.conv(b, venue, board, title, t)
        body = v.fill(CREATOR_BODY, creator=creator.name)
    else:
        conv = w.streams[venue]
        body = v.fill(CREATOR_SHARE, creator=creator.name)
    sc = w.scene(b, conv, t)
    head = sc.post(creator, v.style(body, creator), at=t)
    for _ in range(rng.randint(2, 7) if venue == APP else rng.randint(0, 3)):
        m = cast.pick_mix(
            (("chatter", 0.7), ("lurker", 0.2), ("mentor", 0.1)), venue, sc.t, (creator,)
        )
        if m is None:
            break
        if rng.random() < 0.3:
            r = sc.post(
                m,
                _say(w, "thanks_creator", m, who=creator.name),
                gap=(60, 7200),
                reply=head,
                labels=("gratitude",),
                target=creator,
            )
        else:
            r = sc.post(m, _say(w, CREATOR_REPLY, m, EN["chat_reply"]), gap=(60, 7200), reply=head)
        if rng.random() < 0.3:
            sc.post(creator, _say(w, "chat_reply", creator), gap=(60, 3600), reply=r)
    if venue == APP:
        _likes(w, sc, head, venue, rng.randint(5, 40))
    return b


def announcement(w: World, official: Member, t: int) -> Batch:
    rng, cast = w.rng, w.cast
    b = Batch()
    venue = rng.choice(official.venues)
    conv = w.conv(
        b, venue, BOARD_USE, "【官方】" + w.voice.fill(("通知", "公告", "活动", "温馨提示")), t
    )
    sc = w.scene(b, conv, t)
    head = sc.post(official, _say(w, ANNOUNCE, official), at=t)
    for _ in range(rng.randint(0, 2)):
        m = cast.pick("chatter", venue, sc.t)
        if m is not None:
            sc.post(m, _say(w, "chat_reply", m), gap=(60, 3600), reply=head)
    return b


def fatigue_vent(w: World, anchor: Member, t: int) -> Batch:
    """An anchor says they are tired; some thank them, some console, most scroll on."""
    rng, cast = w.rng, w.cast
    b = Batch()
    venue = rng.choice(anchor.venues)
    conv = w.conv(
        b, venue, BOARD_USE, w.voice.fill(("最近有点累", "说几句心里话", "潜水一段时间")), t
    )
    sc = w.scene(b, conv, t)
    head = sc.post(anchor, _say(w, "fatigue", anchor), at=t, labels=("fatigue",))
    decline = anchor.decline(t)
    if rng.random() < 0.55 * (1.0 - 0.6 * decline):
        m = cast.pick_mix(
            (("chatter", 0.6), ("mentor", 0.2), ("welcomer", 0.2)), venue, sc.t, (anchor,)
        )
        if m is not None:
            sc.post(
                m,
                _say(w, "console_thanks", m, who=anchor.name),
                gap=(120, 5400),
                reply=head,
                quote=0.4,
                labels=("gratitude",),
                target=anchor,
            )
    if rng.random() < 0.4:
        m = cast.pick("chatter", venue, sc.t, (anchor,))
        if m is not None:
            sc.post(m, _say(w, "console", m, who=anchor.name), gap=(120, 5400), reply=head)
    return b


__all__ = [
    "DECKS",
    "Deck",
    "World",
    "announcement",
    "chit_chat",
    "complaint",
    "conflict",
    "creator_post",
    "fatigue_vent",
    "finish",
    "month_of",
    "newcomer_life",
    "settle",
]
