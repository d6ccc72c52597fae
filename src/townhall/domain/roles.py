"""Role names in the one model. Dialects map their own vocabularies onto these.

Symphony's role names are stored as they are (`ADMINISTRATOR`, `INDIVIDUAL`, ...).
Townhall's own `server_admin` (the bootstrap admin, `townhall admin create`) is what the
Openfire API checks; Symphony sees such a user as a super administrator.
"""

SERVER_ADMIN = "server_admin"
"""May administer the whole tenant through every admin API."""

SUPER_ADMINISTRATOR = "SUPER_ADMINISTRATOR"
ADMINISTRATOR = "ADMINISTRATOR"
USER_PROVISIONING = "USER_PROVISIONING"
INDIVIDUAL = "INDIVIDUAL"
SYMPHONY_ROLES = frozenset(
    {
        SUPER_ADMINISTRATOR,
        ADMINISTRATOR,
        USER_PROVISIONING,
        INDIVIDUAL,
        "SUPER_COMPLIANCE_OFFICER",
        "COMPLIANCE_OFFICER",
        "L1_SUPPORT",
        "L2_SUPPORT",
        "CONTENT_MANAGEMENT",
        "AUDIT_TRAIL_MANAGEMENT",
        "SCOPE_MANAGEMENT",
        "MALWARE_SCAN_MANAGER",
        "MALWARE_SCAN_STATE_USER",
    }
)
USER_ADMINS = frozenset({SUPER_ADMINISTRATOR, ADMINISTRATOR, USER_PROVISIONING})


def effective(stored: frozenset[str]) -> frozenset[str]:
    """The roles a user holds, with what `server_admin` implies."""
    if SERVER_ADMIN in stored:
        return stored | {SUPER_ADMINISTRATOR, ADMINISTRATOR, INDIVIDUAL}
    return stored
