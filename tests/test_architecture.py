"""The house rules are checked by tools (docs/architecture.md): import-linter and ruff.

These tests run the real tools on a copy of the tree, once as it is (the contracts hold) and
once with a deliberately broken module added (the tool must refuse it), so a contract that
stopped checking anything would fail here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _copy_tree(tmp_path: Path) -> Path:
    for package in ("incidents", "storage"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "translations", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_tree(tmp_path_factory.mktemp("house"))


def test_the_import_contracts_hold_on_the_tree(tree: Path) -> None:
    result = _lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(("module", "source", "contract"), [
    ("incidents/views/_broken.py", "from incidents.models import User\n\nUSER = User\n",
     "faces reach data only through services"),
    ("incidents/api/v1/_broken.py", "from incidents.views import review\n\nR = review\n",
     "layers"),
    ("incidents/services/_broken.py", "import flask\n\nF = flask\n", "domain knows no Flask"),
    ("storage/_broken.py", "import sqlalchemy\n\nS = sqlalchemy\n",
     "storage knows no SQL and no app"),
    ("incidents/models/_broken.py", "from incidents.services import access\n\nA = access\n",
     "layers"),
])
def test_breaking_a_contract_fails_lint_imports(tree: Path, module: str, source: str,
                                                contract: str) -> None:
    broken = tree / module
    broken.write_text(source)
    try:
        result = _lint_imports(tree)
    finally:
        broken.unlink()
    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout


def test_only_the_web_context_may_read_current_app(tmp_path: Path) -> None:
    source = "from flask import current_app\n\nSETTINGS = current_app.extensions['settings']\n"
    ruff = [str(BIN / "ruff"), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"),
            "--select", "TID251", "--stdin-filename"]
    refused = subprocess.run([*ruff, "incidents/views/anywhere.py", "-"], input=source,
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert refused.returncode == 1
    assert "`flask.current_app` is banned" in refused.stdout
    allowed = subprocess.run([*ruff, "incidents/web/context.py", "-"], input=source,
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert allowed.returncode == 0, allowed.stdout


FACES = ("incidents/views", "incidents/api", "incidents/cli")


def test_faces_never_commit_or_roll_back() -> None:
    """Services commit (`incidents.core.database.unit_of_work`); a face only calls them."""
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for face in FACES for path in sorted((ROOT / face).rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if re.search(r"\.(commit|rollback)\(", line.split("#", 1)[0])]
    assert found == []

