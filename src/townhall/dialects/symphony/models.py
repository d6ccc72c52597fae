"""Symphony wire models (contract §2.3), as msgspec structs.

Field names are camelCase on the wire; unset fields are left out (the BDK never sends
nulls and ignores absent optional fields). Decoding is strict: a string where an int
belongs is a 400 naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

Metadata = dict[str, dict[str, Any]]
"""Symphony's user metadata: each key holds an object (the spec's additionalProperties,
which the official clients enforce; a key holding anything else would break every
listing they read)."""


class Wire(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=False):
    pass


class Error(Wire):
    code: int
    message: str


class Token(Wire):
    name: str
    token: str
    authorization_token: str | None = None


class AuthenticateRequest(Wire):
    token: str


class SuccessResponse(Wire, omit_defaults=False):
    """Always both fields: the BDK parses the body even where it discards it."""

    format: str = "TEXT"
    message: str = "OK"


class SessionInfo(Wire):
    user_id: int


class Avatar(Wire):
    size: str | None = None
    url: str | None = None


class UserKeyRequest(Wire):
    key: str | None = None
    expiration_date: int | None = None
    action: str | None = None


class Password(Wire):
    h_salt: str | None = None
    h_password: str | None = None
    kh_salt: str | None = None
    kh_password: str | None = None


class UserAttributes(Wire):
    """V2UserAttributes; the 1.4x UserAttributes is the same minus a few fields."""

    email_address: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    user_name: str | None = None
    display_name: str | None = None
    company_name: str | None = None
    department: str | None = None
    division: str | None = None
    title: str | None = None
    work_phone_number: str | None = None
    mobile_phone_number: str | None = None
    two_factor_auth_phone: str | None = None
    sms_number: str | None = None
    account_type: str | None = None
    location: str | None = None
    recommended_language: str | None = None
    job_function: str | None = None
    asset_classes: list[str] | None = None
    industries: list[str] | None = None
    market_coverage: list[str] | None = None
    responsibility: list[str] | None = None
    function: list[str] | None = None
    instrument: list[str] | None = None
    current_key: UserKeyRequest | None = None
    previous_key: UserKeyRequest | None = None
    user_metadata: Metadata | None = None


class UserSystemInfo(Wire):
    id: int | None = None
    status: str | None = None
    suspended: bool | None = None
    created_date: int | None = None
    created_by: str | None = None
    last_updated_date: int | None = None
    last_login_date: int | None = None
    deactivated_date: int | None = None


class UserDetail(Wire):
    """V2UserDetail (and the 1.4x UserDetail)."""

    user_attributes: UserAttributes | None = None
    user_system_info: UserSystemInfo | None = None
    features: list[int] | None = None
    apps: list[int] | None = None
    groups: list[int] | None = None
    roles: list[str] | None = None
    disclaimers: list[int] | None = None
    avatar: Avatar | None = None


class UserCreate(Wire):
    user_attributes: UserAttributes | None = None
    password: Password | None = None
    roles: list[str] | None = None


class UserStatus(Wire):
    status: str | None = None
    suspended: bool | None = None
    suspended_until: int | None = None
    suspension_reason: str | None = None


class UserV1(Wire):
    """The 1.4x `User` of `/v1/user` lookups."""

    id: int | None = None
    email_address: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    title: str | None = None
    company: str | None = None
    username: str | None = None
    location: str | None = None
    avatars: list[Avatar] | None = None


class UserV2(UserV1):
    """The current shape: the 1.4x `User` plus account type, phones, job and roles."""

    account_type: str | None = None
    work_phone_number: str | None = None
    mobile_phone_number: str | None = None
    job_function: str | None = None
    department: str | None = None
    division: str | None = None
    roles: list[str] | None = None
    user_metadata: Metadata | None = None


class UserList(Wire):
    users: list[UserV2]
    errors: list[dict[str, Any]] | None = None


class RoomTag(Wire):
    key: str
    value: str


class RoomAttributes(Wire):
    """V3RoomAttributes (a superset of the older shapes)."""

    name: str | None = None
    keywords: list[RoomTag] | None = None
    description: str | None = None
    members_can_invite: bool | None = None
    discoverable: bool | None = None
    public: bool | None = None
    read_only: bool | None = None
    copy_protected: bool | None = None
    cross_pod: bool | None = None
    view_history: bool | None = None
    multi_lateral_room: bool | None = None
    scheduled_meeting: bool | None = None
    sub_type: str | None = None
    pinned_message_id: str | None = None
    group_chat: bool | None = None


class RoomSystemInfo(Wire):
    id: str | None = None
    creation_date: int | None = None
    created_by_user_id: int | None = None
    active: bool | None = None


class ImmutableRoomAttributes(Wire):
    """The v1 shape's attributes fixed at creation (later versions fold them into
    roomAttributes)."""

    public: bool | None = None
    read_only: bool | None = None
    copy_protected: bool | None = None


class RoomCreate(Wire):
    """The v1 create body: the two attribute objects side by side."""

    room_attributes: RoomAttributes | None = None
    immutable_room_attributes: ImmutableRoomAttributes | None = None


class RoomDetail(Wire):
    room_attributes: RoomAttributes | None = None
    room_system_info: RoomSystemInfo | None = None
    immutable_room_attributes: ImmutableRoomAttributes | None = None


class MemberInfo(Wire):
    id: int | None = None
    owner: bool | None = None
    join_date: int | None = None


class Stream(Wire):
    id: str


class UserId(Wire):
    id: int


class RoomSearchCriteria(Wire):
    query: str
    labels: list[str] | None = None
    active: bool | None = None
    private: bool | None = None
    owner: UserId | None = None
    creator: UserId | None = None
    member: UserId | None = None
    sort_order: str | None = None
    sub_type: str | None = None


class FacetedMatchCount(Wire):
    facet: str | None = None
    count: int | None = None


class RoomSearchResults(Wire):
    count: int | None = None
    skip: int | None = None
    limit: int | None = None
    query: RoomSearchCriteria | None = None
    rooms: list[RoomDetail] | None = None
    faceted_match_count: list[FacetedMatchCount] | None = None


class UserConnection(Wire):
    user_id: int | None = None
    status: str | None = None
    first_requested_at: int | None = None
    updated_at: int | None = None
    request_counter: int | None = None


class UserConnectionRequest(Wire):
    user_id: int


class PresenceStatus(Wire):
    category: str


class Presence(Wire):
    """V2Presence; the 1.4x `Presence` is `category` alone."""

    category: str
    user_id: int | None = None
    timestamp: int | None = None


class UserPresence(Wire):
    """The 1.4x `/v1/presence` item."""

    uid: int
    category: str


class Feature(Wire):
    entitlment: str | None = None  # sic: the API's own spelling
    enabled: bool | None = None


class DelegateAction(Wire):
    user_id: int
    action: str


# The spec's length limits (contract §5.7): the BDK enforces them on what it receives, so
# what Townhall accepts must keep them.
AppId = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
AppName = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class Product(Wire):
    name: AppName
    type: str
    subscribed: bool
    app_id: AppId | None = None
    sku: Sku | None = None


class PodAppEntitlement(Wire):
    app_id: AppId
    app_name: AppName
    enable: bool
    listed: bool
    install: bool


class UserAppEntitlement(Wire):
    app_id: AppId
    listed: bool
    install: bool
    app_name: AppName | None = None
    products: list[Product] | None = None


# -- company certificates (contract §1.8) -------------------------------------------------


class CompanyCertType(Wire):
    type: str | None = None


class CompanyCertStatus(Wire):
    type: str | None = None


class CompanyCertAttributes(Wire):
    name: str | None = None
    type: CompanyCertType | None = None
    status: CompanyCertStatus | None = None


class CompanyCert(Wire):
    pem: str | None = None
    attributes: CompanyCertAttributes | None = None


class CompanyCertInfo(Wire):
    finger_print: str | None = None
    issuer_finger_print: str | None = None
    last_seen: int | None = None
    updated_at: int | None = None
    updated_by: int | None = None
    common_name: str | None = None
    expiry_date: int | None = None


class NameValuePair(Wire):
    name: str | None = None
    value: str | None = None


class CertInfoItem(Wire):
    name: str | None = None
    attributes: list[NameValuePair] | None = None


class CompanyCertInfoItem(Wire):
    """One item of `CompanyCertInfoList` (the lists leave out `certInfo`)."""

    company_cert_attributes: CompanyCertAttributes | None = None
    company_cert_info: CompanyCertInfo | None = None


class CompanyCertDetail(CompanyCertInfoItem):
    cert_info: list[CertInfoItem] | None = None


class CompanyCertFingerPrint(Wire):
    """The `StringId` body of `/v1/companycert/delete`: `id` is the fingerprint."""

    id: str | None = None


# -- disclaimers, information barriers, message suppression (contract §1.3-§1.5) --------


class Disclaimer(Wire):
    id: str | None = None
    name: str | None = None
    content: str | None = None
    frequency_in_hours: int | None = None
    is_default: bool | None = None
    is_active: bool | None = None
    created_date: int | None = None
    modified_date: int | None = None
    format: str | None = None


class StringId(Wire):
    id: str | None = None


class BarrierGroup(Wire):
    """The spec's `Group` (an information-barrier group; not a distribution list)."""

    id: str | None = None
    name: str | None = None
    active: bool | None = None
    member_count: int | None = None
    policies: list[str] | None = None
    created_date: int | None = None
    modified_date: int | None = None


class Policy(Wire):
    id: str | None = None
    policy_type: str | None = None
    active: bool | None = None
    member_count: int | None = None
    groups: list[str] | None = None
    created_date: int | None = None
    modified_date: int | None = None


class BulkActionResult(Wire, omit_defaults=False):
    overall_result: str = "SUCCESS"
    results: list[str] = msgspec.field(default_factory=list)


class MessageSuppressionResponse(Wire):
    message_id: str | None = None
    suppressed: bool | None = None
    suppression_date: int | None = None
