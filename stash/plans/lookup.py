"""Tag, performer and studio names to Stash ids, for applying plans.

Stash's `name EQUALS` filter is SQL LIKE: `_` and `%` are wildcards and ASCII case is ignored, so
`Kiss_AI` also finds `KissXAI`. The query only fetches candidates; the match kept is the exact name,
ignoring case. Entities are created only when the caller allows it. Answers are remembered for the
whole apply, so a name proposed for a thousand scenes is looked up once.
"""

from stash.plans.values import PlanError

KINDS = {
    # kind: (find operation, result field, list field, create operation, create field)
    "tag": ("FindTagsByName", "findTags", "tags", "TagCreate", "tagCreate"),
    "performer": ("FindPerformersByName", "findPerformers", "performers", "PerformerCreate", "performerCreate"),
    "studio": ("FindStudiosByName", "findStudios", "studios", "StudioCreate", "studioCreate"),
}


class Unresolved(PlanError):
    """A name that matches no entity (and may not be created), or several."""


def same_name(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


class EntityResolver:
    def __init__(self, client, *, create_missing: bool = False):
        self.client = client
        self.create_missing = create_missing
        self._known: dict[tuple[str, str], int | None] = {}
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
        operation, root = KINDS[kind][3:]
        created = self.client.execute(operation, {"input": {"name": name.strip()}}).get(root) or {}
        entity_id = int(created["id"])
        self._known[(kind, name.strip().casefold())] = entity_id
        self.created.append({"kind": kind, "id": entity_id, "name": name.strip()})
        return entity_id, True
