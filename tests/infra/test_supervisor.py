"""`make up`'s supervisor restarts a process that dies, with growing waits, and logs it."""

import importlib.util
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from private_servers import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def infra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The runner as a module; the defaults it puts in the environment on import are
    taken out again afterwards, so that they do not leak into later tests."""
    spec = importlib.util.spec_from_file_location("infra", ROOT / "deploy/local/infra.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "infra", module)
    environment = dict(os.environ)
    try:
        spec.loader.exec_module(module)
        monkeypatch.setattr(module, "RUN", tmp_path / "run")
        monkeypatch.setattr(module, "LOGS", tmp_path / "logs")
        yield module
    finally:
        os.environ.clear()
        os.environ.update(environment)


def test_a_process_that_dies_is_restarted_with_growing_waits(
    infra: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    sleeper = infra.Component(
        name="sleeper",
        ports=[free_port()],
        command=lambda: [sys.executable, "-c", "import time; time.sleep(600)"],
        ready=lambda: True,
    )
    sleeper.start()
    stop = threading.Event()
    supervisor = threading.Thread(target=infra.supervise, args=([sleeper], stop.is_set))
    supervisor.start()
    try:
        pids = [sleeper.pid()]
        for _ in range(2):
            os.kill(pids[-1], signal.SIGKILL)
            pids.append(_next_pid(sleeper, pids[-1]))
    finally:
        stop.set()
        supervisor.join()
        sleeper.stop()
    assert len(set(pids)) == 3
    said = capsys.readouterr().out
    assert "sleeper died (exit -9); restarting in 1s" in said
    assert "sleeper died (exit -9); restarting in 2s" in said


def _next_pid(component: object, old_pid: int) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pid = component.pid()  # type: ignore[attr-defined]
        if pid is not None and pid != old_pid:
            return int(pid)
        time.sleep(0.1)
    raise AssertionError("the component was not restarted")
