"""A real Keystone on 127.0.0.1 for tests and for trying the clients by hand.

SQLite, fernet tokens, the in-process cache and cheap password hashing keep it fast;
gunicorn runs it with one worker because a second one hits "database is locked" on
SQLite. ``start()`` copies a cached bootstrapped state and adds the accounts of
``accounts.py``: the install guide's (admin, the ``cinder`` service user, the
``volumev3`` endpoints) and the policy tests' (a member and a reader of ``demo``, a
member of a second project).

By hand: ``python -m tests.keystone.server [--port 5000] [--api-port 8776]`` runs
it in the foreground and prints an openrc for each user.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.keystone.accounts import BOOTSTRAP_URL, DOMAIN, REGION, USERS, User, create_accounts
from tests.keystone.cached import CACHE, built_once, digest, ensure_venv

__all__ = ["Keystone", "User", "start", "free_port"]

HERE = Path(__file__).parent
# What keystone-manage leaves in a state directory; a session starts from a copy.
_STATE = ("keystone.db", "fernet-keys", "fernet-receipts", "credential-keys")


@dataclass
class Keystone:
    port: int
    api_port: int
    workdir: Path
    process: subprocess.Popen[bytes]
    users: dict[str, User] = field(default_factory=lambda: {u.name: u for u in USERS})

    @property
    def url(self) -> str:
        """The identity v3 endpoint (what OS_AUTH_URL names)."""
        return f"http://127.0.0.1:{self.port}/v3"

    def token(self, user: str) -> tuple[str, dict]:
        """A project-scoped token of ``user`` and the token body Keystone returned."""
        account = self.users[user]
        response = httpx.post(f"{self.url}/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": account.name, "domain": {"id": DOMAIN},
                "password": account.password}}},
            "scope": {"project": {"name": account.project, "domain": {"id": DOMAIN}}}}})
        response.raise_for_status()
        return response.headers["X-Subject-Token"], response.json()["token"]

    def short_lived_token(self, user: str, seconds: float) -> tuple[str, datetime]:
        """A token of ``user`` that expires in ``seconds``, and when: tokens issued for
        an application credential die with it."""
        token, body = self.token(user)
        expires = datetime.now(UTC) + timedelta(seconds=seconds)
        created = httpx.post(
            f"{self.url}/users/{body['user']['id']}/application_credentials",
            headers={"X-Auth-Token": token},
            json={"application_credential": {
                "name": f"short-{time.time()}",
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}})
        created.raise_for_status()
        credential = created.json()["application_credential"]
        issued = httpx.post(f"{self.url}/auth/tokens", json={"auth": {"identity": {
            "methods": ["application_credential"], "application_credential": {
                "id": credential["id"], "secret": credential["secret"]}}}})
        issued.raise_for_status()
        return issued.headers["X-Subject-Token"], expires

    def revoke(self, token: str) -> None:
        admin, _ = self.token("admin")
        httpx.delete(f"{self.url}/auth/tokens", headers={
            "X-Auth-Token": admin, "X-Subject-Token": token}).raise_for_status()

    def openrc(self, user: str) -> str:
        account = self.users[user]
        return "\n".join(f"export {key}={value}" for key, value in (
            ("OS_AUTH_URL", self.url), ("OS_IDENTITY_API_VERSION", 3),
            ("OS_USERNAME", account.name), ("OS_PASSWORD", account.password),
            ("OS_PROJECT_NAME", account.project), ("OS_USER_DOMAIN_ID", DOMAIN),
            ("OS_PROJECT_DOMAIN_ID", DOMAIN), ("OS_REGION_NAME", REGION)))

    def authtoken_section(self) -> str:
        """What cinderblock.conf needs to validate tokens against this Keystone."""
        cinder = self.users["cinder"]
        return (f"[keystone_authtoken]\nwww_authenticate_uri = {self.url}\n"
                f"auth_url = {self.url}\nauth_type = password\n"
                f"project_domain_id = {DOMAIN}\nuser_domain_id = {DOMAIN}\n"
                f"project_name = {cinder.project}\nusername = {cinder.name}\n"
                f"password = {cinder.password}\n")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _config(workdir: Path) -> str:
    return f"""[DEFAULT]
