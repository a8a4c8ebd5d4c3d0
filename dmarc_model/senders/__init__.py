"""Who sends as the owner's domain: a pure classifier over one record plus versioned reference data.

classify    the verdict of one record (`Classifier`, `Verdict`)
signals     what a verdict is made from: a record's authentication and its address's network
reference   the rules (services, platforms, netblocks), `data/services.toml`
owner       the owner's declarations: their servers and the services they use
asn         the IP-to-network table (`data/asn.bin`, built by `make asn`)
rows        records in, `record_senders` rows out
"""

from dmarc_model.senders.asn import AsnTable, Network
from dmarc_model.senders.classify import CATEGORIES, CONFIDENCES, Classifier, Verdict
from dmarc_model.senders.owner import OwnerDeclarations, load_owner
from dmarc_model.senders.reference import Reference, load_reference
from dmarc_model.senders.rows import senders_parquet, senders_table

__all__ = [
    "CATEGORIES",
    "CONFIDENCES",
    "AsnTable",
    "Classifier",
    "Network",
    "OwnerDeclarations",
    "Reference",
    "Verdict",
    "load_owner",
    "load_reference",
    "senders_parquet",
    "senders_table",
]
