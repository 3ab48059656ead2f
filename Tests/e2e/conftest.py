"""Fixtures for Wharf's black-box end-to-end tests.

Every server a test needs is started here on 127.0.0.1 with a free port and a
folder of its own, and stopped when the test (or module) ends.

Environment:
  WHARF_BIN          the wharf binary (default: <repo>/.build/debug/wharf)
  DOCKER_REGISTRY    Debian's distribution binary (default: /usr/bin/docker-registry)
  SKOPEO             skopeo binary (default: skopeo on PATH)
  WHARF_E2E_PIDDIR   if set, the pid of every started server is kept there as a
                     file while it runs (scripts/test.sh cleans up leftovers)
  WHARF_E2E_CONFORMANCE_TARGET=distribution
                     run test_conformance.py against docker-registry instead of
                     Wharf (to check the suite itself; distribution 2.8 is known
                     to fail the OCI 1.1 parts)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest
import requests
import urllib3

REPO_ROOT = Path(__file__).resolve().parents[2]
API_VERSION_HEADER = "Docker-Distribution-API-Version"
API_VERSION_VALUE = "registry/2.0"

# Only loopback traffic; no proxies from the environment.
for _var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_var, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"
# requests lets these override a Session's `verify`; the tests trust exactly
# the certificate each server generated, nothing from the environment.
for _var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
    os.environ.pop(_var, None)


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_executable(path_or_name: str, what: str) -> str:
    """Return the absolute path of an executable, or fail the test clearly."""
    found = shutil.which(path_or_name)
    if not found:
        pytest.fail(
            f"{what} not found ({path_or_name!r}); run `scripts/install-deps.sh test` "
            f"(or `make test`) to install the end-to-end test tools",
            pytrace=False,
        )
    return found


def wharf_bin() -> str:
    path = os.environ.get("WHARF_BIN") or str(REPO_ROOT / ".build" / "debug" / "wharf")
    p = Path(path)
    if not p.is_absolute():
        p = (REPO_ROOT / p).resolve()
    if not (p.is_file() and os.access(p, os.X_OK)):
        pytest.fail(
            f"wharf binary not found at {p}; build it with `swift build` or set WHARF_BIN",
            pytrace=False,
        )
    return str(p)


def skopeo_bin() -> str:
    return require_executable(os.environ.get("SKOPEO", "skopeo"), "skopeo")


def distribution_bin() -> str:
    return require_executable(os.environ.get("DOCKER_REGISTRY", "/usr/bin/docker-registry"),
                              "Debian's docker-registry (CNCF distribution)")


def _tail(path: Path, n: int = 40, width: int = 400) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(l if len(l) <= width else l[:width] + " [...]" for l in lines[-n:])


def _pid_file(pid: int) -> Optional[Path]:
    d = os.environ.get("WHARF_E2E_PIDDIR")
    if not d:
        return None
    Path(d).mkdir(parents=True, exist_ok=True)
    return Path(d) / str(pid)


# --------------------------------------------------------------------------- processes


class ServerProcess:
    """A server child process with a log file; start/stop/restart."""

    name = "server"

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0

    # subclasses fill these
    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict:
        return dict(os.environ)

    def ready(self) -> tuple[bool, str]:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        assert not self.running, f"{self.name} already running"
        self.starts += 1
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        log.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env(),
            cwd=str(self.log_path.parent),
            start_new_session=True,
        )
        log.close()
        pf = _pid_file(self.proc.pid)
        if pf:
            pf.write_text(f"{self.name}\n")
        deadline = time.monotonic() + timeout
        why = "not started"
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                self._forget_pid()
                pytest.fail(
                    f"{self.name} exited with status {code} during start-up "
                    f"({' '.join(self.command())}).\nlog:\n{_tail(self.log_path)}",
                    pytrace=False,
                )
            ok, why = self.ready()
            if ok:
                return
            time.sleep(0.1)
        self.stop()
        pytest.fail(
            f"{self.name} did not become ready within {timeout:.0f}s: {why}\n"
            f"log:\n{_tail(self.log_path)}",
            pytrace=False,
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> Optional[int]:
        """Stop the process (SIGTERM, then SIGKILL after `timeout`). Returns its exit status."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with open(self.log_path, "ab") as log:
                    log.write(f"\n===== did not stop within {timeout}s after signal {sig}; SIGKILL\n".encode())
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(timeout=10)
        # make sure nothing of its process group is left (its own session, by id)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        self._forget_pid(proc.pid)
        return proc.returncode

    def kill(self) -> None:
        """Simulate a crash."""
        self.stop(sig=signal.SIGKILL, timeout=10)

    def restart(self, sig: int = signal.SIGTERM) -> None:
        self.stop(sig=sig)
        self.start()

    def _forget_pid(self, pid: Optional[int] = None) -> None:
        pid = pid or (self.proc.pid if self.proc else None)
        if pid:
            pf = _pid_file(pid)
            if pf:
                with contextlib.suppress(FileNotFoundError):
                    pf.unlink()

    def log_tail(self, n: int = 80) -> str:
        return _tail(self.log_path, n)


