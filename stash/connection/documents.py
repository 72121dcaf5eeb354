"""Every GraphQL document the project sends to Stash, in one place.

tests/stash/connection/test_documents.py validates each of them against the real Stash schema
(../shared/stash-schema/), and the emulator serves exactly these operations. Each document holds one
named operation; `DOCUMENTS` maps the operation name to its text.

Choices worth knowing:
- Scene references to studios, performers and tags carry the name too, so a scene that mentions an entity
  created in Stash after the entity sync still gets a readable placeholder row.
- Lists are paged with an explicit `filter` (Stash returns 25 rows when it is missing) and sorted by
  `updated_at` ascending for incremental runs, so a watermark can be taken from the last row seen.
- Counting uses `per_page: 1`: the count is what matters, one row costs nothing.
"""

MARKER_FIELDS = """
fragment MarkerData on SceneMarker {
  id title seconds end_seconds created_at updated_at
  primary_tag { id name }
  tags { id name }
}
"""

SCENE_FIELDS = (
    """
fragment SceneData on Scene {
  id title code details director urls date rating100 organized created_at updated_at
  paths { screenshot }
  studio { id name }
  performers { id name }
  tags { id name }
  scene_markers { ...MarkerData }
  files {
    id path basename size duration video_codec audio_codec width height frame_rate bit_rate format mod_time
    fingerprints { type value }
  }
}
"""
    + MARKER_FIELDS
)

JOB_FIELDS = "id status subTasks description progress startTime endTime addTime error"

VERSION = """
query Version { version { version hash build_time } }
"""

FIND_SCENES = (
    """
query FindScenes($filter: FindFilterType, $scene_filter: SceneFilterType, $ids: [ID!]) {
  findScenes(filter: $filter, scene_filter: $scene_filter, ids: $ids) {
    count
    scenes { ...SceneData }
  }
}
"""
    + SCENE_FIELDS
)

# Ids only: used to find what was deleted in Stash and which scenes miss a generated artefact.
FIND_SCENE_IDS = """
query FindSceneIds($filter: FindFilterType, $scene_filter: SceneFilterType) {
  findScenes(filter: $filter, scene_filter: $scene_filter) { count scenes { id } }
}
"""

FIND_SCENE_MARKERS = (
    """
query FindSceneMarkers($filter: FindFilterType, $scene_marker_filter: SceneMarkerFilterType) {
  findSceneMarkers(filter: $filter, scene_marker_filter: $scene_marker_filter) {
    count
    scene_markers { ...MarkerData scene { id } }
  }
}
"""
    + MARKER_FIELDS
)

FIND_SCENE_MARKER_IDS = """
query FindSceneMarkerIds($filter: FindFilterType, $scene_marker_filter: SceneMarkerFilterType) {
  findSceneMarkers(filter: $filter, scene_marker_filter: $scene_marker_filter) { count scene_markers { id } }
}
"""

# Ids and stamps: what the pending check reads near a clock change, when Stash's strings no longer sort
# in time order and "changed after the watermark" must be told by instants.
FIND_SCENE_STAMPS = """
query FindSceneStamps($filter: FindFilterType, $scene_filter: SceneFilterType) {
  findScenes(filter: $filter, scene_filter: $scene_filter) { count scenes { id updated_at } }
}
"""

FIND_SCENE_MARKER_STAMPS = """
query FindSceneMarkerStamps($filter: FindFilterType, $scene_marker_filter: SceneMarkerFilterType) {
  findSceneMarkers(filter: $filter, scene_marker_filter: $scene_marker_filter) {
    count
    scene_markers { id updated_at }
  }
}
"""

FIND_TAGS = """
query FindTags($filter: FindFilterType, $tag_filter: TagFilterType) {
  findTags(filter: $filter, tag_filter: $tag_filter) {
    count
    tags { id name description aliases favorite ignore_auto_tag created_at updated_at parents { id } }
  }
}
"""

FIND_PERFORMERS = """
query FindPerformers($filter: FindFilterType, $performer_filter: PerformerFilterType) {
  findPerformers(filter: $filter, performer_filter: $performer_filter) {
    count
    performers {
      id name disambiguation gender urls birthdate country favorite rating100 details alias_list
      created_at updated_at
    }
  }
}
"""

FIND_STUDIOS = """
query FindStudios($filter: FindFilterType, $studio_filter: StudioFilterType) {
  findStudios(filter: $filter, studio_filter: $studio_filter) {
    count
    studios { id name urls details rating100 favorite aliases created_at updated_at parent_studio { id } }
  }
}
"""

FIND_JOB = f"""
query FindJob($input: FindJobInput!) {{ findJob(input: $input) {{ {JOB_FIELDS} }} }}
"""

JOB_QUEUE = f"""
query JobQueue {{ jobQueue {{ {JOB_FIELDS} }} }}
"""

METADATA_SCAN = """
mutation MetadataScan($input: ScanMetadataInput!) { metadataScan(input: $input) }
"""

METADATA_GENERATE = """
mutation MetadataGenerate($input: GenerateMetadataInput!) { metadataGenerate(input: $input) }
"""

STOP_JOB = """
mutation StopJob($job_id: ID!) { stopJob(job_id: $job_id) }
"""

# --- applying plans ---------------------------------------------------------------------------------

# One scene, by id, with what applying a plan merges against. findScene answers null for a deleted scene
# (findScenes(ids:) would refuse the whole request instead).
FIND_SCENE = """
query FindScene($id: ID!) {
  findScene(id: $id) {
    id title details updated_at
    studio { id name }
    performers { id name disambiguation }
    tags { id name }
    scene_markers { id title seconds end_seconds primary_tag { id name } tags { id name } }
  }
}
"""

