"""Which mirrored scenes a Scenes page request asks for: parsing its filters and building the query.

Filters come from a query string, so every value is text; a value that cannot mean anything (a flag other
than yes/no) is ignored rather than turned into an empty page. Tag, performer and studio take an id or a
name: a library has thousands of tags, far too many for a select, and the page's tag chips link by id.
"""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet

from stash.models import Performer, Scene, SceneFile, Studio, Tag

FLAGS = ("generated", "video_analyzed", "analyzed", "organized")
ENTITIES = {"tag": Tag, "performer": Performer, "studio": Studio}
_LINKS = {"tag": Scene.tags.through, "performer": Scene.performers.through}
_YES_NO = {"yes": True, "no": False}
# Names are not unique in Stash, so a name filters on every row it names; the cap bounds a silly one.
MAX_NAME_MATCHES = 50


@dataclass
class EntityFilter:
    """A tag/performer/studio filter as typed, and the rows it resolved to."""

    raw: str
    matches: list = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return [obj.pk for obj in self.matches]


@dataclass
class SceneFilters:
    q: str = ""
    flags: dict[str, bool] = field(default_factory=dict)  # flag name → wanted value; absent means "any"
    entities: dict[str, EntityFilter] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params) -> "SceneFilters":
        flags = {name: _YES_NO[params[name]] for name in FLAGS if params.get(name) in _YES_NO}
        entities = {}
        for key, model in ENTITIES.items():
            raw = (params.get(key) or "").strip()
            if raw:
                entities[key] = EntityFilter(raw, _resolve(model, raw))
        return cls(q=(params.get("q") or "").strip(), flags=flags, entities=entities)

    @property
    def active(self) -> bool:
        return bool(self.q or self.flags or self.entities)

    def values(self) -> dict[str, str]:
        """The filters as the form shows them back: "yes"/"no"/"" for flags, the typed text otherwise."""
        values = {name: ("yes" if self.flags[name] else "no") if name in self.flags else "" for name in FLAGS}
        values.update({key: self.entities[key].raw if key in self.entities else "" for key in ENTITIES})
        values["q"] = self.q
        return values

    def apply(self, scenes: QuerySet) -> QuerySet:
        scenes = scenes.filter(**self.flags)
        if self.q:
            # EXISTS instead of a join, so a scene with two matching files is listed (and counted) once.
            in_path = Exists(SceneFile.objects.filter(scene_id=OuterRef("pk"), path__icontains=self.q))
            scenes = scenes.filter(Q(title__icontains=self.q) | in_path)
        for key, entity in self.entities.items():
            if not entity.matches:
                return scenes.none()
            if key == "studio":
                scenes = scenes.filter(studio_id__in=entity.ids)
            else:
                # The join table as a subquery: a scene with two of the matching tags must not appear twice.
                links = _LINKS[key].objects.filter(**{f"{key}_id__in": entity.ids})
                scenes = scenes.filter(pk__in=links.values("scene_id"))
        return scenes


def _resolve(model, raw: str) -> list:
    """An integer is an id; anything else is a case-insensitive exact name."""
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:  # 18 digits always fit the bigint key
        return list(model.objects.filter(pk=int(raw)))
    return list(model.objects.filter(name__iexact=raw)[:MAX_NAME_MATCHES])


def scene_page_queryset(filters: SceneFilters) -> QuerySet:
    """The Scenes page's rows, newest Stash id first, with everything a row shows fetched in bulk."""
    scenes = filters.apply(Scene.objects.all()).order_by("-id")
    return scenes.select_related("studio").prefetch_related("files", "performers", "tags")
