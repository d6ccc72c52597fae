"""Role names in the one model. Dialects map their own vocabularies onto these."""

SERVER_ADMIN = "server_admin"
"""May administer the whole tenant through every admin API."""
