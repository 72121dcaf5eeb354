"""GraphQL execution for the emulator: graphql-core parses and validates, a small executor of our own
answers.

graphql-core's generic executor resolves every field of every object through several Python calls, too
slow for syncing 100,000 scenes. Here a validated document is cached by its text, and each root field's
selection set is compiled once (projection.py) into plain Python functions that write the response JSON
straight from the store's records. Aliases, fragments, inline fragments, __typename and @skip/@include
are honoured; arguments and variables are coerced by graphql-core.

Errors look like gqlgen's (Stash's server): a document that does not parse or validate, or variables
that do not coerce, get HTTP 422 and `{"errors": [...], "data": null}`; a resolver error gets HTTP 200,
the error with its path, and null in its place (or null data when the field is non-null).
"""

import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from types import SimpleNamespace

from graphql import GraphQLError, GraphQLNonNull, OperationType, execute_sync, parse, validate
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.language import DocumentNode, FieldNode, FragmentDefinitionNode, OperationDefinitionNode, Visitor, visit

from stash.emulator import resolvers
from stash.emulator.projection import collect_fields, compile_value
from stash.emulator.schema import schema

log = logging.getLogger(__name__)

CACHE_SIZE = 256
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


@dataclass
class Context:
    """One request: the store and the URL the client reached us at (scene paths are built from it)."""

    store: object
    base_url: str


@dataclass
class Prepared:
    """A document that parsed and validated (or the errors saying why not), with its compiled plans."""

    document: DocumentNode | None = None
    errors: list = field(default_factory=list)
    operations: dict = field(default_factory=dict)
    fragments: dict = field(default_factory=dict)
    static: bool = True  # no variable below the root fields: plans can be reused across requests
    plans: dict = field(default_factory=dict)


_cache: OrderedDict[str, Prepared] = OrderedDict()
_cache_lock = threading.Lock()


