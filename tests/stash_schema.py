"""The real Stash GraphQL schema, read at test time from the shared reference folder (never copied into
the project). Where: STASH_SCHEMA_DIR if set, else `../shared/stash-schema` next to the checkout, else the
workplace's `/work/shared/stash-schema` (a clean clone for CI may live elsewhere on the machine)."""

import os
from pathlib import Path

import graphql

CANDIDATES = [
    Path(os.environ["STASH_SCHEMA_DIR"]) if os.environ.get("STASH_SCHEMA_DIR") else None,
    Path(__file__).resolve().parent.parent.parent / "shared" / "stash-schema",
    Path("/work/shared/stash-schema"),
]


def schema_files() -> list[Path]:
    for folder in filter(None, CANDIDATES):
        files = sorted(folder.rglob("*.graphql"))
        if files:
            return files
    searched = ", ".join(str(c) for c in CANDIDATES if c)
    raise AssertionError(f"the Stash schema is missing: looked in {searched} (set STASH_SCHEMA_DIR)")


def load_schema() -> graphql.GraphQLSchema:
    """Every *.graphql file, sorted and concatenated, as the schema's README says."""
    return graphql.build_schema("\n".join(path.read_text() for path in schema_files()))
