"""The WSGI application: LogScale's HTTP habits around the GraphQL schema.

Order of checks on ``POST /graphql``: body size (413), then the token (401,
always LogScale's plain-text ``The supplied authentication is invalid``; the
reason goes to the journal), then the body (415, 400), then the document and
its variables (400), then the rate
limit (429), then injected faults (docs/faults.md), then execution (200, with
resolver errors inside). Nothing a client sends can make it answer 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

import orjson
from ariadne import format_error, graphql_sync
from ariadne.explorer import ExplorerGraphiQL
from graphql import DocumentNode, GraphQLError, GraphQLResolveInfo
from graphql.execution.values import get_variable_values
from graphql.validation import NoSchemaIntrospectionCustomRule

from ..domain.checks import whole_number
from ..domain.errors import LogScaleError, StateReset, Unauthenticated
from ..domain.store import Caller, Store
from ..graphql.documents import DocumentCache, Operation
from ..graphql.fastpath import DEFAULT_MAX_FIELDS, FastPath, Outcomes, replaying
from ..graphql.limits import QueryLimits
from ..graphql.resolvers import Context, build_schema, default_session_query
from ..graphql.rows import requested_rows
from ..graphql.unserved import explain_unserved
from ..harness.faults import Fault, FaultKind, FaultPlan, Fired
from ..harness.journal import Exchange, Journal
from ..harness.ratelimit import RateLimiter
from ..version import __version__
from .body import BodyError, read_body
from .inflight import InFlight

__all__ = ["AppOptions", "LogScaleApp"]

log = logging.getLogger("pytest_logscale")
_quiet = logging.getLogger("pytest_logscale.graphql")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class AppOptions:
    """How the application behaves at the HTTP edge.

    ``max_body_bytes``: larger bodies get 413. ``introspection`` and
    ``explorer``: switch schema introspection and the ``GET /graphql`` explorer.
    ``max_selection_size`` (LogScale's ``GraphQLSelectionSizeLimit``): the
    fields and fragments an operation selects, a fragment counted each time it
    is spread. ``max_depth``: fields nested in fields. ``max_fragment_depth``:
    fragments (spread or inline) nested in fragments. ``max_tokens``: lexical
    tokens (and, apart, comments) in a document. A document over any of them
    gets HTTP 400 with a GraphQL error naming the limit.
    ``document_cache_bytes``: what the parsed documents kept for reuse may hold.
    ``max_limit``: ``sessions(limit:)`` above it is served as if it were it.
    ``max_answer_rows``: the sessions one request may ask for, its ``sessions()``
    limits added across aliases (each capped at ``max_limit``); more gets 400.
    ``fast_path_fields``: a query whose selection expands to more fields than this
    is answered by graphql-core alone, not compiled (the same answer, more slowly).
    ``validation_budget``: the comparisons of fields for merging a document's
    validation may make (2,000,000: any operation within the default selection size).
    """

    max_body_bytes: int = 1 << 20
    introspection: bool = True
    explorer: bool = True
    max_selection_size: int = 1_000
    max_depth: int = 20
    max_fragment_depth: int = 100
    max_tokens: int = 10_000
    document_cache_bytes: int = 32 << 20
    max_limit: int = 10_000
    max_answer_rows: int = 100_000
    fast_path_fields: int = DEFAULT_MAX_FIELDS
    validation_budget: int = 2_000_000

    def __post_init__(self) -> None:
        for name in _WHOLE_NUMBERS:
            whole_number(getattr(self, name), f"AppOptions.{name}", 1)

    @property
    def query_limits(self) -> QueryLimits:
        """The limits on a query document's shape, as the document cache checks them."""
        return QueryLimits(
            max_selection_size=self.max_selection_size,
            max_depth=self.max_depth,
            max_fragment_depth=self.max_fragment_depth,
            max_tokens=self.max_tokens,
            validation_budget=self.validation_budget,
        )


_WHOLE_NUMBERS = (
    "max_body_bytes",
    "max_selection_size",
    "max_depth",
    "max_fragment_depth",
    "max_tokens",
    "document_cache_bytes",
    "max_limit",
    "max_answer_rows",
    "fast_path_fields",
    "validation_budget",
)


#: sessions() without a limit answers this many at most (the schema's default).
_DEFAULT_LIMIT = default_session_query().limit


class _Reject(Exception):
    """Stop handling a request and answer with this status and message."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        allow: str | None = None,
    ):
        super().__init__(message)
        self.status, self.allow = status, allow
        self.body: dict[str, Any] | bytes = {"errors": errors or [{"message": message}]}
        self.content_type = "application/json"


#: LogScale's answer to a dead or missing token, documented on its API token pages.
UNAUTHORIZED_TEXT = "The supplied authentication is invalid"


class _Unauthorized(_Reject):
    """A 401: LogScale's plain text to the client, the reason to the journal."""

    def __init__(self, reason: str) -> None:
        super().__init__(401, reason)
        self.reason = reason
        self.body = UNAUTHORIZED_TEXT.encode()
        self.content_type = "text/plain; charset=utf-8"


@dataclass(slots=True)
class _Trace:
    """What is known of a request so far, for its journal entry."""

    method: str
    path: str
    generation: int  # of the store's state when the request began: it acts on that one only
    caller: Caller | None = None
    operation: Operation | None = None
    query: str | None = None
    variables: Mapping[str, Any] | None = None
    body_bytes: int | None = None  # of the JSON body the query and variables were read from
    fired: Fired | None = None  # an injected fault shaping the answer
    fault: str | None = None  # the fault as the journal names it (the rate limit's too)
    headers: list[tuple[str, str]] = field(default_factory=list)  # more answer headers
    recorded: bool = True
    token: str = ""  # for the rate limit
    auth_failure: str | None = None  # why a 401 was sent


def _no_validation(*_args: Any, **_kwargs: Any) -> list[GraphQLError]:
    return []  # documents arrive already validated by the DocumentCache


class LogScaleApp:
    """A WSGI app serving ``/graphql`` and ``/api/v1/status`` over a :class:`Store`."""

    def __init__(
        self,
        store: Store,
        *,
        journal: Journal | None = None,
        options: AppOptions | None = None,
        faults: FaultPlan | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self.store = store
        self.journal = journal if journal is not None else Journal()
        self.faults = faults if faults is not None else FaultPlan()
        self.rate_limiter = rate_limiter if rate_limiter is not None else RateLimiter(store.clock)
        self.options = options or AppOptions()
        self.schema = build_schema()
        rules = () if self.options.introspection else (NoSchemaIntrospectionCustomRule,)
        self.documents = DocumentCache(
            self.schema,
            limits=self.options.query_limits,
            max_bytes=self.options.document_cache_bytes,
            rules=rules,
        )
        self.fast_path = FastPath(self.schema, max_fields=self.options.fast_path_fields)
        self._explorer = ExplorerGraphiQL(title="pytest-logscale").html(None).encode()
        self.in_flight = InFlight()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self.in_flight.enter()
        try:
            return self._answer(environ, start_response)
        finally:
            self.in_flight.leave()

    def _answer(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = "/" + environ.get("PATH_INFO", "").lstrip("/")
        trace = _Trace(method, path, self.store.generation)
        try:
            status, body, content_type = self._route(environ, trace)
        except _Reject as reject:
            status, body, content_type = reject.status, reject.body, reject.content_type
            if isinstance(reject, _Unauthorized):
                trace.auth_failure = reject.reason
            if reject.allow is not None:  # a 405 names the methods the path takes
                trace.headers.append(("Allow", reject.allow))
        except StateReset as stale:
            status, body, content_type = _stale(trace, stale)
        except Exception:  # a bug of ours: say so in JSON, keep the server thread alive
            log.exception("pytest-logscale failed on %s %s", method, path)
            status, body = 500, {"errors": [{"message": "Internal error in pytest-logscale."}]}
            content_type = "application/json"
        payload = _payload(body)
        if trace.recorded and path != "/api/v1/status":
            try:
                with self.store.fenced(trace.generation):
                    self._record(trace, status, payload, content_type)
            except StateReset as stale:
                status, body, content_type = _stale(trace, stale)
                payload = _payload(body)
        headers = [("Content-Type", content_type), ("Content-Length", str(len(payload)))]
        start_response(f"{status} {_reason(status)}", headers + trace.headers)
        if trace.fired is not None and trace.fired.cuts:  # the server closes the connection
            return _cut_answer(payload, trace.fired.kept(len(payload)))
        return [payload]

    def _record(self, trace: _Trace, status: int, payload: bytes, content_type: str) -> None:
        operation = trace.operation
        self.journal.record(
            Exchange.capture(
                method=trace.method,
                path=trace.path,
                status=status,
                operation_type=operation.type if operation else None,
                operation_name=operation.name if operation else None,
                root_fields=operation.root_fields if operation else (),
                query=trace.query,
                variables=trace.variables,
                user_id=trace.caller.user.id if trace.caller else None,
                session_id=trace.caller.session_id if trace.caller else None,
                response=payload,
                response_is_json=content_type == "application/json",
                fault=trace.fault,
                auth_failure=trace.auth_failure,
                max_text=self.journal.max_text,
                body_bytes=trace.body_bytes,
            )
        )

    def _route(self, environ: dict[str, Any], trace: _Trace) -> tuple[int, Any, str]:
        path, method = trace.path.rstrip("/") or "/", trace.method
        if path == "/api/v1/status":
            if method not in ("GET", "HEAD"):
                raise _Reject(
                    405, f"{method} is not allowed on {path}; use GET.", allow="GET, HEAD"
                )
            return 200, {"status": "OK", "version": __version__}, "application/json"
        if path != "/graphql":
            raise _Reject(404, f"Nothing at {trace.path}: the API is at POST /graphql.")
        if method in ("GET", "HEAD"):
            return self._get(environ)
        if method != "POST":
            allow = "GET, HEAD, POST" if self.options.explorer else "POST"
            raise _Reject(405, f"{method} is not allowed on /graphql; use POST.", allow=allow)
        raw = self._read_body(environ)
        self._authenticate(environ, trace)
        return self._graphql(raw, environ.get("CONTENT_TYPE", ""), trace)

    def _get(self, environ: dict[str, Any]) -> tuple[int, Any, str]:
        """The explorer for a browser; any other GET gets 405 and JSON (queries go by POST)."""
        asks_query = "query" in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        browser = "text/html" in environ.get("HTTP_ACCEPT", "").lower()
        if not self.options.explorer:
            raise _Reject(
                405, "The explorer is switched off; send queries with POST.", allow="POST"
            )
        if browser and not asks_query:
            return 200, self._explorer, "text/html; charset=utf-8"
        raise _Reject(
            405,
            "pytest-logscale runs GraphQL operations only from POST /graphql with a JSON body "
            '{"query": ..., "variables": ...}; GET /graphql serves the explorer to a browser.',
            allow="POST",
        )

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        try:
            return read_body(environ, self.options.max_body_bytes)
        except BodyError as error:
            raise _Reject(error.status, error.message) from None

    def _authenticate(self, environ: dict[str, Any], trace: _Trace) -> None:
        """Put the caller and its token (for the rate limit) on the trace, or answer 401."""
        header = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if header and scheme.lower() != "bearer":
            raise _Unauthorized(
                f"The Authorization header must use the Bearer scheme, not {scheme!r}."
            )
        trace.token = token.lstrip(" ")  # only the spaces after the scheme separate
        try:
            trace.caller = self.store.authenticate(trace.token, trace.generation)
        except Unauthenticated as error:
            raise _Unauthorized(error.message) from None

    def _graphql(self, raw: bytes, content_type: str, trace: _Trace) -> tuple[int, Any, str]:
        _check_content_type(content_type)
        data = _parse_body(raw)
        query, variables, name = data["query"], data.get("variables"), data.get("operationName")
        trace.query, trace.variables, trace.body_bytes = query, variables, len(raw)
        prepared = self.documents.prepare(query)
        if prepared.document is None:
            errors = explain_unserved(prepared.errors)
            raise _Reject(400, "invalid document", errors=[dict(e.formatted) for e in errors])
        operation = prepared.operation(name)
        if operation is None:
            if name is None:
                raise _Reject(
                    400, "The document has several operations: name one in operationName."
                )
            raise _Reject(400, f"The document has no operation named {name!r}.")
        trace.operation = operation
        coerced = self._check_variables(operation, variables)
        values = getattr(coerced, "coerced", coerced)  # 3.3: VariableValues
        self._check_rows(operation, {} if values is None else values)
        assert trace.caller is not None
        context = Context(self.store, trace.caller, max_limit=self.options.max_limit)
        # one block: neither counted in the next test's rate window nor one of its faults
        with self.store.fenced(trace.generation):
            self._limit_rate(trace)
            fired = self.faults.take(operation.name, operation.root_fields)
        if fired is not None:
            injected = self._inject(fired, trace)
            if injected is not None:
                return injected
            if fired.root_field is not None and fired.fault.kind is FaultKind.GRAPHQL_ERROR:
                failing = _failing_root_field(fired.root_field, fired.fault.message)
                return self._execute(data, prepared.document, context, failing)
        outcomes: Outcomes = {}  # what a mutation's root resolvers gave: never run them twice
        fast = self.fast_path.run(
            prepared.document, operation, variables, context, outcomes, coerced
        )
        if fast is not None:  # a plain operation that ran without an error: graphql-core's result
            return 200, {"data": fast}, "application/json"
        replay = replaying(outcomes) if outcomes else None
        return self._execute(data, prepared.document, context, replay)

    def _execute(
        self,
        data: dict[str, Any],
        document: DocumentNode,
        context: Context,
        middleware: Callable[..., Any] | None = None,
    ) -> tuple[int, Any, str]:
        """Run a request through graphql-core (with a fault's middleware, if any)."""
        _ok, result = graphql_sync(
            self.schema,
            data,
            context_value=context,
            query_document=document,
            query_validator=_no_validation,
            logger=_quiet,
            error_formatter=_format_error,
            middleware=None if middleware is None else [middleware],
        )
        return 200, result, "application/json"  # variables were checked: errors are fields'

    def _check_variables(self, operation: Operation, variables: dict[str, Any] | None) -> Any:
        """The coerced variables as graphql-core gives them (a dict, or 3.3's VariableValues),
        None when the operation declares none (nothing to coerce or refuse: any sent are
        ignored); 400 when they do not fit their types, before limit and faults."""
        definitions = operation.definition.variable_definitions
        if not definitions:
            return None
        coerced = get_variable_values(self.schema, definitions, variables or {})
        if isinstance(coerced, list):  # a request error, so no data (GraphQL spec)
            errors = [_format_error(error) for error in coerced]
            raise _Reject(400, "bad variables", errors=errors)
        return coerced

    def _check_rows(self, operation: Operation, variables: dict[str, Any]) -> None:
        """Answer 400 when the operation's sessions() fields together may answer too many rows."""
        options = self.options
        rows = requested_rows(operation, variables, _DEFAULT_LIMIT, options.max_limit)
        if rows > options.max_answer_rows:
            raise _Reject(
                400,
                f"The operation asks for up to {rows} sessions in all (the limits of its "
                f"sessions() fields added across aliases, each at most max_limit "
                f"{options.max_limit}); this server answers at most {options.max_answer_rows} "
                "per request (max_answer_rows, serve --max-answer-rows).",
            )

    def _limit_rate(self, trace: _Trace) -> None:
        """Answer 429 when the token is over the rate limit (docs/faults.md); call it in a
        block fenced to the request's generation."""
        limit, retry_after = self.rate_limiter.limit, self.rate_limiter.admit(trace.token)
        if limit is not None and retry_after is not None:
            trace.fault = f"rate limit {limit}"
            trace.headers.append(("Retry-After", str(retry_after)))
            raise _Reject(
                429,
                f"Too many requests: a token may make {limit.describe()}. "
                f"Retry after {retry_after} seconds.",
            )

    def _inject(self, fired: Fired, trace: _Trace) -> tuple[int, Any, str] | None:
        """Apply a fault before the request runs: the answer it gives, or None to run it."""
        fault = fired.fault
        trace.fired, trace.fault = fired, fired.describe()
        if fault.kind is FaultKind.DELAY and not self.faults.sleep(fired):
            # cut short by reset() or stop(): never run into the next test's state
            fault, trace.recorded = Fault.dropped_connection(), False
            trace.fired = Fired(fault)
        if fault.kind is FaultKind.DROPPED_CONNECTION:
            return 0, b"", "text/plain"  # status 0: no answer at all
        if fault.kind in (FaultKind.STATUS, FaultKind.RATE_LIMITED):
            if fault.retry_after is not None:
                trace.headers.append(("Retry-After", str(fault.retry_after)))
            return fault.http_status, *fault.error_body()
        return None


def _payload(body: Any) -> bytes:
    """The bytes sent: a bytes body as it is, anything else as JSON."""
    return body if isinstance(body, bytes) else _encode(body)


def _stale(trace: _Trace, error: StateReset) -> tuple[int, Any, str]:
    """The answer to a request begun before a reset: 503, whole, and in no journal."""
    trace.headers, trace.fired, trace.recorded = [], None, False
    return 503, {"errors": [{"message": error.message}]}, "application/json"


def _failing_root_field(root_field: str, message: str | None) -> Callable[..., Any]:
    """A graphql-core middleware raising a GraphQL error at ``root_field`` instead of resolving."""
    text = (
        message or "Internal error while resolving this field (a fault injected by pytest-logscale)"
    )

    def middleware(
        resolve: Callable[..., Any], root: Any, info: GraphQLResolveInfo[Any], **args: Any
    ) -> Any:
        if info.path.prev is None and info.field_name == root_field:
            raise GraphQLError(text)
        return resolve(root, info, **args)

    return middleware


def _cut_answer(payload: bytes, kept: int) -> Iterator[bytes]:
    """A WSGI body that sends ``kept`` bytes, then aborts the connection (the server closes it)."""
    if kept:
        yield payload[:kept]
    raise ConnectionAbortedError("an injected fault cut the answer short")


def _encode(value: Any) -> bytes:
    """JSON as the app sends it: UTF-8 text as it is, no indentation.

    orjson writes a 38 KB page in a tenth of the standard library's time. What it
    refuses (a lone surrogate echoed from a request, an integer beyond 64 bits) the
    standard library writes with escapes: the same JSON value either way.
    """
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, check_circular=False).encode()


def _reason(status: int) -> str:
    try:
        return _REASONS.get(status) or HTTPStatus(status).phrase
    except ValueError:
        return ""


_NO_PERSISTED_QUERIES = "PersistedQueryNotSupported"


def _no_persisted_queries() -> dict[str, Any]:
    """The error Apollo's persisted-query link takes as "fall back to sending the query"."""
    return {
        "message": _NO_PERSISTED_QUERIES,
        "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
    }


def _check_content_type(content_type: str) -> None:
    """Refuse ``application/graphql`` bodies by name; any other type is read as JSON."""
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == "application/graphql":
        raise _Reject(
            415,
            "Content-Type application/graphql is not supported: send a JSON body "
            '{"query": ...} with Content-Type application/json.',
        )


def _parse_body(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Reject(400, "The request body is not UTF-8 text.") from None
    if not text.strip():
        raise _Reject(400, 'The request body is empty: send a JSON object with a "query" string.')
    try:
        data = _read_json(text)
    except (ValueError, RecursionError) as error:
        raise _Reject(400, f"The request body is not valid JSON: {error}.") from None
    if isinstance(data, list):
        raise _Reject(
            400,
            "Batching is not supported: the body is a JSON array. Send each operation in a "
            'request of its own, as a JSON object with a "query" string.',
        )
    if not isinstance(data, dict):
        raise _Reject(400, 'The request body must be a JSON object with a "query" string.')
    extensions = data.get("extensions")
    if "query" not in data and isinstance(extensions, dict) and "persistedQuery" in extensions:
        # Apollo's persisted-query link understands exactly this answer and sends the query
        raise _Reject(400, _NO_PERSISTED_QUERIES, errors=[_no_persisted_queries()])
    if not isinstance(data.get("query"), str):
        raise _Reject(400, 'The request body must have a "query" string.')
    if data.get("variables") is not None and not isinstance(data["variables"], dict):
        raise _Reject(400, '"variables" must be a JSON object or null.')
    if data.get("operationName") is not None and not isinstance(data["operationName"], str):
        raise _Reject(400, '"operationName" must be a string or null.')
    return data


# strict=False takes raw newlines inside strings, as LogScale's curl examples send them.
_BODY_DECODER = json.JSONDecoder(strict=False)  # shared, as json.loads shares its default one


def _read_json(text: str) -> Any:
    """``json.loads(text, strict=False)`` without building a decoder for every request."""
    if text.startswith("\ufeff"):
        return json.loads(text, strict=False)  # refuses the BOM, with json.loads's own words
    return _BODY_DECODER.decode(text)


def _format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    """LogScale's refusals as they are; anything else is a bug of ours, so log it too."""
    original = error.original_error
    if original is not None and not isinstance(original, (LogScaleError, GraphQLError)):
        log.error("pytest-logscale resolver failed: %s", error.message, exc_info=original)
    formatted: dict[str, Any] = format_error(error, debug)
    return formatted
