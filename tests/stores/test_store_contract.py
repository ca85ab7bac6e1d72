"""The store contract, run against memory, DynamoDB Local and redis-server alike."""

from __future__ import annotations

import threading
import time

import pytest

from lift.stores import NotACounter, StoreError

# Every backend keeps expiries to the millisecond (memory and DynamoDB on the client's clock, Redis with
# PX on the server's, the same host's): a key put with ttl=0.1 is gone once this much time has passed
# since the put returned, however slow the machine (the sleep is a lower bound, never a race).
PAST_A_SHORT_TTL = 0.3


def test_get_missing_key_is_none(store):
    assert store.get("nobody") is None


def test_put_then_get_round_trips_json_values(store):
    value = {"status": "COMPLETED", "body": "héllo", "n": 3, "ratio": 0.5, "tags": ["a", None, True]}
    store.put("k", value)
    assert store.get("k") == value
    store.put("k", "replaced")
    assert store.get("k") == "replaced"


def test_put_if_absent_writes_once(store):
    assert store.put_if_absent("lock", {"owner": "a"}, ttl=30) is True
    assert store.put_if_absent("lock", {"owner": "b"}, ttl=30) is False
    assert store.get("lock") == {"owner": "a"}


def test_put_if_absent_or_get_returns_what_is_there(store):
    assert store.put_if_absent_or_get("lock", {"owner": "a"}, ttl=30) == (True, None)
    assert store.put_if_absent_or_get("lock", {"owner": "b"}, ttl=30) == (False, {"owner": "a"})
    assert store.get("lock") == {"owner": "a"}
    store.put("short", "old", ttl=0.1)
    time.sleep(PAST_A_SHORT_TTL)
    assert store.put_if_absent_or_get("short", "new", ttl=30) == (True, None)
    assert store.get("short") == "new"


def test_expired_key_is_absent_and_can_be_taken_again(store):
    assert store.put_if_absent("lock", "a", ttl=0.1)
    time.sleep(PAST_A_SHORT_TTL)
    assert store.get("lock") is None
    assert store.ttl("lock") is None
    assert store.put_if_absent("lock", "b", ttl=30) is True
    assert store.get("lock") == "b"


def test_ttl_reports_seconds_left_or_none(store):
    store.put("forever", 1)
    store.put("brief", 1, ttl=60)
    assert store.ttl("forever") is None
    assert store.ttl("missing") is None
    assert 30 < store.ttl("brief") <= 60


def test_compare_and_set_replaces_only_the_expected_value(store):
    store.put("rec", {"status": "IN_PROGRESS", "token": "t1"}, ttl=30)
    assert store.compare_and_set("rec", {"status": "IN_PROGRESS", "token": "t2"}, {"status": "X"}) is False
    assert store.get("rec") == {"status": "IN_PROGRESS", "token": "t1"}
    assert store.compare_and_set("rec", {"status": "IN_PROGRESS", "token": "t1"}, {"status": "DONE"}, ttl=120)
    assert store.get("rec") == {"status": "DONE"}
    assert 90 < store.ttl("rec") <= 120
    assert store.compare_and_set("missing", "a", "b") is False
    assert store.get("missing") is None


def test_compare_and_set_with_no_ttl_clears_the_expiry(store):
    store.put("rec", "a", ttl=30)
    assert store.compare_and_set("rec", "a", "b")
    assert store.ttl("rec") is None


def test_compare_and_set_does_not_revive_an_expired_value(store):
    store.put("rec", "a", ttl=0.1)
    time.sleep(PAST_A_SHORT_TTL)
    assert store.compare_and_set("rec", "a", "b") is False
    assert store.get("rec") is None


def test_increment_counts_from_zero_and_keeps_the_first_expiry(store):
    assert store.increment("c", ttl=60) == 1
    assert store.increment("c", 5, ttl=1000) == 6
    assert store.increment("c", -2) == 4
    assert store.get("c") == 4
    assert 30 < store.ttl("c") <= 60


def test_increment_after_expiry_starts_again(store):
    assert store.increment("window", 3, ttl=0.1) == 3
    time.sleep(PAST_A_SHORT_TTL)
    assert store.increment("window", ttl=0.1) == 1


def test_increment_of_a_non_counter_is_a_typed_error(store):
    store.put("text", {"not": "a number"})
    with pytest.raises(NotACounter):
        store.increment("text")
    assert isinstance(NotACounter("x"), StoreError)


