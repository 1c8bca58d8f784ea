"""Fresh installs of piko, one per documented way, for the hook-cost benchmark (bench/hook_cost.py).

Built once per bench run in the run's temporary folder, from a copy of the working tree (so nothing is
written into it): one wheel (`pip wheel`), then a fresh virtualenv per kind on the interpreter the
project's .venv is built on, with that install's own tools as a person would run them:
- scripts/setup: the project's own .venv (an editable install, pip upgraded, compiled ahead);
- pip install: `python -m venv`, then its bundled pip (not upgraded) installs the wheel;
- pip install -e: the same venv recipe, an editable install of the copied tree (no bytecode yet);
- pipx install / uv tool install: the wheel, with PIPX_HOME / UV_TOOL_DIR in the temporary folder.
pipx and uv come from PATH, else from a scratch venv the benchmark installs them into (from PyPI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT

DIST = "piko-orchestra"


@dataclass
class Install:
    kind: str
    venv: Path  # the virtualenv piko lives in

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def script(self) -> Path:
        """The console script the installer wrote (`<venv>/bin/piko`)."""
        return self.venv / "bin" / "piko"


class BuildError(Exception):
    pass


def _run(argv: list[str | Path], env: dict[str, str] | None = None) -> None:
    result = subprocess.run([str(a) for a in argv], check=False, env={**os.environ, **(env or {})}, capture_output=True,
                            text=True, timeout=900)
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()[-300:]
        raise BuildError(f"{' '.join(map(str, argv[:4]))} ... failed: {output}")


def base_python() -> str:
    """The interpreter the project's .venv was made from (not a pyenv shim: a real executable)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def copy_tree(tmp: Path) -> Path:
    tree = tmp / "tree"
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    return tree


def tool(name: str, tmp: Path) -> str:
    """`pipx` or `uv`: from PATH, else installed into a scratch venv under `tmp`."""
    found = shutil.which(name)
    if found:
        return found
    tools = tmp / "tools"
    if not (tools / "bin" / "python").exists():
        _run([base_python(), "-m", "venv", tools])
    if not (tools / "bin" / name).exists():
        _run([tools / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", name])
    return str(tools / "bin" / name)


def build(tmp: Path) -> tuple[list[Install], list[str]]:
    """Every install kind that could be built, and a sentence for each that could not."""
    installs = [Install("scripts/setup", Path(sys.executable).parent.parent)]
    problems: list[str] = []
    tree = copy_tree(tmp)
    wheels = tmp / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check", "-w", wheels, tree])
    [wheel] = wheels.glob("*.whl")
    for kind in ("pip install", "pip install -e", "pipx install", "uv tool install"):
        try:
            install = _install(kind, tmp, tree, wheel)
            if not install.script.exists():
                raise BuildError(f"no {install.script} after the install")
            installs.append(install)
        except (BuildError, OSError, subprocess.SubprocessError) as e:
            problems.append(f"hook cost: {kind} could not be built, left out ({e})")
    return installs, problems


def _install(kind: str, tmp: Path, tree: Path, wheel: Path) -> Install:
    quiet = ["-q", "--disable-pip-version-check"]
    if kind.startswith("pip install"):
        venv = tmp / ("pip-e-venv" if kind.endswith("-e") else "pip-venv")
        _run([base_python(), "-m", "venv", venv])
        what = ["-e", tree] if kind.endswith("-e") else [wheel]
        _run([venv / "bin" / "python", "-m", "pip", "install", *quiet, *what])
        return Install(kind, venv)
    if kind == "pipx install":
        _run([tool("pipx", tmp), "install", "--python", base_python(), wheel],
             {"PIPX_HOME": str(tmp / "pipx"), "PIPX_BIN_DIR": str(tmp / "pipx-bin"),
              "PIPX_MAN_DIR": str(tmp / "pipx-man")})
        return Install(kind, tmp / "pipx" / "venvs" / DIST)
    _run([tool("uv", tmp), "tool", "install", "--python", base_python(), wheel],
         {"UV_TOOL_DIR": str(tmp / "uv-tools"), "UV_TOOL_BIN_DIR": str(tmp / "uv-bin")})
    return Install(kind, tmp / "uv-tools" / DIST)
