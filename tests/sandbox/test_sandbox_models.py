"""Request validation, splitting of check() programs, and the offline image's contents."""

from __future__ import annotations

import io
import tarfile

import pytest
from pydantic import ValidationError

from tests.sandbox.sandbox_helpers import CHECK
from treeagent.sandbox import DockerSandbox, ProcessSandbox, RunRequest, RunResult, Verdict, cases_from_check
from treeagent.sandbox.docker_image import WORKER_FILES, build_tar, image_tag
from treeagent.sandbox.models import MAX_SOURCE_BYTES


def test_exactly_one_of_code_or_command():
    with pytest.raises(ValidationError, match="exactly one of `code`"):
        RunRequest()
    with pytest.raises(ValidationError, match="exactly one of `code`"):
        RunRequest(code="pass", command=["true"])
    assert RunRequest(command=["true"]).command == ["true"]


def test_empty_command_is_refused():
    with pytest.raises(ValidationError, match="non-empty argv"):
        RunRequest(command=[])


@pytest.mark.parametrize("name", ["/etc/passwd", "../up.py", "a/../../b", ""])
def test_file_names_must_stay_inside(name):
    with pytest.raises(ValidationError, match="relative path inside the work dir"):
        RunRequest(code="pass", files={name: "x"})


def test_nested_file_names_are_fine():
    assert RunRequest(code="pass", files={"pkg/mod.py": "x = 1"}).files == {"pkg/mod.py": "x = 1"}


def test_source_over_the_limit_is_refused_clearly():
    with pytest.raises(ValidationError, match=r"over the .* limit"):
        RunRequest(code="x" * (MAX_SOURCE_BYTES + 1))


def test_unknown_fields_and_bad_limits_are_refused():
    with pytest.raises(ValidationError, match="extra"):
        RunRequest(code="pass", timeout=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="greater than 0"):
        RunRequest(code="pass", time_limit_s=0)
    with pytest.raises(ValidationError, match="greater than or equal to 16"):
        RunRequest(code="pass", memory_limit_mb=1)


def test_result_ok_property():
    assert RunResult(verdict=Verdict.ok).ok
    assert not RunResult(verdict="timeout").ok


def test_cases_from_check_splits_statements():
    cases = cases_from_check(CHECK)
    kinds = [c.kind for c in cases]
    assert kinds == ["setup", "setup", "test", "test", "test", "test", "test"]
    assert "METADATA" in cases[0].source and "def helper" in cases[0].source
    assert cases[1].source == "import math"
    assert cases[3].source == "for x in range(3):\n    assert candidate(x, 0) == x"
    with pytest.raises(ValueError, match="defines no `def check"):
        cases_from_check("def test(c):\n    assert c(1)\n")
    with pytest.raises(ValueError, match="does not parse"):
        cases_from_check("def check(c)\n")


def test_image_is_a_skeleton_with_the_worker():
    with tarfile.open(fileobj=io.BytesIO(build_tar())) as tar:
        members = {m.name: m for m in tar.getmembers()}
    for name in WORKER_FILES:
        assert members[f"opt/treeagent/{name}"].isfile()
    assert members["bin"].issym() and members["bin"].linkname == "usr/bin"
    assert members["sbin"].isdir()  # docker-init is bind-mounted at /sbin/docker-init
    assert members["work"].mode == 0o1777
    assert not any(name.startswith("usr/") for name in members)  # /usr comes from the host, read-only
    assert image_tag() == image_tag() and image_tag().startswith("treeagent-sandbox:")


@pytest.mark.parametrize("backend", [ProcessSandbox, DockerSandbox])
def test_zero_workers_is_refused(backend):
    with pytest.raises(ValueError, match="at least one worker"):
        backend(workers=0)


def test_code_and_a_main_py_file_collide():
    with pytest.raises(ValidationError, match="rename the file called main"):
        RunRequest(code="pass", files={"main.py": "print(1)"})
