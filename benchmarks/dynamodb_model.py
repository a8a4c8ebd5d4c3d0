"""DynamoDB's write limits, emulated: the least time a stream of BatchWriteItem calls can take.

moto answers as fast as Python can; DynamoDB does not. This model gives, at any point of a run, the
least time DynamoDB needs for the writes made so far, as the largest of four bounds:

    the table      write units / TABLE_WCU          a new on-demand table takes 4,000 WCU/s at once
    a partition    busiest partition key's units / PARTITION_WCU (1,000 WCU/s for each key)
    the GSI        the same two bounds for `by-source-ip`, whose key is the record's source IP
    the client     calls x CALL_SECONDS / threads   each call's round trip, `threads` in flight

A write unit is ceil(item size / 1 KiB), the size counted as DynamoDB counts it (names and values in
UTF-8, numbers by significant digits). Single-item calls (the claim, COMPLETE, progress) add their round
trip. A lower bound: real runs add latency spikes and throttling retries.

    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

TABLE_WCU = 4_000
"""Write request units a second a new on-demand table sustains at once (it doubles over 30 minutes)."""
PARTITION_WCU = 1_000
"""Write units a second one partition key takes."""
CALL_SECONDS = 0.015
"""One BatchWriteItem round trip from a Lambda in the same region (typically 10-30 ms)."""
THREADS = 8
"""dmarc_store.backends.aws.WRITE_THREADS."""


@dataclass
class WriteModel:
    table_wcu: int = TABLE_WCU
    partition_wcu: int = PARTITION_WCU
    call_seconds: float = CALL_SECONDS
    threads: int = THREADS
    units: int = 0
    calls: int = 0
    record_items: int = 0
    record_bytes: int = 0
    largest_record_item: int = 0
    by_key: Counter[str] = field(default_factory=Counter)
    by_gsi_key: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def batch(self, params: dict[str, Any]) -> None:
        """Account one BatchWriteItem request (its puts; deletes count one unit each)."""
        with self._lock:
            self.calls += 1
            for requests in params["RequestItems"].values():
                for request in requests:
                    self._request(request)

    def single(self, item: dict[str, Any] | None = None) -> None:
        """Account one single-item call (PutItem, UpdateItem, GetItem, Query)."""
        with self._lock:
            self.calls += 1
            self.units += units_of(item) if item else 1

    def seconds(self) -> float:
        """The least time DynamoDB needs for every write accounted so far."""
        with self._lock:
            hottest = max(self.by_key.values(), default=0)
            hottest_gsi = max(self.by_gsi_key.values(), default=0)
            return max(
                self.units / self.table_wcu,
                hottest / self.partition_wcu,
                hottest_gsi / self.partition_wcu,
                self.calls * self.call_seconds / self.threads,
            )

    def figures(self) -> dict[str, Any]:
        with self._lock:
            return {
                "units": self.units,
                "calls": self.calls,
                "record_items": self.record_items,
                "record_bytes": self.record_bytes,
                "largest_record_item": self.largest_record_item,
                "partition_keys": len(self.by_key),
                "busiest_key_units": max(self.by_key.values(), default=0),
                "busiest_gsi_key_units": max(self.by_gsi_key.values(), default=0),
            }

    def _request(self, request: dict[str, Any]) -> None:
        item = request.get("PutRequest", {}).get("Item")
        if item is None:
            self.units += 1
            return
        size = item_size(item)
        units = math.ceil(size / 1024)
        self.units += units
        self.by_key[item["PK"]["S"]] += units
        if "GSI1PK" in item:
            self.by_gsi_key[item["GSI1PK"]["S"]] += units
        if item["SK"]["S"].startswith("REC#"):
            self.record_items += 1
            self.record_bytes += size
            self.largest_record_item = max(self.largest_record_item, size)


def units_of(item: dict[str, Any]) -> int:
    return math.ceil(item_size(item) / 1024)


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: names and values in UTF-8, numbers by significant digits."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(value_size(element) + 1 for element in inner)
    if kind == "M":
        return 3 + sum(len(name.encode()) + value_size(element) + 1 for name, element in inner.items())
    if kind == "SS":
        return sum(len(element.encode()) for element in inner)
    if kind == "NS":
        return sum(_number_size(element) for element in inner)
    return sum(len(element) for element in inner)  # BS


def _number_size(number: str) -> int:
    digits = number.lstrip("-").split("e")[0].split("E")[0].replace(".", "").strip("0")
    return math.ceil(max(len(digits), 1) / 2) + 1
