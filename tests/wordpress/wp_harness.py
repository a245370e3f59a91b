"""Start, use and stop a real WordPress (Debian's package) on 127.0.0.1 from Python.

A private MariaDB (temporary data directory, reached only through its Unix socket, no grant
tables) and PHP's built-in web server (``PHP_CLI_SERVER_WORKERS=4``) serving
``/usr/share/wordpress``, with its own ``/etc/wordpress/config-<unique>.php`` (picked through
Debian's ``WORDPRESS_CONFIG`` by ``harness/router.php``, so parallel sessions never share a
file), ``WP_CONTENT_DIR`` and uploads in the temporary directory, ``WP_ENVIRONMENT_TYPE=local``
(application passwords over plain http) and ``DISABLE_WP_CRON``. The site is installed through
``POST /wp-admin/install.php?step=2`` as a browser would; at its end the harness's
must-use plugin (``harness/mu-plugin.php``) sets the timezone and permalinks and creates an
application password for the admin.

Kept out of ``conftest.py`` so that ``record.py`` and tests can import it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HARNESS_DIR = Path(__file__).resolve().parent / "harness"
WORDPRESS_ROOT = Path("/usr/share/wordpress")
CONFIG_DIR = Path("/etc/wordpress")
INSTALL_COMMAND = "sudo bash tests/wordpress/harness/install.sh"
PACKAGES = ("wordpress", "mariadb-server", "php-cli", "php-mysql", "php-curl", "php-xml")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
PORT_ATTEMPTS = 3
SITE_TIMEZONE = "Europe/Berlin"
PRETTY_PERMALINKS = "/%year%/%monthnum%/%postname%/"

_TOOLS = ("mariadbd", "mariadb", "php")
_SBIN = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")


class HarnessMissing(RuntimeError):
    """Debian's WordPress, MariaDB or PHP is not installed (``install.sh`` has not run)."""


def _tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for directory in _SBIN:
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    return None


