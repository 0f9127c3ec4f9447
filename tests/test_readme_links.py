"""The README's links to its own sections (its contents line, cross-references) lead to a heading."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def headings(text: str) -> list[str]:
    """The README's headings outside code blocks."""
    found, in_code = [], False
    for line in text.splitlines():
        in_code ^= line.startswith("```")
        if not in_code and line.startswith("#"):
            found.append(line.lstrip("#").strip())
    return found


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_every_section_link_leads_to_a_heading():
    text = README.read_text()
    anchors = {anchor(heading) for heading in headings(text)}
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert len(links) >= 20  # the contents line at least
    assert [link for link in links if link not in anchors] == []


def test_the_contents_line_lists_every_section():
    text = README.read_text()
    contents = next(line for line in text.splitlines() if line.startswith("**Contents**"))
    sections = [heading for heading in headings(text) if f"\n## {heading}\n" in text]
    assert re.findall(r"\]\(#([^)]+)\)", contents) == [anchor(section) for section in sections]
