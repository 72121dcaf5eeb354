"""Every GraphQL document we send is valid against the real Stash schema, and retries stay safe."""

import graphql
import pytest
from graphql.validation import NoDeprecatedCustomRule, specified_rules

from stash.connection import documents
from tests.stash_schema import load_schema

# Root mutation fields that make something new in Stash: sending one twice makes two.
CREATING = ("metadataScan", "metadataGenerate", "metadataAutoTag", "metadataIdentify", "metadataClean")


@pytest.fixture(scope="module")
def schema():
    return load_schema()


# The HTTP documents and the subscriptions (sent over a WebSocket): all are checked alike.
ALL = {**documents.DOCUMENTS, **documents.SUBSCRIPTIONS}


def _operations(name):
    document = graphql.parse(ALL[name])
    return [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]


@pytest.mark.parametrize("name", sorted(ALL))
def test_document_is_valid_against_the_stash_schema(schema, name):
    errors = graphql.validate(schema, graphql.parse(ALL[name]))
    assert [e.message for e in errors] == []


@pytest.mark.parametrize("name", sorted(ALL))
def test_document_uses_no_deprecated_field(schema, name):
    errors = graphql.validate(schema, graphql.parse(ALL[name]), [NoDeprecatedCustomRule])
    assert [e.message for e in errors] == []


def test_the_deprecation_check_catches_a_deprecated_field(schema):
    # Guards the test above: Scene.movies is deprecated in Stash (replaced by groups).
    document = graphql.parse("query Q { findScenes { scenes { movies { scene_index } } } }")
    assert graphql.validate(schema, document) == []
    errors = graphql.validate(schema, document, [*specified_rules, NoDeprecatedCustomRule])
    assert any("deprecated" in e.message for e in errors)


@pytest.mark.parametrize("name", sorted(ALL))
def test_each_document_holds_one_operation_named_like_its_key(name):
    operations = _operations(name)
    assert [op.name.value for op in operations] == [name]


def test_idempotent_names_are_known_documents():
    assert documents.IDEMPOTENT <= set(documents.DOCUMENTS)


def test_no_creating_mutation_is_marked_idempotent():
    for name in documents.IDEMPOTENT:
        for operation in _operations(name):
            if operation.operation != graphql.OperationType.MUTATION:
                continue
            fields = [s.name.value for s in operation.selection_set.selections]
            creating = [f for f in fields if f in CREATING or f.endswith(("Create", "create"))]
            assert not creating, f"{name} creates things ({creating}) and must not be retried"


def test_scan_and_generate_are_sent_once():
    assert "MetadataScan" not in documents.IDEMPOTENT
    assert "MetadataGenerate" not in documents.IDEMPOTENT


def test_the_jobs_subscription_is_a_subscription_and_not_an_http_document():
    assert [op.operation for op in _operations("JobsSubscribe")] == [graphql.OperationType.SUBSCRIPTION]
    assert not set(documents.SUBSCRIPTIONS) & set(documents.DOCUMENTS)
