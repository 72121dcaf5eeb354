"""Template sources: Django's `{# … #}` comment ends at the end of its line, so one spread over several
lines is rendered as text on the page (it once printed itself in every row of the Scenes list)."""

from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def template_files() -> list[Path]:
    folders = [ROOT / "templates", *ROOT.glob("*/templates")]
    return sorted(p for folder in folders for p in folder.rglob("*.html"))


def test_the_templates_are_found():
    assert len(template_files()) > 20


def test_no_template_comment_spans_lines():
    unclosed = []
    for path in template_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            # Each {# on a line must be closed on that line.
            rest = line
            while "{#" in rest:
                rest = rest[rest.index("{#") + 2 :]
                if "#}" not in rest:
                    unclosed.append(f"{path.relative_to(ROOT)}:{number}")
                    break
                rest = rest[rest.index("#}") + 2 :]
    assert unclosed == [], "multi-line {# #} comments (use {% comment %}): " + ", ".join(unclosed)