# Absolute values (whole tag and performer lists): sending it twice leaves the same scene.
SCENE_UPDATE = """
mutation SceneUpdate($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id updated_at } }
"""

# Stash compiles EQUALS to SQL LIKE: `_` and `%` are wildcards and ASCII case is ignored, so these return
# candidates; the caller keeps the exact (case-insensitive) match.
FIND_TAGS_BY_NAME = """
query FindTagsByName($name: String!) {
  findTags(tag_filter: { name: { value: $name, modifier: EQUALS } }, filter: { per_page: -1 }) {
    count
    tags { id name }
  }
}
"""

# Stash's create also refuses a tag or studio name that LIKE-matches an alias of another one.
FIND_TAGS_BY_ALIAS = """
query FindTagsByAlias($name: String!) {
  findTags(tag_filter: { aliases: { value: $name, modifier: EQUALS } }, filter: { per_page: -1 }) {
    count
    tags { id name aliases }
  }
}
"""

FIND_STUDIOS_BY_ALIAS = """
query FindStudiosByAlias($name: String!) {
  findStudios(studio_filter: { aliases: { value: $name, modifier: EQUALS } }, filter: { per_page: -1 }) {
    count
    studios { id name aliases }
  }
}
"""

FIND_PERFORMERS_BY_NAME = """
query FindPerformersByName($name: String!) {
  findPerformers(performer_filter: { name: { value: $name, modifier: EQUALS } }, filter: { per_page: -1 }) {
    count
    performers { id name disambiguation }
  }
}
"""

FIND_STUDIOS_BY_NAME = """
query FindStudiosByName($name: String!) {
  findStudios(studio_filter: { name: { value: $name, modifier: EQUALS } }, filter: { per_page: -1 }) {
    count
    studios { id name }
  }
}
"""

TAG_CREATE = """
mutation TagCreate($input: TagCreateInput!) { tagCreate(input: $input) { id name } }
"""

PERFORMER_CREATE = """
mutation PerformerCreate($input: PerformerCreateInput!) { performerCreate(input: $input) { id name } }
"""

STUDIO_CREATE = """
mutation StudioCreate($input: StudioCreateInput!) { studioCreate(input: $input) { id name } }
"""

SCENE_MARKER_CREATE = """
mutation SceneMarkerCreate($input: SceneMarkerCreateInput!) {
  sceneMarkerCreate(input: $input) { id title seconds primary_tag { id name } }
}
"""

# Not idempotent: a second destroy of the same marker is an error in Stash.
SCENE_MARKER_DESTROY = """
mutation SceneMarkerDestroy($id: ID!) { sceneMarkerDestroy(id: $id) }
"""

# Stash's library folders (Settings → Library), as Stash sees them: a scan may only name paths inside, and
# the path-mapping health check looks for each of them here.
LIBRARY_PATHS = """
query LibraryPaths { configuration { general { stashes { path excludeVideo } } } }
"""

DOCUMENTS = {
    "Version": VERSION,
    "LibraryPaths": LIBRARY_PATHS,
    "FindScenes": FIND_SCENES,
    "FindSceneIds": FIND_SCENE_IDS,
    "FindSceneMarkers": FIND_SCENE_MARKERS,
    "FindSceneMarkerIds": FIND_SCENE_MARKER_IDS,
    "FindSceneStamps": FIND_SCENE_STAMPS,
    "FindSceneMarkerStamps": FIND_SCENE_MARKER_STAMPS,
    "FindTags": FIND_TAGS,
    "FindPerformers": FIND_PERFORMERS,
    "FindStudios": FIND_STUDIOS,
    "FindJob": FIND_JOB,
    "JobQueue": JOB_QUEUE,
    "MetadataScan": METADATA_SCAN,
    "MetadataGenerate": METADATA_GENERATE,
    "StopJob": STOP_JOB,
    "FindScene": FIND_SCENE,
    "SceneUpdate": SCENE_UPDATE,
    "FindTagsByName": FIND_TAGS_BY_NAME,
    "FindPerformersByName": FIND_PERFORMERS_BY_NAME,
    "FindStudiosByName": FIND_STUDIOS_BY_NAME,
    "FindTagsByAlias": FIND_TAGS_BY_ALIAS,
    "FindStudiosByAlias": FIND_STUDIOS_BY_ALIAS,
    "TagCreate": TAG_CREATE,
    "PerformerCreate": PERFORMER_CREATE,
    "StudioCreate": STUDIO_CREATE,
    "SceneMarkerCreate": SCENE_MARKER_CREATE,
    "SceneMarkerDestroy": SCENE_MARKER_DESTROY,
}

# Operations that are safe to send twice: reads, and mutations that set an absolute state. Everything
# else (creating a Stash job, creating an entity) is sent once; a lost answer is reported, not retried.
IDEMPOTENT = frozenset(
    {
        "Version",
        "LibraryPaths",
        "FindScenes",
        "FindSceneIds",
        "FindSceneMarkers",
        "FindSceneMarkerIds",
        "FindSceneStamps",
        "FindSceneMarkerStamps",
        "FindTags",
        "FindPerformers",
        "FindStudios",
        "FindJob",
        "JobQueue",
        "StopJob",
        "FindScene",
        "SceneUpdate",
        "FindTagsByName",
        "FindPerformersByName",
        "FindStudiosByName",
        "FindTagsByAlias",
        "FindStudiosByAlias",
    }
)

# Subscriptions travel over a WebSocket (stash/connection/subscription.py), never through
# StashClient.execute; the contract tests validate them against Stash's schema like the documents above.
JOBS_SUBSCRIBE = f"""
subscription JobsSubscribe {{ jobsSubscribe {{ type job {{ {JOB_FIELDS} }} }} }}
"""

SUBSCRIPTIONS = {"JobsSubscribe": JOBS_SUBSCRIBE}
