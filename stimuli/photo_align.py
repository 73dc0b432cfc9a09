"""Reading a photo and cropping its face the way FFHQ was made (for ``stimuli.photo``).

StyleGAN generators were trained on FFHQ-aligned faces: eyes level, the face centred a
little below the eyes and scaled to the larger of the eye distance and the
eye-to-mouth distance. ``align_face`` finds the landmarks with MediaPipe's face mesh
(the optional labellers extra) and crops so; a photo without a face is an error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from stimuli.errors import StimulusError


class PhotoError(StimulusError):
    """The photo cannot be read, has no face, or the fit settings are out of range."""


#: MediaPipe face-mesh landmarks: eye corners (left, right eye) and mouth corners
EYE_LEFT, EYE_RIGHT, MOUTH = (33, 133), (362, 263), (61, 291)
ALIGN_HINT = "bash scripts/bootstrap.sh --labellers (MediaPipe), or pass --no-align"


def open_photo(photo: Path | Image.Image) -> Image.Image:
    """The photo as an RGB image; a file that is not an image is a :class:`PhotoError`."""
    if isinstance(photo, Image.Image):
        return photo.convert("RGB")
    try:
        with Image.open(photo) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise PhotoError(f"cannot read photo {photo}: {error}") from None


def to_tensor(image: Image.Image) -> torch.Tensor:
    """An RGB image as (1, 3, H, W) in [-1, 1]."""
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1.0)
    return pixels.permute(2, 0, 1)[None]


def load_photo(photo: Path | Image.Image, size: int) -> torch.Tensor:
    """The photo centre-cropped to a square, resized to ``size``: (1, 3, size, size) in [-1, 1]."""
    square = ImageOps.fit(open_photo(photo), (size, size), Image.Resampling.LANCZOS)
    return to_tensor(square)


def ffhq_quad(eye_left, eye_right, mouth_left, mouth_right) -> np.ndarray:
    """The FFHQ crop (4 corners, clockwise from top left) for these landmarks.

    FFHQ's recipe: centre a little below the eyes, towards the mouth; side from the
    larger of 2x the eye distance and 1.8x the eye-to-mouth distance; rotated so the
    eyes are level.
    """
    eye_avg = (eye_left + eye_right) / 2
    eye_to_eye = eye_right - eye_left
    eye_to_mouth = (mouth_left + mouth_right) / 2 - eye_avg
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.array([-x[1], x[0]])
    c = eye_avg + eye_to_mouth * 0.1
    return np.array([c - x - y, c - x + y, c + x + y, c + x - y])


def face_quad(image: Image.Image, name: str = "the photo") -> np.ndarray:
    """The FFHQ crop's corners for the face in ``image`` (MediaPipe face mesh)."""
    try:
        from mediapipe.python.solutions import face_mesh
    except ImportError:
        raise PhotoError(f"face alignment needs MediaPipe; install it: {ALIGN_HINT}") from None
    with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as mesh:
        found = mesh.process(np.asarray(image)).multi_face_landmarks
    if not found:
        raise PhotoError(
            f"no face found in {name}; use a photo with one clearly visible face "
            f"(or --no-align to fit the centre crop as it is)"
        )
    points = np.array([(p.x * image.width, p.y * image.height) for p in found[0].landmark])
    eye_l, eye_r = points[list(EYE_LEFT)].mean(axis=0), points[list(EYE_RIGHT)].mean(axis=0)
    return ffhq_quad(eye_l, eye_r, points[MOUTH[0]], points[MOUTH[1]])


def align_face(photo: Path | Image.Image, size: int) -> torch.Tensor:
    """The photo's face cropped FFHQ-style to ``size``: (1, 3, size, size) in [-1, 1]."""
    image = open_photo(photo)
    quad = face_quad(image, "the photo" if isinstance(photo, Image.Image) else str(photo))
    # Pillow's QUAD maps the corners (top-left, bottom-left, bottom-right, top-right)
    corners = tuple(quad[[0, 1, 2, 3]].reshape(-1))
    crop = image.transform((size, size), Image.Transform.QUAD, corners, Image.Resampling.BICUBIC)
    return to_tensor(crop)
