"""Write one area's results into its section of docs/benchmarks.md.

Each benchmark owns a section between ``<!-- NAME:begin -->`` and
``<!-- NAME:end -->``; re-running it replaces that section and leaves the others
as they were, so the file always holds the latest run of every benchmark.
:func:`host` says which machine a run was measured on, the same way in every section.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Every table here comes from one run of the command shown with it, on the machine it names.
Targets are ratios between implementations measured side by side in that run — never absolute
times, which vary with the load of a shared machine. `make bench-record` re-runs the crypto-core
section; each other section names its own command.
"""


def host() -> str:
    """The machine: CPU model and count, memory, OS and Python (each bench adds its libraries)."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        match = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
        cpu = match[1].strip() if match else cpu
    memory = ""
    with contextlib.suppress(ValueError, OSError):
        memory = f", {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB"
    distribution = ""
    with contextlib.suppress(OSError):
        distribution = f" (Debian {Path('/etc/debian_version').read_text().strip()})"
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}"
        f"{distribution}; CPython {platform.python_version()}"
    )


def write_section(name: str, markdown: str, doc: Path = DOC) -> None:
    """Put ``markdown`` between ``name``'s markers in ``doc``, replacing what was there."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    body = markdown.strip()
    body = body.removeprefix(begin).removesuffix(end).strip()
    section = f"{begin}\n{body}\n{end}"
    text = doc.read_text(encoding="utf-8") if doc.exists() else HEADER
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")
