"""A Merkle tree over the chain heads, computed in one pass with O(log n) memory.

The tree is RFC 6962's (Certificate Transparency): a leaf hash is ``sha256(0x00 || data)``, an
inner node ``sha256(0x01 || left || right)``, and a tree of n leaves splits at the largest power
of two below n. The prefixes keep a leaf from passing for an inner node. The root of no leaves is
``sha256("")``.
"""
from __future__ import annotations

import hashlib
from typing import Iterable


def leaf_data(instance_id: int, event_count: int, head_hash: str) -> bytes:
    """What one leaf commits to: an instance, how many events its history had, and the last hash."""
    return f"{instance_id}:{event_count}:{head_hash}".encode()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleBuilder:
    """Add leaves in order, then take the root; keeps one hash per set bit of the leaf count."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (height, hash) of complete subtrees, left to right
        self.count = 0

    def add(self, data: bytes) -> None:
        self.count += 1
        height, digest = 0, leaf_hash(data)
        while self._stack and self._stack[-1][0] == height:
            _, left = self._stack.pop()
            height, digest = height + 1, node_hash(left, digest)
        self._stack.append((height, digest))

    def root(self) -> str:
        if not self._stack:
            return hashlib.sha256(b"").hexdigest()
        # The complete subtrees are in decreasing size: fold them from the right (RFC 6962's split).
        digest = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            digest = node_hash(left, digest)
        return digest.hex()


def merkle_root(leaves: Iterable[bytes]) -> str:
    builder = MerkleBuilder()
    for data in leaves:
        builder.add(data)
    return builder.root()


def reference_root(leaves: list[bytes]) -> str:
    """RFC 6962's recursive definition, for tests of ``MerkleBuilder``."""
    def mth(items: list[bytes]) -> bytes:
        if len(items) == 1:
            return leaf_hash(items[0])
        split = 1
        while split * 2 < len(items):
            split *= 2
        return node_hash(mth(items[:split]), mth(items[split:]))

    return mth(leaves).hex() if leaves else hashlib.sha256(b"").hexdigest()
