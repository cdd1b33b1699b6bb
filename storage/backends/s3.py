"""Blobs as objects in any S3-compatible store (boto3), written by streamed multipart upload.

An object becomes visible only when its upload completes (``CompleteMultipartUpload`` or a
single ``PutObject`` for small blobs), so an interrupted write leaves at most an incomplete
multipart upload, which ``sweep_temporary`` aborts.
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import time
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from storage.backends.base import BLOB_NAME_RE, BlobSource, Bytes, check_name
from storage.errors import BackendError, BlobExists, BlobNotFound

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
DEFAULT_PART_SIZE = 8 * 1024 * 1024
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
QUARANTINE_PREFIX = "quarantine/"  # orphaned blobs moved aside (never in names())
TAIL_PREFIX = ".tails/"  # the last < 5 MiB of an upload in flight, until a part is full


def _code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


class S3Backend:
    """Objects ``<prefix><name>`` in one bucket."""

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        part_size: int = DEFAULT_PART_SIZE,
        client: Any = None,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError("S3 parts must be at least 5 MiB")
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size
        self._s3 = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            # Every part and object goes with a CRC32 the server checks before it keeps the
            # bytes: what a blob's row then trusts instead of reading the blob back (the
            # default of this botocore; set here so AWS_REQUEST_CHECKSUM_CALCULATION in the
            # environment cannot turn it off).
            config=Config(retries={"max_attempts": 5, "mode": "standard"},
                          request_checksum_calculation="when_supported"),
        )

    def __repr__(self) -> str:
        return f"S3Backend(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _key(self, name: str) -> str:
        return self.prefix + check_name(name)

    @contextlib.contextmanager
    def writer(self, name: str) -> Iterator[_MultipartSink]:
        """Buffer parts of ``part_size`` and upload each as it fills; complete on clean exit."""
        key = self._key(name)
        if self.exists(name):
            raise BlobExists(f"blob {name} already exists")
        sink = _MultipartSink(self._s3, self.bucket, key, self.part_size)
        try:
            yield sink
            sink.complete()
        except BaseException:
            sink.abort()
            raise

    def append(self, name: str, state: str | None) -> _AppendUpload:
        """A multipart upload kept open across requests: one part per >= 5 MiB checkpoint,
        the rest in a small tail object until it fills a part (S3 refuses smaller parts)."""
        key = self._key(name)
        if state is None:
            return _AppendUpload(self, name, key, None, [], None, bytearray())
        saved = json.loads(state)
        tail = bytearray()
        if saved.get("tail"):
            try:
                obj = self._s3.get_object(Bucket=self.bucket, Key=saved["tail"])
                tail = bytearray(obj["Body"].read())
            except ClientError as e:
                if _code(e) in _NOT_FOUND:
                    raise BlobNotFound(f"the unfinished bytes of blob {name} are gone") from e
                raise BackendError(f"reading the tail of blob {name} failed ({_code(e)})") from e
            except BotoCoreError as e:
                raise BackendError(f"reading the tail of blob {name} failed") from e
            if len(tail) != saved["tail_size"]:
                raise BackendError(f"the tail of blob {name} has the wrong size")
        parts = [{"PartNumber": n, "ETag": etag} for n, etag in saved["parts"]]
        return _AppendUpload(self, name, key, saved["upload_id"], parts, saved.get("tail"), tail)

    def discard_append(self, name: str, state: str) -> None:
        saved = json.loads(state)
        with contextlib.suppress(ClientError, BotoCoreError):
            if saved.get("upload_id"):
                self._s3.abort_multipart_upload(Bucket=self.bucket, Key=self._key(name),
                                                UploadId=saved["upload_id"])
            if saved.get("tail"):
                self._s3.delete_object(Bucket=self.bucket, Key=saved["tail"])

    def open(self, name: str) -> BlobSource:
        try:
            obj = self._s3.get_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as e:
            if _code(e) in _NOT_FOUND:
                raise BlobNotFound(f"blob {name} not found") from e
            raise BackendError(f"reading blob {name} failed ({_code(e)})") from e
        except BotoCoreError as e:
            raise BackendError(f"reading blob {name} failed") from e
        return _BodyReader(obj["Body"])

    def exists(self, name: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as e:
            if _code(e) in _NOT_FOUND:
                return False
            raise BackendError(f"checking blob {name} failed ({_code(e)})") from e
        return True

    def delete(self, name: str) -> None:
        try:
            self._s3.delete_object(Bucket=self.bucket, Key=self._key(name))
        except (ClientError, BotoCoreError) as e:
            raise BackendError(f"deleting blob {name} failed") from e

    def sweep_temporary(self, older_than: float = 0, keep: Collection[str] = ()) -> list[str]:
        """Abort incomplete multipart uploads under the prefix, except those of the blobs in
        ``keep`` (uploads in flight); return their object keys."""
        cutoff = time.time() - older_than
        removed: list[str] = []
        kept = {self._key(name) for name in keep}
        paginator = self._s3.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for upload in page.get("Uploads", []):
                if upload["Key"] in kept:
                    continue
                initiated: datetime = upload["Initiated"]
                if initiated.replace(tzinfo=initiated.tzinfo or UTC).timestamp() > cutoff:
                    continue
                with contextlib.suppress(ClientError):
                    self._s3.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed.append(upload["Key"])
        return removed

    def modified(self, name: str) -> float:
        try:
            head = self._s3.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as e:
            if _code(e) in _NOT_FOUND:
                raise BlobNotFound(f"blob {name} not found") from e
            raise BackendError(f"checking blob {name} failed ({_code(e)})") from e
        when: datetime = head["LastModified"]
        return when.replace(tzinfo=when.tzinfo or UTC).timestamp()

    def quarantine(self, name: str) -> None:
        """Copy to ``<prefix>quarantine/<name>``, then delete the original."""
        key = self._key(name)
        target = f"{self.prefix}{QUARANTINE_PREFIX}{name}"
        try:
            self._s3.copy_object(Bucket=self.bucket, Key=target,
                                 CopySource={"Bucket": self.bucket, "Key": key})
            self._s3.delete_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if _code(e) in _NOT_FOUND:
                raise BlobNotFound(f"blob {name} not found") from e
            raise BackendError(f"quarantining blob {name} failed ({_code(e)})") from e
        except BotoCoreError as e:
            raise BackendError(f"quarantining blob {name} failed") from e

    def quarantined(self) -> Iterator[str]:
        prefix = self.prefix + QUARANTINE_PREFIX
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                name = obj["Key"][len(prefix) :]
                if BLOB_NAME_RE.fullmatch(name):
                    yield name

    def names(self) -> Iterator[str]:
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                name = obj["Key"][len(self.prefix) :]
                if BLOB_NAME_RE.fullmatch(name):
                    yield name


class _MultipartSink:
    """Buffers at most one part in memory; starts the multipart upload only when needed."""

    def __init__(self, s3: Any, bucket: str, key: str, part_size: int) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._key = key
        self._part_size = part_size
        self._buf = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def write(self, data: Bytes, /) -> int:
        self._buf += data
        if len(self._buf) >= self._part_size:
            self._flush_part()
        return len(data)

    def _flush_part(self) -> None:
        try:
            if self._upload_id is None:
                resp = self._s3.create_multipart_upload(Bucket=self._bucket, Key=self._key)
                self._upload_id = resp["UploadId"]
            number = len(self._parts) + 1
            resp = self._s3.upload_part(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=bytes(self._buf),
            )
        except (ClientError, BotoCoreError) as e:
            raise BackendError("uploading a blob part failed") from e
        self._parts.append({"PartNumber": number, "ETag": resp["ETag"]})
        self._buf.clear()

    def complete(self) -> None:
        try:
            if self._upload_id is None:
                self._s3.put_object(Bucket=self._bucket, Key=self._key, Body=bytes(self._buf))
                return
            if self._buf:
                self._flush_part()
            self._s3.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        except (ClientError, BotoCoreError) as e:
            raise BackendError("committing a blob failed") from e
        finally:
            self._buf = bytearray()

    def abort(self) -> None:
        self._buf = bytearray()
        if self._upload_id is not None:
            with contextlib.suppress(ClientError, BotoCoreError):
                self._s3.abort_multipart_upload(
                    Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
                )


class _AppendUpload:
    """The sink ``S3Backend.append`` hands out."""

    def __init__(
        self, backend: S3Backend, name: str, key: str, upload_id: str | None,
        parts: list[dict[str, Any]], tail: str | None, buf: bytearray,
    ) -> None:
        self._b = backend
        self._s3 = backend._s3
        self._name = name
        self._key = key
        self._upload_id = upload_id
        self._parts = parts
        self._tail = tail  # the tail object of the state we resumed from / last checkpoint
        self._stale: list[str] = []  # older tails, deleted once a newer state is in use
        self._buf = buf

    def write(self, data: Bytes, /) -> int:
        self._buf += data
        if len(self._buf) >= self._b.part_size:
            self._upload_part()
        return len(data)

    def _upload_part(self) -> None:
        try:
            if self._upload_id is None:
                resp = self._s3.create_multipart_upload(Bucket=self._b.bucket, Key=self._key)
                self._upload_id = resp["UploadId"]
            number = len(self._parts) + 1
            resp = self._s3.upload_part(Bucket=self._b.bucket, Key=self._key,
                                        UploadId=self._upload_id, PartNumber=number,
                                        Body=bytes(self._buf))
        except (ClientError, BotoCoreError) as e:
            raise BackendError("uploading a blob part failed") from e
        self._parts.append({"PartNumber": number, "ETag": resp["ETag"]})
        self._buf.clear()
        self._retire_tail()

    def _retire_tail(self) -> None:
        if self._tail is not None:
            self._stale.append(self._tail)
            self._tail = None

    def _delete_stale(self, keep_last: bool) -> None:
        # The state naming the newest stale tail may be the one the database still holds
        # (its checkpoint is committed only after this returns): keep that one.
        doomed = self._stale[:-1] if keep_last else self._stale
        for key in doomed:
            with contextlib.suppress(ClientError, BotoCoreError):
                self._s3.delete_object(Bucket=self._b.bucket, Key=key)
        self._stale = self._stale[-1:] if keep_last else []

    def checkpoint(self) -> str:
        if len(self._buf) >= MIN_PART_SIZE:
            self._upload_part()
        elif self._buf:
            key = f"{self._b.prefix}{TAIL_PREFIX}{self._name}-{secrets.token_hex(8)}"
            try:
                self._s3.put_object(Bucket=self._b.bucket, Key=key, Body=bytes(self._buf))
            except (ClientError, BotoCoreError) as e:
                raise BackendError("saving the tail of a blob failed") from e
            self._retire_tail()
            self._tail = key
        self._delete_stale(keep_last=True)
        return json.dumps({
            "upload_id": self._upload_id,
            "parts": [[p["PartNumber"], p["ETag"]] for p in self._parts],
            "tail": self._tail if self._buf else None,
            "tail_size": len(self._buf),
        })

    def complete(self) -> None:
        try:
            if self._upload_id is None:
                if self._b.exists(self._name):
                    raise BlobExists(f"blob {self._name} already exists")
                self._s3.put_object(Bucket=self._b.bucket, Key=self._key, Body=bytes(self._buf))
            else:
                if self._buf:
                    self._upload_part()
                self._s3.complete_multipart_upload(
                    Bucket=self._b.bucket, Key=self._key, UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts})
        except (ClientError, BotoCoreError) as e:
            raise BackendError("committing a blob failed") from e
        self._buf = bytearray()
        self._retire_tail()
        self._delete_stale(keep_last=False)

    def close(self) -> None:
        self._buf = bytearray()


class _BodyReader(io.RawIOBase):
    """A raw, readinto-capable view of a botocore StreamingBody."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._body.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
