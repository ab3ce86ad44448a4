"""Metadata API XML helpers: the ``http://soap.sforce.com/2006/04/metadata`` namespace, element builders and
readers, ``package.xml``. No rules here (those are in ``metadata.py`` and ``eca.py``)."""

from __future__ import annotations

from lxml import etree

MD_NS = "http://soap.sforce.com/2006/04/metadata"


def package_xml(types: dict[str, list[str]]) -> bytes:
    """A ``package.xml`` listing ``{type: [members]}`` (sorted), API version 66.0."""
    root = etree.Element("Package", nsmap={None: MD_NS})
    for md_type in sorted(types):
        t = sub(root, "types")
        for member in sorted(types[md_type]):
            sub(t, "members", member)
        sub(t, "name", md_type)
    sub(root, "version", "66.0")
    return xml(root)


def md(tag: str):
    """A root element ``tag`` in the metadata namespace."""
    return etree.Element(f"{{{MD_NS}}}{tag}", nsmap={None: MD_NS})


def sub(parent, tag: str, text: str | None = None):
    """A child element ``tag`` (with ``text`` when given) in the metadata namespace."""
    el = etree.SubElement(parent, f"{{{MD_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def xml(root) -> bytes:
    """UTF-8 bytes with an XML declaration, pretty-printed."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def b(value: bool) -> str:
    """``true`` / ``false``."""
    return "true" if value else "false"


def children(el, tag: str) -> list:
    """The child elements of ``el`` whose local name is ``tag`` (any namespace); ``[]`` for ``None``."""
    if el is None:
        return []
    return [c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == tag]


def child(el, tag: str):
    """The first child ``tag`` of ``el``, or ``None``."""
    found = children(el, tag)
    return found[0] if found else None


def text(el, tag: str) -> str | None:
    """The stripped text of the first child ``tag``, or ``None`` when there is no such child."""
    c = child(el, tag)
    return (c.text or "").strip() if c is not None else None


def texts(el, tag: str) -> list[str]:
    """The stripped texts of every child ``tag``."""
    return [(c.text or "").strip() for c in children(el, tag)]