def _error(error: GraphQLError, code: str | None = None) -> dict:
    out = {"message": error.message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if code:
        out["extensions"] = {"code": code}
    return out


def prepare(text: str) -> Prepared:
    with _cache_lock:
        prepared = _cache.get(text)
        if prepared is not None:
            _cache.move_to_end(text)
            return prepared
    prepared = _prepare(text)
    with _cache_lock:
        _cache[text] = prepared
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return prepared


def _prepare(text: str) -> Prepared:
    try:
        document = parse(text)
    except GraphQLError as exc:
        return Prepared(errors=[_error(exc, PARSE_FAILED)])
    errors = validate(schema(), document)
    if errors:
        return Prepared(errors=[_error(e, VALIDATION_FAILED) for e in errors])
    prepared = Prepared(document=document)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            prepared.operations[definition.name.value if definition.name else None] = definition
        elif isinstance(definition, FragmentDefinitionNode):
            prepared.fragments[definition.name.value] = definition
    prepared.static = _is_static(document)
    return prepared


class _VariableFinder(Visitor):
    def __init__(self):
        super().__init__()
        self.found = False

    def enter_variable(self, *_):
        self.found = True
        return self.BREAK


def _has_variable(*nodes) -> bool:
    for node in nodes:
        finder = _VariableFinder()
        visit(node, finder)
        if finder.found:
            return True
    return False


def _is_static(document: DocumentNode) -> bool:
    """True when variables appear only in the arguments of an operation's top-level fields (coerced per
    request anyway), so compiled projections do not depend on them and can be reused."""
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            if _has_variable(definition):
                return False
            continue
        for selection in definition.selection_set.selections:
            if not isinstance(selection, FieldNode):
                if _has_variable(selection):
                    return False
            elif _has_variable(
                *(selection.directives or ()), *([selection.selection_set] if selection.selection_set else [])
            ):
                return False
        if _has_variable(*(definition.directives or ())):
            return False
    return True


# --- execution ---------------------------------------------------------------------------------


def _json(payload) -> str:
    return json.dumps(payload, separators=(",", ":"))


def _request_error(message: str) -> tuple[int, str]:
    return 422, _json({"errors": [{"message": message, "extensions": {"code": VALIDATION_FAILED}}], "data": None})


def execute(text: str, variables: dict | None, operation_name: str | None, context: Context) -> tuple[int, str]:
    """Run one GraphQL request; returns (HTTP status, JSON response text)."""
    if not text:
        return _request_error("no operation provided")
    prepared = prepare(text)
    if prepared.errors:
        return 422, _json({"errors": prepared.errors, "data": None})
    operation = _operation(prepared, operation_name)
    if operation is None:
        return _request_error(
            f"operation {operation_name} not found" if operation_name else "operation name is required"
        )
    coerced = get_variable_values(schema(), operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return 422, _json({"errors": [_error(e, VALIDATION_FAILED) for e in coerced], "data": None})
    if operation.operation == OperationType.SUBSCRIPTION:
        return _request_error("subscriptions are served over a WebSocket on /graphql")
    root = schema().mutation_type if operation.operation == OperationType.MUTATION else schema().query_type
    fields = collect_fields(root, operation.selection_set, prepared.fragments, coerced)
    if any(nodes[0].name.value in ("__schema", "__type") for nodes in fields.values()):
        return _introspect(prepared, operation, variables)
    members, errors = [], []
    for key, nodes in fields.items():
        value, error = _root_field(prepared, operation, root, key, nodes, coerced, context)
        if error is not None:
            errors.append(error)
            if isinstance(root.fields[nodes[0].name.value].type, GraphQLNonNull):
                members = None  # a non-null field failed: the whole data is null, as gqlgen does
                break
        members.append(f"{json.dumps(key)}:{value}")
    data = "null" if members is None else "{" + ",".join(members) + "}"
    if errors:
        return 200, f'{{"errors":{_json(errors)},"data":{data}}}'
    return 200, f'{{"data":{data}}}'


def subscription(text: str, variables: dict | None, operation_name: str | None):
    """Prepare a subscription (the WebSocket transports): ([errors], None) when it cannot run, else
    ([], project) where project(kind, job, context) is the JSON text of one event's {"data": …}."""
    if not text:
        return [{"message": "no operation provided"}], None
    prepared = prepare(text)
    if prepared.errors:
        return prepared.errors, None
    operation = _operation(prepared, operation_name)
    if operation is None or operation.operation != OperationType.SUBSCRIPTION:
        return [{"message": f"operation {operation_name or ''} is not a subscription".replace("  ", " ")}], None
    coerced = get_variable_values(schema(), operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return [_error(e, VALIDATION_FAILED) for e in coerced], None
    root = schema().subscription_type
    fields = collect_fields(root, operation.selection_set, prepared.fragments, coerced)
    if len(fields) != 1:  # the GraphQL spec: a subscription selects exactly one root field
        return [{"message": "a subscription must select one top level field"}], None
    ((key, nodes),) = fields.items()
    if nodes[0].name.value != "jobsSubscribe":
        return [{"message": f"the emulator does not serve {nodes[0].name.value}"}], None
    project = compile_value(root.fields["jobsSubscribe"].type, nodes, prepared.fragments, coerced)
    label = json.dumps(key)

    def event(kind: str, job, context: Context) -> str:
        return f'{{"data":{{{label}:{project(SimpleNamespace(type=kind, job=job), context)}}}}}'

    return [], event


def _operation(prepared: Prepared, name: str | None) -> OperationDefinitionNode | None:
    if name:
        return prepared.operations.get(name)
    if len(prepared.operations) == 1:
        return next(iter(prepared.operations.values()))
    return None


def _root_field(prepared, operation, root, key, nodes, coerced, context) -> tuple[str, dict | None]:
    name = nodes[0].name.value
    if name == "__typename":
        return json.dumps(root.name), None
    field_def = root.fields[name]
    kind = "mutation" if operation.operation == OperationType.MUTATION else "query"
    resolver = resolvers.ROOT[(kind, name)]
    try:
        args = get_argument_values(field_def, nodes[0], coerced)
        project = _plan(prepared, operation, key, field_def.type, nodes, coerced)
        with context.store.lock:
            return project(resolver(context, **args), context), None
    except (resolvers.ResolverError, LookupError, ValueError, GraphQLError) as exc:
        message = exc.message if isinstance(exc, GraphQLError) else str(exc).strip("'\"")
        return "null", {"message": message, "path": [key]}
    except Exception:
        log.exception("emulator resolver %s failed", name)
        return "null", {"message": "internal system error", "path": [key]}


def _introspect(prepared: Prepared, operation, variables) -> tuple[int, str]:
    """Introspection is rare (tools, not the project): graphql-core's own executor answers it."""
    name = operation.name.value if operation.name else None
    result = execute_sync(schema(), prepared.document, variable_values=variables, operation_name=name)
    body = {"data": result.data}
    if result.errors:
        body["errors"] = [_error(e) for e in result.errors]
    return 200, _json(body)


def _plan(prepared, operation, key, gtype, nodes, variables):
    """The compiled projection of one root field's value, cached on the document when it can be."""
    if not prepared.static:
        return compile_value(gtype, nodes, prepared.fragments, variables)
    cache_key = (operation.name.value if operation.name else None, key)
    plan = prepared.plans.get(cache_key)
    if plan is None:
        plan = prepared.plans[cache_key] = compile_value(gtype, nodes, prepared.fragments, variables)
    return plan
