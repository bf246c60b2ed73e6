"""The Dockerfile, .dockerignore and requirements.txt must agree with the project."""

from __future__ import annotations

import configparser
import fnmatch
import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def pins() -> dict[str, str]:
    """Return requirements.txt as {canonical name: pinned version}."""
    found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)
    return {canonicalize_name(name): version for name, version in found}


def runtime_requirements() -> list[Requirement]:
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    lines = setup["options"]["install_requires"].splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.strip().startswith("#")]


def test_requirements_pin_every_runtime_dependency() -> None:
    pinned = pins()

    for requirement in runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement} is not in requirements.txt: run `make requirements`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"requirements.txt pins {name}=={pinned[name]}, outside {requirement}: "
            "run `make requirements`"
        )


def test_requirements_pin_what_the_extras_bring() -> None:
    pinned = pins()

    for requirement in runtime_requirements():
        for extra in requirement.extras:
            for dependency in metadata.requires(requirement.name) or []:
                brought = Requirement(dependency)
                if brought.marker and brought.marker.evaluate({"extra": extra}) and not (
                    brought.marker.evaluate({"extra": ""})
                ):
                    name = canonicalize_name(brought.name)
                    assert name in pinned, f"{requirement.name}[{extra}] needs {name}: run `make requirements`"


def test_requirements_have_hashes() -> None:
    text = (ROOT / "requirements.txt").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text.split("\n", 6)[-1])

    assert len(entries) == len(pins())
    for entry in entries:
        assert "--hash=sha256:" in entry, f"no hash for {entry.splitlines()[0]}"


def dockerignore_allows(path: str) -> bool:
    """Apply .dockerignore's rules in order; the last matching rule wins."""
    allowed = True
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        rule = line.strip()
        if not rule or rule.startswith("#"):
            continue
        negated = rule.startswith("!")
        pattern = rule.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            allowed = negated
    return allowed


def test_dockerignore_sends_what_the_dockerfile_copies() -> None:
    sources = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            sources.extend(line.split()[1:-1])

    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which does not exist"
        assert dockerignore_allows(source), f".dockerignore leaves out {source}"
    assert not dockerignore_allows(".venv")
    assert not dockerignore_allows("instance")
    assert not dockerignore_allows("api/__pycache__/app.cpython-311.pyc")


def test_image_runs_as_numeric_non_root_user() -> None:
    users = re.findall(r"^USER (\S+)$", (ROOT / "Dockerfile").read_text(), re.M)

    assert users == ["10001:10001"]


def test_runtime_stage_installs_no_build_tools() -> None:
    runtime = (ROOT / "Dockerfile").read_text().rsplit("\nFROM ", 1)[1]

    assert "apt-get" not in runtime
    assert "pip install" not in runtime
    assert re.search(r"^CMD \[\"gunicorn\", \"-c\", \"gunicorn.conf.py\", \"api:create_app\(\)\"\]$", runtime, re.M)


def test_benchmark_runs_with_the_images_malloc_setting() -> None:
    from bench.suite import IMAGE_MALLOC_ARENA_MAX

    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(rf"^\s+MALLOC_ARENA_MAX={IMAGE_MALLOC_ARENA_MAX} \\$", dockerfile, re.M)
    assert f"MALLOC_ARENA_MAX={IMAGE_MALLOC_ARENA_MAX} " in (ROOT / "Makefile").read_text()
