"""`python -m treeagent.sandbox build-image`: build the Docker backend's offline image if missing."""

from __future__ import annotations

import sys

from treeagent.sandbox.docker_image import build_main


def main(argv: list[str]) -> int:
    if argv != ["build-image"]:
        print("usage: python -m treeagent.sandbox build-image", file=sys.stderr)
        return 2
    return build_main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
