"""The import rules of STYLE.md, checked on the project's own modules (`python -m tests.architecture`).

- No import cycles: no group of modules that import each other, directly or round a loop. Imports inside
  functions count (grimp reads every import statement), since a lazy import only hides a cycle.
- No back-arrows: dependencies run orchestrator ← stash ← jobs ← daemons; nothing imports up the chain.
  The project shell (URL confs, routing, ASGI, settings, the runstack command) wires the apps together
  and is exempt.

grimp builds the import graph (the library behind import-linter); the two rules are a few lines on top.
"""

import sys

import grimp

LAYERS = ("orchestrator", "stash", "jobs", "daemons", "health")  # each may import only those before it
SHELL = {
    "orchestrator.urls",
    "orchestrator.api_urls",
    "orchestrator.routing",
    "orchestrator.asgi",
    "orchestrator.settings",
    "orchestrator.management.commands.runstack",
}


def build_graph():
    return grimp.build_graph(*LAYERS, include_external_packages=False, cache_dir=None)


def import_cycles(graph) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return sorted(groups)


def back_arrows(graph) -> list[str]:
    """Imports from a lower layer up to a higher one, outside the project shell."""
    rank = {layer: n for n, layer in enumerate(LAYERS)}
    found = []
    for module in sorted(graph.modules):
        if module in SHELL:
            continue
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if rank[imported.split(".")[0]] > rank[module.split(".")[0]]:
                lines = graph.get_import_details(importer=module, imported=imported)
                where = ", ".join(f"line {d['line_number']}" for d in lines)
                found.append(f"{module} -> {imported} ({where})")
    return found


def main() -> int:
    graph = build_graph()
    cycles, arrows = import_cycles(graph), back_arrows(graph)
    for group in cycles:
        print("import cycle:", " <-> ".join(group))
    for arrow in arrows:
        print("back-arrow:", arrow)
    print(f"{len(graph.modules)} modules: {len(cycles)} import cycles, {len(arrows)} back-arrows")
    return 1 if cycles or arrows else 0


if __name__ == "__main__":
    sys.exit(main())
