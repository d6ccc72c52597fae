"""The one data model's tables (SQLAlchemy Core).

Core tables rather than ORM classes: the hot paths are single indexed statements and the
ORM's unit-of-work costs several times their price (see the foundation issue's figures).
Every change here needs an Alembic migration in `store/migrations/versions`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# BigInteger ids that are still SQLite rowids ("INTEGER PRIMARY KEY").
Id = BigInteger().with_variant(Integer(), "sqlite")


class Instant(TypeDecorator[datetime]):
    """A moment in time, stored as UTC and read back UTC-aware on every backend.

    Why: SQLite has no time zones, and SQLAlchemy's SQLite DateTime writes an aware value's
    wall-clock digits and drops its offset, so `16:09+01:00` came back as `16:09Z`, an hour
    late. Converting to UTC on the way in keeps the instant, and keeps SQLite's text
    comparisons (ranges, ordering) in one zone. A naive value is taken as UTC, as the store
    always has. PostgreSQL's timestamptz keeps instants already; the conversion is harmless.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def _ts(name: str, nullable: bool = False) -> Column[datetime]:
    return Column(name, Instant(), nullable=nullable)


server_settings = Table(
    "server_settings",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
)

brands = Table(
    # Resellers (OX's brands), above tenants (0008). Brand 1 is the default brand.
    "brands",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("parent_id", ForeignKey("brands.id", ondelete="RESTRICT")),
    # The one Basic credential mail reads (OX's tennantAuth) are made with.
    Column("mail_username", String(255), unique=True),
    Column("mail_password_hash", String(255)),
    _ts("created_at"),
)

brand_admins = Table(
    # A reseller's administrators: above every tenant of the brand and its sub-brands.
    "brand_admins",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("brand_id", ForeignKey("brands.id", ondelete="CASCADE"), nullable=False),
    Column("username", String(255), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    _ts("created_at"),
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    _ts("created_at"),
    Column(
        "brand_id",
        ForeignKey("brands.id", ondelete="RESTRICT"),
        nullable=False,
        server_default="1",
    ),
)

domains = Table(
    "domains",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # NULL for a brand's shared mail domain (kind `shared`, 0011), which `brand_id` names.
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE")),
    Column("name", String(253), nullable=False, unique=True),
    Column("kind", String(20), nullable=False, server_default="primary"),
    # RMP's domain tree and settings (0004): a resource sub-domain names its parent.
    Column("parent_id", ForeignKey("domains.id", ondelete="CASCADE")),
    Column("settings", JSON),
    _ts("created_at", nullable=True),
    # Whether requests whose Host (or RMP login server) is this name reach the tenant
    # (0005): the primary domain and names the operator adds; never a tenant's own.
    Column("routes", Boolean, nullable=False, server_default="0"),
    Column("brand_id", ForeignKey("brands.id", ondelete="CASCADE")),
)
Index("ix_domains_brand", domains.c.brand_id)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("username", String(1023), nullable=False),
    Column("name", String(1023), nullable=False, server_default=""),
    Column("email", String(1023)),
    Column("locked", Boolean, nullable=False, server_default="0"),
    Column("vcard", Text),
    _ts("created_at"),
    _ts("updated_at"),
    # Profile attributes (Symphony's user attributes; 0002).
    Column("first_name", String(255)),
    Column("last_name", String(255)),
    Column("title", String(255)),
    Column("company_name", String(255)),
    Column("department", String(255)),
    Column("division", String(255)),
    Column("location", String(255)),
    Column("job_function", String(255)),
    Column("work_phone", String(64)),
    Column("mobile_phone", String(64)),
    Column("sms_number", String(64)),
    Column("account_type", String(10), nullable=False, server_default="NORMAL"),
    # The person's home domain (0005): whose admins may act on them. NULL is the
    # tenant's primary domain (people made through Openfire or Symphony, or before 0005).
    Column("home_domain_id", ForeignKey("domains.id", ondelete="SET NULL")),
    # The rest of Symphony's directory attributes, and application metadata (0006).
    Column("two_factor_phone", String(64)),
    Column("recommended_language", String(255)),
    Column("asset_classes", JSON),
    Column("industries", JSON),
    Column("market_coverage", JSON),
    Column("responsibilities", JSON),
    Column("functions", JSON),
    Column("instruments", JSON),
    Column("metadata", JSON),
    # OX's provisioning attributes of a person (0008; msisdn is `mobile_phone`).
    Column("delivery_status", String(64)),
    Column("legacy_ref", String(255)),
    Column("custom_ids", JSON),
    Column("class_of_service", JSON),
    UniqueConstraint("tenant_id", "username", name="uq_users_tenant_username"),
)
Index("ix_users_tenant_email", users.c.tenant_id, users.c.email)

