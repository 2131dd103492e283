"""The README and the docs/ pages must not drift from the code: their contract tables,
quarantine reasons, commands, make targets and settings are checked against the contract, the
staging SQL, the CLI, the Makefile and dbt_project.yml, and every link between them leads to
a file and a heading that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from cli import cli
from retail_tiers.build import RESERVED_VARS, project_vars
from retail_tiers.contract import RAW_FILES

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# the README and the docs pages as one text, for what may be documented in any of them
DOCS = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)


def markdown_table_after(heading_pattern: str) -> list[list[str]]:
    """The rows (cells stripped, header and rule left out) of the first table after a heading."""
    match = re.search(heading_pattern, DOCS, flags=re.MULTILINE)
    assert match, f"the docs have no heading matching {heading_pattern!r}"
    rows: list[list[str]] = []
    for line in DOCS[match.end():].splitlines()[1:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows[2:]


@pytest.mark.parametrize("spec", RAW_FILES, ids=lambda spec: spec.name)
def test_contract_table_matches_contract(spec) -> None:
    required = "required" if spec.required else "optional"
    heading = rf"^#+ `{spec.name}` \({required}\): {re.escape(spec.description)}$"
    rows = markdown_table_after(heading)
    expected = [
        [column.name, column.type, column.required_label, column.notes]
        for column in spec.columns
    ]
    assert rows == expected


def test_readme_documents_no_file_outside_the_contract() -> None:
    documented = set(re.findall(r"^#+ `(\w+)` \((?:required|optional)\)", DOCS, re.MULTILINE))
    assert documented == {spec.name for spec in RAW_FILES}


def staging_reasons(file_name: str) -> set[str]:
    sql = (ROOT / "models" / "staging" / f"stg_{file_name}.sql").read_text()
    return set(re.findall(r"then '([a-z_]+)'", sql))


@pytest.mark.parametrize("spec", RAW_FILES, ids=lambda spec: spec.name)
def test_quarantine_reasons_match_staging(spec) -> None:
    rows = {row[0]: row[1] for row in markdown_table_after(r"^#+ What happens to bad rows")}
    assert spec.name in rows, f"README lists no quarantine reasons for {spec.name}"
    documented = set(re.findall(r"`([a-z_]+)`", rows[spec.name]))
    assert documented == staging_reasons(spec.name)


def code_blocks(text: str = DOCS) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def readme_commands(program: str) -> list[list[str]]:
    commands = []
    for block in code_blocks():
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith(program + " ") or line.startswith(f".venv/bin/{program} "):
                commands.append(shlex.split(line)[1:])
    return commands


def test_readme_shows_the_cli() -> None:
    assert len(readme_commands("retail-tiers")) >= 20


@pytest.mark.parametrize("args", readme_commands("retail-tiers"), ids=" ".join)
def test_readme_cli_commands_parse(args: list[str]) -> None:
    """Every `retail-tiers ...` line of the README names a real command with real options
    and acceptable values (parsed by click exactly as the console script would)."""
    name, *rest = args
    command = cli.commands.get(name)
    assert command is not None, f"README uses unknown command {name!r}"
    try:
        command.make_context(name, rest)
    except click.UsageError as error:  # unknown option, bad choice, ...
        pytest.fail(f"retail-tiers {' '.join(args)}: {error.format_message()}")


def test_readme_make_targets_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))
    used = {
        target for block in code_blocks() for target in re.findall(r"^make ([a-z-]+)", block, re.M)
    }
    used |= set(re.findall(r"`make ([a-z-]+)`", DOCS))
    assert used, "README shows no make command"
    assert used <= targets, f"README uses make targets the Makefile lacks: {used - targets}"


def test_readme_opens_with_the_two_commands() -> None:
    first_block = code_blocks(README)[0]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert commands == ["make demo", "make test"]


def test_readme_documents_every_var() -> None:
    """Every dbt var an analyst can set (all but the ones `--input` sets) has a row in one of
    the README's settings tables: `| `name` | default | meaning |`."""
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", DOCS, flags=re.MULTILINE))
    settable = set(project_vars(ROOT)) - RESERVED_VARS
    assert settable <= documented, f"vars missing from the README: {sorted(settable - documented)}"


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"),
                  flags=re.MULTILINE | re.DOTALL)
    return {github_anchor(heading) for heading in re.findall(r"^#+ (.*)$", text, re.MULTILINE)}


LINKS = [(page, target) for page in PAGES
         for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8"))
         if not target.startswith(("http://", "https://", "mailto:"))]


@pytest.mark.parametrize(("page", "target"), LINKS,
                         ids=[f"{page.name}->{target}" for page, target in LINKS])
def test_links_lead_to_a_file_and_heading(page: Path, target: str) -> None:
    path, _, anchor = target.partition("#")
    linked = (page.parent / path).resolve() if path else page
    assert linked.exists(), f"{page.name}: {target}: no such file"
    if anchor:
        assert anchor in anchors(linked), f"{page.name}: {target}: no such heading"


def test_readme_is_short_and_links_every_docs_page() -> None:
    assert len(README.splitlines()) <= 150
    linked = set(re.findall(r"\]\(docs/([a-z-]+\.md)", README))
    assert linked == {page.name for page in PAGES[1:]}
