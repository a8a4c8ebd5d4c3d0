"""Hard caps on what one input may unpack to. Each refusal names the cap it hit."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MIB = 1024 * 1024


class Limits(BaseModel):
    """Caps applied while unpacking one input object; all configurable through settings."""

    model_config = ConfigDict(frozen=True)

    max_decompressed_bytes: int = Field(1024 * MIB, gt=0)
    """Total bytes all layers of one input may expand to: 1 GiB, about 1.4M records of typical XML
    (720 bytes a record), more than the 40 MB of mail SES accepts can carry gzipped (~1.1M records).
    Ingest streams records, so memory does not grow with this (README, "Big reports")."""
    max_compression_ratio: int = Field(200, gt=0)
    """Output/input ratio allowed for any one compressed layer (checked past the first MiB)."""
    max_archive_members: int = Field(1000, gt=0)
    """Members of one zip archive (directories included)."""
    max_nesting_depth: int = Field(8, gt=0)
    """Containers inside containers (mail in mail, zip in gzip, ...)."""
    max_mime_parts: int = Field(500, gt=0)
    """MIME parts in one email, counted over every level."""