mailboxes = Table(
    # A person's mail settings (0008): one row once any is set; none means the defaults.
    "mailboxes",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("quota_bytes", BigInteger),
    Column("quota_mode", String(16)),
    Column("spam_level", String(16)),
    Column("antivirus", Boolean),
    Column("anti_phishing", String(16)),
)

mail_last_login = Table(
    # When a mailbox last logged in to read mail (0010): Dovecot's last_login plugin
    # writes it in production, Townhall in embedded mode. Epoch seconds, keyed by address.
    "mail_last_login",
    metadata,
    Column("username", String(254), primary_key=True),
    Column("last_login", BigInteger, nullable=False),
)

mail_sieve_scripts = Table(
    # Sieve scripts rendered from a person's sender lists (0014), which Dovecot runs
    # before delivery; published to it under the current address by `mda_sieve_scripts`
    # (store/mail_views.py, with the engines' other views). `script_id` changes with the
    # text, so Pigeonhole recompiles.
    "mail_sieve_scripts",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("script_id", String(64), nullable=False),
    Column("script", Text, nullable=False),
)

user_properties = Table(
    "user_properties",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", Text),
)
Index("ix_user_properties_key", user_properties.c.key, user_properties.c.value)

credentials = Table(
    "credentials",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("password_hash", Text, nullable=False),
    _ts("updated_at"),
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(64), primary_key=True),
)

groups = Table(
    "groups",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text),
    Column("shared", Boolean, nullable=False, server_default="0"),
    UniqueConstraint("tenant_id", "name", name="uq_groups_tenant_name"),
)

# A member is a local user (user_id) or a foreign JID (jid); never both.
group_members = Table(
    "group_members",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE")),
    Column("jid", String(3071)),
    Column("is_admin", Boolean, nullable=False, server_default="0"),
    CheckConstraint("(user_id IS NULL) <> (jid IS NULL)", name="member_is_user_or_jid"),
    UniqueConstraint("group_id", "user_id", name="uq_group_members_user"),
    UniqueConstraint("group_id", "jid", name="uq_group_members_jid"),
)
Index("ix_group_members_user", group_members.c.user_id)

roster_items = Table(
    "roster_items",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("jid", String(3071), nullable=False),
    Column("nickname", String(1023)),
    Column("subscription", Integer, nullable=False, server_default="0"),
    Column("groups", JSON, nullable=False),
    UniqueConstraint("user_id", "jid", name="uq_roster_items_user_jid"),
)

chat_services = Table(
    "chat_services",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_folded", String(200), nullable=False),
    Column("description", Text),
    Column("hidden", Boolean, nullable=False, server_default="0"),
    UniqueConstraint("tenant_id", "name_folded", name="uq_chat_services_tenant_name"),
)

