"""GraphQL arguments to store calls and store records to GraphQL results.

Resolvers hold no state: the store and the caller arrive in the context. A
store error becomes a GraphQL error at the field that raised it, so LogScale's
shape holds: ``message``, ``locations``, ``path``, and ``data`` nulled up to
the nearest nullable parent.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, ParamSpec, TypeVar

from ariadne import MutationType, ObjectType, QueryType, ScalarType, make_executable_schema
from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema
from graphql.language import IntValueNode, StringValueNode, ValueNode, print_ast

from ..domain.clock import to_datetime
from ..domain.errors import LogScaleError
from ..domain.records import Level, Order, Organization, RevocationType, Session, SortBy, User
from ..domain.store import DEFAULT_LIMIT, Caller, SessionQuery, Store

__all__ = ["SCHEMA_SDL", "Context", "build_schema"]

SCHEMA_SDL = resources.files(__package__).joinpath("schema.graphql").read_text(encoding="utf-8")

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_DECIMAL = re.compile(r"-?[0-9]+")  # ASCII digits only: isdigit() takes any script

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
    whole: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        whole = value
    elif (isinstance(value, str) and _DECIMAL.fullmatch(value.strip())) or (
        isinstance(value, float) and value.is_integer()
    ):
        whole = int(value)
    if whole is None:
        raise GraphQLError(f"Long cannot represent {value!r}: it takes a whole number.")
    if not _LONG_MIN <= whole <= _LONG_MAX:
        raise GraphQLError(f"Long cannot represent {value!r}: it is outside 64 bits.")
    return whole


def _parse_long_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> int:
    # graphql-core reports a GraphQLError from here as it is: give it the node for locations
    try:
        if isinstance(node, (IntValueNode, StringValueNode)):
            return _parse_long(node.value if isinstance(node, StringValueNode) else int(node.value))
        raise GraphQLError(f"Long cannot represent {print_ast(node)}: it takes a whole number.")
    except GraphQLError as error:
        raise GraphQLError(error.message, node) from None


@functools.lru_cache(maxsize=4096)  # the same few users' instants, on every page of sessions
def _serialize_datetime(value: int) -> str:
    return to_datetime(value).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


long_scalar = ScalarType("Long", value_parser=_parse_long, literal_parser=_parse_long_literal)
datetime_scalar = ScalarType("DateTime", serializer=_serialize_datetime)


# -- queries ---------------------------------------------------------------------------

query = QueryType()


@query.field("sessions")
@_refusals_as_errors
def _sessions(
    _obj: None,
    info: Info,
    searchFilter: str | None = None,
    level: str | None = None,
    sortBy: str | None = None,
    orderBy: str | None = None,
    skip: int | None = None,
    limit: int | None = None,
    onlyActiveSessions: bool | None = None,
) -> dict[str, Any]:
    context = _context(info)
    request = SessionQuery(
        search_filter=searchFilter,
        level=Level(level) if level is not None else Level.USER,
        sort_by=SortBy(sortBy) if sortBy is not None else SortBy.LAST_ACTIVITY_TIME,
        order=Order(orderBy) if orderBy is not None else Order.DESC,
        skip=skip if skip is not None else 0,
        limit=_capped(limit if limit is not None else DEFAULT_LIMIT, context.max_limit),
        only_active=onlyActiveSessions if onlyActiveSessions is not None else True,
    )
    page = context.store.query_sessions(context.caller, request)
    return {"totalResults": page.total, "results": page.sessions}


def _capped(limit: int, cap: int | None) -> int:
    """A limit above the cap is served as the cap (a negative one stays, for its error)."""
    return limit if cap is None else min(limit, cap)


@query.field("currentUser")
def _current_user(_obj: None, info: Info) -> User:
    return _context(info).caller.user


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
session_type.set_alias("clientInfo", "client_info")
session_type.set_alias("createdAt", "created_at")
session_type.set_alias("lastActivityAt", "last_activity_at")


@session_type.field("user")
def _session_user(session: Session, info: Info) -> User:
    return _context(info).store.user(session.user_id)


@session_type.field("isCurrentSession")
def _is_current(session: Session, info: Info) -> bool:
    return session.id == _context(info).caller.session_id


user_type = ObjectType("User")
for _field, _attribute in (
    ("displayName", "display_name"),
    ("isRoot", "is_root"),
    ("isOrgRoot", "is_org_root"),
    ("fullName", "full_name"),
    ("firstName", "first_name"),
    ("lastName", "last_name"),
    ("phoneNumber", "phone_number"),
    ("createdAt", "created_at"),
    ("countryCode", "country_code"),
    ("stateCode", "state_code"),
):
    user_type.set_alias(_field, _attribute)

organization_type = ObjectType("Organization")
organization_type.set_alias("createdAt", "created_at")


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
        organization_type,
        configs_type,
        long_scalar,
        datetime_scalar,
    )
