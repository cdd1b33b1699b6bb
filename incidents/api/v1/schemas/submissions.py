"""Witness submissions: answers, the receipt, and the multipart bodies (hand-written)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from incidents.api.v1.schemas.base import Body, Out

Counts = dict[str, int | None]  # injured, detained, killed: None when not given
Consent = dict[str, bool]  # legal, research, publication, contact


class SubmissionItemOut(Out):
    id: str
    kind: str = Field(description="testimony or file")
    name: str | None = Field(description="the declared file name (stored sealed); null "
                                         "while the vault is sealed")
    declared_type: str | None
    size: int
    received_at: str | None


class SubmissionOut(Out):
    """What a witness sees of a submission: never reviewers' notes, never the exact point."""

    id: str
    status: str
    created_at: str | None
    occurred_at: str | None
    time_precision: str
    date_only: bool
    place: str
    region: str | None
    has_point: bool
    categories: list[str]
    tags: list[str]
    counts: Counts
    consent: Consent
    items: list[SubmissionItemOut]

    @classmethod
    def of(cls, summary: dict[str, Any]) -> SubmissionOut:
        return cls.model_validate(summary)


class ConsentWithdrawIn(Body):
    withdraw: list[Literal["legal", "research", "publication", "contact"]] = Field(
        [], max_length=4, description="the uses the witness no longer agrees to")


class SubmissionListOut(Out):
    submissions: list[SubmissionOut]


class SubmissionCreatedOut(Out):
    id: str


class FilesAddedOut(Out):
    items: list[str] = Field(description="the new evidence items' ids")


class ReceiptItemOut(Out):
    id: str
    kind: str
    name: str | None = Field(description="null while the vault is sealed (hashes_pending)")
    size: int
    sha256: str | None = Field(description="null while the vault is sealed (hashes_pending)")
    salt: str | None = Field(description="null while the vault is sealed (hashes_pending)")
    commitment: str | None
    received_at: str | None


class ReceiptEventOut(Out):
    format: str = Field(description="incidents-custody-event/v1 or /v2; the hash differs")
    actor_commitment: str | None = Field(
        default=None, description="v2 only: what the hash covers instead of `actor`")
    subject_prev: str | None = Field(
        default=None, description="v2 only: hash of the previous event about the subject")
    seq: int
    time: str
    actor: str | None
    action: str
    subject: str
    commitment: str | None
    details: str = Field(description="the canonical JSON text the hash covers")
    prev_hash: str
    hash: str
    inclusion_proof: list[str]


class ReceiptCheckpointOut(Out):
    origin: str
    size: int
    root: str | None
    note: str | None
    public_key: str
    verifier_key: str = Field(description="C2SP verifier key of the checkpoint's signer")


class ReceiptOut(Out):
    """The witness receipt (incidents-receipt/v1; docs/formats.md)."""

    format: str
    hashes_pending: bool = Field(
        description="true while the vault is sealed: fetch the receipt again after the unseal "
                    "for each item's sha256 and salt (the commitments do not change)")
    submission: str
    received_at: str | None
    items: list[ReceiptItemOut]
    event_format: str
    commitment_tag: str
    events: list[ReceiptEventOut]
    checkpoint: ReceiptCheckpointOut
    how_to_check: list[str]


# The multipart bodies stream: files are stored as they arrive, so no model reads them.
STRING = {"type": "string"}
METADATA = {"type": "object", "description": "Unknown fields are ignored", "properties": {
    "testimony": STRING, "occurred_at": {"type": "string", "description": "ISO 8601"},
    "time_precision": {"type": "string", "enum": ["exact", "approximate", "unknown"]},
    "place": {"type": "string", "description": "gazetteer id, a place name in en/ru/kk, "
              "or prefer_not_to_say"},
    "point": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    "categories": {"type": "array", "items": STRING}, "tags": {"type": "array", "items": STRING},
    "counts": {"type": "object", "properties": {
        k: {"type": "integer", "minimum": 0} for k in ("injured", "detained", "killed")}},
    "forces": STRING,
    "consent": {"type": "object", "required": ["legal", "research", "publication", "contact"],
                "properties": {k: {"type": "boolean"} for k in (
                    "legal", "research", "publication", "contact")}},
    "uploads": {"type": "array", "items": STRING, "description": "finished tus upload ids"},
}, "required": ["time_precision", "place", "consent"]}
FILES = {"type": "array", "items": {"type": "string", "format": "binary"}}
CREATE_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["metadata"], "properties": {
        "metadata": {**METADATA, "description": "JSON text; send it before the files"},
        "files": FILES}},
    "encoding": {"metadata": {"contentType": "application/json"}}}}}}
FILES_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "properties": {
        "files": FILES, "uploads": {
            "type": "string", "description": "finished tus upload ids, comma-separated"}}}}}}}
