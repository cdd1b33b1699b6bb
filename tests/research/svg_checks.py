"""Checks shared by the chart and map tests: well-formed, self-contained, accessible SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
FORBIDDEN_TAGS = {"script", "foreignObject", "style", "image", "use", "a", "iframe"}


def parse(svg: str) -> ET.Element:
    """Parse as XML (raises on anything malformed) and return the root <svg>."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def assert_self_contained(root: ET.Element) -> None:
    """No script, no styles, no event handler, nothing that loads from anywhere."""
    for element in root.iter():
        assert local(element.tag) not in FORBIDDEN_TAGS
        for name, value in element.attrib.items():
            assert "href" not in local(name)
            assert not local(name).startswith("on")
            assert local(name) != "style"
            assert "url(" not in value
            assert "http" not in value.replace(
                "http://www.w3.org/2000/svg", "")


def assert_accessible(root: ET.Element) -> None:
    """role="img", and aria-labelledby naming the <title> and <desc> children."""
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None
    assert title.text
    assert desc is not None
    assert desc.text
    assert root.get("aria-labelledby", "").split() == [title.get("id"), desc.get("id")]
