import { callNative } from '../binding/errors';
import { binding } from '../binding/native';

/** Writes a PNG of the RGB face crop (S×S×3) with its artifact heatmap (S/4 × S/4) overlaid (jet colour map). */
export async function writeHeatmapOverlay(
  file: string,
  crop: { data: Uint8Array; shape: [number, number, number] },
  heatmap: { data: Float32Array; shape: [number, number] },
): Promise<void> {
  await callNative(() => binding().writeHeatmapOverlay(file, crop.data, crop.shape, heatmap.data, heatmap.shape));
}
