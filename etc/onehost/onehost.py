"""`make up` / `make down`: the whole of cinderblock on this machine.

The API and the scheduler run on the host, `cinderblock-volume` in the storage-node VM
(the host kernel has no device-mapper or LIO), all against RabbitMQ on 127.0.0.1 (its own
vhost) and a SQLite database. Everything lives in a state directory outside the checkout
(CINDERBLOCK_STATE, default /var/lib/cinderblock/onehost): the generated config, the
database, the VM's disk, pid files, logs and the client rc files. A file named by
CINDERBLOCK_CONF is read after the generated config and wins, which is how MariaDB or
PostgreSQL, another broker or Keystone are chosen.

    onehost.py up | down [--purge] | status | guest 'lvs cinder-volumes'
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from common.config import Config, load
from common.messaging import broker_urls

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SERVICE = REPO / "etc" / "cinderblock-service"
STATE = Path(os.environ.get("CINDERBLOCK_STATE", "/var/lib/cinderblock/onehost"))
# One vhost per state directory, so a test's system never shares queues with a user's.
VHOST = f"cinderblock-{STATE.name}"
LOCAL_BROKER = f"rabbit://guest:guest@127.0.0.1:5672/{VHOST}"
NODE = "storage-node"
BACKEND = "lvm"
GUEST_ADDRESS = "10.0.2.15"
HOST_FROM_GUEST = "10.0.2.100"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SERVICES_TIMEOUT = float(os.environ.get("CINDERBLOCK_UP_TIMEOUT", "300"))
STOP_TIMEOUT = 90.0


@dataclass(frozen=True)
class Process:
    """A daemon `up` started: its pid file records the pid and the kernel's start time,
    so a recycled pid is never taken for ours."""

    name: str

    @property
    def pid_file(self) -> Path:
        return STATE / "run" / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return STATE / "log" / f"{self.name}.log"

    def pid(self) -> int | None:
        try:
            recorded = json.loads(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        if _start_time(recorded["pid"]) != recorded["start_time"]:
            return None
        return int(recorded["pid"])

    def start(self, argv: list[str], env: dict[str, str]) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    cwd=REPO, env={**os.environ, **env},
                                    start_new_session=True)
        self.pid_file.write_text(json.dumps({"pid": proc.pid,
                                             "start_time": _start_time(proc.pid)}))

    def stop(self) -> bool:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT; True if it was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.pid() is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.pid() is not None:
            os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True


API, SCHEDULER, STORAGE_NODE = Process("cinderblock-api"), Process("cinderblock-scheduler"), \
    Process("storage-node")
READY_FILE = STATE / "run" / "storage-node.ready"
FAILED_FILE = STATE / "run" / "storage-node.failed"
COMMAND_SOCKET = STATE / "run" / "storage-node.sock"
# Stopped in this order: the agent's last results still reach a running scheduler.
PROCESSES = (STORAGE_NODE, API, SCHEDULER)


def _start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else int(fields[19])


def _render(template: str, **values: object) -> str:
    return string.Template((HERE / template).read_text()).substitute(values)


def _config_files() -> list[str]:
    files = [str(STATE / "cinderblock.conf")]
    if os.environ.get("CINDERBLOCK_CONF"):
        files.append(os.path.abspath(os.environ["CINDERBLOCK_CONF"]))
    return files


def _service_env() -> dict[str, str]:
    return {"CINDERBLOCK_CONFIG_FILES": ":".join(_config_files()),
            "CINDERBLOCK_PYTHON": sys.executable}


def _project_id() -> str:
    """The project of the openrc file, made once: noauth trusts any hex id."""
    path = STATE / "project_id"
    if not path.exists():
        path.write_text(uuid.uuid4().hex)
    return path.read_text().strip()


def _guest_broker(conf: Config) -> tuple[str, dict[int, int]]:
    """The agent's transport_url, and the guest->host forwards it needs: a broker on the
    host's loopback is reached from the guest through QEMU at 10.0.2.100."""
    url = urlsplit(broker_urls(conf.default, conf.rabbit)[0])
    forwards = {}
    netloc = url.netloc
    if url.hostname in LOOPBACK:
        port = url.port or 5672
        forwards[port] = port
        auth = netloc.rsplit("@", 1)[0] + "@" if "@" in netloc else ""
        netloc = f"{auth}{HOST_FROM_GUEST}:{port}"
    return f"rabbit://{netloc}{url.path}", forwards