rooms = Table(
    "rooms",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("service_id", ForeignKey("chat_services.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(1023), nullable=False),
    Column("natural_name", String(1023), nullable=False, server_default=""),
    Column("description", Text, nullable=False, server_default=""),
    Column("password", String(1023)),
    Column("subject", Text),
    Column("max_users", Integer, nullable=False, server_default="0"),
    Column("persistent", Boolean, nullable=False, server_default="0"),
    Column("public_room", Boolean, nullable=False, server_default="0"),
    Column("registration_enabled", Boolean, nullable=False, server_default="0"),
    Column("can_anyone_discover_jid", Boolean, nullable=False, server_default="0"),
    Column("can_occupants_change_subject", Boolean, nullable=False, server_default="0"),
    Column("can_occupants_invite", Boolean, nullable=False, server_default="0"),
    Column("can_change_nickname", Boolean, nullable=False, server_default="0"),
    Column("log_enabled", Boolean, nullable=False, server_default="0"),
    Column("login_restricted_to_nickname", Boolean, nullable=False, server_default="0"),
    Column("members_only", Boolean, nullable=False, server_default="0"),
    Column("moderated", Boolean, nullable=False, server_default="0"),
    Column("broadcast_presence_roles", JSON, nullable=False),
    Column("allow_pm", String(20), nullable=False, server_default="anyone"),
    _ts("created_at"),
    _ts("modified_at"),
    # Stream attributes (Symphony's room attributes; 0002). The stream id is URL-safe
    # base64, given to every room so each dialect can address it.
    Column("stream_id", String(64), unique=True),
    Column("keywords", JSON),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("read_only", Boolean, nullable=False, server_default="0"),
    Column("copy_protected", Boolean, nullable=False, server_default="0"),
    Column("cross_pod", Boolean, nullable=False, server_default="0"),
    Column("view_history", Boolean, nullable=False, server_default="0"),
    Column("multilateral", Boolean, nullable=False, server_default="0"),
    Column("sub_type", String(32)),
    Column("created_by", ForeignKey("users.id", ondelete="SET NULL")),
    UniqueConstraint("service_id", "name", name="uq_rooms_service_name"),
)

# One row per affiliated entity: a local user, a foreign JID or a group.
room_affiliations = Table(
    "room_affiliations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("room_id", ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("affiliation", String(10), nullable=False),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE")),
    Column("jid", String(3071)),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE")),
    _ts("joined_at", nullable=True),
    CheckConstraint(
        "affiliation IN ('owner', 'admin', 'member', 'outcast')", name="known_affiliation"
    ),
    CheckConstraint(
        "(CASE WHEN user_id IS NULL THEN 0 ELSE 1 END"
        " + CASE WHEN jid IS NULL THEN 0 ELSE 1 END"
        " + CASE WHEN group_id IS NULL THEN 0 ELSE 1 END) = 1",
        name="one_entity",
    ),
    UniqueConstraint("room_id", "user_id", name="uq_room_affiliations_user"),
    UniqueConstraint("room_id", "jid", name="uq_room_affiliations_jid"),
    UniqueConstraint("room_id", "group_id", name="uq_room_affiliations_group"),
)
Index("ix_room_affiliations_user", room_affiliations.c.user_id)

room_messages = Table(
    "room_messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("room_id", ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("sender", String(3071)),
    Column("recipient", String(3071)),
    Column("type", String(20), nullable=False, server_default="groupchat"),
    Column("body", Text),
    Column("suppressed", Boolean, nullable=False, server_default="0"),
    _ts("sent_at"),
    # The URL-safe id clients address a message by, and when it was hidden (0003).
    Column("message_id", String(64), unique=True),
    _ts("suppressed_at", nullable=True),
)
Index("ix_room_messages_room_sent", room_messages.c.room_id, room_messages.c.sent_at)

