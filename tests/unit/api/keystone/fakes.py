"""A fake Keystone token endpoint, for testing the validator and its cache without a
server. The real Keystone is exercised in tests/keystone."""

from __future__ import annotations

from datetime import datetime

from api.keystone.client import TokenIdentity


class FakeKeystone:
    """Knows a fixed set of tokens and counts how often it was asked."""

    def __init__(self) -> None:
        self.tokens: dict[str, TokenIdentity] = {}
        self.calls: list[str] = []

    def issue(self, token: str, expires_at: datetime, project_id: str = "p1",
              roles: tuple[str, ...] = ("member", "reader")) -> TokenIdentity:
        identity = TokenIdentity(f"user-of-{token}", project_id, roles, expires_at)
        self.tokens[token] = identity
        return identity

    def revoke(self, token: str) -> None:
        del self.tokens[token]

    def validate(self, token: str) -> TokenIdentity | None:
        self.calls.append(token)
        return self.tokens.get(token)
