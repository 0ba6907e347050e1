"""Source-map load time and symbolication throughput, and the user-agent parsers side by side.

Run by hand (not a test): ``.venv/bin/python bench/symbolication.py``.

Builds the same bundle as ``bench/e2e_throughput.py`` with esbuild (a source map of about
1.4 MB), then measures: parsing the map (the cost of a cache miss, paid once per release
and file); symbolicating 5-frame stacks with the cache warm (frames/s); and parsing
distinct user agents uncached with the Rust parser (ua-parser-rs) and the pure-Python one,
one after the other in the same run.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from e2e_load import BUNDLE_URL, build_bundle  # noqa: E402

from analytics.enrich import ua  # noqa: E402
from analytics.enrich.stack import parse_stack  # noqa: E402
from analytics.enrich.symbolicate import SourceMapCache, parse_map, symbolicate  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmpdir:
        text, columns = build_bundle(Path(tmpdir))
    data = text.encode()
    loads = []
    for _ in range(5):
        start = time.perf_counter()
        parse_map(data)
        loads.append(time.perf_counter() - start)
    print(f"map of {len(data) / 1e6:.2f} MB: parse median {statistics.median(loads) * 1000:.0f} ms over 5")

    cache = SourceMapCache(lambda release, url: data if url == BUNDLE_URL else None)
    rng = random.Random(3)
    stacks = [
        parse_stack(
            "TypeError: x\n" + "\n".join(f"    at f{k} ({BUNDLE_URL}:1:{rng.choice(columns)})" for k in range(5)),
            "https://shop.example/",
        )
        for _ in range(2000)
    ]
    symbolicate(stacks[0], "r", cache)  # warm: the map is parsed once
    start = time.perf_counter()
    for frames in stacks:
        symbolicate(frames, "r", cache)
    elapsed = time.perf_counter() - start
    print(f"symbolication, warm cache: {len(stacks) * 5 / elapsed:,.0f} frames/s ({len(stacks)} 5-frame stacks)")

    agents = [
        f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{100 + n % 40}.0.{n}.0 "
        "Safari/537.36"
        for n in range(300)
    ]
    times = {}
    for name in ("rust", "python"):
        parse = ua.UserAgentParser(name)  # uncached
        start = time.perf_counter()
        for agent in agents:
            parse(agent)
        times[name] = (time.perf_counter() - start) / len(agents)
        print(f"user agent, uncached, {name}: {times[name] * 1e6:.0f} µs per parse")
    print(f"ratio python/rust: {times['python'] / times['rust']:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
