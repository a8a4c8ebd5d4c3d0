"""The classifier the ingest and `dmarc classify` use, its data loaded once per process from the settings.

The rules and the IP-to-network table ship in the package (`dmarc_model/senders/data`); the settings
may name others (`DMARC_SENDER_RULES`, `DMARC_ASN_TABLE`) and the owner's own declarations
(`DMARC_SENDERS_FILE`). Without a built network table (`make asn` compiles it from the npm package),
verdicts are made without the network owner, and a warning says so once. Reverse-DNS names come from
the local store's cache (`dmarc rdns`, `dmarc_store.rdns`), never from a lookup.

What the refresh job published (`dmarc_store.reference`: a netblock snapshot, a newer ASN table) is
used where the settings name no file of their own; a published file that cannot be read leaves its
part to the package's data, with a warning.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from pathlib import Path

from dmarc_model.errors import ConfigurationError
from dmarc_model.senders.asn import PACKAGE_TABLE, AsnTable
from dmarc_model.senders.classify import Classifier
from dmarc_model.senders.owner import OwnerDeclarations, load_owner
from dmarc_model.senders.reference import PACKAGE_RULES, Reference, load_reference
from dmarc_model.senders.snapshot import NetblockSnapshot, with_snapshot
from dmarc_store.backends.objects import LocalObjects
from dmarc_store.rdns import CACHE_NAME, RdnsCache
from dmarc_store.reference.published import PublishedFiles, published_files
from dmarc_store.settings import Settings

__all__ = ["classifier_for", "local_classifier", "settings_classifier"]

log = logging.getLogger(__name__)


def settings_classifier(
    settings: Settings, rdns: Mapping[str, str] | None = None, published: PublishedFiles | None = None
) -> Classifier:
    published = published or PublishedFiles()
    asn_table = settings.asn_table or published.asn_table
    try:
        return classifier_for(
            settings.sender_rules, asn_table, settings.senders_file, rdns, published.netblocks
        )
    except ConfigurationError as error:
        if published == PublishedFiles():
            raise
        log.warning("published reference data unusable: the package's is used", extra={"error": str(error)})
        return classifier_for(settings.sender_rules, settings.asn_table, settings.senders_file, rdns)


def local_classifier(settings: Settings, root: Path | None = None) -> Classifier:
    """The classifier of a local store: with the forward-confirmed names of its reverse-DNS cache and
    the reference data `dmarc refresh` published into it."""
    root = root or settings.store
    published = published_files(LocalObjects(root), root)
    return settings_classifier(settings, RdnsCache(root / CACHE_NAME).names(), published)


def classifier_for(
    rules: Path | None = None,
    asn_table: Path | None = None,
    senders_file: Path | None = None,
    rdns: Mapping[str, str] | None = None,
    netblocks: Path | None = None,
) -> Classifier:
    """A classifier over these files (None: the package's own; `netblocks` adds a published snapshot),
    each file read once per process."""
    reference, networks, owner = _loaded(rules, asn_table, senders_file, netblocks)
    return Classifier(reference, networks, owner, rdns)


@functools.lru_cache(maxsize=8)
def _loaded(
    rules: Path | None, asn_table: Path | None, senders_file: Path | None, netblocks: Path | None
) -> tuple[Reference, AsnTable | None, OwnerDeclarations]:
    reference = load_reference(rules or PACKAGE_RULES)
    if netblocks is not None:
        reference = with_snapshot(reference, _snapshot(netblocks))
    return reference, _networks(asn_table), load_owner(senders_file)


def _snapshot(path: Path) -> NetblockSnapshot:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigurationError(f"netblock snapshot {path}: {error.strerror}") from None
    return NetblockSnapshot.from_json(data, str(path))


def _networks(path: Path | None) -> AsnTable | None:
    if path is None and not PACKAGE_TABLE.exists():
        log.warning("no IP-to-network table built (make asn): senders are named without the network owner")
        return None
    return AsnTable.load(path or PACKAGE_TABLE)