def _ensure_vhost(conf: Config) -> None:
    """The generated config uses its own vhost on the local broker; make it once."""
    if conf.default.transport_url != LOCAL_BROKER:
        return
    vhosts = subprocess.run(["rabbitmqctl", "-q", "list_vhosts"], capture_output=True,
                            text=True, check=True).stdout.split()
    if VHOST not in vhosts:
        subprocess.run(["rabbitmqctl", "-q", "add_vhost", VHOST], check=True)
        subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", VHOST, "guest",
                        ".*", ".*", ".*"], check=True)


def endpoint(conf: Config) -> str:
    host = conf.default.osapi_volume_listen
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{host}:{conf.default.osapi_volume_listen_port}"


@dataclass(frozen=True)
class Caller:
    """Who `up` asks the API as: noauth's made-up admin of the openrc project, or under
    Keystone the [keystone_authtoken] service user (the install guide makes it admin)."""

    project: str
    headers: dict[str, str]


def _caller(conf: Config) -> Caller:
    if conf.default.auth_strategy != "keystone":
        project = _project_id()
        return Caller(project, {"X-Auth-Token": f"admin:{project}"})
    from keystoneauth1 import exceptions, session
    from keystoneauth1.identity import v3

    ks = conf.keystone
    auth = v3.Password(
        auth_url=ks.auth_url, username=ks.username, password=ks.password,
        project_name=ks.project_name, user_domain_id=ks.user_domain_id,
        user_domain_name=ks.user_domain_name, project_domain_id=ks.project_domain_id,
        project_domain_name=ks.project_domain_name)
    keystone = session.Session(auth=auth)
    try:
        return Caller(keystone.get_project_id(), keystone.get_auth_headers() or {})
    except exceptions.ClientException as exc:
        raise SystemExit(f"cannot get a token from Keystone at {ks.auth_url} as "
                         f"{ks.username}: {exc}") from exc