def test_delete_removes_and_reports(store):
    store.put("k", 1)
    assert store.delete("k") is True
    assert store.get("k") is None
    assert store.delete("k") is False


def test_conditional_delete_removes_only_the_expected_value(store):
    store.put("lock", {"token": "mine"}, ttl=30)
    assert store.delete("lock", expected={"token": "theirs"}) is False
    assert store.get("lock") == {"token": "mine"}
    assert store.delete("lock", expected={"token": "mine"}) is True
    assert store.get("lock") is None


def test_concurrent_increments_are_never_lost(store):
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads)

    def hammer():
        barrier.wait(timeout=30)
        for _ in range(per_thread):
            store.increment("hits", ttl=60)

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert store.get("hits") == threads * per_thread


def test_concurrent_put_if_absent_has_exactly_one_winner(store):
    threads = 10
    barrier = threading.Barrier(threads)
    winners = []

    def race(name):
        barrier.wait(timeout=30)
        if store.put_if_absent("lock", {"owner": name}, ttl=30):
            winners.append(name)

    workers = [threading.Thread(target=race, args=(f"w{i}",)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(winners) == 1
    assert store.get("lock") == {"owner": winners[0]}


def test_concurrent_put_if_absent_or_get_has_one_winner_and_everyone_sees_it(store):
    threads = 10
    barrier = threading.Barrier(threads)
    outcomes = []

    def race(name):
        barrier.wait(timeout=30)
        outcomes.append((name, store.put_if_absent_or_get("lock", {"owner": name}, ttl=30)))

    workers = [threading.Thread(target=race, args=(f"w{i}",)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    winners = [name for name, (written, _) in outcomes if written]
    assert len(winners) == 1
    assert all(current == {"owner": winners[0]} for _, (written, current) in outcomes if not written)


def test_concurrent_compare_and_set_loop_loses_no_update(store):
    store.put("doc", {"n": 0})
    threads, per_thread = 6, 10
    barrier = threading.Barrier(threads)

    def bump():
        barrier.wait(timeout=30)
        for _ in range(per_thread):
            while True:
                current = store.get("doc")
                if store.compare_and_set("doc", current, {"n": current["n"] + 1}):
                    break

    workers = [threading.Thread(target=bump) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert store.get("doc") == {"n": threads * per_thread}


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf")], ids=["zero", "negative", "nan", "inf"])
def test_invalid_ttl_is_rejected(store, ttl):
    """A ttl that is not a positive, finite number is a ValueError on every backend (before: NaN and
    infinity were kept as never expiring in memory and an OverflowError/ValueError of int() elsewhere)."""
    for write in (
        lambda: store.put("k", 1, ttl=ttl),
        lambda: store.put_if_absent("k", 1, ttl=ttl),
        lambda: store.increment("n", 1, ttl=ttl),
    ):
        with pytest.raises(ValueError, match="positive, finite"):
            write()
    assert store.get("k") is None and store.get("n") is None


def test_a_key_of_any_length_is_kept(store):
    """Keys are any text on every backend: a 3000-character key (DynamoDB refuses partition keys over
    2048 bytes: before, every operation on it was a StoreError there) reads back, and two long keys that
    differ only at their end stay two keys."""
    one, other = "k" * 2999 + "1", "k" * 2999 + "2"
    store.put(one, {"n": 1})
    assert store.put_if_absent(other, {"n": 2}) and not store.put_if_absent(one, {"n": 3})
    assert store.get(one) == {"n": 1} and store.get(other) == {"n": 2}
    assert store.compare_and_set(one, {"n": 1}, {"n": 4}, ttl=60) and 0 < store.ttl(one) <= 60
    assert store.increment("\u00e9" * 1000) == 1 and store.increment("\u00e9" * 1000, 2) == 3
    assert store.delete(one, expected={"n": 4}) and store.get(one) is None and store.get(other) == {"n": 2}


def test_a_value_as_large_as_the_stated_limit_is_kept(store):
    """`value_limit` is what the backend really takes (DynamoDB: 400 KB per item, key and expiry included)."""
    key = "big-" + "k" * 100
    limit = store.value_limit(key)
    if limit is None:
        limit = 1_000_000
    value = "x" * (limit - 2)  # JSON adds the two quotes
    store.put(key, value, ttl=60)
    assert store.get(key) == value
    assert store.compare_and_set(key, value, value[:-1] + "y", ttl=60)
