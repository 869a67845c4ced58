"""The admin routes of apps and their API keys (``/v1/admin/apps``): made, listed, revoked.

A leaked key must be revocable alone, and a client must be able to switch keys without
downtime: an app holds up to two live keys (a new one is made, clients move to it, the old
one is revoked), and a disabled app has every key refused. A key is shown once, when made;
listings show its id and prefix only. Every process refuses a revoked key within
``MULTICART_KEY_CACHE_S`` (``key_cache.py``).
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, Field

from errors import ErrorCode
from orchestrator.http.admin_routes import decode_sku_cursor, encode_sku_cursor
from orchestrator.http.cart_routes import CURSOR_SCHEMA, query_cursor
from orchestrator.http.envelope import json_response, read_model
from orchestrator.http.fields import checked_id, checked_int
from orchestrator.http.keys import KEYS_CACHE, SERVICES
from orchestrator.http.routes import QueryParam, Route
from orchestrator.http.schemas import AppIn, NextCursor
from orchestrator.service.secrets import KEY_PREFIX, hash_api_key, new_api_key, new_id
from orchestrator.store.apps import MAX_LIVE_KEYS, AppRow, KeyRow

APP_PAGE_DEFAULT, APP_PAGE_MAX = 50, 200
# A key's visible prefix: its marker and the 8 characters after it (48 of its 256 bits).
PREFIX_LENGTH = len(KEY_PREFIX) + 8


class KeyOut(BaseModel):
    id: str
    prefix: str | None = Field(
        description="The key's first characters, to tell keys apart; null for a key made "
        "before keys had prefixes (only its hash was ever stored)."
    )
    created_at: datetime
    last_used_at: datetime | None = Field(
        description="When the key last authenticated a request, to the minute or so."
    )
    revoked_at: datetime | None


class NewKeyOut(KeyOut):
    app_id: str
    api_key: str = Field(description="Shown this once; only its hash and prefix are stored.")


class AppOut(BaseModel):
    id: str
    name: str
    api_key: str = Field(description="Shown this once; only its hash and prefix are stored.")
    key_id: str
    key_prefix: str


class AppDetailOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    disabled_at: datetime | None = Field(description="Set: every key of the app is refused.")
    keys: list[KeyOut] = Field(description="Every key of the app, revoked ones too; never a key.")


class AppListOut(BaseModel):
    data: list[AppDetailOut]
    next_cursor: NextCursor


def _key_out(key: KeyRow) -> KeyOut:
    return KeyOut(
        id=key.id,
        prefix=key.prefix,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def _app_out(app: AppRow) -> AppDetailOut:
    return AppDetailOut(
        id=app.id,
        name=app.name,
        created_at=app.created_at,
        disabled_at=app.disabled_at,
        keys=[_key_out(k) for k in app.keys],
    )


async def create_app(request: web.Request) -> web.Response:
    body = await read_model(request, AppIn)
    app_id, key = new_id("app"), new_api_key()
    prefix = key[:PREFIX_LENGTH]
    key_id = await request.app[SERVICES].store.apps.create(
        app_id, body.name, hash_api_key(key), key_id=new_id("key"), prefix=prefix
    )
    out = AppOut(id=app_id, name=body.name, api_key=key, key_id=key_id, key_prefix=prefix)
    return json_response(out, status=201)


async def list_apps(request: web.Request) -> web.Response:
    """One page of apps by id; ``next_cursor`` pages on (null at the end)."""
    limit = checked_int(request.query.get("limit"), "limit", APP_PAGE_DEFAULT, 1, APP_PAGE_MAX)
    cursor = query_cursor(request)
    found = await request.app[SERVICES].store.apps.page(
        limit=limit + 1, after=decode_sku_cursor(cursor) if cursor else None
    )
    page = found[:limit]
    next_cursor = encode_sku_cursor(page[-1].id) if len(found) > limit else None
    return json_response(AppListOut(data=[_app_out(a) for a in page], next_cursor=next_cursor))


async def create_key(request: web.Request) -> web.Response:
    app_id = checked_id(request.match_info["app_id"], "app_id")
    key = new_api_key()
    row = await request.app[SERVICES].store.apps.add_key(
        app_id, new_id("key"), hash_api_key(key), key[:PREFIX_LENGTH]
    )
    out = NewKeyOut(**_key_out(row).model_dump(), app_id=app_id, api_key=key)
    return json_response(out, status=201)


async def revoke_key(request: web.Request) -> web.Response:
    app_id = checked_id(request.match_info["app_id"], "app_id")
    key_id = checked_id(request.match_info["key_id"], "key_id")
    row = await request.app[SERVICES].store.apps.revoke_key(app_id, key_id)
    request.app[KEYS_CACHE].forget(app_id, key_id)
    return json_response(_key_out(row))


async def disable_app(request: web.Request) -> web.Response:
    app_id = checked_id(request.match_info["app_id"], "app_id")
    disabled = await request.app[SERVICES].store.apps.disable(app_id)
    request.app[KEYS_CACHE].forget(app_id)
    return json_response(_app_out(disabled))


APP_ROUTES: list[Route] = [
    Route(
        method="POST",
        path="/v1/admin/apps",
        handler=create_app,
        summary="Create an app and its first API key (shown once)",
        auth="admin",
        body=AppIn,
        ok_status=201,
        ok_body=AppOut,
        operation_id="createApp",
    ),
    Route(
        method="GET",
        path="/v1/admin/apps",
        handler=list_apps,
        summary="List apps by id, with their keys' ids and prefixes, a page at a time",
        auth="admin",
        ok_body=AppListOut,
        query=(
            QueryParam(
                "limit",
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": APP_PAGE_MAX,
                    "default": APP_PAGE_DEFAULT,
                },
            ),
            QueryParam("cursor", CURSOR_SCHEMA, "next_cursor of the previous page."),
        ),
        operation_id="listApps",
    ),
    Route(
        method="POST",
        path="/v1/admin/apps/{app_id}/keys",
        handler=create_key,
        summary=f"Add an API key to an app (shown once; at most {MAX_LIVE_KEYS} live keys)",
        auth="admin",
        ok_status=201,
        ok_body=NewKeyOut,
        errors=(ErrorCode.APP_NOT_FOUND, ErrorCode.APP_DISABLED, ErrorCode.APP_KEY_LIMIT),
        operation_id="createAppKey",
    ),
    Route(
        method="DELETE",
        path="/v1/admin/apps/{app_id}/keys/{key_id}",
        handler=revoke_key,
        summary="Revoke an app's API key (refused by every process within MULTICART_KEY_CACHE_S)",
        auth="admin",
        ok_body=KeyOut,
        errors=(ErrorCode.APP_NOT_FOUND, ErrorCode.APP_KEY_NOT_FOUND, ErrorCode.APP_KEY_REVOKED),
        operation_id="revokeAppKey",
    ),
    Route(
        method="POST",
        path="/v1/admin/apps/{app_id}/disable",
        handler=disable_app,
        summary="Disable an app: every key of it refused (within MULTICART_KEY_CACHE_S)",
        auth="admin",
        ok_body=AppDetailOut,
        errors=(ErrorCode.APP_NOT_FOUND,),
        operation_id="disableApp",
    ),
]
