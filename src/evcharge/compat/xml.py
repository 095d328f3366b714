"""DataContract XML as WCF's DataContractSerializer reads and writes it — read safely.

Parsing goes through defusedxml with DTDs, entities and external references all
forbidden, so an XML bomb or an external entity is refused at its DOCTYPE, before
anything is expanded or fetched."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from evcharge.compat.body import BodyError, UnsupportedMediaType, decode
from evcharge.compat.dates import format_datetime
from evcharge.compat.numbers import plain_decimal

XML_TYPES = frozenset({"application/xml", "text/xml"})
XSI = "http://www.w3.org/2001/XMLSchema-instance"
DATA_CONTRACT = "http://schemas.datacontract.org/2004/07/"
_NIL = f"{{{XSI}}}nil"


def _local(tag: str) -> tuple[str, str]:
    """(namespace, local name) of a Clark-notation tag."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def parse_object(raw: bytes, charset: str, root: str, namespace: str) -> dict[str, Any]:
    """The member elements of a DataContract object as {local name: text}.

    Quirk kept from DataContractSerializer: members may come in any order and unknown
    members are ignored. Beyond it, names match case-insensitively (the caller's binder
    does that), in any namespace, and the object may come without namespaces at all.
    A member with `i:nil="true"` is null (None); one holding elements is `{}`, which
    the binder refuses for a known member and ignores for an unknown one."""
    if not raw.strip():
        return {}
    try:
        source: bytes | str = decode(raw, charset) if charset else raw
        element: Element = SafeET.fromstring(
            source, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException:
        raise BodyError(
            "XML with a DTD, entity declarations or external references is not accepted."
        ) from None
    except ParseError as exc:
        raise BodyError(f"The body is not well-formed XML: {exc}.") from None
    except UnicodeDecodeError as exc:
        raise BodyError(f"The body is not valid {exc.encoding}: byte {exc.start}.") from None
    except (LookupError, ValueError):
        # The XML declaration names an encoding that is no text encoding (zlib, rot13)
        # or one the parser cannot read (multi-byte encodings other than UTF-8/16).
        raise UnsupportedMediaType(
            "", "The encoding declared in the XML declaration is not supported: use utf-8."
        ) from None
    ns, local = _local(element.tag)
    if local.lower() != root.lower() or ns not in ("", namespace):
        expected = f"'{root}' in namespace '{namespace}' (or in no namespace)"
        raise BodyError(f"Expecting element {expected}, found '{local}' in '{ns}'.")
    fields: dict[str, Any] = {}
    seen: set[str] = set()
    for child in element:
        _, name = _local(child.tag)
        if name.lower() in seen:
            raise BodyError(f"Element '{name}' appears more than once.", name)
        seen.add(name.lower())
        if child.get(_NIL, "").strip().lower() == "true":
            fields[name.lower()] = None
        else:
            fields[name.lower()] = {} if len(child) else child.text or ""
    return fields


def escape(text: str, *, attribute: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attribute:
        text = text.replace('"', "&quot;")
    return text.replace("\r", "&#xD;")


def value_text(value: Any) -> str:
    """A scalar as DataContractSerializer writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, (int, uuid.UUID)):
        return str(value)
    return escape(str(value))


def element(name: str, value: Any, item_names: Mapping[str, str], xmlns: str = "") -> str:
    """One member element; a mapping becomes nested members, a list repeated items."""
    attrs = f' xmlns="{xmlns}"' if xmlns else ""
    if value is None:
        return f'<{name}{attrs} i:nil="true" />'
    if isinstance(value, Mapping):
        return f"<{name}{attrs}>{members(value.items(), item_names)}</{name}>"
    if isinstance(value, (list, tuple)):
        item = item_names.get(name, "Item")
        inner = "".join(element(item, v, item_names) for v in value)
        return f"<{name}{attrs}>{inner}</{name}>" if inner else f"<{name}{attrs} />"
    return f"<{name}{attrs}>{value_text(value)}</{name}>"


def members(items: Iterable[tuple[str, Any]], item_names: Mapping[str, str]) -> str:
    return "".join(element(name, value, item_names) for name, value in items)


def document(
    root: str,
    namespace: str,
    items: Iterable[tuple[str, Any]],
    item_names: Mapping[str, str] | None = None,
    *,
    prefix: str = "",
) -> bytes:
    """A whole DataContract document, compact as the serializer writes it (no declaration).
    `prefix` is raw XML placed before the members (e.g. a base-class member in its own
    namespace)."""
    inner = prefix + members(items, item_names or {})
    return (f'<{root} xmlns:i="{XSI}" xmlns="{namespace}">{inner}</{root}>').encode()
