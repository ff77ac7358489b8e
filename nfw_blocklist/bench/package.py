"""What is measured outside the sandbox: the Lambda archive, the handlers' cold imports, the machine."""

import contextlib
import io
import os
import platform
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def archive_size(package_dir: Path | None = None) -> dict[str, int]:
    """The Lambda deployment zip as components/response.py builds it: handlers/ without caches."""
    root = package_dir or REPO / "handlers"
    buffer = io.BytesIO()
    files = [
        p
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    ]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, f"handlers/{path.relative_to(root).as_posix()}")
    return {
        "files": len(files),
        "bytes": len(buffer.getvalue()),
        "uncompressed_bytes": sum(p.stat().st_size for p in files),
    }


def import_times(package_dir: Path | None = None) -> dict[str, Any]:
    """Each handler module's cold import (a fresh interpreter, ``-X importtime`` cumulative), and the
    resident memory of a fresh interpreter that imported ``handlers.entry``."""
    root = package_dir or REPO / "handlers"
    modules = sorted(f"handlers.{p.stem}" for p in root.glob("*.py") if p.stem != "__init__")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    times: dict[str, float] = {}
    for module in modules:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            cwd=root.parent, capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        for line in done.stderr.splitlines():
            match = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s+(\S+)", line)
            if match and match.group(3) == module:
                times[module] = round(int(match.group(2)) / 1000, 1)
    probe = (
        "import resource, time; t = time.perf_counter(); import handlers.entry; "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=root.parent, capture_output=True, text=True, env=env, check=True
    )
    seconds, rss = done.stdout.split()
    return {
        "cumulative_ms": times,
        "entry_wall_ms": round(float(seconds) * 1000, 1),
        "entry_process_rss_mb": round(int(rss) / 1024, 1),
    }


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = int(line.split()[1]) / 2**20
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(ram, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
