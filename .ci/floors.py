"""Print pip constraints that pin every dependency of pyproject.toml to its declared floor
(``name>=X`` -> ``name==X``), extras included; torch stays on the CPU wheel CI installs."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

LOWER = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*[^;]*?>=\s*([0-9][^,;\s]*)")


def floors(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    pins = []
    for requirement in requirements:
        found = LOWER.match(requirement)
        if found and found[1] != "torch":
            marker = requirement.partition(";")[2].strip()
            pins.append(f"{found[1]}=={found[2]}" + (f"; {marker}" if marker else ""))
    return pins


if __name__ == "__main__":
    sys.stdout.write("".join(f"{pin}\n" for pin in floors(Path(sys.argv[1]))))
