"""The part of Stash's GraphQL schema the emulator serves, written for the emulator.

Every type, field, argument and input field here exists in Stash's real schema with the same type
(tests/stash/emulator/test_emulator.py checks that against ../shared/stash-schema/). Input types carry only the
fields the emulator understands, so a filter it would silently ignore is rejected as a validation error
instead. Serving a new operation = its field here + one resolver in resolvers.py.
"""

from functools import cache

from graphql import GraphQLSchema, build_schema

SDL = """
scalar Time
scalar Timestamp
scalar Int64

enum SortDirectionEnum { ASC DESC }

enum CriterionModifier {
  EQUALS NOT_EQUALS GREATER_THAN LESS_THAN IS_NULL NOT_NULL INCLUDES_ALL INCLUDES EXCLUDES
  MATCHES_REGEX NOT_MATCHES_REGEX BETWEEN NOT_BETWEEN
}

enum JobStatus { READY RUNNING FINISHED STOPPING CANCELLED FAILED }
enum JobStatusUpdateType { ADD REMOVE UPDATE }

enum GenderEnum { MALE FEMALE TRANSGENDER_MALE TRANSGENDER_FEMALE INTERSEX NON_BINARY }

enum PreviewPreset { ultrafast veryfast fast medium slow slower veryslow }

input FindFilterType {
  q: String
  page: Int
  per_page: Int
  sort: String
  direction: SortDirectionEnum
}

input StringCriterionInput { value: String! modifier: CriterionModifier! }
input IntCriterionInput { value: Int! value2: Int modifier: CriterionModifier! }
input MultiCriterionInput { value: [ID!] modifier: CriterionModifier! excludes: [ID!] }
input TimestampCriterionInput { value: String! value2: String modifier: CriterionModifier! }

input SceneFilterType {
  AND: SceneFilterType
  OR: SceneFilterType
  NOT: SceneFilterType
  id: IntCriterionInput
  title: StringCriterionInput
  path: StringCriterionInput
  organized: Boolean
  is_missing: String
  interactive: Boolean
  interactive_speed: IntCriterionInput
  created_at: TimestampCriterionInput
  updated_at: TimestampCriterionInput
}

input SceneMarkerFilterType {
  scenes: MultiCriterionInput
  created_at: TimestampCriterionInput
  updated_at: TimestampCriterionInput
}

input TagFilterType {
  AND: TagFilterType
  OR: TagFilterType
  NOT: TagFilterType
  name: StringCriterionInput
  aliases: StringCriterionInput
  created_at: TimestampCriterionInput
  updated_at: TimestampCriterionInput
}

input PerformerFilterType {
  AND: PerformerFilterType
  OR: PerformerFilterType
  NOT: PerformerFilterType
  name: StringCriterionInput
  created_at: TimestampCriterionInput
  updated_at: TimestampCriterionInput
}

input StudioFilterType {
  AND: StudioFilterType
  OR: StudioFilterType
  NOT: StudioFilterType
  name: StringCriterionInput
  aliases: StringCriterionInput
  created_at: TimestampCriterionInput
  updated_at: TimestampCriterionInput
}

input FindJobInput { id: ID! }

input ScanMetaDataFilterInput { minModTime: Timestamp }

input ScanMetadataInput {
  paths: [String!]
  rescan: Boolean
  scanGenerateCovers: Boolean
  scanGeneratePreviews: Boolean
  scanGenerateImagePreviews: Boolean
  scanGenerateSprites: Boolean
  scanGeneratePhashes: Boolean
  scanGenerateThumbnails: Boolean
  scanGenerateClipPreviews: Boolean
  filter: ScanMetaDataFilterInput
}

input GeneratePreviewOptionsInput {
  previewSegments: Int
  previewSegmentDuration: Float
  previewExcludeStart: String
  previewExcludeEnd: String
  previewPreset: PreviewPreset
}

input GenerateMetadataInput {
  covers: Boolean
  sprites: Boolean
  previews: Boolean
  imagePreviews: Boolean
  previewOptions: GeneratePreviewOptionsInput
  markers: Boolean
  markerImagePreviews: Boolean
  markerScreenshots: Boolean
  transcodes: Boolean
  forceTranscodes: Boolean
  phashes: Boolean
  interactiveHeatmapsSpeeds: Boolean
  imageThumbnails: Boolean
  clipPreviews: Boolean
  sceneIDs: [ID!]
  markerIDs: [ID!]
  overwrite: Boolean
}

input SceneUpdateInput {
  id: ID!
  title: String
  code: String
  details: String
  director: String
  urls: [String!]
  date: String
  rating100: Int
  organized: Boolean
  studio_id: ID
  performer_ids: [ID!]
  tag_ids: [ID!]
}

input SceneMarkerCreateInput {
  title: String!
  seconds: Float!
  end_seconds: Float
  scene_id: ID!
  primary_tag_id: ID!
  tag_ids: [ID!]
}

input TagCreateInput {
  name: String!
  sort_name: String
  description: String
  aliases: [String!]
  ignore_auto_tag: Boolean
  favorite: Boolean
  parent_ids: [ID!]
}

input PerformerCreateInput {
  name: String!
  disambiguation: String
  urls: [String!]
  gender: GenderEnum
  birthdate: String
  country: String
  alias_list: [String!]
  favorite: Boolean
  rating100: Int
  details: String
  ignore_auto_tag: Boolean
}

input StudioCreateInput {
  name: String!
  urls: [String!]
  parent_id: ID
  rating100: Int
  favorite: Boolean
  details: String
  aliases: [String!]
  ignore_auto_tag: Boolean
}

type Version { version: String hash: String! build_time: String! }
type StashConfig { path: String! excludeVideo: Boolean! excludeImage: Boolean! }
type ConfigGeneralResult { stashes: [StashConfig!]! }
type ConfigResult { general: ConfigGeneralResult! }

type Job {
  id: ID!
  status: JobStatus!
  subTasks: [String!]
  description: String!
  progress: Float
  startTime: Time
  endTime: Time
  addTime: Time!
  error: String
}

type JobStatusUpdate { type: JobStatusUpdateType! job: Job! }

type Fingerprint { type: String! value: String! }

type VideoFile {
  id: ID!
  path: String!
  basename: String!
  mod_time: Time!
  size: Int64!
  fingerprint(type: String!): String
  fingerprints: [Fingerprint!]!
  format: String!
  width: Int!
  height: Int!
  duration: Float!
  video_codec: String!
  audio_codec: String!
  frame_rate: Float!
  bit_rate: Int!
  created_at: Time!
  updated_at: Time!
}

type ScenePathsType {
  screenshot: String
  preview: String
  stream: String
  webp: String
  vtt: String
  sprite: String
  funscript: String
  interactive_heatmap: String
  caption: String
}

type Scene {
  id: ID!
  title: String
  code: String
  details: String
  director: String
  urls: [String!]!
  date: String
  rating100: Int
  organized: Boolean!
  interactive: Boolean!
  interactive_speed: Int
  created_at: Time!
  updated_at: Time!
  files: [VideoFile!]!
  paths: ScenePathsType!
  scene_markers: [SceneMarker!]!
  studio: Studio
  tags: [Tag!]!
  performers: [Performer!]!
}

type SceneMarker {
  id: ID!
  scene: Scene!
  title: String!
  seconds: Float!
  end_seconds: Float
  primary_tag: Tag!
  tags: [Tag!]!
  created_at: Time!
  updated_at: Time!
  stream: String!
  preview: String!
  screenshot: String!
}

type Tag {
  id: ID!
  name: String!
  sort_name: String
  description: String
  aliases: [String!]!
  ignore_auto_tag: Boolean!
  created_at: Time!
  updated_at: Time!
  favorite: Boolean!
  image_path: String
  parents: [Tag!]!
  children: [Tag!]!
  parent_count: Int!
  child_count: Int!
}

type Performer {
  id: ID!
  name: String!
  disambiguation: String
  urls: [String!]
  gender: GenderEnum
  birthdate: String
  country: String
  alias_list: [String!]!
  favorite: Boolean!
  ignore_auto_tag: Boolean!
  image_path: String
  rating100: Int
  details: String
  created_at: Time!
  updated_at: Time!
}

type Studio {
  id: ID!
  name: String!
  urls: [String!]!
  parent_studio: Studio
  child_studios: [Studio!]!
  aliases: [String!]!
  ignore_auto_tag: Boolean!
  image_path: String
  rating100: Int
  favorite: Boolean!
  details: String
  created_at: Time!
  updated_at: Time!
}

type FindScenesResultType { count: Int! duration: Float! filesize: Float! scenes: [Scene!]! }
type FindSceneMarkersResultType { count: Int! scene_markers: [SceneMarker!]! }
type FindTagsResultType { count: Int! tags: [Tag!]! }
type FindPerformersResultType { count: Int! performers: [Performer!]! }
type FindStudiosResultType { count: Int! studios: [Studio!]! }

type Query {
  findScene(id: ID): Scene
  findScenes(scene_filter: SceneFilterType, ids: [ID!], filter: FindFilterType): FindScenesResultType!
  findSceneMarkers(
    scene_marker_filter: SceneMarkerFilterType
    filter: FindFilterType
    ids: [ID!]
  ): FindSceneMarkersResultType!
  findTags(tag_filter: TagFilterType, filter: FindFilterType, ids: [ID!]): FindTagsResultType!
  findPerformers(performer_filter: PerformerFilterType, filter: FindFilterType, ids: [ID!]): FindPerformersResultType!
  findStudios(studio_filter: StudioFilterType, filter: FindFilterType, ids: [ID!]): FindStudiosResultType!
  jobQueue: [Job!]
  findJob(input: FindJobInput!): Job
  version: Version!
  configuration: ConfigResult!
}

type Mutation {
  metadataScan(input: ScanMetadataInput!): ID!
  metadataGenerate(input: GenerateMetadataInput!): ID!
  stopJob(job_id: ID!): Boolean!
  sceneUpdate(input: SceneUpdateInput!): Scene
  sceneMarkerCreate(input: SceneMarkerCreateInput!): SceneMarker
  sceneMarkerDestroy(id: ID!): Boolean!
  tagCreate(input: TagCreateInput!): Tag
  performerCreate(input: PerformerCreateInput!): Performer
  studioCreate(input: StudioCreateInput!): Studio
}

type Subscription {
  jobsSubscribe: JobStatusUpdate!
}
"""


@cache
def schema() -> GraphQLSchema:
    return build_schema(SDL)