log_file = {workdir / "keystone.log"}
[database]
connection = sqlite:///{workdir / "keystone.db"}
[token]
provider = fernet
[fernet_tokens]
key_repository = {workdir / "fernet-keys"}
[fernet_receipts]
key_repository = {workdir / "fernet-receipts"}
[credential]
key_repository = {workdir / "credential-keys"}
[cache]
enabled = true
backend = dogpile.cache.memory
[identity]
password_hash_rounds = 4
"""


def _write_config(workdir: Path) -> Path:
    conf = workdir / "keystone.conf"
    conf.write_text(_config(workdir))
    return conf


def _manage(venv: Path, conf: Path, *args: str) -> None:
    done = subprocess.run(
        [str(venv / "bin" / "keystone-manage"), "--config-file", str(conf), *args],
        capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"keystone-manage {args[0]} failed ({done.returncode}):\n"
                           f"{done.stderr[-3000:]}")


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"keystone exited with {process.returncode}; see {log}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"keystone did not answer on {url} within 60 s; see {log}")


def _bootstrapped_state(venv: Path) -> Path:
    """Database and keys after keystone-manage's set-up steps, built once per venv and
    configuration (each step costs seconds of imports; together ~20 s)."""
    admin = next(user for user in USERS if user.name == "admin")

    def bootstrap(state: Path) -> None:
        state.mkdir(parents=True)
        conf = _write_config(state)
        _manage(venv, conf, "db_sync")
        for keys in ("fernet_setup", "credential_setup"):
            _manage(venv, conf, keys, "--keystone-user", str(os.getuid()),
                    "--keystone-group", str(os.getgid()))
        _manage(venv, conf, "bootstrap", "--bootstrap-password", admin.password,
                "--bootstrap-admin-url", BOOTSTRAP_URL, "--bootstrap-public-url",
                BOOTSTRAP_URL, "--bootstrap-internal-url", BOOTSTRAP_URL,
                "--bootstrap-region-id", REGION)

    key = digest(venv.name.encode(), _config(Path("/")).encode(), admin.password.encode())
    return built_once(CACHE / f"keystone-state-{key}", bootstrap)


def start(workdir: Path, port: int | None = None, api_port: int = 8776) -> Keystone:
    """A bootstrapped Keystone serving from ``workdir`` (seconds once the venv and the
    bootstrapped state are cached; a first run installs them)."""
    venv = ensure_venv()
    state = _bootstrapped_state(venv)
    for name in _STATE:
        copy = shutil.copytree if (state / name).is_dir() else shutil.copy2
        copy(state / name, workdir / name)
    conf = _write_config(workdir)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}/v3"
    log = workdir / "gunicorn.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(venv / "bin" / "gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{port}",
             "--pythonpath", str(HERE), "wsgi_app:application"],
            env={**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(conf)},
            stdout=output, stderr=subprocess.STDOUT)
    keystone = Keystone(port, api_port, workdir, process)
    try:
        _wait_ready(url, process, log)
        create_accounts(url, keystone.token("admin")[0], api_port)
    except BaseException:
        keystone.stop()
        raise
    return keystone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--api-port", type=int, default=8776,
                        help="port of cinderblock's API in the volumev3 endpoints")
    parser.add_argument("--workdir", type=Path, help="default: a new temporary directory")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cinderblock-keystone-"))
    workdir.mkdir(parents=True, exist_ok=True)
    # SIGTERM (kill, timeout) must stop gunicorn too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    keystone = start(workdir, args.port, args.api_port)
    try:
        for user in keystone.users:
            print(f"# {user}\n{keystone.openrc(user)}\n")
        print(f"# cinderblock.conf\n{keystone.authtoken_section()}", flush=True)
        print(f"# keystone {keystone.url} (state in {workdir}); Ctrl-C stops it", flush=True)
        keystone.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        keystone.stop()


if __name__ == "__main__":
    main()
