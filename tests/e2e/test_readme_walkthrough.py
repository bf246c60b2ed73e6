"""The README's walkthrough, run verbatim with bash against a real server."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import requests

from ..conftest import ROOT_PASSWORD
from .conftest import PROJECT_ROOT


def walkthrough_script() -> str:
    """Return the first shell block under the README's "Walkthrough" heading."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("\n## Walkthrough\n", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, "the Walkthrough section has no ```sh block"
    return match.group(1)


def json_documents(text: str) -> list[object]:
    """Split the concatenated JSON documents that the script's curl calls print."""
    decoder = json.JSONDecoder()
    documents = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        document, position = decoder.raw_decode(text, position)
        documents.append(document)
    return documents


def root_token(base_url: str) -> str:
    response = requests.post(
        f"{base_url}/v1/token", data={"username": "root", "password": ROOT_PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_readme_walkthrough_runs_verbatim(server, tmp_path: Path):
    script = walkthrough_script()
    # Only the server address changes: the README's reader has it on port 8080.
    assert script.startswith("BASE=http://127.0.0.1:8080\n")
    script = script.replace("BASE=http://127.0.0.1:8080\n", f"BASE={server.url}\n", 1)
    # The walkthrough runs at the repository root, where `make run` stored the password.
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "root-password").write_text(ROOT_PASSWORD + "\n")

    result = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    user, recommendations, swimming, probabilities = json_documents(result.stdout)
    assert user["username"] == "alice"
    assert user["role"] == "user"
    assert recommendations["gender"] == "female"
    assert sorted(r["activity"] for r in recommendations["recommendations"]) == [
        "basketball",
        "swimming",
    ]
    assert swimming == {"name": "swimming", "male_players": 5, "female_players": 6}
    after_write = {
        "male": {"basketball": 10 / 15, "swimming": 5 / 15},
        "female": {"basketball": 3 / 9, "swimming": 6 / 9},
        "any": {"basketball": 13 / 24, "swimming": 11 / 24},
    }
    before_write = {
        "male": {"basketball": 10 / 13, "swimming": 3 / 13},
        "female": {"basketball": 3 / 8, "swimming": 5 / 8},
        "any": {"basketball": 13 / 21, "swimming": 8 / 21},
    }
    # The other worker may serve its cached table for up to RECOMMENDATION_CACHE_SECONDS
    # (1 s by default) after the write. After that, every worker has the write.
    assert probabilities in (after_write, before_write)
    time.sleep(1.5)
    settled = requests.get(
        f"{server.url}/v1/probabilities",
        headers={"Authorization": f"Bearer {root_token(server.url)}"},
        timeout=10,
    )
    assert settled.json() == after_write
