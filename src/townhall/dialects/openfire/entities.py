"""Every entity of the plugin, as element names, JSON keys and field order (contract §5)."""

from __future__ import annotations

from .wire import Body, Collection, Entity, Grouped, Items, Pairs, Text

USER = Entity(
    "user",
    (Text("username"), Text("name"), Text("email"), Text("password"), Pairs("properties")),
)
USERS = Collection("users", "users", USER)
NEW_USER = Body(USER, ("username", "password"), "NewUser")
USER_GROUPS = Collection("groups", "groupnames", "groupname", "UserGroups")

ROSTER_ITEM = Entity(
    "rosterItem",
    (
        Text("jid"),
        Text("nickname"),
        Text("subscriptionType", "int"),
        Items("groups", "group"),
    ),
)
ROSTER = Collection("roster", "rosterItem", ROSTER_ITEM)
NEW_ROSTER_ITEM = Body(ROSTER_ITEM, ("jid",), "NewRosterItem")

GROUP = Entity(
    "group",
    (
        Text("name"),
        Text("description"),
        Items("admins", "admin"),
        Items("members", "member"),
        Text("shared", "bool"),
    ),
)
GROUPS = Collection("groups", "groups", GROUP)
GROUP_BODY = Body(GROUP, ("name", "admins", "members"), "GroupBody")

CHAT_SERVICE = Entity(
    "chatService", (Text("serviceName"), Text("description"), Text("hidden", "bool"))
)
CHAT_SERVICES = Collection("chatServices", "chatService", CHAT_SERVICE)
NEW_CHAT_SERVICE = Body(CHAT_SERVICE, ("serviceName",), "NewChatService")

ROOM_FLAGS = (
    "persistent",
    "publicRoom",
    "registrationEnabled",
    "canAnyoneDiscoverJID",
    "canOccupantsChangeSubject",
    "canOccupantsInvite",
    "canChangeNickname",
    "logEnabled",
    "loginRestrictedToNickname",
    "membersOnly",
    "moderated",
)
AFFILIATION_LISTS = ("owners", "admins", "members", "outcasts")
GROUP_LISTS = ("ownerGroups", "adminGroups", "memberGroups", "outcastGroups")

ROOM = Entity(
    "chatRoom",
    (
        Text("roomName"),
        Text("naturalName"),
        Text("description"),
        Text("password"),
        Text("subject"),
        Text("creationDate", "date"),
        Text("modificationDate", "date"),
        Text("maxUsers", "int"),
        *(Text(flag, "bool") for flag in ROOM_FLAGS),
        Items("broadcastPresenceRoles", "broadcastPresenceRole"),
        *(Items(name, name[:-1]) for name in AFFILIATION_LISTS),
        *(Items(name, name[:-1]) for name in GROUP_LISTS),
        Text("allowPM"),
    ),
)
ROOMS = Collection("chatRooms", "chatRooms", ROOM)
ROOM_BODY = Body(ROOM, ("roomName",), "ChatRoomBody")

RESULT = Entity("result", (Text("roomName"), Text("resultType"), Text("message")))
RESULTS = Grouped("results", ("success", "failure", "other"), RESULT)

PARTICIPANT = Entity("participant", (Text("jid"), Text("role"), Text("affiliation")))
PARTICIPANTS = Collection("participants", "participants", PARTICIPANT)
OCCUPANT = Entity("occupant", (Text("jid"), Text("userAddress"), Text("role"), Text("affiliation")))
OCCUPANTS = Collection("occupants", "occupants", OCCUPANT)

ROOM_MESSAGE = Entity(
    "message",
    (
        Text("to"),
        Text("from"),
        Text("type"),
        Text("body"),
        Text("delay_stamp"),
        Text("delay_from"),
    ),
    title="RoomMessage",
)
ROOM_MESSAGES = Collection("messages", "message", ROOM_MESSAGE, "RoomMessages")

INVITATION = Entity("mucInvitation", (Text("reason"),))
INVITATIONS = Entity("mucInvitations", (Text("reason"), Items("jidsToInvite", "jid")))


def affiliation_list(plural: str) -> Collection:
    """`owners`/`admins`/`members`/`outcasts`: root and key are the plural path segment."""
    return Collection(plural, plural, plural[:-1])


SYSTEM_PROPERTY = Entity("property", (Text("key"), Text("value")), attributes=True)
SYSTEM_PROPERTIES = Collection("properties", "property", SYSTEM_PROPERTY)
PROPERTY_BODY = Body(SYSTEM_PROPERTY, ("key",), "PropertyBody")
SESSIONS_COUNT = Entity(
    "sessions",
    (Text("localSessions", "int"), Text("clusterSessions", "int")),
    title="SessionCounts",
)
CLUSTERING = Entity("clustering", (Text("status"),))
CLUSTER_NODE = Entity(
    "clusterNode",
    (Text("hostName"), Text("joinedTime", "date"), Text("nodeID"), Text("seniorMember", "bool")),
)
CLUSTER_NODES = Collection("clusterNodes", "clusterNodes", CLUSTER_NODE)

SESSION = Entity(
    "session",
    (
        Text("sessionId"),
        Text("username"),
        Text("resource"),
        Text("node"),
        Text("sessionStatus"),
        Text("presenceStatus"),
        Text("presenceMessage"),
        Text("priority", "int"),
        Text("hostAddress"),
        Text("hostName"),
        Text("creationDate", "date"),
        Text("lastActionDate", "date"),
        Text("secure", "bool"),
    ),
)
SESSIONS = Collection("sessions", "sessions", SESSION)
MESSAGE = Entity("message", (Text("body"),), title="Broadcast")
ARCHIVE = Entity("archive", (Text("jid"), Text("count", "int")))
SECURITY_LOG = Entity(
    "log",
    (
        Text("logId", "long"),
        Text("username"),
        Text("timestamp", "long"),
        Text("summary"),
        Text("node"),
        Text("details"),
    ),
)
SECURITY_LOGS = Collection("logs", "logs", SECURITY_LOG)
