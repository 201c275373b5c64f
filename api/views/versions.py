"""The version document clients read to discover v3 and its microversion range."""

from __future__ import annotations

from typing import Any

from api import microversions

__all__ = ["version_document"]

_UPDATED = "2023-08-31T00:00:00Z"


def version_document(base_url: str) -> dict[str, Any]:
    return {"versions": [{
        "id": "v3.0",
        "status": "CURRENT",
        "version": str(microversions.MAX),
        "min_version": str(microversions.MIN),
        "updated": _UPDATED,
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
            {"rel": "self", "href": f"{base_url}/v3/"},
        ],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.volume+json;version=3"}],
    }]}
