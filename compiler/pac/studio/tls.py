"""What a classroom studio needs to be reached on the LAN: a self-signed certificate for HTTPS (browsers
only allow the microphone on ``https`` pages or ``localhost``), made once and kept in the classroom
folder; this computer's LAN address, found without sending a packet; and the address as a QR code
for the terminal (:mod:`segno` makes the code).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import socket
import ssl
import sys
from pathlib import Path

from ..errors import PacError
from .layout import keep_private, write_bytes_durable

CERT_FILE, KEY_FILE = "cert.pem", "key.pem"
#: How long a new certificate is valid (Apple's platforms refuse longer ones even when trusted).
CERT_DAYS = 825


def lan_address() -> str:
    """This computer's address on the local network, as other computers reach it.

    A UDP socket "connected" to a private address picks the interface a packet would leave by (no
    packet is sent, no network access is needed); without a route the host name's address is used,
    and ``127.0.0.1`` when there is nothing better (then only this computer can connect).
    """
    for target in ("10.255.255.255", "192.168.255.255"):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.connect((target, 1))
            address = probe.getsockname()[0]
            if address and not address.startswith(("0.", "127.")):
                return address
        except OSError:
            pass
        finally:
            probe.close()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            address = info[4][0]
            if not address.startswith("127."):
                return address
    except OSError:
        pass
    return "127.0.0.1"


def fingerprint(cert_pem: bytes) -> str:
    """The certificate's SHA-256 fingerprint as browsers show it (``AB:CD:...``, 32 bytes)."""
    der = ssl.PEM_cert_to_DER_cert(cert_pem.decode("ascii"))
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def _new_certificate(addresses: list[str]) -> tuple[bytes, bytes]:
    """A self-signed certificate (and its EC P-256 key) for ``pac studio`` at ``addresses``, as PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pac studio classroom")])
    alternatives = [x509.DNSName("localhost")]
    try:
        host = socket.gethostname()
        if host and host.isascii():
            alternatives.append(x509.DNSName(host))
    except OSError:
        pass
    for address in dict.fromkeys([*addresses, "127.0.0.1"]):
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(address.strip("[]"))))
        except ValueError:  # a host name given as --host
            if address.isascii() and address.replace("-", "").replace(".", "").isalnum():
                alternatives.append(x509.DNSName(address))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _expired(cert_pem: bytes) -> bool:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(cert_pem)
    return cert.not_valid_after_utc <= datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)


def certificate(folder: Path, *, addresses: list[str]) -> tuple[Path, Path, bool]:
    """The classroom's certificate and key files in ``folder``: kept from before, or made now (also when
    the old one expired or cannot be read).

    Returns
    -------
    (Path, Path, bool)
        The certificate, the key, and whether they were made now.
    """
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    try:
        if cert_path.is_file() and key_path.is_file():
            cert_pem = cert_path.read_bytes()
            if not _expired(cert_pem):
                ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert_path, key_path)
                keep_private(key_path)
                return cert_path, key_path, False
    except (OSError, ValueError, ssl.SSLError):
        pass  # unreadable or damaged: make a new one
    try:
        folder.mkdir(parents=True, exist_ok=True)
        cert_pem, key_pem = _new_certificate(addresses)
        write_bytes_durable(key_path, key_pem, private=True)
        write_bytes_durable(cert_path, cert_pem)
    except OSError as exc:
        raise PacError(f"{folder}: cannot write the classroom's certificate ({exc.strerror or exc})") from None
    return cert_path, key_path, True


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    """A TLS server context with the classroom's certificate (TLS 1.2 or later)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context


def qr_lines(text: str, *, encoding: str | None = None, color: bool = False) -> list[str]:
    """``text`` as a QR code drawn with text, two rows of modules per line (``▀▄█``), light modules in
    the foreground colour; with ``color`` the lines carry ANSI colours (white on black) so the code
    reads right on light and dark terminals alike; an ``encoding`` without those characters gets
    ``##`` blocks, one row per line."""
    import segno

    rows = [[bool(module) for module in row] for row in segno.make(text, error="m").matrix_iter(border=2)]
    try:
        "█▀▄".encode(encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return ["".join("  " if dark else "##" for dark in row) for row in rows]
    if len(rows) % 2:
        rows.append([True] * len(rows[0]))  # a dark row below (drawn as nothing)
    # two module rows per character: the light ones in the foreground colour
    shapes = {(False, False): "█", (False, True): "▀", (True, False): "▄", (True, True): " "}
    lines = []
    for top, bottom in zip(rows[::2], rows[1::2]):
        line = "".join(shapes[pair] for pair in zip(top, bottom))
        lines.append(f"\x1b[97;40m{line}\x1b[0m" if color else line)
    return lines


def terminal_qr(text: str, stream=None) -> list[str]:
    """:func:`qr_lines` for ``stream`` (standard output): coloured on a terminal that shows ANSI colours."""
    stream = stream or sys.stdout
    tty = bool(getattr(stream, "isatty", lambda: False)())
    color = tty and (os.name != "nt" or "WT_SESSION" in os.environ or "TERM" in os.environ)
    return qr_lines(text, encoding=getattr(stream, "encoding", None), color=color)


def qr_svg_uri(text: str) -> str:
    """``text`` as a QR code in an SVG ``data:`` URI (for the teacher's page)."""
    import segno

    return segno.make(text, error="m").svg_data_uri(scale=6, border=2)


__all__ = ["lan_address", "certificate", "fingerprint", "server_context", "qr_lines", "terminal_qr", "qr_svg_uri"]