def harness_missing_reason() -> str | None:
    """Why the harness cannot start, or ``None`` when everything it needs is installed."""
    if not (WORDPRESS_ROOT / "wp-includes" / "version.php").exists():
        return f"Debian's wordpress package is not installed: run `{INSTALL_COMMAND}`"
    missing = [name for name in _TOOLS if _tool(name) is None]
    if missing:
        return f"{', '.join(missing)} not found: run `{INSTALL_COMMAND}`"
    php = _tool("php")
    assert php is not None
    probe = subprocess.run(
        [php, "-r", "echo extension_loaded('mysqli') && extension_loaded('mbstring') ? 1 : 0;"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    if probe.stdout.strip() != "1":
        return f"PHP lacks mysqli or mbstring (php-mysql, php-mbstring): run `{INSTALL_COMMAND}`"
    if not os.access(CONFIG_DIR, os.W_OK):
        return f"{CONFIG_DIR} is not writable here (the harness writes its site config there)"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (read from /proc: no procps needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces) start after the last ")".
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def _stop_process(proc: subprocess.Popen[bytes], *, children_first: bool) -> None:
    """SIGTERM (its children first, by parent PID), bounded wait, then SIGKILL."""
    if proc.poll() is not None:
        return
    if children_first:
        for child in _children(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        for child in _children(proc.pid) if children_first else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT_S)


@dataclass
class WordPressServer:
    """A running WordPress started by :func:`start_wordpress`."""

    url: str
    user: str
    app_password: str = field(repr=False)
    admin_password: str = field(repr=False)
    version: str
    pretty_permalinks: bool
    data_dir: Path
    config_name: str
    timings: dict[str, float]
    _php: subprocess.Popen[bytes] = field(repr=False)
    _db: subprocess.Popen[bytes] = field(repr=False)
    _db_socket: Path = field(repr=False)

    @property
    def rest_base(self) -> str:
        """The REST root as the site announces it (``/wp-json/`` with pretty permalinks)."""
        return f"{self.url}/wp-json/" if self.pretty_permalinks else f"{self.url}/?rest_route=/"

    @property
    def config_path(self) -> Path:
        """This site's ``/etc/wordpress/config-<name>.php`` (removed by :meth:`stop`)."""
        return CONFIG_DIR / f"config-{self.config_name}.php"

    @property
    def uploads_dir(self) -> Path:
        """Where WordPress writes this site's uploads."""
        return self.data_dir / "content" / "uploads"

    def auth(self) -> httpx.BasicAuth:
        """HTTP Basic auth with the admin's application password."""
        return httpx.BasicAuth(self.user, self.app_password)

    def client(self, *, authenticated: bool = True, **kwargs: Any) -> httpx.Client:
        """An httpx client bound to this site (loopback only)."""
        if authenticated:
            kwargs.setdefault("auth", self.auth())
        return httpx.Client(base_url=self.url, timeout=30.0, **kwargs)

    def php(self, code: str) -> str:
        """Run PHP with WordPress loaded for this site; returns what it printed.

        Raises:
            RuntimeError: PHP exited with an error.
        """
        prelude = (
            f"$_SERVER['WORDPRESS_CONFIG'] = {_php_literal(self.config_name)};"
            f"$_SERVER['HTTP_HOST'] = {_php_literal(self.url.split('//', 1)[1])};"
            "$_SERVER['REQUEST_URI'] = '/';"
            "require '/usr/share/wordpress/wp-load.php';"
        )
        done = subprocess.run(
            [_tool("php") or "php", "-r", prelude + code],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"php failed ({done.returncode}): {done.stderr[-2000:]}")
        return done.stdout

    def refuse_upload_types(self, *extensions: str) -> None:
        """Make the site refuse uploads with these extensions (none: allow WordPress's usual
        types again), through the harness plugin's ``upload_mimes`` filter.
        """
        value = ",".join(e.lower().lstrip(".") for e in extensions)
        self.php(f"update_option('brandkit_refused_upload_types', {_php_literal(value)});")

    def log(self) -> str:
        """The tail of PHP's built-in server log (requests and PHP warnings)."""
        path = self.data_dir / "php.log"
        return path.read_text(errors="replace")[-8000:] if path.exists() else ""

    def stop(self) -> None:
        """Stop PHP's workers and server, then MariaDB; remove the config file and the data."""
        _stop_process(self._php, children_first=True)
        _stop_process(self._db, children_first=False)
        with contextlib.suppress(FileNotFoundError):
            self.config_path.unlink()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def _wait_for(check: Any, what: str, deadline: float, proc: subprocess.Popen[bytes]) -> None:
    while True:
        if check():
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited ({proc.returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready within {START_TIMEOUT_S:.0f} s")
        time.sleep(0.05)


def _config_php(values: dict[str, Any]) -> str:
    lines = [
        "<?php",
        "// Written by brandkit's test harness; removed when the session ends.",
        f"// owner pid: {os.getpid()}",
    ]
    for name, value in values.items():
        lines.append(f"define({_php_literal(name)}, {_php_literal(value)});")
    return "\n".join(lines) + "\n"


def _php_literal(value: str | bool) -> str:
    """``value`` as a PHP literal (single-quoted strings: no ``$`` interpolation)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _start_db(data_dir: Path, timings: dict[str, float]) -> tuple[subprocess.Popen[bytes], Path]:
    """Start a private MariaDB on an empty data directory, reached only through its socket.

    No ``mariadb-install-db``: its bootstrap of the system tables took most of the start (about
    1 s on an idle machine, 5 s on a busy one). Without them MariaDB runs with
    ``--skip-grant-tables`` (no accounts at all; WordPress needs none), which is safe here as
    it listens on no TCP port and its socket sits in a directory only this user can enter.
    """
    db_dir = data_dir / "db"
    db_dir.mkdir()
    sock = data_dir / "db.sock"
    tmp = data_dir / "db-tmp"
    tmp.mkdir()
    user = ["--user=root"] if os.getuid() == 0 else []
    began = time.monotonic()
    with (data_dir / "db.log").open("wb") as log:
        db = subprocess.Popen(
            [
                _tool("mariadbd") or "mariadbd",
                "--no-defaults",
                f"--datadir={db_dir}",
                f"--socket={sock}",
                f"--pid-file={data_dir / 'db.pid'}",
                # A private tmpdir: servers started at once in /tmp collide on their temporary
                # tables' names.
                f"--tmpdir={tmp}",
                "--skip-networking",
                "--skip-grant-tables",
                "--skip-name-resolve",
                # A throwaway database: small files, no flushing to disk on every commit.
                "--innodb-log-file-size=8M",
                "--innodb-buffer-pool-size=32M",
                "--innodb-flush-log-at-trx-commit=0",
                "--skip-innodb-doublewrite",
                *user,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    timings["db_spawn_s"] = time.monotonic() - began
    return db, sock


def _site_config(url: str, sock: Path, content: Path) -> dict[str, Any]:
    config: dict[str, Any] = {
        "DB_NAME": "wordpress",
        # MariaDB runs without grant tables: any user and password are let in.
        "DB_USER": "wordpress",
        "DB_PASSWORD": "",
        "DB_HOST": f"localhost:{sock}",
        "WP_HOME": url,
        "WP_SITEURL": url,
        "WP_CONTENT_DIR": str(content),
        "WP_CONTENT_URL": f"{url}/wp-content",
        "WP_ENVIRONMENT_TYPE": "local",
        "DISABLE_WP_CRON": True,
        "AUTOMATIC_UPDATER_DISABLED": True,
        "WP_HTTP_BLOCK_EXTERNAL": True,
        "FS_METHOD": "direct",
    }
    for key in ("AUTH", "SECURE_AUTH", "LOGGED_IN", "NONCE"):
        config[f"{key}_KEY"] = secrets.token_hex(32)
        config[f"{key}_SALT"] = secrets.token_hex(32)
    return config


def _start_php(port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [
                _tool("php") or "php",
                "-d",
                "upload_max_filesize=16M",
                "-d",
                "post_max_size=20M",
                "-d",
                "opcache.enable_cli=1",
                "-S",
                f"127.0.0.1:{port}",
                "-t",
                str(WORDPRESS_ROOT),
                str(HARNESS_DIR / "router.php"),
            ],
            cwd=WORDPRESS_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _sweep_stale_configs() -> None:
    """Remove config files left by sessions that were killed before they could (the owner's
    PID is written in each file; a file whose owner is gone serves nothing)."""
    for path in CONFIG_DIR.glob("config-brandkit-*.php"):
        with contextlib.suppress(OSError, ValueError):
            head = path.read_text()[:300]
            marker = head.split("owner pid: ", 1)[1].split()[0] if "owner pid: " in head else ""
            if marker.isdigit() and not Path(f"/proc/{int(marker)}").exists():
                path.unlink()


def _answers(port: int) -> bool:
    """Something accepts connections on 127.0.0.1:``port``."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


def _sql(sock: Path, statement: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            _tool("mariadb") or "mariadb",
            "--no-defaults",
            "-uroot",
            f"--socket={sock}",
            "-e",
            statement,
        ],
        capture_output=True,
        timeout=20,
        check=False,
    )


def start_wordpress(
    *, pretty_permalinks: bool = True, title: str = "brandkit tests"
) -> WordPressServer:
    """Start a fresh WordPress on a free loopback port and install it; returns when it answers.

    Raises:
        HarnessMissing: the Debian packages are not installed or /etc/wordpress is not writable.
        RuntimeError: MariaDB, PHP or the install did not come up in time.
    """
    missing = harness_missing_reason()
    if missing is not None:
        raise HarnessMissing(missing)
    _sweep_stale_configs()
    began_all = time.monotonic()
    deadline = began_all + START_TIMEOUT_S
    timings: dict[str, float] = {}
    data_dir = Path(tempfile.mkdtemp(prefix="brandkit-wp-"))
    config_name = f"brandkit-{secrets.token_hex(6)}"
    config_path = CONFIG_DIR / f"config-{config_name}.php"
    db: subprocess.Popen[bytes] | None = None
    php: subprocess.Popen[bytes] | None = None
    try:
        db, sock = _start_db(data_dir, timings)
        content = data_dir / "content"
        (content / "uploads").mkdir(parents=True)
        (content / "plugins").mkdir()
        (content / "themes").mkdir()
        (content / "mu-plugins").mkdir()
        shutil.copy(HARNESS_DIR / "mu-plugin.php", content / "mu-plugins" / "brandkit-harness.php")
        setup_file = data_dir / "setup.json"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PHP_CLI_SERVER_WORKERS": "4",
            "BRANDKIT_WP_CONFIG": config_name,
            "BRANDKIT_WP_CONTENT": str(content),
            "BRANDKIT_WP_REWRITE": "1" if pretty_permalinks else "0",
        }
        for attempt in range(PORT_ATTEMPTS):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            config = _site_config(url, sock, content)
            config["BRANDKIT_SETUP_FILE"] = str(setup_file)
            config["BRANDKIT_TIMEZONE"] = SITE_TIMEZONE
            config["BRANDKIT_PERMALINKS"] = PRETTY_PERMALINKS if pretty_permalinks else ""
            config_path.write_text(_config_php(config))
            config_path.chmod(0o600)
            php = _start_php(port, env, data_dir / "php.log")

            try:
                _wait_for(functools.partial(_answers, port), "PHP's built-in server", deadline, php)
                break
            except RuntimeError:
                # Exited at once: the port was taken between free_port() and PHP's bind.
                if php.poll() is None or attempt == PORT_ATTEMPTS - 1:
                    raise
        timings["php_ready_s"] = time.monotonic() - began_all
        # MariaDB has been starting meanwhile.
        _wait_for(lambda: _sql(sock, "SELECT 1").returncode == 0, "MariaDB", deadline, db)
        made = _sql(sock, "CREATE DATABASE wordpress CHARACTER SET utf8mb4;")
        if made.returncode != 0:
            raise RuntimeError(f"MariaDB setup failed: {made.stderr.decode(errors='replace')}")
        timings["db_ready_s"] = time.monotonic() - began_all

        admin_password = secrets.token_urlsafe(18)
        with httpx.Client(base_url=url, timeout=max(deadline - time.monotonic(), 1.0)) as http:
            installed = http.post(
                "/wp-admin/install.php?step=2",
                data={
                    "weblog_title": title,
                    "user_name": "admin",
                    "admin_password": admin_password,
                    "admin_password2": admin_password,
                    "pw_weak": "1",
                    "admin_email": "admin@example.com",
                    "blog_public": "0",
                    "language": "",
                },
            )
        if installed.status_code != 200 or "wp-login.php" not in installed.text:
            raise RuntimeError(
                f"WordPress install failed ({installed.status_code}): {installed.text[-2000:]}"
            )
        timings["installed_s"] = time.monotonic() - began_all

        # Written by the harness plugin at the end of the install (see mu-plugin.php).
        site = json.loads(setup_file.read_text()) if setup_file.exists() else {}
        if "app_password" not in site:
            raise RuntimeError(f"WordPress setup failed: {site.get('error', 'no answer')}")
        if not site["available"]:
            raise RuntimeError("application passwords are not available on the test site")
        timings["ready_s"] = time.monotonic() - began_all
        assert php is not None  # the loop above either started it or raised
        return WordPressServer(
            url=url,
            user=site["user"],
            app_password=site["app_password"],
            admin_password=admin_password,
            version=site["version"],
            pretty_permalinks=pretty_permalinks,
            data_dir=data_dir,
            config_name=config_name,
            timings=timings,
            _php=php,
            _db=db,
            _db_socket=sock,
        )
    except BaseException:
        if php is not None:
            _stop_process(php, children_first=True)
        if db is not None:
            _stop_process(db, children_first=False)
        with contextlib.suppress(FileNotFoundError):
            config_path.unlink()
        shutil.rmtree(data_dir, ignore_errors=True)
        raise


def main() -> None:
    """Run one WordPress by hand: ``python -m tests.wordpress.wp_harness [--plain]``.

    Prints the URL, the user and the application password as one JSON line, then serves until
    Ctrl-C or SIGTERM.
    """
    import sys

    server = start_wordpress(pretty_permalinks="--plain" not in sys.argv[1:])
    stop_requested = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    try:
        print(
            json.dumps(
                {
                    "url": server.url,
                    "user": server.user,
                    "app_password": server.app_password,
                    "admin_password": server.admin_password,
                    "version": server.version,
                    "timings": server.timings,
                    "data_dir": str(server.data_dir),
                }
            ),
            flush=True,
        )
        while not stop_requested and server._php.poll() is None:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
