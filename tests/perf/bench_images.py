"""Image variants: the pipeline (media.processing.render) against a naive decode-and-resize.

Both turn the same generated 12-megapixel JPEG (4000x3000, quality 90, EXIF orientation 6) into the same
outputs: thumb 150 square, small 300 and medium 600 long side, each as WebP and JPEG with the pipeline's
settings. The naive way decodes the whole picture and resizes every variant from it with LANCZOS; the
pipeline decodes at reduced scale (draft mode) and resizes each variant from the one above. Prints:
- wall time over --repeat runs of each, after one warm-up: median and p90;
- peak RSS of a fresh process running each once (Pillow's pixel buffers are C allocations that
  tracemalloc does not see): the growth over that process's baseline and the absolute peak, the
  median of 3 processes;
- the ratios, and whether the aims (at least 3x faster, at most a third of the memory growth) are met.

Usage, from the project root (no database or other service needed):
  .venv/bin/python tests/perf/bench_images.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from harness import ROOT
from PIL import Image, ImageDraw, ImageFilter, ImageOps

sys.path.insert(0, str(ROOT))
# Only reads settings inside its functions, and render() reads none: no django.setup() needed.
from media.processing import render

WIDTH, HEIGHT = 4000, 3000
SEED = 20240601
MEMORY_RUNS = 3
# The aims for the pipeline against the naive way.
SPEEDUP_AIM = 3.0
MEMORY_SHARE_AIM = 1 / 3


def make_photo() -> bytes:
    """A JPEG that compresses like a photo (about 3 MB): soft shapes over gradients, mottling, grain."""
    # random.Random rather than Image.effect_noise, which draws from C's rand() and cannot be seeded.
    rng = random.Random(SEED)  # noqa: S311 - benchmark input

    def noise(width: int, height: int) -> Image.Image:
        return Image.frombytes("L", (width, height), rng.randbytes(width * height))

    size = (WIDTH, HEIGHT)
    gradient = Image.linear_gradient("L")
    picture = Image.merge(
        "RGB",
        [
            gradient.resize(size),
            gradient.rotate(90).resize(size),
            gradient.transpose(Image.Transpose.FLIP_TOP_BOTTOM).rotate(45).resize(size),
        ],
    )
    draw = ImageDraw.Draw(picture)
    for _ in range(300):
        x, y, radius = rng.randrange(WIDTH), rng.randrange(HEIGHT), rng.randint(20, 600)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
        else:
            corners = [
                (x + rng.randint(-radius, radius), y + rng.randint(-radius, radius))
                for _ in range(5)
            ]
            draw.polygon(corners, fill=colour)
    picture = picture.filter(ImageFilter.GaussianBlur(3))
    # Low-frequency noise for texture, then fine grain: flat areas would compress far better than a photo.
    mottle = Image.merge(
        "RGB",
        [noise(WIDTH // 16, HEIGHT // 16).resize(size, Image.Resampling.BICUBIC) for _ in range(3)],
    )
    picture = Image.blend(picture, mottle, 0.25)
    picture = Image.blend(picture, Image.merge("RGB", [noise(WIDTH, HEIGHT)] * 3), 0.06)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show: both ways must turn it upright
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def _fit_size(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    scale = long_side / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _encode(image: Image.Image, format: str) -> bytes:
    out = io.BytesIO()
    if format == "WEBP":
        image.save(out, "WEBP", quality=80, method=4)
    else:
        image.save(out, "JPEG", quality=82, optimize=True, progressive=True)
    return out.getvalue()


def naive(data: bytes) -> dict[str, tuple[int, int]]:
    """The same variants the straightforward way: full decode, every variant from the full size."""
    with Image.open(io.BytesIO(data)) as source:
        source.load()
        full = ImageOps.exif_transpose(source)
    # The source is RGB already; converting anyway would add a copy the pipeline does not make either.
    if full.mode != "RGB":
        full = full.convert("RGB")
    variants = {
        "thumb": ImageOps.fit(full, (150, 150), Image.Resampling.LANCZOS),
        "small": full.resize(_fit_size(full.size, 300), Image.Resampling.LANCZOS),
        "medium": full.resize(_fit_size(full.size, 600), Image.Resampling.LANCZOS),
    }
    files = {}
    for name, variant in variants.items():
        files[f"{name}.webp"] = _encode(variant, "WEBP")
        files[f"{name}.jpg"] = _encode(variant, "JPEG")
    return {file: variants[file.split(".")[0]].size for file in files}


def pipeline(data: bytes) -> dict[str, tuple[int, int]]:
    rendered = render(data)
    return {file: rendered.sizes[file.split(".")[0]] for file in rendered.files}


APPROACHES: dict[str, Callable[[bytes], dict[str, tuple[int, int]]]] = {
    "naive": naive,
    "pipeline": pipeline,
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def peak_rss_kib() -> int:
    """This process's peak RSS so far, in KiB.

    Not getrusage's ru_maxrss: Linux carries that across execve, and subprocess starts children with
    vfork, so a child would report the parent's peak (this script's, after making the input) instead
    of its own. VmHWM is the high-water mark of the process's own address space, new at exec.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status: Linux only")


