"""Prepare a local Airflow home: migrate the metadata DB (SQLite) and set the local admin's password."""

import json
import os
import subprocess
import sys
from pathlib import Path

home = Path(os.environ["AIRFLOW_HOME"])
home.mkdir(parents=True, exist_ok=True)
# Simple auth manager: a known local login instead of a generated one (local development only).
passwords = home / "simple_auth_manager_passwords.json.generated"
if not passwords.exists():
    passwords.write_text(json.dumps({"admin": "admin"}))
subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
