"""Tag, performer and studio names to Stash ids, for applying plans.

Stash's `name EQUALS` filter is SQL LIKE: `_` and `%` are wildcards and ASCII case is ignored, so
`Kiss_AI` also finds `KissXAI`. The query only fetches candidates; the match kept is the exact name,
ignoring case. Entities are created only when the caller allows it. Stash's create checks names with the
same LIKE, so it refuses `Kiss_AI` while `KissXAI` exists: such a name fails as a `Lookalike` naming the
entity Stash has, without sending a create bound to be refused. Stash checks a new tag's or studio's
name against the other tags' or studios' aliases too, with the same LIKE: before creating one, its
aliases are searched as well, and a match fails as a `Lookalike` naming the entity and the alias. Answers
are remembered for the whole apply, so a name proposed for a thousand scenes is looked up once.
"""

import re

from stash.plans.values import PlanError

KINDS = {
    # kind: (find operation, result field, list field, create operation, create field)
    "tag": ("FindTagsByName", "findTags", "tags", "TagCreate", "tagCreate"),
    "performer": ("FindPerformersByName", "findPerformers", "performers", "PerformerCreate", "performerCreate"),
    "studio": ("FindStudiosByName", "findStudios", "studios", "StudioCreate", "studioCreate"),
}
# The kinds whose create Stash also refuses for a name used as another's alias (performers' aliases
# are not checked by Stash), and the operation that finds them by alias.
ALIAS_LOOKUPS = {"tag": "FindTagsByAlias", "studio": "FindStudiosByAlias"}


class Unresolved(PlanError):
    """A name that matches no entity (and may not be created), or several."""


class Lookalike(Unresolved):
    """A name Stash would refuse to create because its LIKE name check matches an existing entity."""

    def __init__(self, kind: str, name: str, existing: str, alias: str = ""):
        through = f" with the alias '{alias}'" if alias else ""
        super().__init__(
            f"Stash already has {kind} '{existing}'{through}, which its name check treats as the same as "
            f"'{name}' (in Stash's check, case is ignored, _ stands for any character and % for any run of them)."
        )
        self.kind, self.name, self.existing, self.alias = kind, name, existing, alias


def failure_outcome(exc: Exception) -> dict:
    """What a failed change records of its failure: the entity to use instead, for a lookalike."""
    if isinstance(exc, Lookalike):
        lookalike = {"kind": exc.kind, "name": exc.name, "existing": exc.existing}
        return {"lookalike": {**lookalike, "alias": exc.alias} if exc.alias else lookalike}
    return {}


def like(name: str, value: str) -> bool:
    """Whether Stash's `value LIKE name` holds: ASCII case ignored, `_` any one character, `%` any run."""
    pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in name.strip())
    return re.fullmatch(pattern, value, re.IGNORECASE | re.ASCII | re.DOTALL) is not None


def same_name(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


class EntityResolver:
    def __init__(self, client, *, create_missing: bool = False):
        self.client = client
        self.create_missing = create_missing
        self._known: dict[tuple[str, str], int | None] = {}
        # The first candidate that is not the exact name, for names nothing is named exactly.
        self._lookalikes: dict[tuple[str, str], str] = {}
        self.created: list[dict] = []  # {"kind", "id", "name"} of every entity this apply created

    def find(self, kind: str, name: str) -> int | None:
        """The id of the entity named exactly `name` (case ignored), or None."""
        key = (kind, name.strip().casefold())
        if key in self._known:
            return self._known[key]
        operation, root, field = KINDS[kind][:3]
        candidates = (self.client.execute(operation, {"name": name.strip()}).get(root) or {}).get(field) or []
        exact = [c for c in candidates if same_name(c.get("name") or "", name)]
        if kind == "performer" and len(exact) > 1:
            # Performers may share a name (told apart by their disambiguation): only a plain one is meant.
            plain = [c for c in exact if not c.get("disambiguation")]
            if len(plain) != 1:
                ids = ", ".join(str(c["id"]) for c in exact)
                raise Unresolved(f"Performer name '{name}' matches {len(exact)} performers in Stash (ids {ids}).")
            exact = plain
        found = int(exact[0]["id"]) if exact else None
        self._known[key] = found
        if found is None and candidates:
            self._lookalikes[key] = candidates[0].get("name") or ""
        return found

    def resolve(self, kind: str, name: str) -> tuple[int, bool]:
        """(id, created): the existing entity, or a new one when creating is allowed; else Unresolved."""
        found = self.find(kind, name)
        if found is not None:
            return found, False
        if not self.create_missing:
            raise Unresolved(
                f"{kind.capitalize()} '{name.strip()}' does not exist in Stash, and creating missing "
                f"tags, performers and studios is off (create_missing)."
            )
        lookalike = self._lookalikes.get((kind, name.strip().casefold()))
        if lookalike is not None:
            raise Lookalike(kind, name.strip(), lookalike)
        self._refuse_alias_lookalike(kind, name.strip())
        operation, root = KINDS[kind][3:]
        created = self.client.execute(operation, {"input": {"name": name.strip()}}).get(root) or {}
        entity_id = int(created["id"])
        self._known[(kind, name.strip().casefold())] = entity_id
        self.created.append({"kind": kind, "id": entity_id, "name": name.strip()})
        return entity_id, True

    def _refuse_alias_lookalike(self, kind: str, name: str):
        """Raise Lookalike when Stash would refuse to create `name` because it LIKE-matches an alias."""
        operation = ALIAS_LOOKUPS.get(kind)
        if operation is None:
            return
        root, field = KINDS[kind][1:3]
        candidates = (self.client.execute(operation, {"name": name}).get(root) or {}).get(field) or []
        if candidates:
            aliases = candidates[0].get("aliases") or []
            alias = next((a for a in aliases if like(name, a)), aliases[0] if aliases else "")
            raise Lookalike(kind, name, candidates[0].get("name") or "", alias)
