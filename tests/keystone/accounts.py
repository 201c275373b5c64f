"""The accounts the test Keystone holds: the install guide's, plus the policy tests'.

Made through Keystone's admin API (not keystone-manage) because each keystone-manage
run costs seconds of imports, and because the identity endpoints of the cached
bootstrapped state must be pointed at the port Keystone really listens on.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

__all__ = ["User", "USERS", "REGION", "DOMAIN", "BOOTSTRAP_URL", "create_accounts"]

REGION = "RegionOne"
DOMAIN = "default"
# The identity endpoints of the cached bootstrapped state; create_accounts() points
# them at the port Keystone really listens on.
BOOTSTRAP_URL = "http://127.0.0.1:5000/v3"


@dataclass(frozen=True)
class User:
    name: str
    password: str
    project: str
    roles: tuple[str, ...]


# Who exists after bootstrap; passwords are fixed so a person can log in by hand.
USERS = (
    User("admin", "admin-password", "admin", ("admin",)),
    User("cinder", "cinder-password", "service", ("admin", "service")),
    User("demo", "demo-password", "demo", ("member",)),
    User("demo-reader", "demo-reader-password", "demo", ("reader",)),
    User("alt-demo", "alt-demo-password", "alt-demo", ("member",)),
)


class _Admin:
    """Just enough of Keystone's admin API to create the test accounts."""

    def __init__(self, url: str, token: str) -> None:
        self.client = httpx.Client(base_url=url, headers={"X-Auth-Token": token})

    def create(self, collection: str, body: dict) -> str:
        kind = collection.rstrip("s")
        response = self.client.post(f"/{collection}", json={kind: body})
        response.raise_for_status()
        return response.json()[kind]["id"]

    def lookup(self, collection: str, name: str) -> str:
        response = self.client.get(f"/{collection}", params={"name": name})
        response.raise_for_status()
        return response.json()[collection][0]["id"]

    def repoint_identity(self, url: str) -> None:
        response = self.client.get("/endpoints")
        response.raise_for_status()
        for endpoint in response.json()["endpoints"]:
            if endpoint["url"] == BOOTSTRAP_URL:
                self.client.patch(f"/endpoints/{endpoint['id']}", json={
                    "endpoint": {"url": url}}).raise_for_status()

    def grant(self, project: str, user: str, role: str) -> None:
        self.client.put(f"/projects/{project}/users/{user}/roles/{role}").raise_for_status()


def create_accounts(url: str, admin_token: str, api_port: int) -> None:
    """Every user of USERS (admin exists already) and the volumev3 endpoints on
    ``api_port``; ``url`` is Keystone's v3 root, where its identity endpoints now point."""
    admin = _Admin(url, admin_token)
    admin.repoint_identity(url)
    # keystone-manage bootstrap makes these four roles (admin implies member implies reader).
    roles = {name: admin.lookup("roles", name)
             for name in ("admin", "member", "reader", "service")}
    projects = {"admin": admin.lookup("projects", "admin")}
    for user in USERS:
        if user.name == "admin":
            continue
        if user.project not in projects:
            projects[user.project] = admin.create("projects", {
                "name": user.project, "domain_id": DOMAIN})
        user_id = admin.create("users", {"name": user.name, "password": user.password,
                                         "domain_id": DOMAIN})
        for role in user.roles:
            admin.grant(projects[user.project], user_id, roles[role])
    service = admin.create("services", {"type": "volumev3", "name": "cinderv3"})
    for interface in ("public", "internal", "admin"):
        admin.create("endpoints", {
            "service_id": service, "interface": interface, "region_id": REGION,
            "url": f"http://127.0.0.1:{api_port}/v3/%(project_id)s"})
