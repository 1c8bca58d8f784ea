"""Draw the web app's icons (src/piko/server/static/icons/*.png) with Pillow; run once, the PNGs are committed.

    .venv/bin/python scripts/make-icons.py

A dark rounded square with a white eighth-note pair (the project's ♫ logo), drawn as shapes so no font is
needed. The maskable icon keeps the note inside the central 80% safe zone on a full-bleed background.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "src" / "piko" / "server" / "static" / "icons"
BACKGROUND = (37, 56, 120, 255)
INK = (255, 255, 255, 255)


def draw(size: int, *, maskable: bool) -> Image.Image:
    scale = 4  # drawn large, then reduced: smooth edges
    s = size * scale
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(image)
    if maskable:
        d.rectangle((0, 0, s, s), fill=BACKGROUND)
    else:
        d.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 5, fill=BACKGROUND)
    inset = 0.2 if maskable else 0.12  # the note's box, as a fraction of the side
    box = s * (1 - 2 * inset)

    def at(x: float, y: float) -> tuple[float, float]:
        return (s * inset + x * box, s * inset + y * box)

    for x in (0.30, 0.78):  # two stems
        d.rectangle((*at(x - 0.035, 0.18), *at(x + 0.035, 0.72)), fill=INK)
    d.polygon([at(0.265, 0.12), at(0.815, 0.02), at(0.815, 0.2), at(0.265, 0.3)], fill=INK)  # the beam
    for x in (0.30, 0.78):  # two heads, left of their stems
        cx, cy = at(x - 0.1, 0.75)
        r = box * 0.13
        d.ellipse((cx - r * 1.2, cy - r, cx + r * 1.2, cy + r), fill=INK)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
    draw(512, maskable=True).save(OUT / "icon-maskable-512.png", optimize=True)
    draw(180, maskable=True).convert("RGB").save(OUT / "apple-touch-icon.png", optimize=True)


if __name__ == "__main__":
    main()
