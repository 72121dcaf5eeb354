"""Selection sets compiled to Python that writes the response JSON directly.

For each object type and selection, `compile_object` generates

    def project(o, c):
        v0 = str(o.id)            # one statement or two per selected field
        v1 = o.title
        v1 = "null" if v1 is None else enc(v1)
        ...
        return f'{"id":{v0},"title":{v1},...}'

so a record becomes its JSON text in one call, without an intermediate dict or a json.dumps pass over
1,000 scenes. Field values come from resolvers.FIELDS (computed fields) or straight from the record's
attribute (resolvers.ATTRIBUTES maps the few renamed ones); scalars are encoded by GraphQL type.
"""

import json
from functools import partial

from graphql import (
    GraphQLEnumType,
    GraphQLIncludeDirective,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSkipDirective,
)
from graphql.execution.values import get_argument_values, get_directive_values
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode

from stash.emulator import resolvers

# Encoding of one scalar value held in variable `v` (never None here), as a Python expression.
SCALARS = {
    "ID": "enc(str({v}))",
    "String": "enc({v})",
    "Time": "enc({v})",
    "Int": "str({v})",
    "Int64": "str({v})",
    "Float": "repr({v})",
    "Boolean": '("true" if {v} else "false")',
}
NAMESPACE = {"enc": json.encoder.encode_basestring, "dumps": json.dumps}


def _scalar(named, var: str) -> str:
    if isinstance(named, GraphQLEnumType):
        return f"enc({var})"
    return SCALARS.get(named.name, "dumps({v})").format(v=var)


def _included(node, variables) -> bool:
    if not node.directives:
        return True
    skip = get_directive_values(GraphQLSkipDirective, node, variables)
    if skip and skip["if"]:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, variables)
    return not (include and not include["if"])


def collect_fields(object_type, selection_set, fragments, variables, out=None, seen=None) -> dict:
    """Response key -> the field nodes under that key, for one object type (fragments flattened)."""
    out = {} if out is None else out
    seen = set() if seen is None else seen
    for selection in selection_set.selections:
        if not _included(selection, variables):
            continue
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            out.setdefault(key, []).append(selection)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            if condition is None or condition.name.value == object_type.name:
                collect_fields(object_type, selection.selection_set, fragments, variables, out, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if name in seen or fragment is None or fragment.type_condition.name.value != object_type.name:
                continue
            seen.add(name)
            collect_fields(object_type, fragment.selection_set, fragments, variables, out, seen)
    return out


def compile_value(gtype, nodes, fragments, variables):
    """A function (value, context) -> JSON text, for a value of `gtype` selected by `nodes`."""
    if isinstance(gtype, GraphQLNonNull):
        return compile_value(gtype.of_type, nodes, fragments, variables)
    if isinstance(gtype, GraphQLList):
        inner = compile_value(gtype.of_type, nodes, fragments, variables)
        return lambda value, ctx: "null" if value is None else "[" + ",".join([inner(x, ctx) for x in value]) + "]"
    if isinstance(gtype, GraphQLObjectType):
        project = compile_object(gtype, nodes, fragments, variables)
        return lambda value, ctx: "null" if value is None else project(value, ctx)
    encode = eval(f"lambda v: {_scalar(gtype, 'v')}", dict(NAMESPACE))  # noqa: S307 (our own template)
    return lambda value, ctx: "null" if value is None else encode(value)


def compile_object(object_type, nodes, fragments, variables):
    fields = {}
    for node in nodes:
        collect_fields(object_type, node.selection_set, fragments, variables, fields)
    namespace, lines, members = dict(NAMESPACE), [], []
    for index, (key, field_nodes) in enumerate(fields.items()):
        name, label = field_nodes[0].name.value, json.dumps(key)
        if name == "__typename":
            members.append(f"{label}:{json.dumps(object_type.name)}")
            continue
        field_def = object_type.fields[name]
        resolver = resolvers.FIELDS.get((object_type.name, name))
        if resolver is not None:
            if field_def.args:
                resolver = partial(resolver, **get_argument_values(field_def, field_nodes[0], variables))
            namespace[f"r{index}"] = resolver
            getter = f"r{index}(o, c)"
        else:
            getter = f"o.{resolvers.ATTRIBUTES.get((object_type.name, name), name)}"
        var = f"v{index}"
        lines.append(f"{var} = {getter}")
        lines.extend(_encode(field_def.type, var, index, field_nodes, fragments, variables, namespace))
        members.append(f"{label}:{{{var}}}")
    body = "".join(f"    {line}\n" for line in lines)
    source = f"def project(o, c):\n{body}    return f'{{{{{','.join(members)}}}}}'\n"
    exec(compile(source, f"<emulator projection of {object_type.name}>", "exec"), namespace)  # noqa: S102
    return namespace["project"]


def _encode(gtype, var, index, nodes, fragments, variables, namespace) -> list[str]:
    """Statements turning `var` (the field's value) into its JSON text."""
    nullable = not isinstance(gtype, GraphQLNonNull)
    named = gtype if nullable else gtype.of_type
    if isinstance(named, GraphQLList):
        item_nullable = not isinstance(named.of_type, GraphQLNonNull)
        item = named.of_type if item_nullable else named.of_type.of_type
        if isinstance(item, GraphQLObjectType):
            namespace[f"p{index}"] = compile_object(item, nodes, fragments, variables)
            element = f"p{index}(x, c)"
        else:
            element = _scalar(item, "x")
        if item_nullable:
            element = f'("null" if x is None else {element})'
        value = f'"[" + ",".join([{element} for x in {var}]) + "]"'
    elif isinstance(named, GraphQLObjectType):
        namespace[f"p{index}"] = compile_object(named, nodes, fragments, variables)
        value = f"p{index}({var}, c)"
    else:
        value = _scalar(named, var)
    if nullable:
        return [f'{var} = "null" if {var} is None else {value}']
    return [f"{var} = {value}"]
