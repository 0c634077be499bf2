"""Run sources: the registry the run format asks (clustlib.sources), and the import map
without circles."""

import ast
from pathlib import Path

import numpy as np
import pytest

import clustlib
from clustlib import external, sources
from clustlib.methods import METHODS
from clustlib.runs import Run, RunFormatError

PACKAGE = Path(clustlib.__file__).parent


def test_every_method_and_the_recorder_are_sources_with_a_demo_run():
    from clustlib.app import assets_dir

    assert set(sources.names()) == {*METHODS, "external"}

    assets = assets_dir()
    for name in sources.names():
        src = sources.get(name)
        assert src.network == (name in METHODS)
        assert (assets / src.demo / "run.json").is_file(), name
    assert sources.get("no-such") is None and sources.get(None) is None


def test_a_new_source_opens_like_the_built_in_ones(tmp_path):
    rec = clustlib.Recorder(np.random.default_rng(0).normal(size=(40, 3)), y=np.repeat([0, 1], 20), name="toy")
    rec.record(0, np.eye(2)[np.repeat([0, 1], 20)])
    run = rec.to_run()
    run.info["method"] = "toy-source"
    toy = sources.RunSource("toy-source", external._build, external._restore, network=False, demo="none")
    sources.register(toy)
    try:
        back = Run.load(run.save(tmp_path / "r"))
        assert back.method == "toy-source" and not back.has_network
        assert np.array_equal(back.estimator.labels_, run.estimator.labels_)
        assert not (tmp_path / "r" / "model.pt").exists()
        with pytest.raises(ValueError, match="two run sources"):
            sources.register(sources.RunSource("toy-source", external._build, external._restore, True, "x"))
        sources._SOURCES.pop("toy-source")
        with pytest.raises(RunFormatError, match="unknown method 'toy-source'; this clustlib reads runs of .*knet"):
            Run.load(tmp_path / "r")
    finally:
        sources._SOURCES.pop("toy-source", None)


def _module_imports(path: Path) -> set[str]:
    """The clustlib modules a module imports, at its top or inside a function (a circle
    through a function-local import is still a circle)."""
    name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rpartition(".")[0]
            mod = (f"{base}.{node.module}" if node.module else base) if node.level else node.module or ""
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                found.add(sub if (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                          or (PACKAGE.parent / sub.replace(".", "/")).is_dir() else mod)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("clustlib.") and m != name}


def test_no_module_of_clustlib_imports_back_into_a_circle():
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        if "app" in path.relative_to(PACKAGE).parts[:1]:
            continue  # the installed app's pages (links to app_pages/)
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        graph[name] = _module_imports(path)
    assert "clustlib.runs" in graph and "clustlib.sources" in graph["clustlib.runs"]

    def cycle_from(start):
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    return trail + [start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, trail + [nxt]))
        return None

    circles = [c for c in map(cycle_from, sorted(graph)) if c]
    assert not circles, " -> ".join(circles[0])


def test_every_old_name_is_in_the_changelog_and_warns_with_its_end():
    from clustlib import deprecation, viz

    changelog = (PACKAGE.parent / "CHANGELOG.md").read_text()
    old = [*deprecation.OTHERS, *viz.RENAMED, *(k for cls in METHODS.values() for k in cls.RENAMED)]
    assert len(old) >= 10
    missing = [name for name in old if f"`{name}" not in changelog]
    assert not missing, f"CHANGELOG.md lacks {missing}"
    assert f"**go in {deprecation.REMOVED_IN}**" in changelog
    est = METHODS["knet"].from_preset("tiny", n_clusters=2, random_state=0).fit(clustlib.load_dataset("moons:n=60").X)
    with pytest.warns(DeprecationWarning, match=f"n_rounds_ is now n_iter_.*{deprecation.REMOVED_IN}"):
        assert est.n_rounds_ == est.n_iter_ == len(est.trace_) - 1
    with pytest.warns(DeprecationWarning, match="SeCu.epochs=. is now SeCu.max_iter=."):
        assert METHODS["secu"](epochs=3).max_iter == 3
    with pytest.warns(DeprecationWarning, match="viz.class_colour is now"):
        assert viz.class_colour is viz.class_color


LAZY = {"sklearn", "scipy", "umap", "openTSNE", "PIL", "torchvision", "torch", "streamlit", "plotly",
        "threadpoolctl", "tqdm"}  # heavy: loaded on first use, so `import clustlib` and each page stay quick


def test_function_local_imports_are_only_the_heavy_ones_loaded_on_first_use():
    """Everything else is imported at the top of its module (the import map above has no
    circle to break); the server's preload (ui/asgi.py) and the version (from the
    package's __init__, which imports runs) are the two exceptions."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] == "app":
            continue
        for fn in ast.walk(ast.parse(path.read_text())):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    mods = ["." * node.level + (node.module or "")]
                else:
                    continue
                for mod in mods:
                    ok = (mod.split(".")[0] in LAZY or (path.name == "asgi.py" and mod.startswith("clustlib"))
                          or (mod == "." and [a.name for a in node.names] == ["__version__"]))
                    if not ok:
                        found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {mod}")
    assert not found, found
