"""Signing the manifests tools/train writes (docs/model-signing.md).

A device refuses a manifest that is not signed by one of its trusted keys, so every tool here that writes a manifest
takes `--sign-key KEY.pem` (and `--sign-password-env VAR` for an encrypted key). The signature format has one
implementation, the device's own tool: this module only finds the `ecgedge` executable and runs
`ecgedge model sign MANIFEST --key KEY.pem`, which also checks that the manifest fits the device and describes its
files before signing.

The executable: $ECGEDGE (an `ecgedge` executable or `ecgedge.dll`), else the Release build in the repository
(`dotnet build src/EcgEdge -c Release`).
"""
from __future__ import annotations

import os
import subprocess

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
# The published test key (models/keys/README.md): for the demo, tests and workstation experiments only.
TEST_KEY = os.path.join(REPO, "models", "keys", "test-signing-key.pem")
DEFAULT_ECGEDGE = os.path.join(REPO, "src", "EcgEdge", "bin", "Release", "net10.0", "ecgedge")


class SigningError(RuntimeError):
    pass


def add_arguments(ap, default_key=None):
    """--sign-key / --sign-password-env on an argparse parser."""
    ap.add_argument("--sign-key", default=default_key,
                    help="sign the written manifest with this P-256 private key (PEM) through `ecgedge model sign`; "
                         "without it the manifest is unsigned and a device refuses it until signed"
                         + (" (default: the published test key)" if default_key else ""))
    ap.add_argument("--sign-password-env", default=None,
                    help="environment variable holding the password of an encrypted --sign-key")


def check_arguments(ap, args) -> None:
    """After parse_args: an unusable --sign-key, or no ecgedge to sign with, is a usage error (argparse's exit 2) before
    any work starts — not after hours of training."""
    if args.sign_key:
        try:
            check_key(args.sign_key, args.sign_password_env)
            ecgedge_command()
        except SigningError as e:
            ap.error(str(e))


def signature_path(manifest: str) -> str:
    return manifest + ".sig"


def ecgedge_command(exe: str | None = None) -> list[str]:
    """The command that runs ecgedge (`exe`, else $ECGEDGE, else the Release build), or SigningError saying how to get one."""
    exe = exe or os.environ.get("ECGEDGE") or DEFAULT_ECGEDGE
    if not os.path.exists(exe):
        raise SigningError(f"ecgedge not found at {exe}: build it (dotnet build src/EcgEdge -c Release) or set ECGEDGE")
    return ["dotnet", exe] if exe.endswith(".dll") else [exe]


def check_key(key: str, password_env: str | None = None) -> None:
    """Fails before a long run, not after it: the key must be a readable private key PEM (and its password set)."""
    try:
        with open(key) as f:
            pem = f.read(64 * 1024)
    except OSError as e:
        raise SigningError(f"cannot read the signing key {key}: {e}") from e
    if "PRIVATE KEY-----" not in pem:
        raise SigningError(f"{key} holds no private key (a public key cannot sign)")
    if "ENCRYPTED PRIVATE KEY" in pem and not (password_env and os.environ.get(password_env)):
        raise SigningError(f"{key} is encrypted: give --sign-password-env VAR with the password in VAR")
    if password_env and not os.environ.get(password_env):
        raise SigningError(f"--sign-password-env {password_env}: the variable is not set")


def sign(manifest: str, key: str, password_env: str | None = None, ecgedge: str | None = None) -> str:
    """Signs `manifest` with `key` via `ecgedge model sign`; returns the signature file's path."""
    check_key(key, password_env)
    cmd = ecgedge_command(ecgedge) + ["model", "sign", manifest, "--key", key]
    if password_env:
        cmd += ["--password-env", password_env]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SigningError(f"ecgedge model sign failed ({r.returncode}): {(r.stderr or r.stdout).strip()}")
    return signature_path(manifest)


def drop_stale_signature(manifest: str) -> bool:
    """A manifest was (re)written unsigned: removes the signature of its previous content, so that a device reports
    "not signed" rather than "changed after signing". Returns True when one was removed."""
    sig = signature_path(manifest)
    if os.path.exists(sig):
        os.remove(sig)
        return True
    return False


def finish(manifest: str, key: str | None, password_env: str | None = None, log=print, ecgedge: str | None = None) -> None:
    """After writing `manifest`: sign it with `key`, or leave it unsigned (stale signature removed) and say so."""
    if key:
        sig = sign(manifest, key, password_env, ecgedge)
        note = " (the published TEST key: not for patient use)" if os.path.abspath(key) == os.path.abspath(TEST_KEY) else ""
        log(f"[sign] {manifest}: signed with {key}{note} -> {sig}")
    else:
        drop_stale_signature(manifest)
        log(f"[sign] {manifest}: NOT signed; a device refuses it until `ecgedge model sign {manifest} --key KEY.pem` "
            f"(or pass --sign-key)")
