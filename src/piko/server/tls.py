"""HTTPS for `piko server --remote`: which certificate, and the TLS context made from it.

- `--cert FILE --key FILE`: the person's own certificate. The key must be a regular file of theirs,
  owner-only, with no other hard link (config.open_private's checks); it is read through the descriptor
  those checks were made on, so it cannot be swapped in between. Listening beyond loopback, links (a
  pairing's) name the host the certificate is for (`certificate_name`), not 127.0.0.1, unless
  `--allow-host` names one.
- `--remote` without a certificate, with `tailscale` on PATH: the tailnet's address (`tailscale ip -4`) is
  where the server listens, and its machine name (`tailscale status --json`, `Self.DNSName`) gets a
  certificate from `tailscale cert`, written to `$PIKO_HOME/tls/` (owner-only).
- `--remote` with neither: refused. Only the TCP listener speaks TLS; the Unix socket stays plain (it is
  owner-only and no browser reaches it).
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from piko import config

TAILSCALE_TIMEOUT = 60.0  # `tailscale cert` may ask Let's Encrypt for a fresh certificate


class TlsError(Exception):
    """HTTPS cannot be set up; the message says why and what to do."""


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path
    address: str | None = None  # where to listen (the tailnet's address); None: as --host says
    name: str | None = None  # the host name the certificate is for, used in links (the tailnet's name)


def plan(remote: bool, cert: Path | None, key: Path | None, home: Path) -> Tls | None:
    """The certificate to serve with, or None for plain HTTP on loopback (TlsError when it cannot be)."""
    if (cert is None) != (key is None):
        raise TlsError("give both --cert FILE and --key FILE (the certificate and its private key)")
    if cert is not None and key is not None:
        return Tls(cert, Path(os.path.realpath(key)))
    if not remote:
        return None
    if shutil.which("tailscale") is None:
        raise TlsError("--remote serves HTTPS only: give --cert FILE --key FILE, or install tailscale "
                       "(then the tailnet's address and certificate are used)")
    return tailscale(home)


def _tailscale(*args: str) -> str:
    try:
        done = subprocess.run(["tailscale", *args], capture_output=True, text=True, timeout=TAILSCALE_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise TlsError(f"`tailscale {' '.join(args)}` failed: {e}") from None
    if done.returncode != 0:
        raise TlsError(f"`tailscale {' '.join(args)}` failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


def tailscale(home: Path) -> Tls:
    """The tailnet's address and a certificate for this machine's tailnet name, from `tailscale`."""
    address = _tailscale("ip", "-4").split()
    try:
        name = str(json.loads(_tailscale("status", "--json"))["Self"]["DNSName"]).rstrip(".")
    except (ValueError, KeyError, TypeError):
        name = ""
    if not address or not name:
        raise TlsError("tailscale gave no address or machine name: is this machine logged in to a tailnet "
                       "(`tailscale up`) with MagicDNS and HTTPS certificates enabled?")
    folder = Path(config.ensure_private_dir(str(home / "tls")))
    cert, key = folder / "tailscale.crt", folder / "tailscale.key"
    _tailscale("cert", "--cert-file", str(cert), "--key-file", str(key), name)
    return Tls(cert, key, address=address[0], name=name)


def certificate_name(cert: Path) -> str | None:
    """The name other devices reach the server by, from the certificate's subjectAltName: its first DNS
    name that is neither loopback (`localhost`) nor a wildcard, else its first IPv4 address that is not
    loopback; None when it names only this machine (or cannot be read: `context` says why)."""
    import ipaddress

    from cryptography import x509

    try:
        certificate = x509.load_pem_x509_certificate(cert.read_bytes())
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return None
    for name in names.get_values_for_type(x509.DNSName):
        name = name.lower().rstrip(".")
        if name and "*" not in name and name != "localhost" and not name.endswith(".localhost"):
            return name
    for ip in names.get_values_for_type(x509.IPAddress):
        if isinstance(ip, ipaddress.IPv4Address) and not (ip.is_loopback or ip.is_unspecified):
            return str(ip)
    return None


def context(tls: Tls) -> ssl.SSLContext:
    """The server's TLS context (TlsError when the key is not safely the person's, or does not load)."""
    try:
        fd = config.open_private(str(tls.key), os.O_RDONLY)
    except config.UnsafeHome as e:
        raise TlsError(f"refusing the private key: {e}") from None
    except OSError as e:
        raise TlsError(f"cannot read the private key {tls.key}: {e.strerror}") from None
    try:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(tls.cert), f"/proc/self/fd/{fd}")  # the very file that was checked
    except (ssl.SSLError, OSError) as e:
        raise TlsError(f"cannot use the certificate {tls.cert} with the key {tls.key}: {e}") from None
    finally:
        os.close(fd)
    return ctx
