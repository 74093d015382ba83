"""The `treeagent` command line."""

import typer

app = typer.Typer(help="treeagent: LLM agents that search instead of guess.", no_args_is_help=True)


@app.command()
def version() -> None:
    """Print the installed version."""
    from importlib.metadata import version as _version

    typer.echo(_version("treeagent"))


app.command("serve")(__import__("treeagent.cli.serve", fromlist=["serve"]).serve)
