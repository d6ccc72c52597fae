"""vCards: the format address-book entries are kept and exported in (RFC 2426, 3.0).

An entry keeps the whole vCard it was given, so properties Townhall does not model
(addresses, notes, photos, a client's X- extensions) survive an import and export
unchanged; the fields the model knows (name, e-mail, phone, organisation, UID, and a
group's members) are read out of it and written back into it, so the text and the
columns never disagree. `vobject` does the parsing and folding: vCard escaping, line
folding and structured values are easy to get subtly wrong by hand.

Contact groups are vCards too, spelt as Apple's and CardDAV clients' group cards
(`X-ADDRESSBOOKSERVER-KIND:group`, one `X-ADDRESSBOOKSERVER-MEMBER:mailto:` per member),
which vCard 3.0 readers keep as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from townhall.domain.errors import Invalid

MAX_VCARD = 1_000_000
"""Characters of one vCard (embedded photos make them large)."""
GROUP_KIND = "x-addressbookserver-kind"
GROUP_MEMBER = "x-addressbookserver-member"


@dataclass(frozen=True, slots=True)
class VcardFields:
    """What the model reads out of a vCard; None where the vCard has no such field."""

    uid: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    organization: str | None = None


def parse(text: str, field: str = "vcard") -> Any:
    """One vCard, parsed; anything else (not a vCard, several, too long) is Invalid."""
    if len(text) > MAX_VCARD:
        raise Invalid(field, f"is longer than {MAX_VCARD} characters")
    import vobject  # on first use: only the address books read vCards

    try:
        found = list(vobject.readComponents(text))
    except Exception:  # vobject raises many kinds on malformed input
        raise Invalid(field, "is not a vCard", "not_a_vcard") from None
    if len(found) != 1 or found[0].name != "VCARD":
        raise Invalid(field, "must hold exactly one vCard", "not_a_vcard")
    return found[0]


def fields_of(card: Any) -> VcardFields:
    """The model's fields as the vCard gives them (the first EMAIL and TEL)."""
    try:
        return _fields_of(card)
    except Exception:  # a property of an unexpected shape (vobject's types vary by version)
        raise Invalid("vcard", "holds a property this server cannot read", "not_a_vcard") from None


def _fields_of(card: Any) -> VcardFields:
    name = _text(card, "fn")
    if not name and "n" in card.contents:
        n = card.n.value
        name = " ".join(p for p in (n.prefix, n.given, n.additional, n.family, n.suffix) if p)
    organization = None
    if "org" in card.contents:
        value = card.org.value
        organization = (value[0] if isinstance(value, list) and value else str(value)) or None
    return VcardFields(
        uid=_text(card, "uid"),
        name=name or None,
        email=_text(card, "email"),
        phone=_text(card, "tel"),
        organization=organization,
    )


def _text(card: Any, key: str) -> str | None:
    if key not in card.contents:
        return None
    value = card.contents[key][0].value
    return str(value).strip() or None if value is not None else None


def render(
    base: str | None,
    uid: str,
    name: str,
    email: str | None = None,
    phone: str | None = None,
    organization: str | None = None,
    members: Sequence[str] | None = None,
    description: str | None = None,
) -> str:
    """`base` (a stored vCard, or None for a new one) with the model's fields written
    into it. A property the model has no value for is removed; the first EMAIL and TEL
    keep their parameters (TYPE=WORK...), further ones stay as they are. `members` makes
    the card a contact group."""
    import vobject

    card = parse(base) if base else vobject.vCard()
    if "version" not in card.contents:
        card.add("version").value = "3.0"
    _set(card, "uid", uid)
    if fields_of(card).name != name:  # a new name: N, made from the old one, goes too
        card.contents.pop("n", None)
    _set(card, "fn", name)
    if "n" not in card.contents:  # N is required in 3.0: the last word is the family name
        given, _, family = name.rpartition(" ")
        card.add("n").value = vobject.vcard.Name(family=family, given=given)
    _set(card, "email", email)
    _set(card, "tel", phone)
    if organization is None:
        card.contents.pop("org", None)
    elif "org" not in card.contents:
        card.add("org").value = [organization]
    elif isinstance(card.org.value, list) and card.org.value:
        card.org.value = [organization, *card.org.value[1:]]  # the units stay
    else:  # a version vobject keeps as plain text (4.0)
        card.org.value = organization
    if members is not None:
        _set(card, GROUP_KIND, "group")
        card.contents.pop(GROUP_MEMBER, None)
        for member in members:
            card.add(GROUP_MEMBER).value = f"mailto:{member}"
        _set(card, "note", description)
    try:
        return str(card.serialize())
    except Exception:  # a property vobject read but cannot write back
        raise Invalid("vcard", "holds a property that cannot be written back") from None


def _set(card: Any, key: str, value: str | None) -> None:
    """The first `key` property takes `value` (its parameters kept); None removes every
    `key` property (a phone removed is no phone, not the second one)."""
    if value is None:
        card.contents.pop(key, None)
        return
    if key in card.contents:
        card.contents[key][0].value = value
    else:
        card.add(key).value = value
