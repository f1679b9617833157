"""The signed checkpoint statement: a small text an auditor keeps outside the system.

Ed25519 (``cryptography``), so that anyone holding only the public key can check a statement; the
private key is a PEM file named by the settings (``GREENFLOW_AUDIT_SIGNING_KEY``), made by
``greenflow init`` when absent, readable by its owner only, and never in git. The statement is
plain ``name: value`` lines; the signature covers every byte above its own line::

    # greenflow 历史检查点 / history checkpoint
    format: greenflow-checkpoint/1
    checkpoint: 3
    created_at: 2026-03-02T01:00:00+00:00
    created_by: system:checkpoint
    instances: 14
    events: 243
    merkle_root: 5d1c…
    logs: {"access":{"hash":"…","seq":2},"deployment":{…},"login":{…}}
    broken: []
    previous: 9a0e…
    hash: 77f3…
    key: ed25519:1f2e…
    public_key: <base64 of the 32-byte public key>
    signature: <base64 of the 64-byte signature>
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from engine.errors import InvalidInput
from engine.evidence.checkpoints import Checkpoint

FORMAT = "greenflow-checkpoint/1"
MAX_BYTES = 64 * 1024
HEADER = ("# greenflow 历史检查点 / history checkpoint\n"
          "# 请保存在系统之外；核验：greenflow history verify --all --against 本文件\n"
          "# Keep this file outside the system; check the database with: greenflow history verify --all --against FILE\n")
FIELDS = ("format", "checkpoint", "created_at", "created_by", "instances", "events", "merkle_root", "logs", "broken",
          "previous", "hash", "key", "public_key")


# --- the key ----------------------------------------------------------------------------------

def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_raw: bytes) -> str:
    """A short name of a public key: ``ed25519:`` and the first 32 hex digits of its SHA-256."""
    return "ed25519:" + hashlib.sha256(public_raw).hexdigest()[:32]


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return _raw_public(self.private.public_key())

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_raw)

    def public_pem(self) -> str:
        return self.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_key(path: str | Path) -> SigningKey | None:
    """The signing key in ``path`` (PEM, PKCS #8), or None if there is no such file."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        raise InvalidInput(f"{path} cannot be read as an unencrypted PEM private key",
                           field="audit_signing_key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{path} is not an Ed25519 private key", field="audit_signing_key")
    return SigningKey(key)


def ensure_key(path: str | Path) -> tuple[SigningKey, bool]:
    """The signing key in ``path``, made first if absent (mode 0600); and whether it was made now."""
    found = load_key(path)
    if found is not None:
        return found, False
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as fh:
        fh.write(pem)
    return SigningKey(key), True


# --- the statement ----------------------------------------------------------------------------

def render(checkpoint: Checkpoint, key: SigningKey) -> str:
    """The checkpoint as a signed statement."""
    values = {"format": FORMAT, "checkpoint": checkpoint.id, "created_at": checkpoint.to_dict()["created_at"],
              "created_by": checkpoint.created_by, "instances": checkpoint.instances, "events": checkpoint.events,
              "merkle_root": checkpoint.merkle_root, "logs": _compact(checkpoint.logs),
              "broken": _compact(checkpoint.broken), "previous": checkpoint.prev_hash, "hash": checkpoint.hash,
              "key": key.fingerprint, "public_key": base64.b64encode(key.public_raw).decode()}
    body = HEADER + "".join(f"{name}: {values[name]}\n" for name in FIELDS)
    signature = key.private.sign(body.encode("utf-8"))
    return body + f"signature: {base64.b64encode(signature).decode()}\n"


def _compact(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Statement:
    """A parsed statement: the checkpoint it states, and whether its signature holds."""

    checkpoint: Checkpoint
    key_fingerprint: str
    public_raw: bytes
    signature_valid: bool

    @property
    def hash_valid(self) -> bool:
        """Do the stated fields hash to the stated hash (with the stated previous hash)?"""
        return self.checkpoint.computed_hash() == self.checkpoint.hash


def parse(data: bytes | str) -> Statement:
    """Read a statement; InvalidInput naming the line or field when it is not one."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"not a checkpoint statement: larger than {MAX_BYTES // 1024} KiB", field="file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("not a checkpoint statement: not UTF-8 text", field="file") from None
    marker = text.rfind("\nsignature: ")
    if marker < 0:
        raise InvalidInput("not a checkpoint statement: no 'signature:' line", field="file")
    body, signature_line = text[:marker + 1], text[marker + 1:].strip()
    values: dict[str, str] = {}
    for number, line in enumerate(body.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, colon, value = line.partition(": ")
        if not colon or name not in FIELDS:
            raise InvalidInput(f"checkpoint statement line {number}: expected 'name: value' with a known name",
                               field="file")
        values[name] = value
    missing = [name for name in FIELDS if name not in values]
    if missing:
        raise InvalidInput(f"checkpoint statement: missing {', '.join(missing)}", field="file")
    if values["format"] != FORMAT:
        raise InvalidInput(f"checkpoint statement: format {values['format']!r} is not {FORMAT}", field="file")
    try:
        checkpoint = Checkpoint(int(values["checkpoint"]), dt.datetime.fromisoformat(values["created_at"]),
                                values["created_by"], int(values["instances"]), int(values["events"]),
                                values["merkle_root"], json.loads(values["logs"]), json.loads(values["broken"]),
                                values["previous"], values["hash"])
        public_raw = base64.b64decode(values["public_key"], validate=True)
        signature = base64.b64decode(signature_line.removeprefix("signature: "), validate=True)
        public = Ed25519PublicKey.from_public_bytes(public_raw)
    except (ValueError, binascii.Error, json.JSONDecodeError) as err:
        raise InvalidInput(f"checkpoint statement: a field cannot be read ({err})", field="file") from None
    if checkpoint.created_at.tzinfo is None:
        raise InvalidInput("checkpoint statement: created_at has no time zone", field="file")
    try:
        public.verify(signature, body.encode("utf-8"))
        valid = True
    except InvalidSignature:
        valid = False
    valid = valid and fingerprint(public_raw) == values["key"]
    return Statement(checkpoint, values["key"], public_raw, valid)
