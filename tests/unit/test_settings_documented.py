"""Every environment variable the package reads is in README's Configuration table."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_lists_every_setting_config_reads():
    read = set(
        re.findall(
            r"os\.environ\.get\(\s*\"([A-Z0-9_]+)\"", (ROOT / "include/client_dwh/config.py").read_text()
        )
    )
    assert {"LANDING_DIR", "DWH_WORK_MEM", "EMBEDDED_PG_DIR"} <= read  # the pattern still finds them
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration") :].split("\n\n**")[0]
    missing = sorted(name for name in read if f"`{name}`" not in table)
    assert not missing, f"README.md, section Configuration: add a row for {', '.join(missing)}"
