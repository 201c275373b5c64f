"""What the controller stores about an export, and what os-brick and Nova read.

``provider_location`` (``"ip:port,1 iqn lun"``) and ``provider_auth``
(``"CHAP user secret"``) keep Cinder's formats so the controller persists them as
Cinder does; ``connection_info`` has the exact keys os-brick's iSCSI connector uses.
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

__all__ = ["Chap", "new_chap", "parse_auth", "format_auth", "format_location",
           "location_iqn", "connection_info", "valid_initiator"]

_ALPHABET = string.ascii_letters + string.digits
_USER_LENGTH = 20
# 16 characters: long enough for RFC 3720's advice, short enough for initiators
# (Windows' among them) that cap the secret at 16.
_SECRET_LENGTH = 16
_INITIATOR = re.compile(
    r"^(iqn\.\d{4}-\d{2}\.[^\s_]+|eui\.[0-9a-fA-F]{16}|naa\.[0-9a-fA-F]{16,32})$")

Chap = tuple[str, str]


def new_chap() -> Chap:
    """Fresh per-volume credentials from the OS's cryptographic random source."""
    def pick(length: int) -> str:
        return "".join(secrets.choice(_ALPHABET) for _ in range(length))
    return pick(_USER_LENGTH), pick(_SECRET_LENGTH)


def parse_auth(provider_auth: str | None) -> Chap | None:
    """``"CHAP user secret"`` -> (user, secret); anything else means no credentials."""
    parts = (provider_auth or "").split()
    if len(parts) == 3 and parts[0] == "CHAP":
        return parts[1], parts[2]
    return None


def format_auth(chap: Chap) -> str:
    return f"CHAP {chap[0]} {chap[1]}"


def format_location(portal: str, iqn: str, lun: int = 0) -> str:
    return f"{portal},1 {iqn} {lun}"


def location_iqn(provider_location: str | None, lv_name: str) -> str | None:
    """The IQN a stored location names, if it is this volume's: a volume keeps the
    IQN it was first exported with even if ``target_prefix`` changed since."""
    parts = (provider_location or "").split()
    if len(parts) >= 2 and parts[1].endswith(lv_name) and parts[1].startswith("iqn."):
        return parts[1].lower()
    return None


def valid_initiator(initiator: Any) -> bool:
    return isinstance(initiator, str) and bool(_INITIATOR.match(initiator))


def connection_info(*, volume_id: str, iqn: str, portal: str, chap: Chap, access_mode: str,
                    discard: bool, multipath: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "target_discovered": False,
        "target_iqn": iqn,
        "target_portal": portal,
        "target_lun": 0,
        "volume_id": volume_id,
        "auth_method": "CHAP",
        "auth_username": chap[0],
        "auth_password": chap[1],
        "encrypted": False,
        "access_mode": access_mode,
        "discard": discard,
    }
    if multipath:
        data.update(target_portals=[portal], target_iqns=[iqn], target_luns=[0])
    return {"driver_volume_type": "iscsi", "data": data}
