"""`treeagent serve`: run the local inference engine (the embedded model by default)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from treeagent.agents.llm.vllm_server import ServerConfig


def serve(
    model: Annotated[
        str | None, typer.Option(help="HF model folder; default: the embedded SmolLM2-135M-Instruct")
    ] = None,
    port: Annotated[int, typer.Option(help="port on 127.0.0.1 (or --host)")] = 8765,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    served_model_name: Annotated[str | None, typer.Option(help="model name clients send")] = None,
    max_model_len: Annotated[int, typer.Option(help="context window in tokens")] = 2048,
    max_num_seqs: Annotated[int, typer.Option(help="sequences batched at once (>= concurrency x n)")] = 64,
    dtype: Annotated[str, typer.Option(help="weights and activations dtype")] = "bfloat16",
    prefix_caching: Annotated[
        bool, typer.Option(help="reuse the KV cache of shared prompt prefixes (siblings, deeper nodes)")
    ] = True,
    ngram_speculative_tokens: Annotated[
        int,
        typer.Option(help="n-gram (prompt lookup) speculative decoding: tokens per step, 0 = off; suits code revision"),
    ] = 0,
    kv_cache_gb: Annotated[int, typer.Option(help="KV cache GiB for the CPU build")] = 2,
    eager: Annotated[bool, typer.Option(help="skip torch.compile (ready in ~20 s instead of ~80 s on CPU)")] = True,
    engine_arg: Annotated[
        list[str] | None,
        typer.Option(help="extra vLLM flag, repeatable, e.g. --engine-arg=--block-size=32"),
    ] = None,
    min_free_gb: Annotated[float, typer.Option(help="refuse to start below this much free memory")] = 4.0,
    background: Annotated[
        bool, typer.Option("--background", help="start detached (pid file), print the URL and return")
    ] = False,
    stop: Annotated[bool, typer.Option("--stop", help="stop the background server on --port")] = False,
    install_only: Annotated[
        bool, typer.Option("--install-only", help="install the engine and convert the model, then exit")
    ] = False,
) -> None:
    """Serve an OpenAI-compatible endpoint with vLLM (CPU or GPU build) until Ctrl-C."""
    from treeagent.agents.llm import engine_env, vllm_server

    def log(msg: str) -> None:
        typer.echo(msg, err=True)

    if stop:
        stopped = asyncio.run(vllm_server.stop_background(port))
        typer.echo(f"stopped the server on port {port}" if stopped else f"no background server on port {port}")
        return
    if install_only:
        try:
            python = engine_env.engine_python(log=log)
            model_dir = engine_env.ensure_default_model(log=log) if model is None else Path(model)
        except engine_env.EngineSetupError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"engine: {python}\nmodel: {model_dir}")
        return
    config = vllm_server.ServerConfig(
        model=model,
        served_model_name=served_model_name,
        host=host,
        port=port,
        max_model_len=max_model_len,
        max_num_seqs=max_num_seqs,
        dtype=dtype,
        prefix_caching=prefix_caching,
        ngram_speculative_tokens=ngram_speculative_tokens,
        cpu_kv_cache_gb=kv_cache_gb,
        enforce_eager=eager,
        min_free_gb=min_free_gb,
        extra_args=list(engine_arg or []),
    )
    try:
        if background:
            url = asyncio.run(_start_background(config, log))
            typer.echo(url)
            return
        asyncio.run(_serve_foreground(config, log))
    except vllm_server.ServerStartError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except (KeyboardInterrupt, asyncio.CancelledError):
        typer.echo("stopped", err=True)
        raise typer.Exit(130) from None


def _cancel_on_signals() -> None:
    """SIGTERM/SIGHUP cancel the running command like Ctrl-C, so its cleanup (stopping the engine
    group, removing the pid file) runs instead of leaving a half-started engine behind."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    if main is not None:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, main.cancel)


async def _start_background(config: ServerConfig, log: Callable[[str], None]) -> str:
    from treeagent.agents.llm.vllm_server import start_background

    _cancel_on_signals()
    return await start_background(config, log)


async def _serve_foreground(config: ServerConfig, log: Callable[[str], None]) -> None:
    from treeagent.agents.llm.vllm_server import ServerStartError, VLLMServer

    server = VLLMServer(config, log=log)
    _cancel_on_signals()
    try:
        await server.start()
        print(server.base_url, flush=True)
        await server.wait()
        raise ServerStartError(f"the engine exited; see its log {server.log_file}")
    except asyncio.CancelledError:
        log("stopping the engine")
    finally:
        await server.stop()


if __name__ == "__main__":
    typer.run(serve)
