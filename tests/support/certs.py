"""A self-signed certificate for 127.0.0.1 and localhost, made with `openssl req` (for HTTPS tests)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

FAKE_TAILSCALE = '''#!/bin/sh
# A stand-in for tailscale (this machine has no tailnet): logs its arguments, answers like the real one.
printf '%s\\n' "$*" >> "$TAILSCALE_LOG"
case "$1" in
  ip) echo 127.0.0.1; echo fd7a:115c:a1e0::1 ;;
  status) echo '{"Self": {"DNSName": "box.tail1234.ts.net.", "TailscaleIPs": ["127.0.0.1"]}}' ;;
  cert) cp "$TAILSCALE_CERT" "$3"; cp "$TAILSCALE_KEY" "$5"; chmod 600 "$5" ;;
  *) echo "unknown command $1" >&2; exit 2 ;;
esac
'''


def self_signed(folder: Path, names: tuple[str, ...] = ("localhost",),
                ips: tuple[str, ...] = ("127.0.0.1",)) -> tuple[Path, Path]:
    """(certificate, key) in `folder`, for `ips` and DNS `names`; the key is owner-only."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    san = ",".join([*(f"IP:{ip}" for ip in ips), *(f"DNS:{n}" for n in names)])
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", f"subjectAltName={san}"], check=True, capture_output=True, timeout=30)
    os.chmod(key, 0o600)
    return cert, key


def fake_tailscale(folder: Path, cert: Path, key: Path) -> dict[str, str]:
    """A `tailscale` script in `folder`; returns the environment that puts it first on PATH (its calls are
    logged to folder/calls.log)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "tailscale"
    script.write_text(FAKE_TAILSCALE)
    script.chmod(0o700)
    return {"PATH": f"{folder}:{os.environ['PATH']}", "TAILSCALE_LOG": str(folder / "calls.log"),
            "TAILSCALE_CERT": str(cert), "TAILSCALE_KEY": str(key)}
