"""The documentation: generated pages match the code, and every relative link leads somewhere."""

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "run `.venv/bin/python scripts/docs.py` and commit the result"


def load_generator() -> ModuleType:
    """scripts/docs.py, imported as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("returnflow_docs_script", ROOT / "scripts" / "docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docs = load_generator()
GENERATED = sorted(docs.pages())


@pytest.mark.parametrize("page", GENERATED, ids=[str(path) for path in GENERATED])
def test_generated_page_is_what_the_script_prints(page: Path) -> None:
    committed = ROOT / page
    assert committed.is_file(), f"{page} is missing; {REGENERATE}"
    assert committed.read_text(encoding="utf-8") == docs.pages()[page], (
        f"{page} differs from what scripts/docs.py prints from the code; {REGENERATE}"
    )


def test_generation_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages show the defaults of the code, whatever this machine's settings say."""
    before = docs.pages()
    monkeypatch.setenv("RETURNFLOW_API_PORT", "9999")
    monkeypatch.setenv("DATABASE_URL", "postgresql://elsewhere/db")
    assert docs.pages() == before


def test_check_names_a_stale_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for path, text in docs.pages().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    assert docs.stale(tmp_path) == []
    (tmp_path / docs.CONFIGURATION).write_text("edited by hand\n", encoding="utf-8")
    (tmp_path / docs.DEFAULT_POLICY_PAGE).unlink()
    assert docs.stale(tmp_path) == [docs.CONFIGURATION, docs.DEFAULT_POLICY_PAGE]
    assert docs.main(["--check"]) == 0  # the committed tree itself is up to date
    assert capsys.readouterr().out == ""


def test_every_setting_and_policy_field_is_on_its_page() -> None:
    from domain.policy import Policy
    from domain.risk import RiskRules
    from returnflow.settings import Settings, environment_variable

    configuration = docs.pages()[docs.CONFIGURATION]
    for name, info in Settings.model_fields.items():
        assert f"| `{environment_variable(name)}` |" in configuration
        assert info.description, f"Settings.{name} has no description for docs/configuration.md"
    policy = docs.pages()[docs.DEFAULT_POLICY_PAGE]
    fields = [*Policy.model_fields, *(f"risk.{name}" for name in RiskRules.model_fields)]
    missing = [name for name in fields if f"| `{name}` |" not in policy]
    assert not missing, f"policy fields without a row in docs/default-policy.md: {missing}"


# ---- links --------------------------------------------------------------------------------------

PAGES = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def without_code(markdown: str) -> str:
    return CODE_SPAN.sub("", FENCE.sub("", markdown))


def links(markdown: str) -> list[str]:
    prose = without_code(markdown)
    return INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose)


def anchors(markdown: str) -> set[str]:
    """The ids GitHub gives the headings of a page: lower case, punctuation dropped, spaces as dashes."""
    seen: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", markdown)):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        if count:
            seen[f"{slug}-{count}"] = 1
    return set(seen)


def test_the_link_finder_finds_links() -> None:
    text = "[a](docs/x.md) `[b](no.md)` [c](https://example.com) <http://e>\n```\n[d](no.md)\n```\n[e]: ../y.md\n"
    assert links(text) == ["docs/x.md", "https://example.com", "../y.md"]
    assert anchors("# Watch the runs\n## Running with Docker Compose (optional)\n## `a` b\n## `a` b") == {
        "watch-the-runs",
        "running-with-docker-compose-optional",
        "a-b",
        "a-b-1",
    }


@pytest.mark.parametrize("page", PAGES, ids=[str(path.relative_to(ROOT)) for path in PAGES])
def test_relative_links_point_at_existing_files(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            continue  # https:, mailto: …
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.is_relative_to(ROOT) or not linked.exists():
            broken.append(f"{target}: no such file in the repository")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text(encoding="utf-8")):
            broken.append(f"{target}: {linked.relative_to(ROOT)} has no heading #{anchor}")
    assert not broken, f"broken links in {page.relative_to(ROOT)}:\n" + "\n".join(broken)
