"""A local imitation of public Google Drive that gdown's own code downloads from.

gdown builds fixed ``https://drive.google.com/...`` URLs, so the imitation is an
HTTPS proxy on 127.0.0.1: clients reach it through ``HTTPS_PROXY``, it answers
``CONNECT`` itself, terminates TLS with a certificate for the Drive hosts signed
by a throwaway CA (trusted through ``REQUESTS_CA_BUNDLE``), and serves the
pages gdown parses from a table:

* ``/embeddedfolderview?id=F`` on drive.google.com: the folder listing;
* ``/uc?id=X`` on drive.google.com: a 303 to drive.usercontent.google.com,
  as Drive answers;
* ``/download?id=X&export=download`` on drive.usercontent.google.com: the
  bytes, the "can't scan for viruses" form, or the quota-exceeded page.
"""

from __future__ import annotations

import datetime
import html
import re
import shutil
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit
from uuid import uuid4

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DRIVE = "drive.google.com"
USERCONTENT = "drive.usercontent.google.com"
HOSTS = (DRIVE, USERCONTENT, "docs.google.com")
LAST_MODIFIED = datetime.datetime(2022, 6, 1, 12, 0, tzinfo=datetime.UTC)

QUOTA_MESSAGE = (
    "Too many users have viewed or downloaded this file recently. Please try accessing"
    " the file again later. If the file you are trying to access is particularly large"
    " or is shared with many people, it may take up to 24 hours to be able to view or"
    " download the file. If you still can't access a file after 24 hours, contact your"
    " domain administrator."
)


@dataclass
class DriveFile:
    """One shared file; ``uuid`` is the token its virus-scan form hands back."""

    name: str
    data: bytes
    confirm: bool = False
    quota: bool = False
    cut_after: int | None = None
    uuid: str = field(default_factory=lambda: str(uuid4()))


def _one_line(page: str) -> bytes:
    """gdown reads the confirmation page line by line, and Drive sends it as one line."""
    return page.replace("\n", "").encode()


def _folder_page(name: str, files: dict[str, str]) -> bytes:
    entries = "".join(
        f'<div class="flip-entry" id="entry-{fid}" tabindex="0" role="link">'
        '<div class="flip-entry-info">'
        f'<a href="https://drive.google.com/file/d/{fid}/view?usp=drive_web" target="_blank">'
        '<div class="flip-entry-visual"><div class="flip-entry-visual-card">'
        '<div class="flip-entry-thumb"><img src="https://drive-thirdparty.googleusercontent.com'
        '/64/type/application/octet-stream" alt=""></div></div></div>'
        f'<div class="flip-entry-title">{html.escape(fname)}</div></a></div>'
        '<div class="flip-entry-last-modified"><div>Jun 1, 2022</div></div></div>'
        for fname, fid in files.items()
    )
    return _one_line(
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(name)}</title>'
        f'</head><body><div class="flip-view-list" id="folder-view"><div class="flip-entries">'
        f"{entries}</div></div></body></html>"
    )


def _virus_scan_page(fid: str, f: DriveFile) -> bytes:
    return _one_line(
        "<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title>"
        '<meta http-equiv="content-type" content="text/html; charset=utf-8"/></head><body>'
        '<div class="uc-main"><div id="uc-text">'
        '<p class="uc-warning-caption">Google Drive can\'t scan this file for viruses.</p>'
        '<p class="uc-warning-subcaption"><span class="uc-name-size">'
        f'<a href="/open?id={fid}">{html.escape(f.name)}</a> ({len(f.data)})</span>'
        " is too large for Google to scan for viruses. Would you still like to download"
        " this file?</p>"
        f'<form id="download-form" action="https://{USERCONTENT}/download" method="get">'
        '<input type="submit" id="uc-download-link" value="Download anyway"/>'
        f'<input type="hidden" name="id" value="{fid}">'
        '<input type="hidden" name="export" value="download">'
        '<input type="hidden" name="confirm" value="t">'
        f'<input type="hidden" name="uuid" value="{f.uuid}">'
        "</form></div></div></body></html>"
    )


QUOTA_PAGE = _one_line(
    "<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title>"
    '<meta http-equiv="content-type" content="text/html; charset=utf-8"/></head><body>'
    '<div class="uc-main"><div id="uc-text"><p class="uc-error-caption">'
    "Sorry, you can&#39;t view or download this file at this time.</p>"
    f'<p class="uc-error-subcaption">{QUOTA_MESSAGE}</p></div></div></body></html>'
)
NOT_FOUND_PAGE = _one_line(
    "<!DOCTYPE html><html><head><title>Google Drive - Page Not Found</title></head>"
    "<body><p>Sorry, the file you have requested does not exist.</p></body></html>"
)


def _make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and one leaf for all Drive hosts, with the extensions strict verifiers
    (Python 3.13's VERIFY_X509_STRICT) insist on."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vsr-cli test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DRIVE)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in HOSTS]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_path, cert_path, key_path = (
        directory / "ca.pem",
        directory / "leaf.pem",
        directory / "key.pem",
    )
    ca_path.write_bytes(ca.public_bytes(pem))
    cert_path.write_bytes(leaf.public_bytes(pem))
    key_path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


