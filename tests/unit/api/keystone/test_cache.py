import threading

from api.keystone.cache import TokenCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_entry_lives_until_its_deadline():
    clock = Clock()
    cache: TokenCache[str] = TokenCache(clock=clock)
    cache.put("tok", "alice", deadline=1010.0)
    clock.now = 1009.9
    assert cache.get("tok") == "alice"
    clock.now = 1010.0
    assert cache.get("tok") is None
    assert len(cache) == 0


def test_deadline_in_the_past_is_not_stored():
    cache: TokenCache[str] = TokenCache(clock=Clock())
    cache.put("tok", "alice", deadline=999.0)
    assert cache.get("tok") is None


def test_full_cache_evicts_least_recently_used():
    cache: TokenCache[str] = TokenCache(max_entries=2, clock=Clock())
    cache.put("a", "A", 2000.0)
    cache.put("b", "B", 2000.0)
    assert cache.get("a") == "A"
    cache.put("c", "C", 2000.0)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("A", None, "C")
    assert len(cache) == 2


def test_cache_does_not_keep_the_bearer_token():
    cache: TokenCache[str] = TokenCache(clock=Clock())
    cache.put("secret-token", "alice", 2000.0)
    assert all(b"secret-token" not in key for key in cache._entries)


def test_concurrent_puts_respect_the_bound():
    cache: TokenCache[int] = TokenCache(max_entries=50, clock=Clock())

    def fill(offset: int) -> None:
        for i in range(500):
            cache.put(f"t{offset}-{i}", i, 2000.0)
            cache.get(f"t{offset}-{i // 2}")

    threads = [threading.Thread(target=fill, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 50
