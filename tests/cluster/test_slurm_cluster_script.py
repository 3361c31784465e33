"""scripts/slurm-cluster's paths that need no cluster: usage, empty state, stale PIDs, non-root."""

import os
import pathlib
import shutil
import subprocess

import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "scripts" / "slurm-cluster"


def _run(*args, state_dir, prefix=()):
    env = {**os.environ, "BPTT_SLURM_DIR": str(state_dir)}
    return subprocess.run([*prefix, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def test_unknown_command_prints_usage(tmp_path):
    result = _run("start", state_dir=tmp_path)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "up|down|status" in result.stderr


def test_status_without_a_cluster(tmp_path):
    status = _run("status", state_dir=tmp_path)
    assert status.returncode == 1
    assert status.stdout.splitlines() == [f"{d}: not running" for d in ("munged", "slurmctld", "slurmd")]


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="down refuses to run without root")


@needs_root
def test_down_without_a_cluster_is_safe_twice(tmp_path):
    for _ in range(2):  # down is safe to call twice
        down = _run("down", state_dir=tmp_path)
        assert down.returncode == 0, down.stderr
        assert down.stdout.strip() == "slurm-cluster: down"


@needs_root
def test_down_leaves_alone_a_recorded_pid_that_runs_another_program(tmp_path):
    # A PID recorded by an earlier `up` may since belong to an unrelated process.
    other = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / "slurmd.pid").write_text(f"{other.pid}\n")
        down = _run("down", state_dir=tmp_path)
        assert down.returncode == 0, down.stderr
        assert other.poll() is None, "down killed a process it did not start"
        assert not (tmp_path / "slurmd.pid").exists()
    finally:
        other.kill()
        other.wait()


def test_up_without_root_is_refused_before_touching_anything(tmp_path):
    prefix = ()
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("needs setpriv to drop root")
        prefix = ("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups")
    state_dir = tmp_path / "state"
    result = _run("up", state_dir=state_dir, prefix=prefix)
    assert result.returncode == 1
    assert "must run as root" in result.stderr
    assert not state_dir.exists()
