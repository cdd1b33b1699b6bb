"""The custody ledger's signed checkpoint and inclusion proofs (docs/formats.md)."""

from __future__ import annotations

from pydantic import Field

from incidents.api.v1.schemas.base import Out


class CheckpointOut(Out):
    """The latest signed checkpoint (C2SP tlog-checkpoint note) and its verifier key."""

    size: int = Field(ge=0)
    root: str = Field(description="hex")
    root_base64: str
    signed_at: str
    note: str
    verifier_key: str


class ProofOut(Out):
    """RFC 6962 inclusion proof of one custody event in the latest checkpoint."""

    seq: int
    leaf_index: int
    tree_size: int
    event_hash: str
    leaf_hash: str
    hashes: list[str] = Field(description="bottom-up, hex")
    hashes_base64: list[str]
    root: str
    checkpoint: str
