"""GraphQL arguments to store calls and store records to GraphQL results.

Resolvers hold no state: the store and the caller arrive in the context. A
store error becomes a GraphQL error at the field that raised it, so LogScale's
shape holds: ``message``, ``locations``, ``path``, and ``data`` nulled up to
the nearest nullable parent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any, ParamSpec, TypeVar

from ariadne import MutationType, ObjectType, QueryType, ScalarType, make_executable_schema
from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema, value_from_ast
from graphql import build_schema as parse_schema
from graphql.language import IntValueNode, ValueNode, print_ast

from ..domain.errors import LogScaleError
from ..domain.instants import format_instant
from ..domain.records import (
    ALL_ACTIONS,
    Level,
    Order,
    Organization,
    RevocationType,
    Session,
    SortBy,
    User,
)
from ..domain.store import Caller, SessionQuery, Store

__all__ = [
    "ATTRIBUTES",
    "CONTEXT_ONLY",
    "SCHEMA_SDL",
    "Context",
    "build_schema",
    "default_session_query",
]


def _organization_action_sdl() -> str:
    """``enum OrganizationAction``, written from ALL_ACTIONS: the 52 names live in records.py."""
    values = "".join(f"  {action}\n" for action in ALL_ACTIONS)
    described = '"Permissions a user can hold in an organization."\n'
    return f"{described}enum OrganizationAction {{\n{values}}}\n"


SCHEMA_SDL = (
    resources.files(__package__).joinpath("schema.graphql").read_text(encoding="utf-8")
    + _organization_action_sdl()
)

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1

Info = GraphQLResolveInfo["Context"]
_P = ParamSpec("_P")
_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class Context:
    """What every resolver of one request sees: the store, who is asking, and the cap on limit."""

    store: Store
    caller: Caller
    max_limit: int | None = None


def _context(info: Info) -> Context:
    return info.context


def _refusals_as_errors(resolver: Callable[_P, _R]) -> Callable[_P, _R]:
    """Wrap a resolver so that a store's refusal becomes a GraphQL error at its field."""

    @functools.wraps(resolver)
    def resolve(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return resolver(*args, **kwargs)
        except LogScaleError as error:
            raise GraphQLError(error.message, original_error=error) from error

    return resolve


# -- scalars --------------------------------------------------------------------------


def _parse_long(value: Any) -> int:
    """A variable's value: a JSON integer (or a whole float: JSON has one number type), 64 bits."""
    whole: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        whole = value
    elif isinstance(value, float) and value.is_integer():
        whole = int(value)
    if whole is None:
        raise GraphQLError(f"Long cannot represent {value!r}: it takes a whole number, never text.")
    if not _LONG_MIN <= whole <= _LONG_MAX:
        raise GraphQLError(f"Long cannot represent {value!r}: it is outside 64 bits (signed).")
    return whole


def _parse_long_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> int:
    # graphql-core reports a GraphQLError from here as it is: give it the node for locations
    try:
        if isinstance(node, IntValueNode):
            return _parse_long(int(node.value))
        raise GraphQLError(f"Long cannot represent {print_ast(node)}: it takes a whole number.")
    except GraphQLError as error:
        raise GraphQLError(error.message, node) from None


@functools.lru_cache(maxsize=4096)  # the same few users' instants, on every page of sessions
def _serialize_datetime(value: int) -> str:
    return format_instant(value)


long_scalar = ScalarType("Long", value_parser=_parse_long, literal_parser=_parse_long_literal)
datetime_scalar = ScalarType("DateTime", serializer=_serialize_datetime)


# -- queries ---------------------------------------------------------------------------

query = QueryType()


@query.field("sessions")
@_refusals_as_errors
def _sessions(_obj: None, info: Info, **arguments: Any) -> dict[str, Any]:
    context = _context(info)
    request = _served_query(context.max_limit, **arguments)
    page = context.store.query_sessions(context.caller, request)
    return {"totalResults": page.total, "results": page.sessions}


@functools.lru_cache(maxsize=1024, typed=True)
def _served_query(max_limit: int | None, **arguments: Any) -> SessionQuery:
    """The :class:`SessionQuery` ``sessions()`` serves: its arguments, the limit capped.

    Kept per arguments and cap, as the query is frozen and built from nothing else
    (5.5 µs built, 0.4 µs found again).
    """
    request = default_session_query(**arguments)
    if max_limit is not None:
        request = replace(request, limit=_capped(request.limit, max_limit))
    return request


def default_session_query(**arguments: Any) -> SessionQuery:
    """A :class:`SessionQuery` from ``sessions()`` arguments by their GraphQL names.

    An argument left out or given as null takes the default the served schema
    declares for it (the one source of those defaults).
    """
    given = {name: value for name, value in arguments.items() if value is not None}
    values = {**_SESSIONS_DEFAULTS, **given}
    return SessionQuery(
        search_filter=values.get("searchFilter"),
        level=Level(values["level"]),
        sort_by=SortBy(values["sortBy"]),
        order=Order(values["orderBy"]),
        skip=values["skip"],
        limit=values["limit"],
        only_active=values["onlyActiveSessions"],
    )


def _capped(limit: int, cap: int | None) -> int:
    """A limit above the cap is served as the cap (a negative one stays, for its error)."""
    return limit if cap is None else min(limit, cap)


@query.field("currentUser")
def _current_user(_obj: None, info: Info) -> User:
    return _context(info).caller.user


@query.field("viewer")
def _viewer(_obj: None, info: Info) -> User:
    return _context(info).caller.user


@query.field("validateAccessTokenV2")
@_refusals_as_errors
def _validate_access_token(_obj: None, info: Info, accessToken: str) -> dict[str, str | None]:
    context = _context(info)
    return {"sessionId": context.store.validate_token(context.caller, accessToken)}


@query.field("user")
def _user(_obj: None, info: Info, id: str) -> User | None:
    context = _context(info)
    return context.store.find_user(context.caller, id)


@query.field("organization")
def _organization(_obj: None, info: Info) -> Organization:
    context = _context(info)
    return context.store.organization(context.caller.organization_id)


# -- mutations ---------------------------------------------------------------------------

mutation = MutationType()


@mutation.field("logoutOfSession")
@_refusals_as_errors
def _logout(_obj: None, info: Info) -> bool:
    context = _context(info)
    return context.store.logout(context.caller)


@mutation.field("revokeSession")
@_refusals_as_errors
def _revoke(_obj: None, info: Info, input: dict[str, str]) -> bool:
    context = _context(info)
    return context.store.revoke(
        context.caller, input["id"], RevocationType(input["revocationType"])
    )


@mutation.field("updateSessionSettings")
@_refusals_as_errors
def _update_settings(_obj: None, info: Info, input: dict[str, int]) -> Organization:
    context = _context(info)
    return context.store.update_session_settings(
        context.caller, input["maxInactivityPeriod"], input["forceReauthenticationAfter"]
    )


# -- objects --------------------------------------------------------------------------------

session_type = ObjectType("Session")


# Session's two resolvers run for every session of a page: they read info.context
# themselves (a call of _context each cost a page of 50 about 5 us).
@session_type.field("user")
def _session_user(session: Session, info: Info) -> User:
    context: Context = info.context
    return context.store.user(session.user_id)


@session_type.field("isCurrentSession")
def _is_current(session: Session, info: Info) -> bool:
    context: Context = info.context
    return session.id == context.caller.session_id


#: A User record's plain fields, by GraphQL name: served on ``User`` and on ``Account``.
_USER_FIELDS = (
    ("isRoot", "is_root"),
    ("fullName", "full_name"),
    ("firstName", "first_name"),
    ("lastName", "last_name"),
    ("phoneNumber", "phone_number"),
    ("createdAt", "created_at"),
    ("countryCode", "country_code"),
    ("stateCode", "state_code"),
)

#: Fields read from a record attribute of another name, per type (bound with ``set_alias``;
#: the fast path reads the same attributes).
ATTRIBUTES: dict[str, dict[str, str]] = {
    "Session": {
        "clientInfo": "client_info",
        "createdAt": "created_at",
        "lastActivityAt": "last_activity_at",
    },
    "User": dict((*_USER_FIELDS, ("displayName", "display_name"), ("isOrgRoot", "is_org_root"))),
    "Account": dict((*_USER_FIELDS, ("isOrganizationRoot", "is_org_root"))),
    "Organization": {"createdAt": "created_at"},
}

#: Resolvers that read nothing of ``info`` but ``info.context``: the fast path gives them an
#: ``info`` holding only the context, and fails loudly if one reads anything else.
CONTEXT_ONLY: frozenset[tuple[str, str]] = frozenset(
    {
        ("Query", "sessions"),
        ("Query", "currentUser"),
        ("Query", "viewer"),
        ("Query", "validateAccessTokenV2"),
        ("Query", "user"),
        ("Query", "organization"),
        ("Session", "user"),
        ("Session", "isCurrentSession"),
        ("User", "allowedOrganizationActions"),
        ("Account", "currentOrganization"),
        ("Organization", "configs"),
        ("Organization", "isActionAllowed"),
        ("OrganizationConfigs", "session"),
        ("Mutation", "logoutOfSession"),
        ("Mutation", "revokeSession"),
        ("Mutation", "updateSessionSettings"),
    }
)

user_type = ObjectType("User")


@user_type.field("allowedOrganizationActions")
def _allowed_actions(user: User, _info: Info) -> list[str]:
    return [action for action in ALL_ACTIONS if action in user.permissions]


account_type = ObjectType("Account")  # the caller's own User record, under LogScale's names


@account_type.field("currentOrganization")
def _current_organization(user: User, info: Info) -> Organization:
    return _context(info).store.organization(user.organization_id)


organization_type = ObjectType("Organization")
for _object_type in (session_type, user_type, account_type, organization_type):
    for _field, _attribute in ATTRIBUTES[_object_type.name].items():
        _object_type.set_alias(_field, _attribute)


@organization_type.field("configs")
def _configs(org: Organization, _info: Info) -> Organization:
    return org


@organization_type.field("isActionAllowed")
def _is_action_allowed(_org: Organization, info: Info, action: str) -> bool:
    return Store.is_action_allowed(_context(info).caller, action)


configs_type = ObjectType("OrganizationConfigs")


@configs_type.field("session")
@_refusals_as_errors
def _session_settings(_org: Organization, info: Info) -> dict[str, int]:
    context = _context(info)
    settings = context.store.session_settings(context.caller)
    return {
        "maxInactivityPeriod": settings.max_inactivity_period,
        "forceReauthenticationAfter": settings.force_reauthentication_after,
    }


def build_schema() -> GraphQLSchema:
    """The executable schema: ``schema.graphql`` with every resolver bound (fails loudly)."""
    return make_executable_schema(
        SCHEMA_SDL,
        query,
        mutation,
        session_type,
        user_type,
        account_type,
        organization_type,
        configs_type,
        long_scalar,
        datetime_scalar,
    )


def _declared_defaults(schema: GraphQLSchema) -> dict[str, Any]:
    """The defaults ``sessions()`` declares, read from the schema (an enum as its name)."""
    field = schema.query_type.fields["sessions"] if schema.query_type else None
    assert field is not None, "schema.graphql lost sessions()"
    defaults: dict[str, Any] = {}
    for name, argument in field.args.items():
        node = argument.ast_node.default_value if argument.ast_node else None
        if node is not None:  # read from the SDL: graphql-core 3.2 and 3.3 keep it differently
            defaults[name] = value_from_ast(node, argument.type)
    return defaults


_SESSIONS_DEFAULTS = _declared_defaults(parse_schema(SCHEMA_SDL))
