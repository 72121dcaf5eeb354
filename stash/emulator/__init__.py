"""A stand-alone fake Stash for tests, benchmarks and demo mode (DESIGN §4 "The Stash emulator").

    store = Store(zone="America/Los_Angeles")
    seed_library(store, scenes=1000, seed=1)
    server = EmulatorServer(store); url = server.start()   # GraphQL at url + "/graphql"
    ...
    server.stop()

Needs no Django models or database. Modules: entities (records), store (state, edits), jobs (the job
queue), tasks (scan/generate), queries (filters, sorting, paging), schema (the SDL served), resolvers,
executor (validation + fast projection), server (HTTP), controls (test controls), seed (libraries).
"""

from stash.emulator.seed import seed_demo, seed_library
from stash.emulator.server import EmulatorServer
from stash.emulator.store import Store

__all__ = ["EmulatorServer", "Store", "seed_demo", "seed_library"]
