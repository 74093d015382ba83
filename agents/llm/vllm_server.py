"""Starts vLLM's OpenAI-compatible server (CPU or GPU build) with the flags a tree search wants.

The server runs under `treeagent.agents.llm.supervisor` in a process group of its own, so stopping it
(or the launcher dying) takes the engine and worker processes with it. `VLLMServer` is an async
context manager for scripts and tests; `serve_or_connect` uses a configured endpoint when there is
one and starts the embedded default model otherwise; `start_background`/`stop_background` keep a
detached server with a pid file (what `scripts/vllm.sh` and `treeagent serve --background` use).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict, Field

from treeagent.agents.llm import engine_cores, engine_env
from treeagent.agents.llm.config import LLMConfig
from treeagent.agents.llm.process_groups import group_alive, kill_group


class ServerStartError(RuntimeError):
    """The server could not start; the message says why and what to do."""


class ServerConfig(BaseModel):
    """How to run the engine. Every speed feature here is passed through to vLLM."""

    model_config = ConfigDict(extra="forbid")

    #: an HF model folder; None serves the embedded SmolLM2-135M-Instruct (converted once, cached).
    model: str | None = None
    served_model_name: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=1, le=65535)
    max_model_len: int = Field(default=2048, ge=64)
    dtype: str = "bfloat16"
    #: sequences the engine batches at once; a concurrent search wants this above its concurrency * n.
    max_num_seqs: int = Field(default=64, ge=1)
    #: automatic prefix caching: siblings and successive expansions share the prompt's prefix.
    prefix_caching: bool = True
    #: n-gram (prompt lookup) speculative decoding, train-free: proposes the next tokens by matching
    #: the output's tail against the prompt. Suits code revision, where the output repeats the input.
    #: 0 turns it off; otherwise the number of speculative tokens per step (3 is a good start:
    #: a reply copying ~200 tokens of code came ~2.8x faster on the CPU build).
    ngram_speculative_tokens: int = Field(default=0, ge=0)
    ngram_prompt_lookup_max: int = Field(default=4, ge=1)
    #: tokens per KV-cache block, the prefix cache's granularity: only whole blocks are reused, so
    #: smaller blocks share more of two prompts that diverge mid-block. 32 is the CPU build's
    #: smallest efficient size (its default is 128); GPU builds accept it too.
    block_size: int | None = Field(default=32, ge=1)
    #: KV cache size in GiB for the CPU build (VLLM_CPU_KVCACHE_SPACE).
    cpu_kv_cache_gb: int = Field(default=2, ge=1)
    #: skip torch.compile and graphs: ready in ~22 s instead of ~80 s on CPU.
    enforce_eager: bool = True
    extra_args: list[str] = Field(default_factory=list)
    ready_timeout_s: float = Field(default=600.0, gt=0)
    #: refuse to start below this much available memory (the CPU engine takes ~4.4 GB).
    min_free_gb: float = Field(default=4.0, ge=0)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


def run_dir() -> Path:
    return engine_env.cache_dir() / "run"


def log_path(port: int) -> Path:
    return run_dir() / f"vllm-{port}.log"


def pid_path(port: int) -> Path:
    return run_dir() / f"vllm-{port}.pid"


def build_command(config: ServerConfig, python: Path, model_dir: Path) -> list[str]:
    """The engine's command line (the `vllm serve` entry point fails for the CPU build's metadata)."""
    name = config.served_model_name or (engine_env.MODEL_NAME if config.model is None else model_dir.name)
    cmd = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model_dir),
        "--served-model-name", name,
        "--dtype", config.dtype,
        "--max-model-len", str(config.max_model_len),
        "--max-num-seqs", str(config.max_num_seqs),
        "--host", config.host,
        "--port", str(config.port),
        "--disable-uvicorn-access-log",
        "--enable-prompt-tokens-details",  # usage reports cached (prefix-hit) prompt tokens
    ]  # fmt: skip
    cmd.append("--enable-prefix-caching" if config.prefix_caching else "--no-enable-prefix-caching")
    if config.block_size is not None:
        cmd += ["--block-size", str(config.block_size)]
    if config.enforce_eager:
        cmd.append("--enforce-eager")
    if config.ngram_speculative_tokens:
        spec = {
            "method": "ngram",
            "num_speculative_tokens": config.ngram_speculative_tokens,
            "prompt_lookup_max": config.ngram_prompt_lookup_max,
        }
        cmd += ["--speculative-config", json.dumps(spec)]
    return cmd + list(config.extra_args)


def engine_environ(config: ServerConfig) -> dict[str, str]:
    """The engine's environment: offline (never a hub), caches under ours, CPU KV cache size.

    The thread binding is set per engine by `engine_cores.assign` when it starts.
    """
    cache = engine_env.cache_dir()
    env = dict(os.environ)
    env.update(
        {
            "VLLM_CPU_KVCACHE_SPACE": str(config.cpu_kv_cache_gb),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
            "VLLM_CACHE_ROOT": str(cache / "vllm"),
            "TORCHINDUCTOR_CACHE_DIR": str(cache / "torchinductor"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _available_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        return None
    return None


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


async def answers(base_url: str, timeout_s: float = 2.0) -> bool:
    """True when an OpenAI-compatible server answers /models at `base_url`."""
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as http:
            response = await http.get(base_url.rstrip("/") + "/models")
            return response.status_code == 200
    except httpx.HTTPError:
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def prepare(config: ServerConfig, log: Callable[[str], None]) -> tuple[list[str], dict[str, str]]:
    """Checks and installs (blocking: call in a thread). Returns the command and environment."""
    free = _available_gb()
    if free is not None and free < config.min_free_gb:
        raise ServerStartError(
            f"only {free:.1f} GB of memory available, the engine needs about {config.min_free_gb:.0f} GB; "
            "stop other servers (`treeagent serve --stop`) or lower --min-free-gb at your own risk"
        )
    if not _port_free(config.host, config.port):
        raise ServerStartError(
            f"port {config.port} on {config.host} is busy; pick another --port, or if a server is already "
            f"running there use it as TREEAGENT_BASE_URL={config.base_url}"
        )
    if config.model is not None:
        model_dir = Path(config.model).expanduser()
        if not (model_dir / "config.json").is_file():
            raise ServerStartError(
                f"model folder {model_dir} has no config.json; give an HF model folder (models are never "
                "downloaded), or no --model for the embedded default"
            )
    try:
        python = engine_env.engine_python(log=log)
        if config.model is None:
            model_dir = engine_env.ensure_default_model(log=log)
    except engine_env.EngineSetupError as exc:
        raise ServerStartError(str(exc)) from None
    return build_command(config, python, model_dir), engine_environ(config)


@dataclass(slots=True)
class RunningServer:
    base_url: str
    owned: bool
    pid: int | None = None


class VLLMServer:
    """`async with VLLMServer(config) as server:` starts the engine, waits, stops the whole group."""

    def __init__(self, config: ServerConfig | None = None, log: Callable[[str], None] | None = None) -> None:
        self.config = config or ServerConfig()
        self._log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return self.config.base_url

    @property
    def log_file(self) -> Path:
        return log_path(self.config.port)

    async def __aenter__(self) -> RunningServer:
        await self.start()
        return RunningServer(self.base_url, owned=True, pid=self._proc.pid if self._proc else None)

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self, detach: bool = False, on_spawn: Callable[[int], None] | None = None) -> str:
        """Start and wait until the server answers. `detach`: the server outlives this process;
        `on_spawn(pid)` runs right after the spawn (the pid file is written before the wait)."""
        cmd, env = await asyncio.to_thread(prepare, self.config, self._log)
        bind, cores = engine_cores.assign(env, run_dir(), self.config.port, group_alive)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        supervisor = [sys.executable, "-m", "treeagent.agents.llm.supervisor"]
        if not detach:
            supervisor += ["--parent", str(os.getpid())]
        self._log(f"starting the engine on {self.base_url} (log: {self.log_file})")
        with self.log_file.open("wb") as log_handle:
            # Popen is a quick fork/exec; asyncio's subprocess transport would kill a detached
            # server when the loop closes, which is why it is not used here.
            self._proc = subprocess.Popen(  # noqa: ASYNC220
                [*supervisor, "--", *cmd],
                stdin=subprocess.DEVNULL,
                stdout=log_handle,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        engine_cores.write_claim(run_dir(), self.config.port, self._proc.pid, cores)
        if on_spawn is not None:
            on_spawn(self._proc.pid)
        await self._wait_ready()
        self._report_binding(bind)
        return self.base_url

    def _report_binding(self, bind: str) -> None:
        """Say which cores the engine's threads hold (from its log) and keep the claim exact."""
        assert self._proc is not None
        found = engine_cores.binding_from_log(self.log_file.read_text(errors="replace"))
        if found is None:
            if bind == "nobind":
                self._log(f"engine threads float ({engine_cores.BIND_VAR}=nobind: every core is held)")
            return
        cores, reserved = found
        engine_cores.write_claim(run_dir(), self.config.port, self._proc.pid, cores)
        kept = f"; core(s) {sorted(reserved)} kept for its scheduler" if reserved else ""
        self._log(f"engine threads on core(s) {sorted(cores)} ({engine_cores.BIND_VAR}={bind}){kept}")

    async def _wait_ready(self) -> None:
        assert self._proc is not None
        started = time.monotonic()
        while time.monotonic() - started < self.config.ready_timeout_s:
            if self._proc.poll() is not None:
                raise ServerStartError(
                    f"the engine exited during start-up; log {self.log_file}:\n{_tail(self.log_file)}"
                )
            if await answers(self.base_url):
                self._log(f"ready in {time.monotonic() - started:.0f} s: {self.base_url}")
                return
            await asyncio.sleep(0.5)
        await self.stop()
        raise ServerStartError(
            f"the engine did not answer within {self.config.ready_timeout_s:.0f} s; log {self.log_file}:\n"
            f"{_tail(self.log_file)}"
        )

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    async def wait(self) -> None:
        """Until the engine exits (Popen has no awaitable exit, hence the polling)."""
        while self.running():  # noqa: ASYNC110
            await asyncio.sleep(1.0)

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            await kill_group(proc.pid, lambda: proc.poll() is not None)
        if proc is not None:
            engine_cores.claim_path(run_dir(), self.config.port).unlink(missing_ok=True)