class Wharf(ServerProcess):
    """`wharf serve` on 127.0.0.1:<port> with its own data folder."""

    name = "wharf"

    def __init__(self, data_dir: Path, port: int, tls: bool, log_path: Path, extra_args: Optional[list[str]] = None,
                 auth: bool = True, env: Optional[dict] = None):
        super().__init__(log_path)
        #: extra environment (e.g. WHARF_AUTH_TOKEN_EXPIRY) for the server and `cli`, merged in `env()`
        self.extra_env = dict(env or {})
        self.bin = wharf_bin()
        self.data_dir = data_dir
        self.port = port
        self.tls = tls
        self.auth = auth
        self.extra_args = list(extra_args or [])

    # addresses ----------------------------------------------------------------
    @property
    def host(self) -> str:
        """host:port, as used in image references (127.0.0.1:PORT)."""
        return f"127.0.0.1:{self.port}"

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def registry_dir(self) -> Path:
        """distribution-compatible storage root (`<data>/registry`)."""
        return self.data_dir / "registry"

    @property
    def cert_path(self) -> Path:
        return self.data_dir / "certs" / "server.crt"

    @property
    def key_path(self) -> Path:
        return self.data_dir / "certs" / "server.key"

    @property
    def verify(self):
        """What `requests` should verify against: the generated certificate."""
        return str(self.cert_path) if self.tls else True

    # process ------------------------------------------------------------------
    def command(self) -> list[str]:
        cmd = [self.bin, "serve", "--data", str(self.data_dir), "--listen", self.host]
        if not self.tls:
            cmd += ["--tls", "off"]
        if not self.auth:
            cmd += ["--auth", "off"]
        return cmd + self.extra_args

    # accounts -------------------------------------------------------------------
    def cli(self, *args: str, check: bool = True, input: Optional[str] = None) -> subprocess.CompletedProcess:
        """`wharf ARGS --data DATA` with the server's environment (works whether or not it runs)."""
        p = subprocess.run([self.bin, *args, "--data", str(self.data_dir)], env=self.env(), capture_output=True,
                           text=True, timeout=120, input=input)
        if check and p.returncode != 0:
            pytest.fail(f"wharf {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}", pytrace=False)
        return p

    def create_user(self, name: str, password: str, *flags: str) -> None:
        """`wharf user create NAME --password P [--admin] [--bot]`."""
        self.cli("user", "create", name, "--password", password, *flags)

    def env(self) -> dict:
        # Hermetic: no WHARF_* settings leak in from the caller's environment.
        env = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
        env.update(self.extra_env)
        return env

    def ready(self) -> tuple[bool, str]:
        if self.tls and not self.cert_path.exists():
            return False, f"{self.cert_path} not created"
        try:
            r = requests.get(f"{self.base_url}/v2/", verify=self.verify, timeout=2)
        except requests.exceptions.SSLError as e:
            return False, f"TLS verification against {self.cert_path} failed: {e}"
        except requests.RequestException as e:
            return False, f"GET /v2/: {e.__class__.__name__}: {e}"
        if r.status_code in (200, 401):
            return True, ""
        return False, f"GET /v2/ answered {r.status_code}"

    # clients --------------------------------------------------------------------
    def session(self) -> requests.Session:
        s = requests.Session()
        s.verify = self.verify
        return s

    def url(self, path: str) -> str:
        return self.base_url + path

    def cert_dir(self, into: Path) -> Path:
        """A containers-style cert dir (skopeo --*-cert-dir) trusting this server."""
        into.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.cert_path, into / "wharf-ca.crt")
        return into


