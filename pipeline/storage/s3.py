"""S3 storage (AWS, MinIO, R2): the same contract as a local folder, through a ready boto3 client."""

from __future__ import annotations

import logging
import mimetypes
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from pipeline.domain.errors import PermanentError, TransientError
from pipeline.storage.base import ObjectInfo, Storage

logger = logging.getLogger(__name__)

_MISSING_KEY = {"NoSuchKey", "404", "NotFound"}
_TRANSIENT_CODES = {
    "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
    "RequestThrottled", "ServiceUnavailable", "InternalError", "RequestTimeout", "OperationAborted",
}  # fmt: skip
_DENIED_CODES = {"AccessDenied", "403", "AllAccessDisabled"}
_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}
_REGION_CODES = {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"}
_CREDENTIALS_HINT = "check AWS_PROFILE / AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and AWS_ENDPOINT_URL"


class S3Storage(Storage):
    """Keys live under ``s3://bucket/prefix/``; every botocore failure leaves as Permanent or Transient."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client
        self.uri = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._bucket_checked = False

    @classmethod
    def from_uri(cls, uri: str, client: Any) -> S3Storage:
        """``s3://bucket`` or ``s3://bucket/some/prefix`` -> a storage rooted there."""
        if not uri.startswith("s3://"):
            raise ValueError(f"not an S3 URI: {uri!r}; expected s3://bucket/prefix")
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"S3 URI {uri!r} names no bucket; expected s3://bucket/prefix")
        return cls(bucket, prefix, client)

    def _full(self, key: str) -> str:
        # S3 keys are literal strings, so '..' would not escape anything but would silently name a
        # different object than the local backend resolves: reject what a local path would normalise.
        parts = key.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise PermanentError(f"key {key!r} escapes the storage root or is not a plain relative key")
        return f"{self.prefix}/{key}" if self.prefix else key

    @property
    def _endpoint(self) -> str:
        return str(getattr(getattr(self.client, "meta", None), "endpoint_url", "the S3 endpoint"))

    @contextmanager
    def _translate(self, key: str = "") -> Iterator[None]:
        """Turn botocore's exceptions into the two kinds the orchestration layer acts on."""
        where = self.describe(key) if key else self.uri
        try:
            yield
        except ClientError as exc:
            raise self._classify(exc, where) from exc
        except (ConnectionError, HTTPClientError) as exc:
            logger.warning("S3 connection problem at %s: %s", self._endpoint, type(exc).__name__)
            raise TransientError(
                f"cannot reach S3 at {self._endpoint} for {where} ({type(exc).__name__}); will retry"
            ) from exc
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise PermanentError(f"no usable AWS credentials for {where}: {_CREDENTIALS_HINT}") from exc

    def _classify(self, exc: ClientError, where: str) -> Exception:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        at = f"S3 at {self._endpoint}"
        if code in _TRANSIENT_CODES or status >= 500 or status == 429:
            return TransientError(f"{at} is unavailable or throttling ({code or status}) for {where}")
        if code == "NoSuchBucket":
            return self._no_bucket()
        if code in _DENIED_CODES:
            return PermanentError(
                f"{at} denied access to {where}: grant s3:ListBucket, s3:GetObject, s3:PutObject and "
                f"s3:DeleteObject on bucket {self.bucket!r}, or {_CREDENTIALS_HINT} "
                "(S3 also answers 403 for a missing key when s3:ListBucket is not granted)"
            )
        if code in _CREDENTIAL_CODES:
            return PermanentError(f"{at} rejected the credentials ({code}): {_CREDENTIALS_HINT}")
        if code in _REGION_CODES:
            return PermanentError(
                f"bucket {self.bucket!r} is in another region ({code}): set AWS_DEFAULT_REGION"
            )
        return PermanentError(
            f"{at} refused the request for {where} ({code or status}: {error.get('Message', '')})"
        )

    def _no_bucket(self) -> PermanentError:
        return PermanentError(
            f"S3 bucket {self.bucket!r} does not exist at {self._endpoint}: create it or fix the bucket "
            f"in UPLOADS_URI / RESULTS_URI (was {self.uri})"
        )

    def _check_bucket(self) -> None:
        """A HEAD 404 cannot tell a missing key from a missing bucket; ask once so a typo is not silent."""
        if self._bucket_checked:
            return
        with self._translate():
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) in _MISSING_KEY:
                    raise self._no_bucket() from exc
                raise
        self._bucket_checked = True

    def _body(self, key: str) -> Any:
        """The object's streaming body; a missing key is a FileNotFoundError, as for a local file."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._full(key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING_KEY:
                raise FileNotFoundError(self.describe(key)) from exc
            raise

    def read_bytes(self, key: str) -> bytes:
        with self._translate(key):
            return self._body(key).read()

    def write_bytes(self, key: str, data: bytes) -> None:
        # A single PUT is atomic on S3: readers see the old object or the new one, never half.
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        full = self._full(key)
        with self._translate(key):
            self.client.put_object(Bucket=self.bucket, Key=full, Body=data, ContentType=content_type)

    def stat(self, key: str) -> ObjectInfo | None:
        full = self._full(key)
        with self._translate(key):
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=full)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in _MISSING_KEY:
                    self._check_bucket()
                    return None
                raise
        return ObjectInfo(
            key=key,
            size=int(head["ContentLength"]),
            modified=head["LastModified"].timestamp(),
            etag=str(head.get("ETag", "")).strip('"') or None,
        )

    def delete(self, key: str) -> None:
        full = self._full(key)
        with self._translate(key):
            self.client.delete_object(Bucket=self.bucket, Key=full)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        # Like a folder: "a" lists a/..., never ab/...; hidden names are skipped as the local backend does.
        root = f"{self.prefix}/" if self.prefix else ""
        relative = prefix.strip("/")
        listed = self._full(relative) + "/" if relative else root
        paginator = self.client.get_paginator("list_objects_v2")
        with self._translate(prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=listed):
                for item in page.get("Contents", ()):
                    full: str = item["Key"]
                    hidden = any(part.startswith(".") for part in full[len(listed) :].split("/"))
                    if full.endswith("/") or hidden:
                        continue  # directory markers made by consoles and sync tools; hidden files
                    yield ObjectInfo(
                        key=full[len(root) :],
                        size=int(item["Size"]),
                        modified=item["LastModified"].timestamp(),
                        etag=str(item.get("ETag", "")).strip('"') or None,
                    )

    def tree(self, prefix: str) -> Iterator[str]:
        root = f"{self.prefix}/" if self.prefix else ""
        listed = self._full(prefix.strip("/")) + "/"
        paginator = self.client.get_paginator("list_objects_v2")
        with self._translate(prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=listed):
                for item in page.get("Contents", ()):
                    yield str(item["Key"])[len(root) :]

    def delete_tree(self, prefix: str) -> int:
        if not prefix.strip("/"):
            raise ValueError("delete_tree needs a folder below the storage root")
        keys = list(self.tree(prefix))
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1,000 keys
            batch = [{"Key": self._full_raw(k)} for k in keys[start : start + 1000]]
            with self._translate(prefix):
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        return len(keys)

    def _full_raw(self, key: str) -> str:
        """A listed key (possibly with a trailing '/', a console's folder marker) as its S3 key."""
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def local_file(self, key: str) -> Iterator[Path]:
        """Download to a temporary file that keeps the key's suffix, since decoders sniff it."""
        fd, tmp = tempfile.mkstemp(prefix="s3-", suffix=PurePosixPath(key).suffix)
        path = Path(tmp)
        try:
            with os.fdopen(fd, "wb") as handle, self._translate(key):
                shutil.copyfileobj(self._body(key), handle, length=1024 * 1024)
            yield path
        finally:
            path.unlink(missing_ok=True)