def _hang_up(sock: socket.socket) -> None:
    """End a connection a handler may be waiting on, so closing never waits for idle
    keep-alive tunnels. The plain socket's shutdown, also for TLS sockets: it does not
    race the handler's TLS state."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _Server(ThreadingHTTPServer):
    """Joins its handler threads on close, and stays quiet about clients that hang up."""

    daemon_threads = False

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class FakeDrive:
    """Public Drive folders and files behind an intercepting HTTPS proxy.

    ``requests`` records each decrypted request as ``"GET host/path?query"``,
    with ``" [bytes=N-]"`` appended when it carried a ``Range`` header.
    """

    def __init__(self) -> None:
        self.folders: dict[str, tuple[str, dict[str, str]]] = {}
        self.files: dict[str, DriveFile] = {}
        self.requests: list[str] = []
        self._dir = Path(tempfile.mkdtemp(prefix="fake-drive-"))
        self.ca_path, cert_path, key_path = _make_certificates(self._dir)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert_path, key_path)
        self._live: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closing = False
        drive = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.tls: ssl.SSLSocket | None = None
                drive._track(self.connection)

            def finish(self) -> None:
                try:
                    super().finish()
                finally:
                    drive._untrack(self.connection)
                    if self.tls is not None:
                        self.tls.close()

            def do_CONNECT(self) -> None:
                host, _, port = self.path.rpartition(":")
                if self.tls is not None or host not in HOSTS or port != "443":
                    self._send(403, b"", "text/plain")
                    self.close_connection = True
                    return
                self.send_response(200, "Connection established")
                self.end_headers()
                drive._untrack(self.connection)
                try:
                    self.tls = tls.wrap_socket(self.connection, server_side=True)
                except (ssl.SSLError, OSError):
                    self.close_connection = True
                    return
                self.connection = self.tls
                drive._track(self.tls)
                # Clients send CONNECT as HTTP/1.0, which would end the loop here.
                self.close_connection = False
                self.rfile = self.tls.makefile("rb")
                self.wfile = self.tls.makefile("wb")

            def do_GET(self) -> None:
                if self.tls is None:
                    self._send(400, b"only CONNECT tunnels are served", "text/plain")
                    return
                host = self.headers.get("Host", "").split(":")[0]
                url = urlsplit(self.path)
                rng = self.headers.get("Range")
                drive.requests.append(f"GET {host}{self.path}" + (f" [{rng}]" if rng else ""))
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                fid = q.get("id", "")
                if host == DRIVE and url.path == "/embeddedfolderview" and fid in drive.folders:
                    self._send(200, _folder_page(*drive.folders[fid]), "text/html; charset=utf-8")
                elif host == DRIVE and url.path == "/uc" and fid in drive.files:
                    location = f"https://{USERCONTENT}/download?id={fid}&export=download"
                    self._send(303, b"", "text/html; charset=UTF-8", Location=location)
                elif host == USERCONTENT and url.path == "/download" and fid in drive.files:
                    self._download(fid, drive.files[fid], q)
                else:
                    self._send(404, NOT_FOUND_PAGE, "text/html; charset=utf-8")

            def _download(self, fid: str, f: DriveFile, q: dict[str, str]) -> None:
                if f.quota:
                    self._send(403, QUOTA_PAGE, "text/html; charset=utf-8")
                    return
                if f.confirm and (q.get("confirm") != "t" or q.get("uuid") != f.uuid):
                    self._send(200, _virus_scan_page(fid, f), "text/html; charset=utf-8")
                    return
                size, start = len(f.data), 0
                status, extra = 200, {}
                rng = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
                if_range = self.headers.get("If-Range")
                if rng and if_range in (None, format_datetime(LAST_MODIFIED, usegmt=True)):
                    start = int(rng[1])
                    if start >= size:
                        self._send(416, b"", "text/plain", **{"Content-Range": f"bytes */{size}"})
                        return
                    status = 206
                    extra["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
                body = f.data[start:]
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header(
                    "Content-Disposition",
                    f"attachment; filename=\"{f.name}\"; filename*=UTF-8''{quote(f.name)}",
                )
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Last-Modified", format_datetime(LAST_MODIFIED, usegmt=True))
                self.send_header("Accept-Ranges", "bytes")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                if f.cut_after is not None and start == 0:
                    # A transfer that breaks off: fewer bytes than announced, then EOF.
                    self.wfile.write(body[: f.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def _send(self, status: int, body: bytes, ctype: str, **headers: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.proxy = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def add_folder(self, folder_id: str, files: dict[str, str], name: str = "weights") -> None:
        """List ``files`` (name -> file id) in a public folder titled ``name``."""
        for fid in (folder_id, *files.values()):
            # gdown skips links whose ids are shorter than Drive's (25+ characters).
            if not re.fullmatch(r"[-\w]{25,}", fid):
                raise ValueError(f"Drive ids are 25+ word characters, got {fid!r}")
        self.folders[folder_id] = (name, dict(files))

    def add_file(
        self,
        file_id: str,
        name: str,
        data: bytes,
        *,
        confirm: bool = False,
        quota: bool = False,
        cut_after: int | None = None,
    ) -> None:
        """Serve ``data`` as ``name``: behind the virus-scan form (``confirm``), never
        (``quota``), or breaking off after ``cut_after`` bytes whenever a response
        starts at byte 0 (``Range`` requests are answered in full)."""
        self.files[file_id] = DriveFile(name, data, confirm, quota, cut_after)

    def env(self) -> dict[str, str]:
        """Variables that send requests' HTTPS through this proxy and trust its CA.

        Both spellings are set because lowercase proxy variables win in urllib."""
        return {
            "HTTPS_PROXY": self.proxy,
            "https_proxy": self.proxy,
            "NO_PROXY": "",
            "no_proxy": "",
            "REQUESTS_CA_BUNDLE": str(self.ca_path),
        }

    def __enter__(self) -> FakeDrive:
        self._thread.start()
        return self

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._live.add(sock)
            if self._closing:
                _hang_up(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._live.discard(sock)

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        with self._lock:
            self._closing = True
            for sock in self._live:
                _hang_up(sock)
        self._server.server_close()
        self._thread.join()
        shutil.rmtree(self._dir, ignore_errors=True)