DISTRIBUTION_CONFIG = """\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: wharf-e2e-not-a-secret
health:
  storagedriver:
    enabled: false
"""


class Distribution(ServerProcess):
    """Debian's `docker-registry serve CONFIG` (CNCF distribution 2.8), plain HTTP."""

    name = "docker-registry"

    def __init__(self, root_dir: Path, port: int, work_dir: Path):
        super().__init__(work_dir / "docker-registry.log")
        self.bin = distribution_bin()
        self.root_dir = root_dir
        self.port = port
        self.config_path = work_dir / "config.yml"
        work_dir.mkdir(parents=True, exist_ok=True)
        root_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(DISTRIBUTION_CONFIG.format(root=root_dir, port=port))

    host = Wharf.host
    registry_dir = property(lambda self: self.root_dir)
    scheme = "http"
    tls = False
    verify = True
    base_url = Wharf.base_url
    session = Wharf.session
    url = Wharf.url

    def command(self) -> list[str]:
        return [self.bin, "serve", str(self.config_path)]

    def env(self) -> dict:
        return {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}

    def ready(self) -> tuple[bool, str]:
        try:
            r = requests.get(f"{self.base_url}/v2/", timeout=2)
        except requests.RequestException as e:
            return False, f"GET /v2/: {e}"
        return (r.status_code == 200), f"GET /v2/ answered {r.status_code}"


# --------------------------------------------------------------------------- fixtures


@dataclass
class _Started:
    servers: list = field(default_factory=list)

    def stop_all(self) -> None:
        for s in reversed(self.servers):
            s.stop()


def _report_logs(request, servers) -> None:
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        for s in servers:
            print(f"\n----- {s.name} log ({s.log_path}) -----\n{s.log_tail()}", file=sys.stderr)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _wharf_factory(tmp_path_factory, request) -> Iterator[Callable[..., Wharf]]:
    started = _Started()

    def make(tls: bool = True, data_dir: Optional[Path] = None, port: Optional[int] = None,
             start: bool = True, extra_args: Optional[list[str]] = None, auth: bool = False,
             env: Optional[dict] = None) -> Wharf:
        work = tmp_path_factory.mktemp("wharf")
        w = Wharf(data_dir or (work / "data"), port or free_port(), tls, work / "wharf.log", extra_args, auth=auth,
                  env=env)
        started.servers.append(w)
        if start:
            w.start()
        return w

    yield make
    _report_logs(request, started.servers)
    started.stop_all()


@pytest.fixture
def wharf_factory(tmp_path_factory, request) -> Iterator[Callable[..., Wharf]]:
    """Start Wharf servers: factory(tls=True, data_dir=None, port=None, start=True, extra_args=None, auth=False,
    env=None) (env: extra environment such as {"WHARF_AUTH_TOKEN_EXPIRY": "3s"}, also used by `Wharf.cli`).

    auth=False serves an open registry (`--auth off`) for the tests about the registry protocol itself; the
    tests about accounts and access pass auth=True (Wharf's default)."""
    yield from _wharf_factory(tmp_path_factory, request)


@pytest.fixture(scope="module")
def wharf_module_factory(tmp_path_factory, request) -> Iterator[Callable[..., Wharf]]:
    """wharf_factory for servers a whole module shares (stopped when the module ends)."""
    yield from _wharf_factory(tmp_path_factory, request)


@pytest.fixture
def wharf_ldap(wharf_factory) -> Callable[..., Wharf]:
    """Wharf (TLS, token auth) with LDAP on: factory(directory, admin=("root", PASSWORD) or None, start=True,
    env=None, **ldap_settings): the ldap.* settings as WHARF_LDAP_* (see ldap_directory.wharf_ldap_env; e.g.
    encryption="ldaps", search=False, cache_ttl="0s"); `admin` is a local administrator created first."""
    from ldap_directory import wharf_ldap_env

    def make(directory, admin=None, start: bool = True, env: Optional[dict] = None, **settings) -> Wharf:
        w = wharf_factory(tls=True, auth=True, start=False, env={**wharf_ldap_env(directory, **settings), **(env or {})})
        if admin:
            w.create_user(*admin, "--admin")
        if start:
            w.start()
        return w

    return make


@pytest.fixture
def wharf(wharf_factory) -> Wharf:
    """A running open Wharf with TLS on (self-signed certificate generated on first start)."""
    return wharf_factory(tls=True)