def _get(conf: Config, caller: Caller, path: str) -> dict[str, Any] | None:
    request = urllib.request.Request(f"{endpoint(conf)}/v3/{caller.project}/{path}",
                                     headers=caller.headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.load(answer)
    except (OSError, ValueError):
        return None


def _services(conf: Config, caller: Caller) -> list[dict[str, Any]] | None:
    return (_get(conf, caller, "os-services") or {}).get("services")


def _pool_known(conf: Config, caller: Caller) -> bool:
    """The scheduler has the storage node's capabilities: a create now finds its pool."""
    pools = (_get(conf, caller, "scheduler-stats/get_pools") or {}).get("pools", [])
    return any(pool["name"].startswith(f"{NODE}@{BACKEND}#") for pool in pools)


def _heartbeat_since(services: list[dict[str, Any]] | None, binary: str, host: str | None,
                     started: float) -> bool:
    """Is ``binary`` (on ``host``, if given) up with a heartbeat newer than ``started``?
    A service stopped by `make down` stays "up" until service_down_time passes, so only a
    heartbeat from the process this `up` runs counts."""
    for service in services or ():
        if service["binary"] != binary or (host and service["host"] != host):
            continue
        beat = datetime.fromisoformat(str(service["updated_at"])).replace(tzinfo=UTC)
        if service["state"] == "up" and beat.timestamp() >= started:
            return True
    return False


def _all_up(services: list[dict[str, Any]] | None) -> bool:
    try:
        scheduler_started = SCHEDULER.pid_file.stat().st_mtime
        node_started = READY_FILE.stat().st_mtime
    except OSError:
        return False
    return (_heartbeat_since(services, "cinder-scheduler", None, scheduler_started)
            and _heartbeat_since(services, "cinder-volume", f"{NODE}@{BACKEND}",
                                 node_started))


def _wait_up(conf: Config, caller: Caller) -> None:
    deadline = time.monotonic() + SERVICES_TIMEOUT
    while not (_all_up(services := _services(conf, caller)) and _pool_known(conf, caller)):
        if FAILED_FILE.exists():
            raise SystemExit(f"the storage node failed to start:\n{FAILED_FILE.read_text()}")
        for process in (API, SCHEDULER, STORAGE_NODE):
            if process.pid() is None:
                tail = process.log_file.read_text(errors="replace").splitlines()[-20:]
                raise SystemExit(f"{process.name} exited; the end of {process.log_file}:\n"
                                 + "\n".join(tail))
        if time.monotonic() > deadline:
            raise SystemExit(f"services not up after {SERVICES_TIMEOUT:g} s: {services}; "
                             f"logs in {STATE / 'log'}")
        time.sleep(1)


def _write_openrc(conf: Config, project: str) -> tuple[Path, Path]:
    """Client settings for this noauth system: ``openrc`` for ``openstack`` (openstacksdk
    sends the token ``user:project`` noauth reads through keystoneauth's admin_token
    plugin; python-cinderclient's noauth plugin no longer loads in osc) and ``cinderrc``
    for ``cinder`` (its own noauth plugin)."""
    base = f"{endpoint(conf)}/v3/{project}"
    openrc, cinderrc = STATE / "openrc", STATE / "cinderrc"
    openrc.write_text(
        "# cinderblock on this machine (noauth), for the openstack client: source it.\n"
        "export OS_AUTH_TYPE=admin_token\n"
        f"export OS_TOKEN=admin:{project}\n"
        f"export OS_ENDPOINT={base}\n"
        "export OS_VOLUME_API_VERSION=3\n")
    cinderrc.write_text(
        "# cinderblock on this machine (noauth), for the cinder client: source it.\n"
        "export OS_AUTH_TYPE=noauth\n"
        "export OS_VOLUME_API_VERSION=3\n"
        f"export OS_PROJECT_ID={project}\n"
        "export OS_USER_ID=admin\n"
        f"export CINDER_ENDPOINT={base}\n")
    return openrc, cinderrc


def _print_usage(conf: Config, project: str, headline: str) -> None:
    if conf.default.auth_strategy == "keystone":
        print(f"""
{headline}
  API endpoint  {endpoint(conf)}/v3/%(project_id)s  (the catalog's volumev3 endpoint)
  logs          {STATE / 'log'}/  (one request: grep req-... {STATE / 'log'}/*.log)
  metrics       {endpoint(conf)}/metrics   health  {endpoint(conf)}/healthcheck

First commands, with your Keystone openrc sourced:
  openstack volume create --size 1 demo
  make down            # stops everything; volumes and database are kept (PURGE=1 removes them)
""")
        return
    openrc, cinderrc = _write_openrc(conf, project)
    base = f"{endpoint(conf)}/v3/{project}"
    token = f"-H 'X-Auth-Token: admin:{project}' -H 'Content-Type: application/json'"
    print(f"""
{headline}
  API endpoint  {base}
  openrc        {openrc} (openstack), {cinderrc} (cinder)
  logs          {STATE / 'log'}/  (one request: grep req-... {STATE / 'log'}/*.log)
  metrics       {endpoint(conf)}/metrics   health  {endpoint(conf)}/healthcheck

First commands:
  curl -s {token} -d '{{"volume": {{"size": 1, "name": "demo"}}}}' {base}/volumes
  curl -s {token} {base}/volumes/detail
  source {openrc} && openstack volume create --size 1 demo
  source {cinderrc} && cinder create 1
  make down            # stops everything; volumes and database are kept (PURGE=1 removes them)
""")


def up() -> int:
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "cinderblock.conf").write_text(
        _render("cinderblock.conf.in", broker=LOCAL_BROKER, state=STATE))
    conf = load(_config_files())
    caller = _caller(conf)
    if all(p.pid() for p in PROCESSES) and _all_up(_services(conf, caller)) \
            and _pool_known(conf, caller):
        _print_usage(conf, caller.project, "cinderblock is already up; nothing was started.")
        return 0
    _ensure_vhost(conf)
    subprocess.run([str(SERVICE), "db-sync"], env={**os.environ, **_service_env()},
                   cwd=REPO, check=True)
    if SCHEDULER.pid() is None:
        SCHEDULER.start([str(SERVICE), "scheduler"], _service_env())
    if API.pid() is None:
        API.start([str(SERVICE), "api"], _service_env())
    if STORAGE_NODE.pid() is None:
        transport_url, forwards = _guest_broker(conf)
        iscsi_port = int(os.environ.get("CINDERBLOCK_ISCSI_PORT", "3260"))
        agent_conf = STATE / "volume.conf"
        agent_conf.write_text(_render(
            "volume.conf.in", node=NODE, transport_url=transport_url,
            target_ip=GUEST_ADDRESS, iscsi_host_port=iscsi_port))
        if set(forwards) - {5672}:
            raise SystemExit(f"the VM forwards only RabbitMQ's 5672 to the host; "
                             f"{transport_url} needs {sorted(forwards)}")
        FAILED_FILE.unlink(missing_ok=True)
        READY_FILE.unlink(missing_ok=True)
        STORAGE_NODE.start(
            [sys.executable, str(HERE / "storage_node.py"), "--state", str(STATE),
             "--config", str(agent_conf), "--iscsi-port", str(iscsi_port),
             "--vg-size", os.environ.get("CINDERBLOCK_VG_SIZE", "10G")],
            {"PYTHONPATH": str(REPO)})
    print("waiting for the API, the scheduler and the storage node's volume service "
          "(the VM boots under emulation: about a minute)...", flush=True)
    _wait_up(conf, caller)
    _print_usage(conf, caller.project, "cinderblock is up.")
    return 0


