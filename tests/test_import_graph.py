"""The package's import graph has no circles and no upward arrows, lazy and
type-checking imports included; its layers are the ones docs/architecture.md draws.

Read from the source with `ast`, so an import inside a function or under
`TYPE_CHECKING` counts as much as one at the top of a module.
"""

import ast
from pathlib import Path
from typing import Dict, List, Set

PACKAGE = Path(__file__).resolve().parents[1] / "llama_vision_block"
NAME = "llama_vision_block"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> Dict[str, Set[str]]:
    """Each module of the package -> the package's modules it imports."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: Dict[str, Set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: List[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                # A name that is a submodule imports that module; any other name, the module itself.
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            for target in targets:
                while target and target not in modules:  # `a.b.c` of a module `a.b`
                    target = target.rpartition(".")[0]
                if target.startswith(NAME) and target != name:
                    graph[name].add(target)
    return graph


def circles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read_from_every_module():
    graph = import_graph()
    assert "llama_vision_block.providers.registry" in graph["llama_vision_block.block"]
    assert len(graph) > 60


def test_no_module_imports_its_way_back_to_itself():
    assert circles(import_graph()) == []


# The package's layers, bottom first (docs/architecture.md). A module belongs to the
# layer of its longest matching prefix and imports only from its own layer or below.
LAYERS = [
    ("foundations", ["errors", "families", "block_types", "task_inputs", "concurrency", "settings", "sampling"]),
    ("reading answers", ["parsing"]),
    ("requests and results", ["images", "prompts", "schemas", "retries", "results", "tasks"]),
    ("what a provider is", ["providers", "providers.base", "providers.spec"]),
    ("the providers", ["providers.remote", "providers.local"]),
    ("the registry", ["providers.registry"]),
    ("step settings", ["model_versions", "access", "reachability", "admission"]),
    ("the manifest", ["provider_texts", "manifest"]),
    ("the block", ["block", "compat", "reference"]),
    ("scoring answers", ["evaluation"]),
    ("the command line", ["cli"]),
    ("the package", [""]),
]


def layer(module: str) -> int:
    """The rank in LAYERS of `module`'s longest matching prefix."""
    name = module[len(NAME):].lstrip(".")
    matches = [
        (len(prefix), rank)
        for rank, (_, prefixes) in enumerate(LAYERS)
        for prefix in prefixes
        if name == prefix or (prefix and name.startswith(prefix + "."))
    ]
    assert matches, f"{module} is in no layer: add it to LAYERS and to docs/architecture.md"
    return max(matches)[1]


def upward_imports(graph: Dict[str, Set[str]]) -> List[str]:
    return sorted(
        f"{module} ({LAYERS[layer(module)][0]}) imports {target} ({LAYERS[layer(target)][0]})"
        for module, targets in graph.items()
        for target in targets
        if layer(target) > layer(module)
    )


def test_every_module_has_a_layer_and_imports_only_downwards():
    assert upward_imports(import_graph()) == []


def test_an_upward_import_would_be_named():
    graph = {f"{NAME}.errors": {f"{NAME}.manifest"}, f"{NAME}.manifest": set()}
    assert upward_imports(graph) == [f"{NAME}.errors (foundations) imports {NAME}.manifest (the manifest)"]


def test_remote_and_in_process_providers_live_apart():
    crossing = [
        (module, target)
        for module, targets in import_graph().items()
        for target in targets
        for one, other in (("remote", "local"), ("local", "remote"))
        if module.startswith(f"{NAME}.providers.{one}") and target.startswith(f"{NAME}.providers.{other}")
    ]
    assert crossing == []
