"""scripts/monthly-run.sh, the monthly schedule's script: every command it runs is a real
`retail-tiers` command with real options, the steps run in order, the first failing step
stops the run with its exit code, and a finished run exits with the alerts' code."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import click
import pytest

from cli import cli

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "monthly-run.sh"


def script_commands() -> list[list[str]]:
    """The `step ...` lines and the alerts call, as argument lists (variables filled in)."""
    commands = []
    for line in SCRIPT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("step "):
            filled = line.replace('"$input"', "in").replace('"$out/', '"out/').replace(
                '"$out"', "out")
            commands.append(shlex.split(filled)[1:])
    commands.append(["alerts"])
    return commands


@pytest.mark.parametrize("args", script_commands(), ids=" ".join)
def test_each_command_is_a_real_command(args: list[str]) -> None:
    name, *rest = args
    command = cli.commands.get(name)
    assert command is not None, name
    try:
        command.make_context(name, rest)
    except click.UsageError as error:
        pytest.fail(f"retail-tiers {' '.join(args)}: {error.format_message()}")


def fake_cli(tmp_path: Path, exit_codes: dict[str, int]) -> Path:
    """A stand-in `retail-tiers` that records its arguments and exits with the code given
    for its subcommand (0 otherwise)."""
    fake = tmp_path / "retail-tiers"
    cases = "\n".join(f"    {name}) exit {code} ;;" for name, code in exit_codes.items())
    fake.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> "{tmp_path / "calls.txt"}"\n'
        'echo "output of $1"\n'
        f'case "$1" in\n{cases}\n    *) exit 0 ;;\nesac\n', encoding="utf-8")
    fake.chmod(0o755)
    return fake


def run_script(tmp_path: Path, exit_codes: dict[str, int]) -> subprocess.CompletedProcess:
    env = {**os.environ, "RETAIL_TIERS": str(fake_cli(tmp_path, exit_codes))}
    return subprocess.run(["bash", str(SCRIPT), "in", str(tmp_path / "out")], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def calls(tmp_path: Path) -> list[str]:
    return (tmp_path / "calls.txt").read_text(encoding="utf-8").splitlines()


def test_a_full_run_does_every_step_in_order_and_exits_with_the_alerts_code(
        tmp_path: Path) -> None:
    done = run_script(tmp_path, {"alerts": 3})
    assert done.returncode == 3, done.stderr
    assert [call.split()[0] for call in calls(tmp_path)] == [
        "build", "report", "report", "export", "export", "export", "alerts"]
    assert calls(tmp_path)[0] == "build --input in"
    log = (tmp_path / "out" / "run.log").read_text(encoding="utf-8")
    assert log.count("output of ") == 7  # every step's output is kept
    assert "output of alerts" in done.stdout
    assert "alerts exit 3" in done.stderr


def test_a_failed_build_stops_the_run(tmp_path: Path) -> None:
    done = run_script(tmp_path, {"build": 1})
    assert done.returncode == 1
    assert calls(tmp_path) == ["build --input in"]
    assert re.fullmatch(r"monthly run: 'retail-tiers build --input in' failed \(exit 1\); "
                        r"see .*run\.log\n", done.stderr)


def test_nothing_to_act_on_exits_0(tmp_path: Path) -> None:
    done = run_script(tmp_path, {})
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
