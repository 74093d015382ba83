"""The `treeagent` command line: one typer app, one module per command."""

from __future__ import annotations

import typer

from treeagent.cli.compare import compare
from treeagent.cli.eval import eval_
from treeagent.cli.export import export
from treeagent.cli.play import play
from treeagent.cli.run import KNOBS_HELP, run
from treeagent.cli.serve import serve
from treeagent.cli.show import show
from treeagent.cli.solve import solve
from treeagent.cli.view import view
from treeagent.cli.web import web_app

#: help is click's plain layout: rich's option table splits 80 columns five ways, leaving a help
#: column of ~20 characters that cuts long words ("test_guide…") and stacks summaries a word a line
app = typer.Typer(
    help="treeagent: LLM agents that search instead of guess.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)


@app.command()
def version() -> None:
    """Print the installed version."""
    from importlib.metadata import version as _version

    typer.echo(_version("treeagent"))


app.command("run", epilog=KNOBS_HELP)(run)
app.command("show")(show)
app.command("play")(play)
app.command("serve")(serve)
app.command("solve")(solve)
app.command("eval")(eval_)
app.command("view")(view)
app.command("export")(export)
app.command("compare")(compare)
app.add_typer(web_app, name="web")