def child(approach: str) -> None:
    """Run one approach once in this fresh process; print its peak RSS before and after, in KiB."""
    # Load every plugin (WebP's C module too) before the baseline, so the growth is the work alone.
    Image.init()
    data = sys.stdin.buffer.read()
    before = peak_rss_kib()
    APPROACHES[approach](data)
    after = peak_rss_kib()
    print(json.dumps({"baseline_kib": before, "peak_kib": after}))


def peak_memory(approach: str, data: bytes) -> tuple[float, float]:
    """(growth, absolute peak) in MB: medians over MEMORY_RUNS fresh processes."""
    growths, peaks = [], []
    for _ in range(MEMORY_RUNS):
        result = subprocess.run(
            [sys.executable, __file__, "--child", approach],
            input=data,
            stdout=subprocess.PIPE,  # stderr passes through: a failing child shows its traceback
            check=True,
            cwd=ROOT,
        )
        figures = json.loads(result.stdout)
        growths.append((figures["peak_kib"] - figures["baseline_kib"]) / 1024)
        peaks.append(figures["peak_kib"] / 1024)
    return statistics.median(growths), statistics.median(peaks)


def wall_times(data: bytes, repeat: int) -> dict[str, list[float]]:
    for run in APPROACHES.values():
        run(data)  # warm-up: first use of each encoder, caches
    times: dict[str, list[float]] = {name: [] for name in APPROACHES}
    # Taken in turns, so a slower spell of the machine weighs on both alike.
    for _ in range(repeat):
        for name, run in APPROACHES.items():
            started = time.perf_counter()
            run(data)
            times[name].append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--child", choices=sorted(APPROACHES), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options.child)
        return

    data = make_photo()
    print(
        f"input: generated {WIDTH}x{HEIGHT} JPEG, quality 90, EXIF orientation 6: "
        f"{len(data) / 1_000_000:.1f} MB"
    )
    outputs = {name: run(data) for name, run in APPROACHES.items()}
    if outputs["naive"] != outputs["pipeline"]:
        print(
            f"WARNING: the variants differ: naive {outputs['naive']}, pipeline {outputs['pipeline']}"
        )
    else:
        sizes = ", ".join(f"{file} {w}x{h}" for file, (w, h) in outputs["pipeline"].items())
        print(f"same variants from both: {sizes}")

    times = wall_times(data, options.repeat)
    memory = {name: peak_memory(name, data) for name in APPROACHES}
    print(
        f"{'':10} {'median ms':>10} {'p90 ms':>10} {'RSS growth MB':>14} {'peak RSS MB':>12}"
        f"   ({options.repeat} runs; memory: median of {MEMORY_RUNS} processes)"
    )
    for name in APPROACHES:
        print(
            f"{name:10} {statistics.median(times[name]):10.1f} {percentile(times[name], 0.9):10.1f} "
            f"{memory[name][0]:14.1f} {memory[name][1]:12.1f}"
        )
    speedup = statistics.median(times["naive"]) / statistics.median(times["pipeline"])
    share = memory["pipeline"][0] / memory["naive"][0]
    print(
        f"pipeline is {speedup:.1f} times faster (median): aim at least {SPEEDUP_AIM:.0f}x "
        f"{'met' if speedup >= SPEEDUP_AIM else 'NOT met'}"
    )
    print(
        f"peak memory growth is {share:.0%} of naive: aim at most a third "
        f"{'met' if share <= MEMORY_SHARE_AIM else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
