"""The stack a sandbox command acts on: its render (kept between commands) and its functions' settings.

Rendering runs the whole Pulumi program under the mocks (a second or more); a sandbox command run
again on an unchanged stack needs the same render. So a successful render is kept in a cache
directory under a key that covers everything the render reads: the stack's name and ``-c``
overrides, the project and stack files, the program (``__main__.py``, ``components/``, the
``handlers/`` package it archives, ``pyproject.toml``), the mocks and the render's shape
(``nfw_blocklist/render.py``, ``rendered.py``, this module) and the installed Pulumi SDKs. Change any
of them and the key changes; a failed render is never kept, so a configuration error is reported
every time. The cache holds plain JSON (no code is loaded from
it), written atomically; ``NFW_BLOCKLIST_CACHE_DIR`` moves it, and set to an empty string turns it
off.
"""

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import fields
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from .console import UsageError
from .project_config import StoredValue
from .rendered import PROJECT_DIR, Rendered, RenderedResource, runs_entry_point

CACHE_ENV: Final = "NFW_BLOCKLIST_CACHE_DIR"
CACHE_FORMAT: Final = 2
"""Bump when the cached document's shape changes."""
FUNCTION: Final = "aws:lambda/function:Function"
_PROGRAM_TREES: Final = ("components", "handlers")
_SDKS: Final = ("pulumi", "pulumi_aws")


def render_with(stack: str, overrides: Mapping[str, StoredValue]) -> Rendered:
    """The stack rendered with ``overrides``: from the cache when nothing it depends on changed.

    A configuration error is the user's (``UsageError``, exit 2); anything else is a bug.
    """
    folder = cache_dir()
    key = render_key(stack, overrides, PROJECT_DIR) if folder else ""
    if folder:
        cached = _read_cached(folder / f"render-{key}.json")
        if cached is not None:
            return cached
    # Only now: the program's and Pulumi's modules take longer to import than a cached render to read.
    from components.config import InvalidConfig
    from nfw_blocklist.render import RenderError, render_stack

    try:
        rendered = render_stack(stack, overrides or None)
    except (RenderError, InvalidConfig) as e:
        raise UsageError(str(e).splitlines()[0] if str(e) else "invalid configuration") from None
    if folder:
        _write_cached(folder, f"render-{key}.json", rendered)
    return rendered


def cache_dir() -> Path | None:
    """Where renders are kept (None: not kept): ``$NFW_BLOCKLIST_CACHE_DIR``, else the user's cache."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nfw-blocklist"


def render_key(stack: str, overrides: Mapping[str, StoredValue], project_dir: Path) -> str:
    """A digest of everything a render of ``stack`` reads (see the module's docstring)."""
    digest = hashlib.sha256()
    stored = sorted((key, value.text, value.is_object, value.secure) for key, value in overrides.items())
    head = {"format": CACHE_FORMAT, "stack": stack, "overrides": stored}
    digest.update(json.dumps(head).encode())
    for sdk in _SDKS:
        digest.update(f"\0{sdk}={_version(sdk)}".encode())
    for path in _program_files(project_dir):
        digest.update(f"\0{path.relative_to(project_dir)}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _program_files(project_dir: Path) -> Iterator[Path]:
    mocks_and_shapes = (
        "nfw_blocklist/render.py",
        "nfw_blocklist/rendered.py",
        "nfw_blocklist/stacks.py",
        "nfw_blocklist/project_config.py",
    )
    for name in ("__main__.py", "pyproject.toml", *mocks_and_shapes):
        if (project_dir / name).is_file():
            yield project_dir / name
    yield from sorted(project_dir.glob("Pulumi*.yaml"))
    for tree in _PROGRAM_TREES:
        yield from sorted(
            path
            for path in (project_dir / tree).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        )


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


def _document(rendered: Rendered) -> dict[str, Any]:
    return {
        "stack": rendered.stack,
        "project": rendered.project,
        "config": rendered.config,
        "outputs": rendered.outputs,
        "secret_outputs": sorted(rendered.secret_outputs),
        "resources": [
            {
                **{f.name: getattr(r, f.name) for f in fields(RenderedResource)},
                "secret_paths": sorted(list(path) for path in r.secret_paths),
            }
            for r in rendered.resources
        ],
    }


def _from_document(document: Mapping[str, Any]) -> Rendered:
    return Rendered(
        stack=document["stack"],
        project=document["project"],
        config=document["config"],
        outputs=document["outputs"],
        secret_outputs=frozenset(document["secret_outputs"]),
        resources=[
            RenderedResource(
                **{
                    **r,
                    "secret_paths": frozenset(tuple(path) for path in r["secret_paths"]),
                    "ignore_changes": tuple(r["ignore_changes"]),
                    "dependencies": tuple(r["dependencies"]),
                }
            )
            for r in document["resources"]
        ],
    )


def _read_cached(path: Path) -> Rendered | None:
    """The render kept at ``path``, or None if there is none or it cannot be read back."""
    try:
        return _from_document(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, LookupError, TypeError):
        return None


def _write_cached(folder: Path, name: str, rendered: Rendered) -> None:
    """Keep ``rendered`` if JSON gives it back exactly; a cache that cannot be written is no error."""
    document = _document(rendered)
    text = json.dumps(document)
    if repr(_from_document(json.loads(text))) != repr(rendered):
        return  # a value JSON cannot carry (a tuple, a float key): render it again next time
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp", delete=False, encoding="utf-8") as f:
            f.write(text)
        os.replace(f.name, folder / name)
    except OSError:
        return


def function_environment(rendered: Rendered, entry_point: str) -> dict[str, str]:
    """The environment the render gives the function running ``entry_point`` (``block``): the settings
    the sandbox's operator commands share with the deployed functions, known before deploying."""
    found = [
        resource
        for resource in rendered.resources
        if resource.type == FUNCTION
        and runs_entry_point(str(resource.inputs.get("handler", "")), entry_point)
    ]
    if len(found) != 1:
        raise LookupError(f"expected one function running {entry_point!r} in the render, found {len(found)}")
    variables = (found[0].inputs.get("environment") or {}).get("variables") or {}
    return {str(key): str(value) for key, value in variables.items()}