# The live-connection registry: one row per connected client resource (XMPP, WebSocket...).
# (The table keeps the name it was created with.)
live_connections = Table(
    "live_sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE")),
    Column("resource", String(1023), nullable=False),
    Column("node", String(200), nullable=False),
    Column("status", String(20), nullable=False, server_default="authenticated"),
    Column("presence_show", String(20)),
    Column("presence_message", Text),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("host_address", String(64)),
    Column("host_name", String(253)),
    Column("secure", Boolean, nullable=False, server_default="0"),
    _ts("created_at"),
    _ts("last_active_at"),
)
Index("ix_live_sessions_tenant_user", live_connections.c.tenant_id, live_connections.c.user_id)

room_occupants = Table(
    "room_occupants",
    metadata,
    Column("room_id", ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("nickname", String(1023), primary_key=True),
    Column("session_id", ForeignKey("live_sessions.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(20), nullable=False, server_default="participant"),
)

system_properties = Table(
    "system_properties",
    metadata,
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", Text),
    Column("secret", Boolean, nullable=False, server_default="0"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("username", String(1023)),
    _ts("occurred_at"),
    Column("action", String(100), nullable=False),
    Column("summary", Text, nullable=False),
    Column("node", String(200)),
    Column("details", Text),
)
Index("ix_audit_log_tenant_time", audit_log.c.tenant_id, audit_log.c.occurred_at)

# RSA public keys a user signs login JWTs with (Symphony's currentKey/previousKey; 0002).
user_keys = Table(
    "user_keys",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(10), primary_key=True),
    Column("public_key", Text, nullable=False),
    _ts("expires_at", nullable=True),
    CheckConstraint("kind IN ('current', 'previous')", name="known_kind"),
)

# Opaque API session tokens, kept only as SHA-256 digests (0002).
session_tokens = Table(
    "session_tokens",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    _ts("created_at"),
    _ts("expires_at"),
    _ts("revoked_at", nullable=True),
)
Index("ix_session_tokens_user", session_tokens.c.user_id)

# A person's chosen presence (Symphony's presence category; 0002).
user_presence = Table(
    "user_presence",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("category", String(32), nullable=False),
    _ts("updated_at"),
)

# Feature entitlements per user, e.g. canCreatePublicRoom (0002).
user_features = Table(
    "user_features",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("feature", String(100), primary_key=True),
    Column("enabled", Boolean, nullable=False),
)

# Who may act for whom (Symphony delegates; 0002).
user_delegates = Table(
    "user_delegates",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("delegate_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

# Applications the tenant offers, and each user's (0002).
app_entitlements = Table(
    "app_entitlements",
    metadata,
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("app_id", String(256), primary_key=True),
    Column("app_name", String(50), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("listed", Boolean, nullable=False),
    Column("install", Boolean, nullable=False),
)

user_app_entitlements = Table(
    "user_app_entitlements",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("app_id", String(256), primary_key=True),
    Column("app_name", String(50)),
    Column("listed", Boolean, nullable=False),
    Column("install", Boolean, nullable=False),
    Column("products", JSON),
)

# A person's picture, as uploaded (0002).
user_avatars = Table(
    "user_avatars",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("media_type", String(32), nullable=False),
    Column("image", LargeBinary, nullable=False),
    _ts("updated_at"),
    # The unguessable name of this picture in its URL (0005), new with every upload.
    Column("token", String(43), nullable=False, unique=True),
)

# Compliance disclaimers users must accept, and which one each user has (0003).
disclaimers = Table(
    "disclaimers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("content", Text, nullable=False),
    Column("format", String(10), nullable=False, server_default="TEXT"),
    Column("frequency_hours", Integer, nullable=False, server_default="0"),
    Column("is_default", Boolean, nullable=False, server_default="0"),
    Column("active", Boolean, nullable=False, server_default="1"),
    _ts("created_at"),
    _ts("modified_at"),
    UniqueConstraint("tenant_id", "name", name="uq_disclaimers_tenant_name"),
    CheckConstraint("format IN ('TEXT', 'XML')", name="known_format"),
)

user_disclaimers = Table(
    "user_disclaimers",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("disclaimer_id", ForeignKey("disclaimers.id", ondelete="CASCADE"), nullable=False),
)
Index("ix_user_disclaimers_disclaimer", user_disclaimers.c.disclaimer_id)

# Information barriers: groups of users, and policies that block or allow contact
# between the groups they name (0003).
barrier_groups = Table(
    "barrier_groups",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    _ts("created_at"),
    _ts("modified_at"),
    UniqueConstraint("tenant_id", "name", name="uq_barrier_groups_tenant_name"),
)

barrier_group_members = Table(
    "barrier_group_members",
    metadata,
    Column("group_id", ForeignKey("barrier_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)
Index("ix_barrier_group_members_user", barrier_group_members.c.user_id)

barrier_policies = Table(
    "barrier_policies",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("policy_type", String(5), nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    _ts("created_at"),
    _ts("modified_at"),
    CheckConstraint("policy_type IN ('BLOCK', 'ALLOW')", name="known_type"),
)

barrier_policy_groups = Table(
    "barrier_policy_groups",
    metadata,
    Column("policy_id", ForeignKey("barrier_policies.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("barrier_groups.id", ondelete="CASCADE"), primary_key=True),
)

# X.509 certificates the organisation trusts or knows (Symphony company certs; 0003).
company_certs = Table(
    "company_certs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("fingerprint", String(128), nullable=False),
    Column("issuer_fingerprint", String(128)),
    Column("pem", Text, nullable=False),
    Column("name", String(255), nullable=False),
    Column("cert_type", String(20), nullable=False),
    Column("status", String(10), nullable=False),
    Column("common_name", String(1023), nullable=False, server_default=""),
    Column("pod_managed", Boolean, nullable=False, server_default="0"),
    _ts("expires_at"),
    _ts("last_seen", nullable=True),
    _ts("updated_at"),
    Column("updated_by", ForeignKey("users.id", ondelete="SET NULL")),
    UniqueConstraint("tenant_id", "fingerprint", name="uq_company_certs_tenant_fingerprint"),
    CheckConstraint(
        "cert_type IN ('USERSIGNING', 'USER', 'OPERATIONSSIGNING', 'OPERATIONSUSER')",
        name="known_type",
    ),
    CheckConstraint("status IN ('TRUSTED', 'KNOWN', 'REVOKED', 'DISABLED')", name="known_status"),
)
Index("ix_company_certs_issuer", company_certs.c.tenant_id, company_certs.c.issuer_fingerprint)

# RMP: who administers which domain (server admins hold the `server_admin` role; 0004).
domain_admins = Table(
    "domain_admins",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("domain_id", ForeignKey("domains.id", ondelete="CASCADE"), primary_key=True),
)

# RMP resource categories and types; a type's `fields` is the schema its resources'
# custom fields are validated against (0004).
resource_categories = Table(
    "resource_categories",
    metadata,
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("slug", String(100), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("icon", String(100)),
)

resource_types = Table(
    "resource_types",
    metadata,
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("slug", String(100), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("category", String(100), nullable=False),
    Column("fields", JSON, nullable=False),
)

# Bookable things. Each is a resource account `name@<resource sub-domain>` (0004).
resources = Table(
    "resources",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("domain_id", ForeignKey("domains.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("display_name", String(1023), nullable=False),
    Column("type", String(100), nullable=False),
    Column("category", String(100), nullable=False),
    Column("capacity", Integer),
    Column("features", JSON, nullable=False),
    Column("custom_fields", JSON, nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    _ts("created_at"),
    _ts("updated_at"),
    UniqueConstraint("domain_id", "name", name="uq_resources_domain_name"),
)
Index("ix_resources_tenant_type", resources.c.tenant_id, resources.c.type)
Index("ix_resources_tenant_capacity", resources.c.tenant_id, resources.c.capacity)

# Calendars belong to a person or to a resource; shares give others access (0004).
calendars = Table(
    "calendars",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("owner_user_id", ForeignKey("users.id", ondelete="CASCADE")),
    Column("owner_resource_id", ForeignKey("resources.id", ondelete="CASCADE")),
    Column("name", String(255), nullable=False),
    _ts("created_at"),
    UniqueConstraint("owner_user_id", "name", name="uq_calendars_owner_user_id"),
    UniqueConstraint("owner_resource_id", "name", name="uq_calendars_owner_resource_id"),
    CheckConstraint("(owner_user_id IS NULL) <> (owner_resource_id IS NULL)", name="one_owner"),
)

calendar_shares = Table(
    "calendar_shares",
    metadata,
    Column("calendar_id", ForeignKey("calendars.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("access", String(20), nullable=False),
    CheckConstraint("access IN ('read-only', 'read-write')", name="known_access"),
)
Index("ix_calendar_shares_user", calendar_shares.c.user_id)

# A calendar shared with a server group reaches each of its members (0019).
calendar_group_shares = Table(
    "calendar_group_shares",
    metadata,
    Column("calendar_id", ForeignKey("calendars.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("access", String(20), nullable=False),
    CheckConstraint("access IN ('read-only', 'read-write')", name="known_access"),
)
Index("ix_calendar_group_shares_group", calendar_group_shares.c.group_id)

# Bookings of resources. On PostgreSQL an exclusion constraint keeps two live bookings
# of one resource from overlapping (half-open ranges); on SQLite the booking service
# checks and inserts inside one `BEGIN IMMEDIATE` transaction (0004).
bookings = Table(
    "bookings",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("resource_id", ForeignKey("resources.id", ondelete="CASCADE"), nullable=False),
    Column("organizer_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("organizer", String(1023), nullable=False),
    Column("title", String(1023), nullable=False),
    _ts("starts_at"),
    _ts("ends_at"),
    Column("status", String(20), nullable=False),
    Column("attendees", JSON, nullable=False),
    Column("services", JSON, nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
    CheckConstraint("ends_at > starts_at", name="positive_duration"),
    CheckConstraint("status IN ('confirmed', 'tentative', 'cancelled')", name="known_status"),
)
Index("ix_bookings_resource_time", bookings.c.resource_id, bookings.c.starts_at)
# Where a range check starts on SQLite: at the end of the asked range, not at the
# resource's first booking (0024).
Index("ix_bookings_resource_end", bookings.c.resource_id, bookings.c.ends_at)
Index("ix_bookings_organizer_time", bookings.c.organizer_id, bookings.c.starts_at)
Index("ix_bookings_tenant_time", bookings.c.tenant_id, bookings.c.starts_at)
BOOKINGS_DO_NOT_OVERLAP = (
    "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist "
    "(resource_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
    "WHERE (status <> 'cancelled')"
)


# Calendar events. A booking writes one into the resource's calendar and one into the
# organizer's; both carry the booking's id and share one iCalendar UID (0004).
calendar_events = Table(
    "calendar_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("calendar_id", ForeignKey("calendars.id", ondelete="CASCADE"), nullable=False),
    Column("uid", String(255), nullable=False),
    Column("title", String(1023), nullable=False),
    Column("location", String(1023)),
    Column("organizer", String(1023)),
    Column("attendees", JSON, nullable=False),
    _ts("starts_at"),
    _ts("ends_at"),
    Column("rrule", String(1023)),
    Column("exdates", JSON, nullable=False),
    # The last instant any occurrence can end; NULL for an endless series.
    _ts("series_ends_at", nullable=True),
    Column("status", String(20), nullable=False, server_default="confirmed"),
    Column("sequence", Integer, nullable=False, server_default="0"),
    Column("booking_id", ForeignKey("bookings.id", ondelete="CASCADE")),
    _ts("created_at"),
    _ts("updated_at"),
    # The calendar owner's answer to an invitation (PARTSTAT); NULL: no invitation (0018).
    Column("partstat", String(20)),
    # The IANA zone a series expands in; NULL is UTC (0019).
    Column("timezone", String(64)),
    # An overridden occurrence: its series' row and original start (0019; no foreign
    # key, as SQLite cannot add one to an existing table).
    Column("series_id", Id),
    _ts("recurrence_id", nullable=True),
    CheckConstraint("ends_at > starts_at", name="positive_duration"),
)
Index(
    "ix_calendar_events_calendar_time", calendar_events.c.calendar_id, calendar_events.c.starts_at
)
Index("ix_calendar_events_series", calendar_events.c.series_id, calendar_events.c.recurrence_id)
Index("ix_calendar_events_booking", calendar_events.c.booking_id)


# Mail forwards (OX's forwards): mail to `alias` goes to each `recipient`, both stored
# lower-case. `alias` is an address in one of the tenant's domains (0008).
mail_aliases = Table(
    "mail_aliases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("alias", String(254), nullable=False),
    Column("recipient", String(254), nullable=False),
    _ts("created_at"),
    UniqueConstraint("alias", "recipient", name="uq_mail_aliases_alias_recipient"),
)
Index("ix_mail_aliases_alias", mail_aliases.c.alias)
Index("ix_mail_aliases_tenant", mail_aliases.c.tenant_id)

# A person's black and white lists of senders: lower-case patterns, `*` a wildcard, a
# bare domain standing for `*@domain` (services/sender_lists.py; 0008).
mail_sender_rules = Table(
    "mail_sender_rules",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("list", String(5), primary_key=True),
    Column("pattern", String(254), primary_key=True),
    _ts("created_at"),
    CheckConstraint("list IN ('black', 'white')", name="known_list"),
)


# Announcements a brand shows its people (0013): versioned, enabled or not, shown within
# [starts_at, ends_at) (instants; `timezone` is the zone the times were given in).
announcements = Table(
    "announcements",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("owner_brand_id", ForeignKey("brands.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("message", JSON, nullable=False),
    _ts("starts_at", nullable=True),
    _ts("ends_at", nullable=True),
    Column("timezone", String(64), nullable=False),
    Column("discardable", Boolean, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
)
Index("ix_announcements_owner", announcements.c.owner_brand_id)

# The brands whose people see an announcement (none listed: the owner brand's).
announcement_brands = Table(
    "announcement_brands",
    metadata,
    Column("announcement_id", ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True),
    Column("brand_id", ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True),
)
Index("ix_announcement_brands_brand", announcement_brands.c.brand_id)


# Address books (0015): each person's named books ("Contacts" first) of vCard entries,
# contacts and contact groups (services/address_books.py). `vcard` is the whole card;
# the columns are the fields read out of it. `person_id` links an entry whose address
# is a person of the tenant (`link_domain`: the person domain the address named, NULL
# the person's own `email`), so it shows that person's current name and address.
address_books = Table(
    "address_books",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    _ts("created_at"),
    UniqueConstraint("user_id", "name", name="uq_address_books_user_name"),
)

address_cards = Table(
    "address_cards",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("book_id", ForeignKey("address_books.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("uid", String(255), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("name", String(1023), nullable=False),
    Column("email", String(254)),
    # `email` lower-cased: what a person's address is compared with (store.adopt).
    Column("email_key", String(254)),
    Column("phone", String(64)),
    Column("organization", String(1023)),
    Column("description", Text),
    Column("members", JSON),
    Column("person_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("link_domain", String(253)),
    Column("vcard", Text, nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
    CheckConstraint("kind IN ('contact', 'group')", name="known_kind"),
    UniqueConstraint("user_id", "uid", name="uq_address_cards_user_uid"),
)
Index("ix_address_cards_book", address_cards.c.book_id)
Index("ix_address_cards_person", address_cards.c.person_id)
Index("ix_address_cards_email_key", address_cards.c.email_key)
files = Table(
    # A person's files and folders (0016): `path` within their storage, without a
    # leading `/` ("docs/a.pdf"), `parent` the folder it is in ("" at the top). A file's
    # bytes are in the file store under `blob` (never derived from the path).
    "files",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("path", String(1024), nullable=False),
    Column("parent", String(1024), nullable=False),
    Column("name", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("size", BigInteger),
    Column("mime_type", String(255)),
    Column("blob", String(128)),
    _ts("modified_at"),
    UniqueConstraint("user_id", "path", name="uq_files_user_path"),
)
Index("ix_files_user_parent", files.c.user_id, files.c.parent, files.c.name)

file_chunks = Table(
    # The bytes of files when the file store is `database` (0016): each blob in chunks
    # of at most store.files.CHUNK bytes, numbered from 0.
    "file_chunks",
    metadata,
    Column("blob", String(128), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)
# SaaS customers (0021): a tenant's subscription, and its plan history, one row per
# service and plan held for a while (ends_at NULL: held now). Invoices are computed from
# the history; each row keeps the price and limits the plan had when it was chosen.
saas_subscriptions = Table(
    "saas_subscriptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("public_id", String(40), nullable=False, unique=True),
    Column("company", String(200), nullable=False),
    Column("email_domain", String(253), nullable=False, unique=True),
    Column("deployment", String(20), nullable=False),
    Column("region", String(20)),
    Column("status", String(20), nullable=False),
    _ts("started_at"),
)

saas_plan_history = Table(
    "saas_plan_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "subscription_id",
        ForeignKey("saas_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("service", String(40), nullable=False),
    Column("plan", String(40), nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("max_users", BigInteger),
    Column("max_resources", BigInteger),
    Column("max_storage_bytes", BigInteger),
    _ts("starts_at"),
    _ts("ends_at", nullable=True),
)
Index("ix_saas_plan_history_subscription", saas_plan_history.c.subscription_id)


jobs = Table(
    # Long work (0022, services/jobs.py): an import, say, run off the request path. The
    # progress is stored so any server process can answer for it; `owner` is the
    # process running it (`<node>:<pid>`), so one that died is found at the next start.
    # `result` is the finished work's answer, `errors` its row-numbered refusals,
    # `failure` why it failed ({kind, field, message}); `params` what it was asked.
    "jobs",
    metadata,
    Column("id", String(40), primary_key=True),
    # No foreign key (0023): a restore replaces every tenant and must not take the job
    # rows, its own running one among them, with it; store/tenants.py deletes a
    # deleted tenant's jobs itself.
    Column("tenant_id", Id, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("state", String(16), nullable=False),
    Column("stage", String(40), nullable=False, default=""),
    Column("done", BigInteger, nullable=False, default=0),
    Column("total", BigInteger, nullable=False, default=0),
    Column("params", JSON),
    Column("result", JSON),
    Column("errors", JSON),
    Column("failure", JSON),
    Column("started_by", String(320), nullable=False),
    Column("owner", String(300), nullable=False),
    _ts("created_at"),
    _ts("started_at", nullable=True),
    _ts("finished_at", nullable=True),
    _ts("updated_at"),
)
Index("ix_jobs_tenant_created", jobs.c.tenant_id, jobs.c.created_at)
Index("ix_jobs_state", jobs.c.state)


def _ids_never_reused() -> None:
    """Every generated id is AUTOINCREMENT on SQLite (0006).

    Why: SQLite otherwise hands out the highest rowid + 1, so deleting the newest person
    gave their uid to the next one, and a bot holding that uid reached someone else.
    PostgreSQL's sequences never go back. One loop, so a new table cannot forget it.
    """
    for table in metadata.tables.values():
        key = list(table.primary_key.columns)
        if len(key) == 1 and key[0].autoincrement is True:
            table.dialect_options["sqlite"]["autoincrement"] = True


_ids_never_reused()
