"""Objects by key, in an S3 bucket or a local folder: what compaction and pruning need and nothing more.

Both backends answer alike. Errors are the project's (S3 through the door, `dmarc_store.aws_clients`,
including a body read that fails midway and a batch delete's per-key errors). A key with no object
raises `ObjectMissing` (S3 NoSuchKey, a local file gone), which tells a concurrent compaction's delete
apart from every other failure. `read` names the version it read and `delete_unchanged` deletes a key
only while it is still that version: on S3 a conditional delete (the ETag as If-Match, exact); locally
the file's inode, size and modification time are compared just before the unlink (a gap of
microseconds, against a writer that would have to replace that very file in it).
"""

from __future__ import annotations

import builtins
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmarc_store.errors import ObjectMissing, PermanentStoreError, TransientStoreError

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

_BATCH = 1000
"""The most keys one DeleteObjects request takes."""
_CHANGED_CODES = ("PreconditionFailed", "ConditionalRequestConflict")
"""A conditional delete's answers when the object is no longer the version named (412, or 409 while a
write of it is under way): the key stays."""


@dataclass(frozen=True)
class StoredObject:
    """One object as read: its bytes and which write of the key they are."""

    data: bytes
    version: str
    """S3's ETag; locally the file's inode, size and modification time."""


class Objects(ABC):
    @abstractmethod
    def list(self, prefix: str) -> builtins.list[str]:
        """Keys under a prefix, sorted."""

    @abstractmethod
    def read(self, key: str) -> StoredObject:
        """The object and its version; ObjectMissing when there is none (deleted since it was listed)."""

    def get(self, key: str) -> bytes:
        """The object's bytes; ObjectMissing when there is none."""
        return self.read(key).data

    def path(self, key: str) -> Path | None:
        """Where the object lies on this machine's disk, if it does (a local store); None for S3."""
        return None

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Write whole or not at all: readers never see half an object."""

    @abstractmethod
    def delete(self, keys: builtins.list[str]) -> None:
        """Delete each key, whatever it holds; a key already gone is no error."""

    @abstractmethod
    def delete_unchanged(self, versions: Mapping[str, str]) -> builtins.list[str]:
        """Delete each key that still holds the version given; return the keys left because they were
        written again since (a key already gone is no error)."""


class S3Objects(Objects):
    def __init__(self, s3: S3Client, bucket: str) -> None:
        from dmarc_store.aws_clients import translating

        self.s3: S3Client = translating(s3, "s3")
        self.bucket = bucket

    def list(self, prefix: str) -> builtins.list[str]:
        keys: builtins.list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(keys)

    def list_dated(self, prefix: str) -> builtins.list[tuple[str, datetime]]:
        """Keys under a prefix, sorted, each with when it was last written (UTC)."""
        found: builtins.list[tuple[str, datetime]] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            found.extend(
                (item["Key"], item["LastModified"].astimezone(UTC)) for item in page.get("Contents", [])
            )
        return sorted(found)

    def read(self, key: str) -> StoredObject:
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=key)
        except PermanentStoreError as error:
            if _error_code(error.__cause__) in ("NoSuchKey", "404"):
                raise ObjectMissing(key) from error
            raise
        return StoredObject(_read_body(response["Body"]), response["ETag"])

    def put(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)

    def delete(self, keys: builtins.list[str]) -> None:
        self._delete_batches([{"Key": key} for key in keys])

    def delete_unchanged(self, versions: Mapping[str, str]) -> builtins.list[str]:
        return self._delete_batches([{"Key": key, "ETag": tag} for key, tag in versions.items()])

    def _delete_batches(self, objects: builtins.list[ObjectIdentifierTypeDef]) -> builtins.list[str]:
        """DeleteObjects in batches; the keys a precondition kept; any other per-key error raised."""
        kept: builtins.list[str] = []
        for start in range(0, len(objects), _BATCH):
            chunk = objects[start : start + _BATCH]
            response = self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})
            for error in response.get("Errors", []):
                code = error.get("Code", "")
                if code in _CHANGED_CODES:
                    kept.append(error.get("Key", ""))
                elif code != "NoSuchKey":
                    raise _delete_error(error)
        return kept


def _error_code(error: BaseException | None) -> str:
    """The AWS error code of a botocore ClientError (the door keeps it as the cause), else ''."""
    from botocore.exceptions import ClientError

    return str(error.response.get("Error", {}).get("Code", "")) if isinstance(error, ClientError) else ""


def _delete_error(error: Mapping[str, Any]) -> Exception:
    """A per-key DeleteObjects error as the door would translate it."""
    from dmarc_store.aws_clients import THROTTLING_CODES

    code = str(error.get("Code", ""))
    message = f"AWS s3.delete_objects: {error.get('Key', '')}: {code}: {error.get('Message', '')}"
    return TransientStoreError(message) if code in THROTTLING_CODES else PermanentStoreError(message)


def _read_body(body: StreamingBody) -> bytes:
    """The streamed body, a failure midway (a connection reset) translated too: the door's wrap ends when
    get_object returns."""
    from botocore.exceptions import BotoCoreError

    from dmarc_store.aws_clients import translate

    try:
        return body.read()
    except BotoCoreError as error:
        raise translate(error, "s3.get_object") from error


class LocalObjects(Objects):
    def __init__(self, root: Path) -> None:
        self.root = root

    def list(self, prefix: str) -> builtins.list[str]:
        base = self.root / prefix
        folder = base if prefix.endswith("/") else base.parent
        if not folder.is_dir():
            return []
        keys = (
            path.relative_to(self.root).as_posix()
            for path in folder.rglob("*")
            if path.is_file() and not path.name.startswith(".")
        )
        return sorted(key for key in keys if key.startswith(prefix))

    def path(self, key: str) -> Path | None:
        return self.root / key

    def list_dated(self, prefix: str) -> builtins.list[tuple[str, datetime]]:
        """Keys under a prefix, sorted, each with when its file was last written (UTC)."""
        dated = []
        for key in self.list(prefix):
            try:
                modified = (self.root / key).stat().st_mtime
            except FileNotFoundError:
                continue
            dated.append((key, datetime.fromtimestamp(modified, UTC)))
        return dated

    def read(self, key: str) -> StoredObject:
        try:
            with (self.root / key).open("rb") as file:
                return StoredObject(file.read(), _version(os.fstat(file.fileno())))
        except FileNotFoundError as error:
            raise ObjectMissing(key) from error

    def put(self, key: str, data: bytes) -> None:
        from dmarc_store.backends.local import write_atomically

        write_atomically(self.root / key, data)

    def delete(self, keys: builtins.list[str]) -> None:
        for key in keys:
            (self.root / key).unlink(missing_ok=True)

    def delete_unchanged(self, versions: Mapping[str, str]) -> builtins.list[str]:
        kept: builtins.list[str] = []
        for key, version in versions.items():
            path = self.root / key
            try:
                current = _version(path.stat())
            except FileNotFoundError:
                continue
            if current != version:
                kept.append(key)
                continue
            path.unlink(missing_ok=True)
        return kept


def _version(status: os.stat_result) -> str:
    """A local file's version: every write (a rename of a new file over it) changes the inode."""
    return f"{status.st_ino}:{status.st_size}:{status.st_mtime_ns}"
