"""Videos of episodes: RGB frames `[H, W, 3]` uint8 written as an animated GIF or an MP4."""

from __future__ import annotations

import importlib.util
import os

import numpy as np

VIDEO_FORMATS = (".gif", ".mp4")


def check_video_path(path: str) -> str:
    """The lower-case extension of `path`, which must be one of VIDEO_FORMATS with its writer installed."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in VIDEO_FORMATS:
        raise ValueError(f"video path {path!r} must end in one of {VIDEO_FORMATS}")
    if extension == ".mp4" and not all(importlib.util.find_spec(m) for m in ("imageio", "imageio_ffmpeg")):
        raise ValueError(
            f"writing {path!r} as MP4 needs imageio and imageio-ffmpeg "
            "(pip install imageio imageio-ffmpeg); a .gif path needs nothing more"
        )
    return extension


def write_video(path: str, frames: list[np.ndarray], fps: float = 25.0) -> str:
    """Writes `frames` (each `[H, W, 3]` uint8) to `path` (.gif with Pillow; .mp4 with imageio-ffmpeg),
    through a temporary file renamed when complete; returns `path`. GIF frame times are whole 10 ms
    units, so for GIFs pick an `fps` that divides 100 (25, 50)."""
    extension = check_video_path(path)
    if not frames:
        raise ValueError("no frames to write")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    temporary = f"{path}.tmp{extension}"
    if extension == ".gif":
        from PIL import Image

        images = [Image.fromarray(np.asarray(frame, np.uint8)) for frame in frames]
        images[0].save(temporary, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    else:
        import imageio.v2 as imageio  # optional: check_video_path made sure it is there

        # H.264 in yuv420p needs even sizes: imageio resizes to multiples of macro_block_size (rarely needed).
        imageio.mimwrite(temporary, [np.asarray(f, np.uint8) for f in frames], fps=fps, macro_block_size=2)
    os.replace(temporary, path)
    return path
