"""Symbolication side by side, symbolic against the reader Vigil used before, on real library bundles; user agents.

Run by hand (not a test): ``.venv/bin/python bench/symbolication.py [--before COMMIT]``.

Bundles: eight real throwing calls into real libraries (acorn, @babel/parser, @babel/template,
@babel/types, @babel/generator, json5, semver, source-map, all in ``beacon-js/node_modules``),
each called through two functions of an app, bundled and minified twice: by esbuild, and by
esbuild unminified then terser (compress and mangle). Node runs each bundle under an https URL
and its stack is parsed as the pipeline parses it.

Compared, in one run, on the same bundles and stacks:

- *before*: ``analytics/enrich/symbolicate.py`` as it was at ``--before`` (default ``928cf8d``, the last
  commit that read maps with the pure-Python ``sourcemap`` package), loaded from git;
- *symbolic*: today's code, given the map and the minified file, as uploads store them.

Figures: time to build a map (what a cache miss costs), memory a built map holds (Python heap
by tracemalloc, plus for symbolic the cache file it maps into memory), frames/s with the map in
memory (the stack memo bypassed), whether both give the same original positions, and name
accuracy: the truth is the stack of the same bundle built unminified, whose frames name the
functions they run in; a symbolicated frame is right when its name, after the last ``.``, is the
truth's at the same original file and line (frames whose truth is anonymous are not counted).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.enrich import symbolicate as today  # noqa: E402
from analytics.enrich import ua  # noqa: E402
from analytics.enrich.maps import MapFiles, parse_map  # noqa: E402
from analytics.enrich.stack import Frame, parse_stack  # noqa: E402

MODULES = ROOT / "beacon-js" / "node_modules"
BIN = MODULES / ".bin"
URL = "https://shop.example/static/{name}.js"
PAGE = "https://shop.example/"

# name → (import, the library call that throws)
CALLS = {
    "acorn": ('import { parse } from "acorn";', 'parse(text, { ecmaVersion: 2022 })'),
    "babel-parser": ('import { parse } from "@babel/parser";', "parse(text)"),
    "babel-template": ('import template from "@babel/template";', "(template.default || template)(text)()"),
    "babel-types": ('import { identifier } from "@babel/types";', "identifier(text.length)"),
    "babel-generator": ('import generate from "@babel/generator";', '(generate.default || generate)({ type: text })'),
    "json5": ('import JSON5 from "json5";', "JSON5.parse(text)"),
    "semver": ('import semver from "semver";', "new semver.SemVer(text)"),
    "source-map": (
        'import { SourceMapConsumer } from "source-map";',
        'new SourceMapConsumer({ version: 3, sources: ["a.js"], names: [], mappings: text })'
        ".originalPositionFor({ line: 2, column: 0 })",
    ),
}  # fmt: skip
INPUTS = {
    "acorn": "let total = (price + ;", "babel-parser": "class Cart { total() { return (1 + } }",
    "babel-template": "let x = %%;", "babel-types": "x", "babel-generator": "Nope", "json5": "{a: 1,, }",
    "semver": "not-a-version", "source-map": "AAAA;!!",
}  # fmt: skip

APP = """\
{import_line}

function readInput(text) {{
  return {call};
}}

