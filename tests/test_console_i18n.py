"""Every label the console's templates show has its Simplified Chinese translation."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from console.i18n import LANGUAGE_NAMES, catalog_files, translations
from console.templating import TEMPLATES


def template_labels() -> set[str]:
    extracted = extract_from_dir(
        TEMPLATES, method_map=[("**.html", "jinja2")], options_map={"**.html": {"extensions": "jinja2.ext.i18n"}}
    )
    labels: set[str] = set()
    for _file, _line, message, _comments, _context in extracted:
        labels.update([message] if isinstance(message, str) else [part for part in message if part])
    return labels


def catalog_entries(path: Path) -> dict[str, str]:
    with path.open("rb") as source:
        return {str(m.id): str(m.string) for m in read_po(source) if m.id}


def test_every_label_of_the_templates_is_translated_to_chinese() -> None:
    translated = {label: text for path in catalog_files("zh-Hans") for label, text in catalog_entries(path).items()}
    missing = sorted(label for label in template_labels() if not translated.get(label))
    assert not missing, f"labels with no zh_Hans translation (add them to an area's .po): {missing}"


def test_no_label_is_translated_twice_in_different_ways() -> None:
    seen: dict[str, tuple[str, str]] = {}
    conflicts = []
    for path in catalog_files("zh-Hans"):
        for label, text in catalog_entries(path).items():
            if label in seen and seen[label][1] != text:
                conflicts.append(f"{label!r}: {seen[label][0]} says {seen[label][1]!r}, {path.name} says {text!r}")
            seen.setdefault(label, (path.name, text))
    assert not conflicts, conflicts


def test_the_catalogs_load_for_every_language_offered() -> None:
    assert translations("zh-Hans").gettext("Log out") == "退出登录"
    assert all(translations(language).gettext("Log out") for language in LANGUAGE_NAMES)
