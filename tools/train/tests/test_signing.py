"""tools/train's manifest signing (ecgnat/signing.py), which runs the device's own `ecgedge model sign`.

The end-to-end cases need the Release build of ecgedge (CI builds it before pytest) and skip without it. Where Python's
`cryptography` package is installed, the signature is also checked by an implementation independent of the device's:
ECDSA P-256/SHA-256 over the documented context line and the manifest's exact bytes (docs/model-signing.md).
"""
import base64
import json
import os
import shutil
import subprocess

import pytest

from ecgnat import signing

MODELS = os.path.join(signing.REPO, "models")
TEST_PUB = os.path.join(MODELS, "keys", "test-signing-key.pub.pem")
CONTEXT = b"ecgedge model manifest signature v1\n"


def have_ecgedge():
    try:
        signing.ecgedge_command()
        return True
    except signing.SigningError:
        return False


needs_ecgedge = pytest.mark.skipif(not have_ecgedge(), reason="ecgedge Release build not found (dotnet build src/EcgEdge -c Release)")


@pytest.fixture
def model_dir(tmp_path):
    for name in ("ecg-nat.manifest.json", "ecg-nat-fp32.onnx", "ecg-nat-int8.onnx"):
        shutil.copy(os.path.join(MODELS, name), tmp_path / name)
    return tmp_path


def test_a_key_that_cannot_sign_fails_before_any_work(tmp_path):
    with pytest.raises(signing.SigningError, match="cannot read"):
        signing.check_key(str(tmp_path / "missing.pem"))
    with pytest.raises(signing.SigningError, match="public key cannot sign"):
        signing.check_key(TEST_PUB)
    encrypted = tmp_path / "enc.pem"
    encrypted.write_text("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
    with pytest.raises(signing.SigningError, match="encrypted"):
        signing.check_key(str(encrypted))
    signing.check_key(signing.TEST_KEY)  # the published test key is usable


def test_an_unsigned_rewrite_drops_the_stale_signature(model_dir):
    manifest = str(model_dir / "ecg-nat.manifest.json")
    shutil.copy(os.path.join(MODELS, "ecg-nat.manifest.json.sig"), manifest + ".sig")
    lines = []
    signing.finish(manifest, None, log=lines.append)
    assert not os.path.exists(manifest + ".sig")
    assert "NOT signed" in lines[0]


def test_a_missing_ecgedge_is_reported_with_how_to_build_it(tmp_path):
    with pytest.raises(signing.SigningError, match="dotnet build"):
        signing.ecgedge_command(str(tmp_path / "nope" / "ecgedge"))


@needs_ecgedge
def test_a_manifest_signed_here_verifies_on_the_device_and_a_changed_one_does_not(model_dir):
    manifest = str(model_dir / "ecg-nat.manifest.json")
    man = json.load(open(manifest))
    man["version"] = "0.0.0-pytest"
    with open(manifest, "w") as f:
        json.dump(man, f, indent=2)
    lines = []
    signing.finish(manifest, signing.TEST_KEY, log=lines.append)
    assert "TEST key" in lines[0]
    sig = json.load(open(manifest + ".sig"))
    assert (sig["schema"], sig["algorithm"], sig["keyId"]) == ("ecgedge.manifest-signature/1", "ECDSA-P256-SHA256", "8726efb4413fcccf")
    verify = signing.ecgedge_command() + ["model", "verify", manifest]
    r = subprocess.run(verify, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0.0.0-pytest+sha256:" in r.stdout

    with open(manifest, "a") as f:
        f.write(" ")  # one byte after signing
    r = subprocess.run(verify, capture_output=True, text=True)
    assert r.returncode == 1
    assert "SignatureInvalid" in r.stdout


@needs_ecgedge
def test_the_device_tool_refuses_to_sign_a_manifest_whose_files_do_not_match(model_dir):
    manifest = str(model_dir / "ecg-nat.manifest.json")
    with open(model_dir / "ecg-nat-int8.onnx", "r+b") as f:
        f.seek(1000)
        b = f.read(1)
        f.seek(1000)
        f.write(bytes([b[0] ^ 1]))
    with pytest.raises(signing.SigningError, match="HashMismatch"):
        signing.sign(manifest, signing.TEST_KEY)
    assert not os.path.exists(manifest + ".sig")


def test_the_shipped_signature_verifies_with_an_independent_implementation():
    crypto = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.exceptions import InvalidSignature

    with open(TEST_PUB, "rb") as f:
        public = crypto.load_pem_public_key(f.read())
    assert isinstance(public.curve, ec.SECP256R1)
    with open(os.path.join(MODELS, "ecg-nat.manifest.json"), "rb") as f:
        manifest = f.read()
    sig = json.load(open(os.path.join(MODELS, "ecg-nat.manifest.json.sig")))
    der = base64.b64decode(sig["signature"])
    public.verify(der, CONTEXT + manifest, ec.ECDSA(hashes.SHA256()))
    # the key id is the SHA-256 of the public key's DER form
    import hashlib
    spki = public.public_bytes(crypto.Encoding.DER, crypto.PublicFormat.SubjectPublicKeyInfo)
    assert hashlib.sha256(spki).hexdigest()[:16] == sig["keyId"]
    # the context line is part of what is signed: the bare manifest does not verify
    with pytest.raises(InvalidSignature):
        public.verify(der, manifest, ec.ECDSA(hashes.SHA256()))
