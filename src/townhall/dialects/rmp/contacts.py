"""`/contacts` and `/groups`: the caller's address books of vCard contacts, its contact
groups (`[Name]`), and the tenant's server groups (the groups Openfire's API manages).

A contact is written as JSON (`name`, `email`, `phone`, `organization`, `addressBook`),
as a vCard (`Content-Type: text/vcard`, the book in `?addressBook=`), or as JSON with the
vCard in `vcard` (a field given wins over the vCard's). Every route works on the
caller's own books only: another person's uid is a 404.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict, cast

import msgspec
from litestar import Response, Router, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.address_books import Card
from townhall.domain.models import Group
from townhall.domain.principal import Principal
from townhall.services.address_books import CLEARABLE, AddressBookService, EntryInput

from .. import kit
from ..documents import Param, wire
from .http import AnyRequest, Page, body, ok, page
from .models import ContactBody, CreateContactGroup, UpdateContactBody

DEFAULT_CONTACTS_LIMIT = 100
"""`GET /contacts` answers 100 contacts unless `limit` says otherwise (the reference)."""
VCARD_TYPES = ("text/vcard", "text/x-vcard", "text/directory")


class ContactWire(TypedDict):
    uid: str
    name: str
    email: str | None
    phone: str | None
    organization: str | None
    addressBook: NotRequired[str]


class ContactGroupWire(TypedDict):
    uid: str
    name: str
    members: list[str]
    description: str | None
    addressBook: NotRequired[str]


class EntryWire(TypedDict, total=False):
    """A contact (uid, name, email, phone, organization) or a contact group (uid, name,
    members, description), with its address book: what PUT and DELETE answer."""

    uid: str
    name: str
    email: str | None
    phone: str | None
    organization: str | None
    members: list[str]
    description: str | None
    addressBook: str


class ServerGroupWire(TypedDict):
    name: str
    members: list[str]


class Contacts(TypedDict):
    success: bool
    contacts: list[ContactWire]
    total: int
    page: int
    pages: int


class AllContacts(TypedDict):
    success: bool
    addressBooks: list[str]
    contacts: list[ContactWire]
    groups: NotRequired[list[ContactGroupWire]]
    total: int
    page: int
    pages: int


class OneContact(TypedDict):
    success: bool
    contact: ContactWire


class OneEntry(TypedDict):
    success: bool
    contact: EntryWire


class Groups(TypedDict):
    success: bool
    serverGroups: list[ServerGroupWire]
    contactGroups: list[ContactGroupWire]


class OneGroup(TypedDict):
    success: bool
    group: ContactGroupWire


def render(card: Card, with_book: bool = True) -> ContactWire:
    shown: ContactWire = {
        "uid": card.uid,
        "name": card.name,
        "email": card.email,
        "phone": card.phone,
        "organization": card.organization,
    }
    if with_book:
        shown["addressBook"] = card.book
    return shown


def render_group(card: Card, with_book: bool = True) -> ContactGroupWire:
    """A contact group as RMP names it: in brackets."""
    shown: ContactGroupWire = {
        "uid": card.uid,
        "name": f"[{card.name}]",
        "members": list(card.members),
        "description": card.description,
    }
    if with_book:
        shown["addressBook"] = card.book
    return shown


def render_entry(card: Card) -> EntryWire:
    shown = render_group(card) if card.kind == "group" else render(card)
    return cast(EntryWire, shown)


def render_server_group(group: Group) -> ServerGroupWire:
    """Admins are members too (as Openfire's group holds them), each listed once."""
    return {"name": group.name, "members": list(dict.fromkeys((*group.admins, *group.members)))}


def _sliced(asked: Page, cards: list[Card]) -> tuple[list[Card], dict[str, int]]:
    return cards[asked.offset : asked.offset + asked.limit], asked.answer(len(cards))


@get(
    "/contacts",
    opt=wire(
        params=(
            Param("search", description="matches name, email, phone or organization"),
            Param("addressBook", description="the book to list (default: Contacts)"),
            Param("page", {"type": "integer", "minimum": 1}),
            Param("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
        ),
        answers={200: Contacts},
    ),
)
async def list_contacts(
    request: AnyRequest,
    address_books: NamedDependency[AddressBookService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    query = request.query_params
    asked = page(request, DEFAULT_CONTACTS_LIMIT)
    shown, total = await address_books.contacts(
        principal, query.get("addressBook"), query.get("search"), asked.offset, asked.limit
    )
    return ok(contacts=[render(c, with_book=False) for c in shown], **asked.answer(total))


@get(
    "/contacts/all",
    opt=wire(
        params=(
            Param("addressBook", description="only this book"),
            Param("includeGroups", bool, description="default true"),
            Param("page", {"type": "integer", "minimum": 1}),
            Param("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
        ),
        answers={200: AllContacts},
    ),
)
async def all_contacts(
    request: AnyRequest,
    address_books: NamedDependency[AddressBookService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    query = request.query_params
    include_groups = kit.boolean(query.get("includeGroups"), "includeGroups", True)
    asked = page(request, DEFAULT_CONTACTS_LIMIT)
    books, contacts, groups = await address_books.everything(principal, query.get("addressBook"))
    shown, paging = _sliced(asked, contacts)
    answer: dict[str, object] = {"addressBooks": books, "contacts": [render(c) for c in shown]}
    if include_groups:
        answer["groups"] = [render_group(g) for g in groups]
    return ok(200, **answer, **paging)


def _is_vcard(request: AnyRequest) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in VCARD_TYPES


def _vcard_text(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise kit.Malformed("vcard", "must be UTF-8 text") from None
    kit.refuse_unstorable(text, "vcard")
    return text


@post(
    "/contacts",
    status_code=201,
    opt=wire(
        ContactBody,
        params=(Param("addressBook", description="with a text/vcard body: the target book"),),
        answers={201: OneContact},
        media=("application/json", "text/vcard"),
        answer_media=("application/json",),
    ),
)
async def create_contact(
    request: AnyRequest,
    address_books: NamedDependency[AddressBookService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    if _is_vcard(request):
        given = EntryInput(
            vcard=_vcard_text(await request.body()),
            book=request.query_params.get("addressBook"),
        )
    else:
        asked = await body(request, ContactBody)
        given = EntryInput(
            name=asked.name,
            email=asked.email,
            phone=asked.phone,
            organization=asked.organization,
            book=asked.address_book,
            vcard=asked.vcard,
        )
    return ok(201, contact=render(await address_books.create(principal, given)))


def _given(value: str | msgspec.UnsetType | None) -> str | None:
    return None if value is msgspec.UNSET else value  # type: ignore[return-value]


@put(
    "/contacts/{uid:str}",
    opt=wire(
        UpdateContactBody,
        answers={200: OneEntry},
        media=("application/json", "text/vcard"),
        answer_media=("application/json",),
    ),
)
async def update_contact(
    request: AnyRequest,
    uid: FromPath[str],
    address_books: NamedDependency[AddressBookService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    if _is_vcard(request):
        given = EntryInput(vcard=_vcard_text(await request.body()))
    else:
        asked = await body(request, UpdateContactBody)
        cleared = frozenset(k for k in CLEARABLE if getattr(asked, k) is None)
        for key in ("name", "email", "address_book", "vcard", "members"):
            if getattr(asked, key) is None:
                raise kit.Malformed(kit.spelt(key, {"address_book": "addressBook"}), "is not null")
        given = EntryInput(
            name=_given(asked.name),
            email=_given(asked.email),
            phone=_given(asked.phone),
            organization=_given(asked.organization),
            book=_given(asked.address_book),
            vcard=_given(asked.vcard),
            members=None if asked.members is msgspec.UNSET else asked.members,
            description=_given(asked.description),
            cleared=cleared,
        )
    return ok(contact=render_entry(await address_books.update(principal, uid, given)))


@delete("/contacts/{uid:str}", status_code=200, opt=wire(answers={200: OneEntry}))
async def delete_contact(
    uid: FromPath[str],
    address_books: NamedDependency[AddressBookService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok(contact=render_entry(await address_books.delete(principal, uid)))


@get(
    "/contacts/{uid:str}/vcard",
    opt=wire(answers={200: {"type": "string"}}, media=("text/vcard",)),
)
async def export_vcard(
    uid: FromPath[str],
    address_books: NamedDependency[AddressBookService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    card = await address_books.get(principal, uid)
    return Response(
        card.vcard.encode(),
        media_type="text/vcard; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(uid)}.vcf"'},
    )


def _filename(uid: str) -> str:
    """The uid as a safe file name (a header value holds no quotes or controls)."""
    return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in uid)[:100] or "contact"


@get("/groups", opt=wire(answers={200: Groups}))
async def list_groups(
    address_books: NamedDependency[AddressBookService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    server, mine = await address_books.groups(principal)
    return ok(
        serverGroups=[render_server_group(g) for g in server],
        contactGroups=[render_group(g) for g in mine],
    )


@post("/groups", status_code=201, opt=wire(CreateContactGroup, answers={201: OneGroup}))
async def create_group(
    request: AnyRequest,
    address_books: NamedDependency[AddressBookService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, CreateContactGroup)
    made = await address_books.create_group(
        principal, asked.name, asked.members, asked.description, asked.address_book
    )
    return ok(201, group=render_group(made))


router = Router(
    path="/",
    route_handlers=[
        list_contacts,
        all_contacts,
        create_contact,
        update_contact,
        delete_contact,
        export_vcard,
        list_groups,
        create_group,
    ],
)
