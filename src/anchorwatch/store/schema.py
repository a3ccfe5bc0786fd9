"""Tables of the store: one schema for SQLite and PostgreSQL.

Times are stored as naive UTC (``*_at``) plus the UTC offset in minutes the
source wrote them in (``*_offset``), so that both engines compare and sort them
the same way and the local hour survives.  Anything a source sent that the
canonical model does not name lives in ``extra`` (JSON).

Changing a table means a new Alembic revision in ``store/migrations/versions``;
``tests/store/test_migrations.py`` fails when this file and the migrations
disagree.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: JSON on SQLite, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")
#: The same, writing Python ``None`` as SQL NULL (not JSON ``null``).
JSONOrNull = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
ID = String(200)

members = Table(
    "members",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200)),
    Column("joined_at", DateTime),
    Column("joined_offset", SmallInteger),
    Column("role", String(20)),
    Column("extra", JSONType),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("channel", String(200), index=True),
    Column("title", Text),
    Column("started_at", DateTime),
    Column("started_offset", SmallInteger),
    Column("stream", Boolean, nullable=False, default=False),
    Column("extra", JSONType),
)

messages = Table(
    "messages",
    metadata,
    Column("id", ID, primary_key=True),
    Column("conversation", ID, nullable=False),
    Column("author", ID, nullable=False, index=True),
    # No foreign key: an erased message leaves its replies pointing at a tombstone.
    Column("reply_to", ID),
    Column("sent_at", DateTime, nullable=False),
    Column("sent_offset", SmallInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("extra", JSONType),
    # The retention policy (privacy.yaml) empties ``text`` of old messages and
    # keeps what the analysis still reads from it: its length and the
    # non-textual facts of ``store.retention.text_facts`` (the members its
    # @mentions named, a fingerprint for the reply-spam rule).
    Column("text_removed_at", DateTime),
    Column("text_chars", Integer),
    Column("text_facts", JSONOrNull),
)
# Conversation order is how every later stage reads messages.
Index("ix_messages_conversation_sent_at", messages.c.conversation, messages.c.sent_at)
Index("ix_messages_sent_at", messages.c.sent_at)

joins = Table(
    "joins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("member", ID, nullable=False, index=True),
    Column("channel", String(200), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("at_offset", SmallInteger, nullable=False),
    Column("extra", JSONType),
    UniqueConstraint("member", "channel", "at"),
)

reactions = Table(
    "reactions",
    metadata,
    Column("message", ID, primary_key=True),
    Column("member", ID, primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("at", DateTime),
    Column("at_offset", SmallInteger),
    Column("extra", JSONType),
)

metrics = Table(
    "metrics",
    metadata,
    Column("member", ID, primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("reads", Integer, nullable=False, default=0),
    Column("plays", Integer, nullable=False, default=0),
    Column("leads", Integer, nullable=False, default=0),
    Column("extra", JSONType),
)

#: One row per `anchorwatch import` run: what came in and what happened to it.
imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("format", String(20), nullable=False),
    Column("sha256", String(64)),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("counts", JSONType),
)

#: The labels of ``config/labels.yaml`` (labels.v1) as columns of
#: ``message_signals``.  A new label set is a new migration;
#: ``tests/store/test_migrations.py`` checks this list against the config.
SIGNAL_LABELS = (
    "newcomer_answer",
    "welcome",
    "deescalate_humor",
    "deescalate_summary",
    "deescalate_redirect",
    "empathy",
    "guide_details",
    "guide_channel",
    "newcomer_question",
    "complaint",
    "heated",
    "offensive",
    "personal_attack",
    "gratitude",
    "bias_accusation",
    "fatigue",
)

#: One row per scored message (the signals stage of `anchorwatch analyze`):
#: a probability per label, the labels at or above threshold, their evidence
#: spans, and which backend and stage produced them.
message_signals = Table(
    "message_signals",
    metadata,
    Column("message", ID, primary_key=True),
    Column("backend", String(40), nullable=False),
    Column("stage", String(40)),
    *(Column(f"p_{label}", Float, nullable=False) for label in SIGNAL_LABELS),
    Column("labels", JSONType, nullable=False),
    Column("evidence", JSONType),
)

#: The thread each analysed message belongs to (the episodes stage of
#: `anchorwatch analyze`): the conversation itself for a forum thread, a
#: separated conversation for a chat stream.  A message without a row here has
#: not been through the episodes stage yet; that is how a run resumes.
message_threads = Table(
    "message_threads",
    metadata,
    Column("message", ID, primary_key=True),
    Column("conversation", ID, nullable=False, index=True),
    Column("thread", String(420), nullable=False, index=True),
)

#: One row per episode (DESIGN 3.3 ``episode``): a newcomer question, a
#: conflict, a complaint or an arrival, with its messages and outcome.
episodes = Table(
    "episodes",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(30), nullable=False, index=True),
    Column("conversation", ID, index=True),
    Column("thread", String(420), index=True),
    Column("subject", ID, nullable=False, index=True),
    Column("anchor", String(420), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("ended_at", DateTime, nullable=False),
    Column("messages", JSONType, nullable=False),
    Column("outcome", JSONType, nullable=False),
    Column("question", ID),
    Column("question_cluster", String(40), index=True),
    Column("times_asked_before", Integer),
    Column("response", JSONType),
    Column("version", String(40), nullable=False),
)

#: Every act attributed to an episode and to the member it served, with the
#: time since that member's last message (first-response latency).
episode_acts = Table(
    "episode_acts",
    metadata,
    Column("episode", String(40), primary_key=True),
    Column("message", ID, primary_key=True),
    Column("act", String(40), primary_key=True),
    Column("member", ID, nullable=False, index=True),
    Column("served", ID, nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("score", Float, nullable=False),
    Column("latency_s", Integer),
    Column("evidence", JSONType),
)

#: Encoder embeddings of newcomer questions, kept so that an incremental run
#: only encodes the new ones before clustering.
question_vectors = Table(
    "question_vectors",
    metadata,
    Column("message", ID, primary_key=True),
    Column("vector", LargeBinary, nullable=False),
)

#: Small facts kept between runs: which settings version made the stored
#: episodes, whether an erasure left episodes to refresh, and the salt of the
#: erased list (key ``privacy``).
analysis_state = Table(
    "analysis_state",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("value", JSONType),
)

#: The care log: what the brand did for a member (a specific thank-you, a
#: call, a gift, an award, a rest).  Recognition lowers burnout risk, so the
#: members stage reads it; ``episode`` is the event a thank-you named.
care_actions = Table(
    "care_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("member", ID, nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("action", String(40), nullable=False),
    Column("staff", String(200)),
    Column("episode", String(40)),
    Column("note", Text),
    Column("extra", JSONType),
)

#: Staff accounts of the web app and the API (DESIGN 3.4).  Passwords are
#: Argon2id hashes; roles: admin, operator, care, analyst.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(300)),
    Column("created_at", DateTime, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

#: API tokens: only their SHA-256 is kept, so a copy of the database holds no
#: usable token.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("last_used_at", DateTime),
    Column("revoked_at", DateTime),
)

#: Private venting channels (倾诉渠道): one member, one assigned care user, a
#: link whose token is kept only as a SHA-256, an expiry and a revocation.
vent_channels = Table(
    "vent_channels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("member", ID, nullable=False, index=True),
    Column("care_user", Integer, nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
    Column("opt_in_risk", Boolean, nullable=False, default=False),
)

#: What the member and the care user wrote in a channel, encrypted with the
#: key named by ``key_id`` (kept outside the database).  ``labels`` (the
#: signal labels of a member's message) are kept only when the member opted in
#: to let their messages count in their own burnout risk.
vent_messages = Table(
    "vent_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", Integer, nullable=False, index=True),
    Column("member", ID, nullable=False, index=True),
    Column("author", String(10), nullable=False),
    Column("care_user", Integer),
    Column("at", DateTime, nullable=False),
    Column("key_id", String(40), nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("labels", JSONType),
)

#: Browser sessions of the web app: the cookie holds a random id of which only
#: the SHA-256 is kept here, with the session's CSRF token and its expiry.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

#: Who looked at or did what to whom: views of a member's burnout risk and
#: venting messages, erasures, care actions.  Never the data itself.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False, index=True),
    Column("user_name", String(100), nullable=False),
    Column("action", String(40), nullable=False),
    Column("member", ID, index=True),
    Column("detail", JSONType),
)


#: What was erased (DESIGN 3.5), kept only as salted hashes (HMAC-SHA256 with
#: the store's own salt) so that a re-import skips it and never brings it
#: back: ``kind`` is ``member`` (a member id), ``message`` (their message ids,
#: so replies to them land pointing at the tombstone), ``conversation`` (a
#: conversation only they wrote in) or ``title`` (a conversation they started,
#: whose title was their text).
erased = Table(
    "erased",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("erased_at", DateTime, nullable=False),
)