def down(purge: bool) -> int:
    stopped = [process.name for process in PROCESSES if process.stop()]
    print(f"stopped {', '.join(stopped)}" if stopped else "cinderblock was not running")
    if purge:
        if (STATE / "cinderblock.conf").exists():
            conf = load(_config_files())
            if conf.default.transport_url == LOCAL_BROKER:
                subprocess.run(["rabbitmqctl", "-q", "delete_vhost", VHOST], check=False)
        shutil.rmtree(STATE, ignore_errors=True)
        print(f"removed {STATE} (the VM disk with its volumes, logs, the SQLite database if used)")
    return 0


def guest(command: str, timeout: float = 120) -> dict[str, object]:
    """Run ``command`` as root in the storage-node VM (through its supervisor)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(timeout + 40)
        sock.connect(str(COMMAND_SOCKET))
        sock.sendall(json.dumps({"cmd": command, "timeout": timeout}).encode() + b"\n")
        with sock.makefile("rb") as answer:
            return json.loads(answer.readline())


def status() -> int:
    for process in PROCESSES:
        pid = process.pid()
        print(f"{process.name:24} {'running, pid ' + str(pid) if pid else 'stopped'}")
    return 0 if all(p.pid() for p in PROCESSES) else 3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up")
    commands.add_parser("down").add_argument("--purge", action="store_true")
    commands.add_parser("status")
    commands.add_parser("guest", help="run a shell command in the storage-node VM").add_argument(
        "cmd")
    args = parser.parse_args()
    if args.command in ("up", "down"):
        # Two `make up`s (or an up and a down) at once would start or stop things twice.
        STATE.parent.mkdir(parents=True, exist_ok=True)
        with open(STATE.parent / f".{STATE.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return up() if args.command == "up" else down(args.purge)
    if args.command == "guest":
        result = guest(args.cmd)
        sys.stdout.write(str(result["stdout"]))
        sys.stderr.write(str(result["stderr"]))
        return int(result["rc"]) & 0xFF
    return status()


if __name__ == "__main__":
    sys.exit(main())
