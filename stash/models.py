# The Stash mirror models (Scene, Tag, Performer, Studio, SceneMarker) arrive with the Stash integration.
