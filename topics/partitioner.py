"""Kafka's default key partitioner (the Java client's murmur2), in pure Python.

The service's consumers and producers (faust on aiokafka) place a keyed record on partition
``toPositive(murmur2(key)) % partitions``, as the Java client does. confluent-kafka's default
(``consistent_random``) hashes with CRC32 instead, so a command it produced would land on a
partition owned by another worker. Every producer of stepstream records must therefore use the
murmur2 partitioner (librdkafka: ``partitioner=murmur2_random``); :func:`partition_for` lets
tests and tools check where a key belongs.
"""

from __future__ import annotations

__all__ = ["murmur2", "partition_for"]

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """32-bit murmur2 of ``data`` as ``org.apache.kafka.common.utils.Utils.murmur2`` (a signed int)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    body = length - length % 4
    for i in range(0, body, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = data[body:]
    # Java's switch falls through from 3 to 2 to 1: the same as this chain of ifs.
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h ^= tail[0]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for(key: bytes, partitions: int) -> int:
    """The partition of a record with ``key`` on a topic of ``partitions`` partitions (Java's rule)."""
    if partitions < 1:
        raise ValueError(f"a topic has at least one partition, not {partitions}")
    # Kafka's Utils.toPositive masks the sign bit (it does not take the absolute value).
    return (murmur2(key) & 0x7FFFFFFF) % partitions
