"""The Docker backend's image, built offline: no registry can be assumed reachable.

The image is a skeleton root file system made here in memory and loaded with `docker import`:
the merged-/usr symlinks, a minimal /etc (passwd, group, the loader's cache), empty mount points
and the sandbox worker's own files. Containers bind the host's /usr and the interpreter's prefix
read-only, so the image needs no package manager and builds in well under a second. Its tag is
a hash of its contents: a changed worker gets a new image.

    python -m treeagent.sandbox build-image     # what scripts/dockerd.sh runs
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

from treeagent.sandbox.models import SandboxError

REPOSITORY = "treeagent-sandbox"
WORKER_DIR = "/opt/treeagent"
WORKER_FILES = (
    "_worker.py",
    "_jail.py",
    "_resources.py",
    "_pyrun.py",
    "_supervise.py",
    "_cleanup.py",
    "_evaluator.py",
    "_remote.py",
    "_jailserve.py",
    "_seccomp.py",
    "_frames.py",
    "_runchild.py",
)
_LAYOUT_VERSION = "1"
_HERE = Path(__file__).parent

_PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
_GROUP = "root:x:0:\nnogroup:x:65534:\n"


def _contents() -> dict[str, bytes | None]:
    """Path -> file bytes (None for a directory); symlinks are added separately."""
    files: dict[str, bytes | None] = {
        d: None for d in ("etc", "tmp", "work", "proc", "sys", "dev", "usr", "root", "opt", "sbin")
    }
    files["opt/treeagent"] = None
    files["etc/passwd"] = _PASSWD.encode()
    files["etc/group"] = _GROUP.encode()
    files["etc/hosts"] = b"127.0.0.1 localhost\n"
    for extra in ("/etc/ld.so.cache", "/etc/ld.so.conf"):
        if os.path.isfile(extra):
            files[extra.lstrip("/")] = Path(extra).read_bytes()
    for name in WORKER_FILES:
        files[f"opt/treeagent/{name}"] = (_HERE / name).read_bytes()
    return files


# /sbin stays a directory: Docker bind-mounts its init at /sbin/docker-init, and /usr is read-only.
_SYMLINKS = {"bin": "usr/bin", "lib": "usr/lib", "lib64": "usr/lib64"}


def image_tag() -> str:
    digest = hashlib.sha256(_LAYOUT_VERSION.encode())
    for path, data in sorted(_contents().items()):
        digest.update(path.encode() + b"\0" + (data if data is not None else b"<dir>"))
    return f"{REPOSITORY}:{digest.hexdigest()[:12]}"


def build_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, data in sorted(_contents().items()):
            info = tarfile.TarInfo(path)
            info.mtime = 0
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o1777 if path in ("tmp", "work") else 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
        for name, target in _SYMLINKS.items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buf.getvalue()


def ensure_image(client: Any) -> str:
    """The image's tag, importing it into the daemon first if it is not there. Blocking."""
    import docker.errors

    tag = image_tag()
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    repo, _, version = tag.partition(":")
    client.api.import_image_from_data(build_tar(), repository=repo, tag=version, changes=[f"WORKDIR {WORKER_DIR}"])
    client.images.get(tag)
    return tag


def connect() -> Any:
    """A Docker client whose daemon answers, or a SandboxError saying what to do. Blocking."""
    try:
        import docker
    except ImportError as exc:
        raise SandboxError("the Docker backend needs the Docker SDK: pip install 'treeagent[docker]'") from exc
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:
        raise SandboxError(
            f"no Docker daemon answers at {where} ({type(exc).__name__}): start one with "
            "`bash scripts/dockerd.sh start` (or your system's docker service), or use ProcessSandbox"
        ) from exc
    return client


def build_main() -> int:
    """Build the image if it is missing; print its tag. The command line's `build-image`."""
    t0 = time.perf_counter()
    try:
        client = connect()
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    tag = ensure_image(client)
    print(f"sandbox image {tag} ready ({time.perf_counter() - t0:.2f} s)")
    return 0
