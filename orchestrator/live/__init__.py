"""The live path: status writes reach open pages (docs/live.md).

`groups` names the groups and their carriers, `signals` the signal every status write sends,
`publisher` queues updates to the channel layer, `fragments` renders server fragments in any process,
`snapshots` holds the apps' connect-time state providers, `consumer` and `fanout` serve the sockets.
Nothing here imports an app: apps connect their receivers and register their providers in `ready()`.
"""
