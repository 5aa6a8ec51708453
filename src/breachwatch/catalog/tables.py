"""SQLAlchemy Core table definitions of the catalog."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

breaches = Table(
    "breaches", metadata,
    Column("name", String(128), primary_key=True),
    Column("title", String(256), nullable=False),
    Column("domain", String(256), nullable=False, default=""),
    Column("breach_date", Date, nullable=True),
    Column("added_date", DateTime(timezone=True), nullable=False),
    Column("modified_date", DateTime(timezone=True), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("pwn_count", BigInteger, nullable=False),
    Column("valid_count", BigInteger, nullable=False, default=0),
    Column("possible_count", BigInteger, nullable=False, default=0),
    Column("data_classes", JSON, nullable=False),
    Column("status", String(16), nullable=False, default="unverified"),
    Column("is_sensitive", Boolean, nullable=False, default=False),
    Column("is_retired", Boolean, nullable=False, default=False),
    Column("is_spam_list", Boolean, nullable=False, default=False),
    Column("is_malware", Boolean, nullable=False, default=False),
    Column("logo_path", String(512), nullable=False, default=""),
    Column("source_notes", Text, nullable=False, default=""),
    Column("segment_file", String(512), nullable=False),
    Column("segment_checksum", String(64), nullable=False),
    Column("ingest_report", JSON, nullable=False),
)

breach_countries = Table(
    "breach_countries", metadata,
    Column("breach_name", String(128), ForeignKey("breaches.name", ondelete="CASCADE"), primary_key=True),
    Column("region", String(8), primary_key=True),
    Column("numbers", BigInteger, nullable=False),
    Column("valid", BigInteger, nullable=False),
)

catalog_meta = Table(
    "catalog_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

generation = Table(
    "catalog_generation", metadata,
    Column("id", Integer, primary_key=True),
    Column("value", BigInteger, nullable=False),
)