export function run() {{
  const text = {text};
  return readInput(text);
}}
"""
NODE_BUNDLE = """\
Error.stackTraceLimit = 50;
const vm = require("node:vm");
const fs = require("node:fs");
vm.runInThisContext(fs.readFileSync(process.argv[2], "utf8"), { filename: process.argv[3] });
try { bench.run(); } catch (err) { process.stdout.write(err.stack); }
"""
_V8 = re.compile(r"^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?$")


def run(*command: str, cwd: Path) -> str:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True, timeout=300).stdout


def tail(path: str) -> str:
    """A file's path from its package on (``acorn/dist/acorn.mjs``), or its base name for the app's own file."""
    return path.rpartition("node_modules/")[2] if "node_modules/" in path else path.rpartition("/")[2]


def short(name: str) -> str:
    """A function name compared on its last part, without the number a bundler adds to tell apart two functions
    of one name: ``pp$4.raise``, ``Parser.raise`` and ``raise2`` are all ``raise``."""
    name = name.removeprefix("async ").removeprefix("new ").strip()
    return "" if name in {"", "<anonymous>", "Object.<anonymous>"} else name.rpartition(".")[2].rstrip("0123456789")


def right(found: str, truth: str) -> bool:
    """Whether a symbolicated name is the function's: its own name or the property V8 says it was called as
    (``Object.base64VLQ_decode [as decode]``)."""
    own, _, alias = truth.partition(" [as ")
    return short(found) in {short(own), short(alias.rstrip("]"))} - {""}


def truth(folder: Path, name: str) -> dict[tuple[str, int], str]:
    """(original file, line) → the function running there, as V8 names it in the same bundle built unminified."""
    out = folder / "full"
    out.mkdir(exist_ok=True)
    run(str(BIN / "esbuild"), f"{name}.mjs", "--bundle", "--sourcemap", "--format=iife", "--global-name=bench",
        "--log-level=error", f"--outfile={out}/{name}.js", cwd=folder)  # fmt: skip
    stack = run("node", "bundled.cjs", f"{out}/{name}.js", URL.format(name=name), cwd=folder)
    positions = parse_map((out / f"{name}.js.map").read_bytes())
    names = {}
    for line in stack.splitlines()[1:]:
        match = _V8.match(line)
        if match and match[2] == URL.format(name=name) and (token := positions.lookup(int(match[3]), int(match[4]))):
            names.setdefault((tail(positions.source(token)), token.line), match[1] or "")
    return names


def build(folder: Path, name: str, minifier: str) -> tuple[bytes, bytes, str]:
    """(minified file, map, Node's stack through it) of one call, minified by esbuild or by terser."""
    out = folder / minifier
    out.mkdir(exist_ok=True)
    esbuild = [str(BIN / "esbuild"), f"{name}.mjs", "--bundle", "--sourcemap", "--sources-content=true",
               "--format=iife", "--global-name=bench", "--log-level=error"]  # fmt: skip
    if minifier == "esbuild":
        run(*esbuild, "--minify", f"--outfile={out}/{name}.js", cwd=folder)
    else:
        run(*esbuild, f"--outfile={out}/{name}.full.js", cwd=folder)
        run(str(BIN / "terser"), f"{out}/{name}.full.js", "--compress", "--mangle", "--source-map",
            f"content='{out}/{name}.full.js.map',url='{name}.js.map',includeSources", "-o", f"{out}/{name}.js",
            cwd=folder)  # fmt: skip
    stack = run("node", "bundled.cjs", f"{out}/{name}.js", URL.format(name=name), cwd=folder)
    return (out / f"{name}.js").read_bytes(), (out / f"{name}.js.map").read_bytes(), stack


def load_before(commit: str) -> ModuleType:
    """``analytics/enrich/symbolicate.py`` as it was at ``commit``, imported from git."""
    text = run("git", "show", f"{commit}:analytics/enrich/symbolicate.py", cwd=ROOT)
    spec = importlib.util.spec_from_loader("symbolicate_before", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    exec(compile(text, f"{commit}:analytics/enrich/symbolicate.py", "exec"), module.__dict__)  # noqa: S102
    return module


def mapped_file_bytes() -> int:
    """Bytes of deleted files mapped into this process: where symbolic keeps its built caches."""
    total = 0
    for line in Path("/proc/self/maps").read_text().splitlines():
        if line.endswith("(deleted)"):
            start, _, end = line.split()[0].partition("-")
            total += int(end, 16) - int(start, 16)
    return total


def held(make: Callable[[], Any]) -> tuple[Any, int]:
    """What ``make`` returns and the bytes it holds (Python heap, plus newly mapped cache files)."""
    mapped = mapped_file_bytes()
    tracemalloc.start()
    made = make()
    heap = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return made, heap + mapped_file_bytes() - mapped


def median_time(make: Callable[[], Any], times: int = 5) -> float:
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        make()
        spent.append(time.perf_counter() - start)
    return statistics.median(spent)


def frames_per_second(call: Callable[[], object], frames: int, seconds: float = 0.5) -> float:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds and count < 100_000:
        call()
        count += 1
    return count * frames / elapsed


def compare(before: ModuleType, files: MapFiles, stack: str, names: dict[tuple[str, int], str], url: str) -> dict:
    frames: list[Frame] = parse_stack(stack, PAGE)
    old_cache = before.SourceMapCache(lambda release, key: files.map if key == url else None)
    new_cache = today.SourceMapCache(lambda release, key: files if key == url else None)
    old = before._symbolicate(frames, "r", old_cache, {})
    new = today._symbolicate(frames, "r", new_cache, {})
    both = [(o, n) for o, n in zip(old, new, strict=True) if o.mapped and n.mapped]
    same = sum((o.source_line, o.source_column) == (n.source_line, n.source_column) for o, n in both)
    judged = [(o, n, names[key]) for o, n in both if short(names.get(key := (tail(n.source), n.source_line), ""))]
    return {
        "frames": len(frames), "mapped": len(both), "same_position": same, "judged": len(judged),
        "right_before": sum(right(o.function, want) for o, _, want in judged),
        "right_symbolic": sum(right(n.function, want) for _, n, want in judged),
        "fps_before": frames_per_second(lambda: before._symbolicate(frames, "r", old_cache, {}), len(frames)),
        "fps_symbolic": frames_per_second(lambda: today._symbolicate(frames, "r", new_cache, {}), len(frames)),
    }  # fmt: skip


def bundles_side_by_side(commit: str) -> None:
    before = load_before(commit)
    rows = []
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        folder = Path(tmp)
        (folder / "node_modules").symlink_to(MODULES)
        (folder / "bundled.cjs").write_text(NODE_BUNDLE)
        for name, (import_line, call) in CALLS.items():
            text = json.dumps(INPUTS[name])
            (folder / f"{name}.mjs").write_text(APP.format(import_line=import_line, call=call, text=text))
            names = truth(folder, name)
            for minifier in ("esbuild", "terser"):
                source, map_bytes, stack = build(folder, name, minifier)
                files = MapFiles(map_bytes, source)
                _, old_bytes = held(lambda: before.parse_map(map_bytes))  # noqa: B023
                _, new_bytes = held(lambda: parse_map(map_bytes, source))  # noqa: B023
                row = {
                    "bundle": f"{name} ({minifier})", "map": len(map_bytes), "js": len(source),
                    "parse_before": median_time(lambda: before.parse_map(map_bytes)),  # noqa: B023
                    "parse_symbolic": median_time(lambda: parse_map(map_bytes, source)),  # noqa: B023
                    "held_before": old_bytes, "held_symbolic": new_bytes,
                    **compare(before, files, stack, names, URL.format(name=name)),
                }  # fmt: skip
                rows.append(row)
                print(
                    f"{row['bundle']:<28} map {row['map'] / 1e6:5.2f} MB  build {row['parse_before'] * 1e3:6.0f} → "
                    f"{row['parse_symbolic'] * 1e3:5.0f} ms  held {old_bytes / 1e6:6.1f} → {new_bytes / 1e6:5.1f} MB  "
                    f"frames/s {row['fps_before']:8,.0f} → {row['fps_symbolic']:8,.0f}  names right "
                    f"{row['right_before']:>2} → {row['right_symbolic']:>2} of {row['judged']:>2}  "
                    f"same positions {row['same_position']}/{row['mapped']}",
                    flush=True,
                )
    total = {key: sum(row[key] for row in rows) for key in rows[0] if key != "bundle"}
    ratio = [row["parse_before"] / row["parse_symbolic"] for row in rows]
    memory = [row["held_before"] / row["held_symbolic"] for row in rows]
    speed = [row["fps_symbolic"] / row["fps_before"] for row in rows]
    maps = total["map"] / 1e6
    print(f"\n{len(rows)} bundles, {maps:.1f} MB of maps, {total['frames']} frames, {total['mapped']} mapped")
    print(f"build a map: symbolic {statistics.median(ratio):.1f}x faster (median of the bundles' ratios; "
          f"{min(ratio):.1f}-{max(ratio):.1f}x)")  # fmt: skip
    print(f"memory held per map: {statistics.median(memory):.1f}x less with symbolic "
          f"({min(memory):.1f}-{max(memory):.1f}x); symbolic holds {total['held_symbolic'] / total['map']:.2f} "
          f"bytes per byte of map")  # fmt: skip
    print(f"frames/s warm: symbolic/before {statistics.median(speed):.2f}x ({min(speed):.2f}-{max(speed):.2f}x)")
    print(f"same original positions: {total['same_position']} of {total['mapped']} frames")
    print(f"function names right: before {total['right_before']} of {total['judged']} "
          f"({total['right_before'] / total['judged']:.0%}), symbolic {total['right_symbolic']} "
          f"({total['right_symbolic'] / total['judged']:.0%})")  # fmt: skip


def user_agents() -> None:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--before", default="928cf8d", help="the commit whose symbolication to compare against")
    args = parser.parse_args()
    bundles_side_by_side(args.before)
    user_agents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
