"""Hard caps on what one input may unpack to. Each refusal names the cap it hit."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MIB = 1024 * 1024


class Limits(BaseModel):
    """Caps applied while unpacking one input object; all configurable through settings."""

    model_config = ConfigDict(frozen=True)

    max_decompressed_bytes: int = Field(256 * MIB, gt=0)
    """Total bytes all layers of one input may expand to."""
    max_compression_ratio: int = Field(200, gt=0)
    """Output/input ratio allowed for any one compressed layer (checked past the first MiB)."""
    max_archive_members: int = Field(1000, gt=0)
    """Members of one zip archive (directories included)."""
    max_nesting_depth: int = Field(8, gt=0)
    """Containers inside containers (mail in mail, zip in gzip, ...)."""
    max_mime_parts: int = Field(500, gt=0)
    """MIME parts in one email, counted over every level."""
