"""The theory shipped with the package (getheory._theory): every section getheory cites is in it.

Each ``docs/theory.md §N`` (and ``§N, Named paragraph``) in getheory's source, which its outputs
print, must name a section of the theory an installed package ships, so that ``getheory theory N``
shows what the output refers to.
"""

import pathlib
import re

import pytest

import getheory
from getheory._theory import theory_section, theory_sections, theory_text

ROOT = pathlib.Path(getheory.__file__).parent
REPO = ROOT.parent


def _flat_sources():
    """Each module's source with its lines joined (a citation may wrap, in a comment too)."""
    for path in sorted(ROOT.rglob("*.py")):
        yield path, re.sub(r"\s*\n\s*(?:#+:?\s*)?", " ", path.read_text(encoding="utf-8"))


def _cited_sections() -> set:
    return {m.group(1) for _, text in _flat_sources() for m in re.finditer(r"§\s?(\d+(?:\.\d+)*)", text)}


def _cited_paragraphs() -> set:
    """(section, name) of every citation ``§N, Name`` of a named paragraph or unnumbered heading."""
    return {(m.group(1), m.group(2).strip()) for _, text in _flat_sources()
            for m in re.finditer(r"§(\d+(?:\.\d+)*), ([A-Z][^).,;:`\"'§]*)", text)}


def _named_parts(section: str) -> list:
    """The bold paragraph names and the headings inside a section, lower case."""
    text = theory_section(section)
    names = re.findall(r"\*\*([^*]+?)\.?\*\*", text) + re.findall(r"^#+\s+(.*)$", text, flags=re.MULTILINE)
    return [n.strip().lower() for n in names]


def test_the_shipped_theory_is_the_one_a_checkout_reads():
    assert theory_text() == (REPO / "docs" / "theory.md").read_text(encoding="utf-8")


def test_every_section_the_package_cites_is_in_the_shipped_theory():
    cited = _cited_sections()
    assert {"1", "2", "4.1", "4.2", "7.4", "10.5"} <= cited  # the reader sees the citations
    missing = sorted(cited - {n for n, _ in theory_sections()}, key=lambda s: [int(x) for x in s.split(".")])
    assert not missing, f"getheory cites sections the theory does not have: {missing}"


def test_every_named_paragraph_the_package_cites_is_in_its_section():
    cited = _cited_paragraphs()
    assert ("4.1", "Sharded runs") in cited
    missing = [(n, name) for n, name in sorted(cited)
               if not any(part.startswith(name.lower()) for part in _named_parts(n))]
    assert not missing, f"named paragraphs cited but not found in their section: {missing}"


def test_the_sections_are_the_numbered_headings_in_order():
    numbers = [n for n, _ in theory_sections()]
    assert numbers[:6] == ["1", "2", "3", "4", "4.1", "4.2"] and numbers[-1] == "10.7"
    assert len(numbers) == len(set(numbers))


@pytest.mark.parametrize("given", ["4.1", "§4.1", "§ 4.1", "docs/theory.md §4.1", " 4.1 "])
def test_a_section_is_found_as_the_outputs_cite_it(given):
    text = theory_section(given)
    assert text.startswith("### 4.1 The streaming estimation engine")
    assert "**Sharded runs.**" in text and "### 4.2" not in text


def test_a_section_holds_its_subsections_and_stops_at_the_next_one():
    four = theory_section("4")
    assert four.startswith("## 4. The distance") and "### Resolution" in four and "### 4.2" in four
    assert "## 5." not in four
    assert theory_section("10.7").startswith("### 10.7 Generator against Gaussian")


@pytest.mark.parametrize("bad, near", [("99.9", "nearest"), ("4.9", "nearest: §4, §4.1, §4.2"), ("abc", "§10.7")])
def test_an_unknown_section_is_refused_naming_the_valid_ones(bad, near):
    with pytest.raises(ValueError, match="no section") as info:
        theory_section(bad)
    assert near in str(info.value) and "\n" not in str(info.value)


def test_the_root_exports_the_theory_reader():
    assert getheory.theory_section is theory_section and "theory_section" in getheory.__all__
