"""deploy/docker/Dockerfile: its shape, and its build stage replayed without Docker (the same
COPY set from the same build context, the same `uv sync --frozen` commands) to show that
the committed lock installs every service's command."""

import os
import re
import shlex
import shutil
from fnmatch import fnmatch
from pathlib import Path

from deploy_support import ROOT, SERVICES, run

DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
DOCKERIGNORE = ROOT / "deploy" / "docker" / "Dockerfile.dockerignore"
LOCAL_UV = ROOT / ".local" / "uv" / "bin"
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|KEY", re.IGNORECASE)

Instruction = tuple[str, str]


def instructions() -> list[Instruction]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (keyword.upper(), rest)
        for keyword, _, rest in (line.partition(" ") for line in lines)
        if keyword and not keyword.startswith("#")
    ]


def stages() -> dict[str, list[Instruction]]:
    """Instructions by stage name; "" holds the global ARGs before the first FROM."""
    result: dict[str, list[Instruction]] = {"": []}
    current = ""
    for keyword, rest in instructions():
        if keyword == "FROM":
            current = rest.split(" AS ")[1].strip()
            result[current] = []
        result[current].append((keyword, rest))
    return result


def arg_defaults(stage: list[Instruction]) -> dict[str, str]:
    return dict(rest.split("=", 1) for keyword, rest in stage if keyword == "ARG" and "=" in rest)


def build_context() -> list[str]:
    """The files Docker sends as build context: the repository's files that the
    Dockerfile's own ignore file lets through (later patterns win; `!` re-includes)."""
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    listed = run("git", "ls-files", "--cached", "--others", "--exclude-standard").stdout
    files = []
    for path in listed.splitlines():
        parts = path.split("/")
        included = True
        for pattern in patterns:
            negated = pattern.startswith("!")
            pattern = pattern.lstrip("!").strip("/")
            if any(fnmatch("/".join(parts[:i]), pattern) for i in range(1, len(parts) + 1)):
                included = negated
        if included and (ROOT / path).is_file():
            files.append(path)
    return files


def test_image_is_multi_stage_slim_python_3_11_and_non_root() -> None:
    by_stage = stages()
    base = arg_defaults(by_stage[""])["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base
    assert list(by_stage) == ["", "build", "runtime"]
    for name in ("build", "runtime"):
        assert by_stage[name][0] == ("FROM", f"${{PYTHON_IMAGE}} AS {name}")
    runtime = by_stage["runtime"]
    copies = [rest for keyword, rest in runtime if keyword == "COPY"]
    assert copies == ["--from=build /app/.venv /app/.venv"], "the runtime takes only the venv"
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert len(users) == 1
    uid = users[0].split(":")[0]
    assert uid.isdigit(), "a numeric uid lets Kubernetes verify runAsNonRoot"
    assert int(uid) >= 1000


def test_no_secret_is_baked_into_the_image() -> None:
    for keyword, rest in instructions():
        if keyword in ("ENV", "ARG"):
            names = [pair.split("=", 1)[0] for pair in shlex.split(rest)]
            assert not any(SECRET_NAME.search(name) for name in names), rest
    context = build_context()
    assert not [path for path in context if Path(path).name.startswith(".env")]
    assert not [path for path in context if path.startswith(("tests/", ".local/", "deploy/"))]


def test_the_build_stage_installs_every_service_command_from_the_lock(tmp_path: Path) -> None:
    """Replays the build stage in a scratch root: COPY from the filtered context, ENV and
    WORKDIR mapped under the root, RUN in bash (cache mounts dropped; the pinned uv is the
    project's own .local/uv, python3.11 stands in for the base image's interpreter)."""
    build = stages()["build"]
    arguments = arg_defaults(build)
    context = build_context()
    env = {**os.environ, "PATH": f"{LOCAL_UV}:{os.environ['PATH']}", "UV_PYTHON": "python3.11"}
    workdir = tmp_path
    for keyword, rest in build[1:]:
        if keyword == "ENV":
            for name, value in (pair.split("=", 1) for pair in shlex.split(rest)):
                env[name] = str(tmp_path) + value if value.startswith("/") else value
        elif keyword == "WORKDIR":
            workdir = tmp_path / rest.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY":
            *sources, destination = shlex.split(rest)
            for source in sources:
                chosen = [
                    p for p in context if p == source or p.startswith(source.rstrip("/") + "/")
                ]
                assert chosen, f"COPY {source}: not in the build context"
                for path in chosen:
                    relative = (
                        Path(path).relative_to(source) if source.endswith("/") else Path(path).name
                    )
                    target = workdir / destination / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(ROOT / path, target)
        elif keyword == "RUN":
            command = re.sub(r"--mount=\S+\s*", "", rest)
            for name, value in arguments.items():
                command = command.replace(f"${{{name}}}", value)
            if command.startswith("pip install"):
                pinned = re.search(r"uv==([\d.]+)", command)
                assert pinned, command
                local = run(LOCAL_UV / "uv", "--version").stdout
                assert local.split()[1] == pinned.group(1), "the image and make install pin one uv"
                continue
            if " sync " in f" {command} ":
                assert "--frozen" in command.split(), command
            result = run("bash", "-ec", command, cwd=workdir, env=env)
            assert result.returncode == 0, result.stderr[-3000:]
        else:
            assert keyword == "ARG", f"the replay does not know {keyword}"
    venv = Path(env["UV_PROJECT_ENVIRONMENT"])
    for command, _, _ in SERVICES.values():
        assert (venv / "bin" / command).is_file(), f"{command} is not installed"
    site = venv / "lib" / "python3.11" / "site-packages"
    for package in (
        "gridcase_intake",
        "gridcase_assignment",
        "gridcase_remediation",
        "gridcase_stats",
    ):
        assert (site / package / "__init__.py").is_file(), f"{package} is not installed as a wheel"
