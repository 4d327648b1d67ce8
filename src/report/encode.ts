/** In-memory image encoding through the addon (native/encode_binding.cc). */
import { callNative, invalidArgument } from '../binding/errors';
import { binding } from '../binding/native';

export type ImageFormat = 'png' | 'jpg';
export type Rgb = [number, number, number];

/** One drawing command; coordinates in pixels (sub-pixel precision), origin top left. */
export type DrawOp =
  | { kind: 'polyline'; points: Float64Array; color?: Rgb; thickness?: number; closed?: boolean }
  | { kind: 'rect'; x: number; y: number; width: number; height: number; color?: Rgb; thickness?: number }
  /** Hershey simplex text (ASCII) with its baseline at y; `align` is relative to x. */
  | { kind: 'text'; text: string; x: number; y: number; color?: Rgb; scale?: number; thickness?: number; align?: 'left' | 'center' | 'right' };

export interface Drawing {
  width: number;
  height: number;
  background?: Rgb;
  ops: DrawOp[];
}

interface EncodeBinding {
  encodeHeatmapOverlay(crop: Uint8Array, cropShape: number[], heat: Float32Array, heatShape: number[], format: string, quality: number): Promise<Buffer>;
  renderDrawing(drawing: Drawing, format: string): Promise<Buffer>;
}

const native = () => binding() as unknown as EncodeBinding;

function ext(format: ImageFormat): string {
  if (format !== 'png' && format !== 'jpg') throw invalidArgument('format', "'png' or 'jpg'", format);
  return `.${format}`;
}

/** The RGB face crop with its artifact heatmap overlaid (jet, 50/50, as `--heatmap-dir`), encoded as JPEG or PNG. */
export async function encodeHeatmapOverlay(
  crop: { data: Uint8Array; shape: [number, number, number] },
  heatmap: { data: Float32Array; shape: [number, number] },
  format: ImageFormat = 'jpg',
  quality = 88,
): Promise<Buffer> {
  const e = ext(format);
  return callNative(() => native().encodeHeatmapOverlay(crop.data, crop.shape, heatmap.data, heatmap.shape, e, quality));
}

/** Renders drawing commands with OpenCV (antialiased) and encodes the image. */
export async function renderDrawing(drawing: Drawing, format: ImageFormat = 'png'): Promise<Buffer> {
  const e = ext(format);
  return callNative(() => native().renderDrawing(drawing, e));
}