async def start_background(config: ServerConfig, log: Callable[[str], None] | None = None) -> str:
    """Start a detached server with a pid file, or return the one already running (idempotent)."""
    pidfile = pid_path(config.port)
    if pidfile.exists():
        pgid = int(pidfile.read_text().split()[0])
        if group_alive(pgid) and await answers(config.base_url):
            return config.base_url
        if group_alive(pgid):  # started but not answering: a previous start still loading, or stuck
            started = time.monotonic()
            while group_alive(pgid) and time.monotonic() - started < config.ready_timeout_s:
                if await answers(config.base_url):
                    return config.base_url
                await asyncio.sleep(0.5)
            await kill_group(pgid, lambda: not group_alive(pgid))
        pidfile.unlink(missing_ok=True)
    server = VLLMServer(config, log)
    pidfile.parent.mkdir(parents=True, exist_ok=True)

    def write_pid(pid: int) -> None:
        pidfile.write_text(f"{pid}\n")

    try:
        await server.start(detach=True, on_spawn=write_pid)
    except BaseException:  # failed or interrupted while loading: leave nothing behind
        await server.stop()
        pidfile.unlink(missing_ok=True)
        raise
    return config.base_url


async def stop_background(port: int) -> bool:
    """Stop the detached server on `port`; False when none was running."""
    pidfile = pid_path(port)
    if not pidfile.exists():
        return False
    pgid = int(pidfile.read_text().split()[0])
    alive = group_alive(pgid)
    if alive:
        await kill_group(pgid, lambda: not group_alive(pgid))
    pidfile.unlink(missing_ok=True)
    engine_cores.claim_path(run_dir(), port).unlink(missing_ok=True)
    return alive


