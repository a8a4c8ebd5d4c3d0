"""Objects by key, in an S3 bucket or a local folder: what compaction needs and nothing more."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef


class Objects(ABC):
    @abstractmethod
    def list(self, prefix: str) -> builtins.list[str]:
        """Keys under a prefix, sorted."""

    @abstractmethod
    def get(self, key: str) -> bytes: ...

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Write whole or not at all: readers never see half an object."""

    @abstractmethod
    def delete(self, keys: builtins.list[str]) -> None: ...


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

    def get(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def put(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)

    def delete(self, keys: builtins.list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk: builtins.list[ObjectIdentifierTypeDef] = [
                {"Key": key} for key in keys[start : start + 1000]
            ]
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})


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

    def get(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def put(self, key: str, data: bytes) -> None:
        from dmarc_store.backends.local import write_atomically

        write_atomically(self.root / key, data)

    def delete(self, keys: builtins.list[str]) -> None:
        for key in keys:
            (self.root / key).unlink(missing_ok=True)