@pytest.fixture
def wharf_auth(wharf_factory) -> Wharf:
    """A running Wharf with token auth on (the default) and TLS."""
    return wharf_factory(tls=True, auth=True)


@pytest.fixture
def wharf_plain(wharf_factory) -> Wharf:
    """A running Wharf with `--tls off` (plain HTTP)."""
    return wharf_factory(tls=False)


# The accounts of the refusal tests (test_client_messages, test_containerd).
REFUSAL_ADMIN = ("root", "root password")
REFUSAL_ALICE = ("alice", "alice password")
REFUSAL_BOB = ("bob", "bob password")


@pytest.fixture
def refusal_server(wharf_factory) -> Wharf:
    """Wharf over TLS with token auth: admin root, alice and bob; team oss (alice its owner) owns the public
    namespace oss."""
    w = wharf_factory(tls=True, auth=True)
    w.create_user(*REFUSAL_ADMIN, "--admin")
    w.create_user(*REFUSAL_ALICE)
    w.create_user(*REFUSAL_BOB)
    w.cli("team", "create", "oss", "--owner", "alice")
    w.cli("namespace", "create", "oss", "--team", "oss", "--visibility", "public")
    return w


@pytest.fixture
def distribution_factory(tmp_path_factory, request) -> Iterator[Callable[..., Distribution]]:
    """Start Debian's docker-registry: factory(root_dir=None, port=None, start=True)."""
    started = _Started()

    def make(root_dir: Optional[Path] = None, port: Optional[int] = None, start: bool = True) -> Distribution:
        work = tmp_path_factory.mktemp("distribution")
        d = Distribution(root_dir or (work / "root"), port or free_port(), work)
        started.servers.append(d)
        if start:
            d.start()
        return d

    yield make
    _report_logs(request, started.servers)
    started.stop_all()


@pytest.fixture
def distribution(distribution_factory) -> Distribution:
    return distribution_factory()


# --------------------------------------------------------------------------- browser


def _browser_session(tmp_path_factory, javascript: bool):
    import browser as b  # Tests/e2e/browser.py; imported here so the other tests need no selenium

    try:
        driver = b.start_browser(tmp_path_factory.mktemp("chromium"), javascript=javascript)
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield driver
    b.stop_browser(driver)


def _fresh(driver):
    """The module's browser, reset for one test: no cookies (every server is on 127.0.0.1, and
    cookies do not care about ports), no console messages of earlier tests, no emulation."""
    import browser as b

    driver.delete_all_cookies()
    b.emulate_color_scheme(driver, None)
    b.emulate_viewport(driver, None)
    b.console_errors(driver)
    return driver


@pytest.fixture(scope="module")
def _browser_module(tmp_path_factory):
    yield from _browser_session(tmp_path_factory, javascript=True)


@pytest.fixture(scope="module")
def _browser_nojs_module(tmp_path_factory):
    yield from _browser_session(tmp_path_factory, javascript=False)


@pytest.fixture
def browser(_browser_module):
    """Headless Chromium (one per test module, reset for each test); see browser.py."""
    return _fresh(_browser_module)


@pytest.fixture
def browser_nojs(_browser_nojs_module):
    """Headless Chromium with JavaScript blocked (one per test module, reset for each test)."""
    return _fresh(_browser_nojs_module)


# --------------------------------------------------------------------------- skopeo


@pytest.fixture
def skopeo(tmp_path) -> Callable[..., subprocess.CompletedProcess]:
    """Run skopeo hermetically: skopeo("copy", ..., check=True) -> CompletedProcess."""
    exe = skopeo_bin()
    home = tmp_path / "skopeo-home"
    (home / ".config" / "containers").mkdir(parents=True)
    policy = home / "policy.json"
    policy.write_text('{"default": [{"type": "insecureAcceptAnything"}]}\n')
    registries_conf = home / "registries.conf"
    registries_conf.write_text('unqualified-search-registries = []\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_AUTH_FILE", "CONTAINERS_"))}
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(home), CONTAINERS_REGISTRIES_CONF=str(registries_conf),
               REGISTRY_AUTH_FILE=str(home / "auth.json"))

    def run(*args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
        cmd = [exe, "--policy", str(policy), *args]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            pytest.fail(
                f"`{' '.join(cmd)}` exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}",
                pytrace=False,
            )
        return p

    return run


urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