@asynccontextmanager
async def serve_or_connect(
    base_url: str | None = None, config: ServerConfig | None = None
) -> AsyncIterator[RunningServer]:
    """An endpoint for the duration of the block.

    Order: `base_url`; with an explicit `config`, that server (reused if it already answers);
    else the configured endpoint (TREEAGENT_BASE_URL, config file); else a server already
    answering on the default port (`scripts/vllm.sh start`, `treeagent serve`); else the embedded
    server, started on a free port (so stopping it never pulls a shared server from under someone
    else) and stopped when the block ends.
    """
    urls = [base_url] if base_url else ([] if config is not None else LLMConfig.load().base_urls)
    urls = LLMConfig(base_urls=urls).base_urls
    if urls:
        # A refused connection fails at once; the long timeout is for a server that is there but
        # slow to answer, as a CPU engine busy with many requests is (its API shares the cores).
        if not await answers(urls[0], timeout_s=30.0):
            raise ServerStartError(f"nothing answers at {urls[0]}; start it (`treeagent serve`) or unset it")
        yield RunningServer(urls[0], owned=False)
        return
    default = ServerConfig() if config is None else config
    if await answers(default.base_url):
        yield RunningServer(default.base_url, owned=False)
        return
    own = default if config is not None else ServerConfig(port=free_port(default.host))
    async with VLLMServer(own) as server:
        yield server


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
