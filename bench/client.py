"""One httpx client for both systems: the same requests, headers and polling for each,
through the Block Storage v3 API under noauth."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

#: short next to both systems' create times: a volume is seen available at most this late
POLL_INTERVAL = 0.005
HTTP_TIMEOUT = 120.0
#: a wait gives up when nothing moved for this long: a lost message leaves a volume in
#: ``creating`` for ever, and the figure must end as n/a rather than hang the run
STALL = 60.0
#: a batch's wall time is read to within 1/BATCH_PRECISION of itself
BATCH_PRECISION = 100
CONNECTOR = {"initiator": "iqn.1993-08.org.debian:01:cinderblock-bench", "ip": "127.0.0.1",
             "host": "bench-client", "multipath": False, "platform": "x86_64",
             "os_type": "linux"}
ATTACH_MICROVERSION = "3.44"
IDEMPOTENT = ("GET", "DELETE")


class ApiError(RuntimeError):
    """A request the benchmark relies on did not get the answer it needs."""


@dataclass(frozen=True)
class Settled:
    """How a batch of creates ended: seconds from the first request to the last volume
    that became available, how many did, and how many went to error or got stuck."""

    seconds: float
    available: int
    failed: int


#: what a request to a system under test can fail with (a malformed body included); a
#: figure records it and goes on
FAILURES = (ApiError, httpx.HTTPError, ValueError, KeyError)


class Api:
    """One project on one system. Thread-safe: httpx.Client pools connections across threads."""

    def __init__(self, endpoint: str, project: str, max_connections: int = 250) -> None:
        self.endpoint = endpoint
        self.project = project
        self.http = httpx.Client(
            base_url=f"{endpoint}/v3/{project}", timeout=HTTP_TIMEOUT,
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections))

    def close(self) -> None:
        self.http.close()

    def headers(self, microversion: str | None = None, fresh: bool = False,
                service: bool = False) -> dict[str, str]:
        """noauth identity; ``fresh`` asks for a new TCP connection per request, which keeps
        a server without TCP_NODELAY (Cinder) out of the delayed-ACK stall of a reused one;
        ``service`` is what Cinder's noauth wants before it deletes a connected attachment."""
        h = {"X-Auth-Token": f"bench:{self.project}", "Accept": "application/json"}
        if microversion:
            h["OpenStack-API-Version"] = f"volume {microversion}"
        if fresh:
            h["Connection"] = "close"
        if service:
            h["X-Service-Roles"] = "service"
        return h

    def request(self, method: str, path: str, expect: tuple[int, ...], *,
                microversion: str | None = None, fresh: bool = False, service: bool = False,
                body: Any = None, params: dict[str, str] | None = None) -> httpx.Response:
        """One request; a GET or DELETE is sent again once when the server closed the
        kept-alive connection just as it was reused (an HTTP/1.1 race, not a failure)."""
        headers = self.headers(microversion, fresh, service)
        try:
            r = self.http.request(method, path, json=body, params=params, headers=headers)
        except httpx.RemoteProtocolError:
            if method not in IDEMPOTENT:
                raise
            r = self.http.request(method, path, json=body, params=params, headers=headers)
        if r.status_code not in expect:
            raise ApiError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r

    def timed_get(self, path: str, fresh: bool) -> float:
        t0 = time.perf_counter()
        r = self.http.get(path, headers=self.headers(fresh=fresh))
        r.read()
        elapsed = time.perf_counter() - t0
        if r.status_code != 200:
            raise ApiError(f"GET {path}: {r.status_code} {r.text[:300]}")
        return elapsed

    def services(self) -> list[dict[str, Any]] | None:
        """os-services, or None while the API does not answer yet."""
        try:
            r = self.http.get("/os-services", headers=self.headers(), timeout=5)
        except httpx.TransportError:
            return None
        return r.json().get("services", []) if r.status_code == 200 else None

    def create_volume(self, name: str, size: int = 1) -> str:
        r = self.request("POST", "/volumes", (202,),
                         body={"volume": {"size": size, "name": name}})
        return r.json()["volume"]["id"]

    def wait_available(self, volume_id: str, since: float) -> float:
        """Poll on a fixed schedule from ``since`` until available; seconds taken. Each
        poll opens its own connection, or Cinder's delayed-ACK stall (see ``headers``)
        would add up to 40 ms to its figure."""
        tick = 1
        while True:
            time.sleep(max(0.0, since + tick * POLL_INTERVAL - time.perf_counter()))
            tick = max(tick + 1, int((time.perf_counter() - since) / POLL_INTERVAL) + 1)
            r = self.request("GET", f"/volumes/{volume_id}", (200,), fresh=True)
            status = r.json()["volume"]["status"]
            if status == "available":
                return time.perf_counter() - since
            if status.startswith("error"):
                raise ApiError(f"volume {volume_id} went to {status}")
            if time.perf_counter() - since > STALL:
                raise ApiError(f"volume {volume_id} still {status} after {STALL:.0f} s")

    def delete_volume(self, volume_id: str) -> None:
        self.request("DELETE", f"/volumes/{volume_id}", (202, 404))

    def purge_volume(self, volume_id: str) -> None:
        """Delete, forcing it (admin) when the status forbids a plain delete (400), as for a
        volume stuck in ``creating``: cleanup must leave the project empty either way."""
        r = self.request("DELETE", f"/volumes/{volume_id}", (202, 400, 404))
        if r.status_code == 400:
            self.request("POST", f"/volumes/{volume_id}/action", (202, 404),
                         body={"os-force_delete": {}})

    def volume_ids(self, status: str | None = None) -> set[str]:
        """Every volume id of the project (following markers), optionally of one status."""
        ids: set[str] = set()
        marker = None
        while True:
            params = {"limit": "1000"}
            if status:
                params["status"] = status
            if marker:
                params["marker"] = marker
            page = self.request("GET", "/volumes", (200,), params=params).json()["volumes"]
            ids.update(v["id"] for v in page)
            if len(page) < 1000:
                return ids
            marker = page[-1]["id"]

    def wait_all_available(self, ids: set[str], since: float,
                           interval: float = 0.05) -> Settled:
        """One poller listing the project until every id is available, in error, or stuck
        (no progress for STALL); failures are counted, not raised, so a figure can say
        how many creates a system lost.

        It lists every ``interval`` at first, then every 1/BATCH_PRECISION of the time
        waited so far: the wall time stays within 1 %, and a listing of up to 1,000
        volumes (hundreds of ms of a slow API's CPU) is not repeated back to back for
        minutes, slowing the very creates it waits for.
        """
        polls, settled, moved_at = 0, 0, time.perf_counter()
        done: set[str] = set()
        errored: set[str] = set()
        last_done_at = since
        while True:
            time.sleep(max(interval, (time.perf_counter() - since) / BATCH_PRECISION))
            polls += 1
            now_done = ids & self.volume_ids("available")
            if len(now_done) > len(done):
                last_done_at = time.perf_counter()
            done = now_done
            if polls % 10 == 0 and len(done) < len(ids):
                errored = ids & self.volume_ids("error")
            if len(done) + len(errored) == len(ids):
                return Settled(last_done_at - since, len(done), len(errored))
            if len(done) + len(errored) > settled:
                settled, moved_at = len(done) + len(errored), time.perf_counter()
            elif time.perf_counter() - moved_at > STALL:
                return Settled(last_done_at - since, len(done), len(ids) - len(done))

    def wait_gone(self, ids: set[str], since: float, interval: float = 0.1) -> float:
        """Seconds until no id is listed any more; raises when that stops progressing."""
        remaining, moved_at = len(ids), time.perf_counter()
        while True:
            time.sleep(interval)
            left = len(ids & self.volume_ids())
            if not left:
                return time.perf_counter() - since
            if left < remaining:
                remaining, moved_at = left, time.perf_counter()
            elif time.perf_counter() - moved_at > STALL:
                raise ApiError(f"{left} of {len(ids)} volumes not deleted, "
                               f"no progress for {STALL:.0f} s")

    def attach_round_trip(self, volume_id: str) -> dict[str, float] | None:
        """Attachment create with a connector, os-complete, delete: seconds per step and in
        total, or None when the system has no attachments API (404 or 405; the volume
        exists, so a 404 cannot be about it)."""
        mv = ATTACH_MICROVERSION
        t0 = time.perf_counter()
        r = self.request("POST", "/attachments", (200, 202, 404, 405), microversion=mv,
                         body={"attachment": {"volume_uuid": volume_id,
                                              "connector": CONNECTOR}})
        if r.status_code in (404, 405):
            return None
        attachment_id = r.json()["attachment"]["id"]
        t1 = time.perf_counter()
        self.request("POST", f"/attachments/{attachment_id}/action", (200, 202, 204),
                     microversion=mv, body={"os-complete": None})
        t2 = time.perf_counter()
        self.request("DELETE", f"/attachments/{attachment_id}", (200, 202, 204),
                     microversion=mv, service=True)
        t3 = time.perf_counter()
        return {"create": t1 - t0, "complete": t2 - t1, "delete": t3 - t2, "total": t3 - t0}
