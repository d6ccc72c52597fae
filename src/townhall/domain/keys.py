"""Public keys people sign in with (Symphony's RSA bot login): what one must be."""

from __future__ import annotations

from datetime import datetime

from townhall.domain.errors import Invalid

KEY_KINDS = ("current", "previous")
"""A person may have a current key and the previous one (still valid while rotating)."""
MIN_KEY_BITS = 2048

KeyChange = tuple[str | None, datetime | None]
"""(PEM, or None to remove the key; when it expires, or None for never)."""


def public_key(pem: str, field: str) -> str:
    """The PEM if it is an RSA public key of a sane size; the field named otherwise."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey  # on first use
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise Invalid(field, "is not a PEM-encoded public key") from None
    if not isinstance(key, RSAPublicKey):
        raise Invalid(field, "must be an RSA public key")
    if key.key_size < MIN_KEY_BITS:
        raise Invalid(field, f"must have at least {MIN_KEY_BITS} bits")
    return pem.strip() + "\n"


def key_changes(wanted: dict[str, KeyChange]) -> dict[str, KeyChange]:
    """Each change checked: a known kind, and a usable key where one is set."""
    checked: dict[str, KeyChange] = {}
    for kind, (pem, expires) in wanted.items():
        if kind not in KEY_KINDS:
            raise Invalid("key_kind", f"must be one of {', '.join(KEY_KINDS)}")
        checked[kind] = (public_key(pem, f"{kind}_key") if pem else None, expires)
    return checked
