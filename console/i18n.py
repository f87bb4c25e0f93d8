"""The console's message catalogs: English is the source text, Simplified Chinese is translated.

Each area of the console keeps its own catalog, ``locales/zh_Hans/LC_MESSAGES/<area>.po``
(standard gettext files, edited with any PO editor), so areas are translated
independently; they are read with Babel and merged once at start-up. A label with no
translation shows in English (``tests/test_console_i18n.py`` keeps every label translated).
"""

import io
from functools import cache
from gettext import NullTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = Path(__file__).with_name("locales")
# The languages an operator can pick, by the code stored on its account; the folder of each catalog.
CATALOG_FOLDERS = {"en": None, "zh-Hans": "zh_Hans"}
LANGUAGE_NAMES = {"en": "English", "zh-Hans": "简体中文"}


def catalog_files(language: str) -> list[Path]:
    folder = CATALOG_FOLDERS[language]
    return sorted((LOCALES / folder / "LC_MESSAGES").glob("*.po")) if folder else []


@cache
def translations(language: str) -> NullTranslations:
    """The merged catalogs of ``language`` (English: the labels as written)."""
    merged = Translations()
    for path in catalog_files(language):
        with path.open("rb") as source:
            catalog = read_po(source, locale=CATALOG_FOLDERS[language])
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        merged.merge(Translations(compiled))
    return merged


def preferred_language(accept_language: str) -> str:
    """The console language for a browser not signed in yet: Chinese when its first choice is Chinese."""
    first = accept_language.split(",", 1)[0].strip().lower()
    return "zh-Hans" if first.startswith("zh") else "en"
