/** Option parsers and the options several commands share, each written once. */
import { InvalidArgumentError } from 'commander';
import { MAX_THREADS } from '../binding/errors';
import { DEFAULT_DETECT_MAX_SIDE, DEFAULT_FRAMES, DEFAULT_THRESHOLD, MAX_FRAMES } from '../model/defaults';

export function intOption(name: string, min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

export function probabilityOption(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${name} must be between 0 and 1`);
    return n;
  };
}

/** `--frames`, as score, eval and prepare take it. */
export const framesOption = ['--frames <n>', 'frames sampled evenly per video', intOption('--frames', 1, MAX_FRAMES), DEFAULT_FRAMES] as const;
/** `--detect-max-side`. */
export const detectMaxSideOption = ['--detect-max-side <n>', 'longest side of the frame copy the face detector sees', intOption('--detect-max-side', 64, 100000), DEFAULT_DETECT_MAX_SIDE] as const;
/** `--weights`, as score and eval take it. */
export const weightsOption = ['--weights <file>', 'model weights (.safetensors or official .pth; `untrained` for the fixture fill rule); default: the bundled model'] as const;
/** `--threads`. */
export const threadsOption = ['--threads <n>', 'LibTorch threads', intOption('--threads', 1, MAX_THREADS)] as const;
/** `--dtype`. */
export const dtypeOption = ['--dtype <dtype>', 'auto (the fastest accurate here) | float32 | float64 | bfloat16', 'auto'] as const;
/** `--face-detector`. */
export const faceDetectorOption = ['--face-detector <name>', 'blazeface (default: a CNN, finds turned and small faces) | hog (dlib, frontal faces only)'] as const;
export { DEFAULT_THRESHOLD };
