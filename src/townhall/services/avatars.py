"""People's pictures: uploaded as base64, checked to be a real image, served back.

A picture is served without a session (an `<img>` tag cannot send one) at a URL named
by a random 128-bit token, as Symphony's CDN URLs are: nobody reaches a picture without
being shown its URL, whatever the tenant. Each new picture gets a new token, so the
previous URL stops working.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import secrets
import warnings

from townhall.domain.errors import Invalid, NotFound
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import avatars as store
from townhall.store import people as people_store

MAX_BYTES = 2 * 1024 * 1024
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
NOT_A_PICTURE = "is not a PNG, JPEG, GIF or WebP picture"
TOKEN_BYTES = 16
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")
# A picture's header may claim far more pixels than its few compressed bytes hold (a
# decompression bomb); a phone camera's photo has about 50 M at most.
MAX_PIXELS = 50_000_000
TOO_MANY_PIXELS = f"must not have more than {MAX_PIXELS:,} pixels"


def checked_image(encoded: str | None) -> tuple[str, bytes]:
    """(media type, bytes) of a base64 image, or Invalid naming `image`."""
    if not encoded:
        raise Invalid("image", "is required")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("image", "is not valid base64") from None
    if len(raw) >= MAX_BYTES:
        raise Invalid("image", f"must be smaller than {MAX_BYTES // (1024 * 1024)} MB")
    from PIL import Image, UnidentifiedImageError  # on first use: Pillow is large

    try:
        with warnings.catch_warnings():  # Pillow warns of a likely bomb: refuse it
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as picture:
                kind = picture.format or ""
                width, height = picture.size
                if width * height > MAX_PIXELS:  # before anything decodes the pixels
                    raise Invalid("image", TOO_MANY_PIXELS)
                picture.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Invalid("image", TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise Invalid("image", NOT_A_PICTURE) from None
    if kind not in FORMATS:
        raise Invalid("image", NOT_A_PICTURE)
    return FORMATS[kind], raw


class AvatarService(Service):
    async def set(self, actor: Principal, user_id: int, encoded: str | None) -> None:
        """Store the user's picture; the picture it already has changes nothing (so its
        version, and every cached copy, stays valid)."""
        media_type, raw = checked_image(encoded)
        async with self.unit(actor) as work:
            if not await people_store.lock_ids(work, actor.tenant_id, [user_id]):
                raise NotFound("user", str(user_id))
            current = await store.avatar(work, user_id)
            if current is not None and current[:2] == (media_type, raw):
                return
            token = secrets.token_urlsafe(TOKEN_BYTES)
            await store.set_avatar(work, user_id, media_type, raw, token, self.clock.now())
            work.record("user.avatar.set", str(user_id))

    async def token(self, actor: Principal, user_id: int) -> str | None:
        """The token naming the user's current picture in its URL (None: no picture)."""
        async with self.db.read() as tx:
            if not await people_store.created_by_id(tx, actor.tenant_id, [user_id]):
                raise NotFound("user", str(user_id))
            return await store.token_of(tx, user_id)

    async def tokens(self, actor: Principal, user_ids: list[int]) -> dict[int, str]:
        """The picture tokens of those of the people who have one (for user records
        that list their avatars inline, in one query)."""
        async with self.db.read() as tx:
            return await store.tokens_of(tx, actor.tenant_id, user_ids)

    async def image(self, token: str) -> tuple[str, bytes]:
        """The picture a token names; public, as its URL is the secret."""
        found = None
        if _TOKEN.match(token):
            async with self.db.read() as tx:
                found = await store.by_token(tx, token)
        if found is None:
            raise NotFound("avatar", token)
        return found[0], found[1]
