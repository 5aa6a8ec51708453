"""Catalog tables of notifications: subscriptions, organisations with their numbers and granted ranges, matches,
the outbox.

Numbers are stored only as keyed hashes (the index's 64-bit hash, as a signed 64-bit integer) and a masked
form; only the ends of granted ranges (blocks of the numbering plan, not personal numbers) are kept as they are.
Times are Unix seconds (floats), so a dispatcher's injected clock compares directly with them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from .tables import metadata

subscriptions = Table(
    "notify_subscriptions", metadata,
    Column("id", String(32), primary_key=True),
    Column("number_hash", BigInteger, nullable=False),
    Column("number_masked", String(32), nullable=False),
    Column("channel", String(8), nullable=False),  # "email" or "webhook"
    Column("email", String(320), nullable=True),
    Column("webhook_url", String(2048), nullable=True),
    Column("code_hash", String(64), nullable=True),
    Column("code_expires", Double, nullable=True),
    Column("code_attempts", Integer, nullable=False, default=0),
    Column("number_verified", Boolean, nullable=False, default=False),
    Column("email_confirmed", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=False),
    Column("created", Double, nullable=False),
    # The language its SMS, emails and alerts are written in (a catalog id of breachwatch.i18n).
    Column("language", String(16), nullable=False, server_default="en"),
    Index("ix_notify_subscriptions_number", "number_hash"),
    # Covers the matcher's two queries (all active hashes; active rows among matched hashes). An index on
    # `active` alone made SQLite scan every active row once per IN-chunk of matched hashes.
    Index("ix_notify_subscriptions_active_hash", "active", "number_hash"),
)

organisations = Table(
    "notify_organisations", metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("email", String(320), nullable=True),
    Column("webhook_url", String(2048), nullable=True),
    Column("created", Double, nullable=False),
)

org_numbers = Table(
    "notify_org_numbers", metadata,
    Column("org_id", String(32), ForeignKey("notify_organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("number_hash", BigInteger, primary_key=True),
    Column("masked", String(32), nullable=False),
    Index("ix_notify_org_numbers_hash", "number_hash"),  # the matcher looks matched hashes up across organisations
)

org_grants = Table(
    "notify_org_grants", metadata,
    # Number ranges an admin verified out of band (e.g. a company's DID block), inside which the organisation's
    # own key may add and remove numbers. Blocks of a numbering plan, not personal numbers: kept as E.164 integers.
    Column("org_id", String(32), ForeignKey("notify_organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("first_number", BigInteger, primary_key=True),
    Column("last_number", BigInteger, primary_key=True),
    Column("created", Double, nullable=False),
)

matches = Table(
    "notify_matches", metadata,
    Column("target_kind", String(16), primary_key=True),  # "subscription" or "organisation"
    Column("target_id", String(32), primary_key=True),
    Column("breach_name", String(128), primary_key=True),
    Column("numbers", Integer, nullable=False),
    Column("matched", Double, nullable=False),
)

outbox = Table(
    "notify_outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("target_kind", String(16), nullable=False),
    Column("target_id", String(32), nullable=False),
    Column("breach_name", String(128), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(12), nullable=False, default="pending"),  # pending, delivered, failed, cancelled
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt", Double, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", Double, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created", Double, nullable=False),
    Column("delivered", Double, nullable=True),
    Index("ix_notify_outbox_due", "status", "next_attempt"),
    Index("ix_notify_outbox_target", "target_kind", "target_id"),
)

quotas = Table(
    "notify_quotas", metadata,
    # One counter per name and fixed window, e.g. "codes-day:<number hash>" or "sms-hour"; taken atomically.
    Column("name", String(80), primary_key=True),
    Column("window_start", BigInteger, primary_key=True),
    Column("count", Integer, nullable=False),
)
