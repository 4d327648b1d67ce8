import { callNative } from './errors';
import { binding } from './native';

/** Writes a PNG of the RGB face crop (384×384×3) with the 96×96 artifact heatmap overlaid (jet colour map). */
export async function writeHeatmapOverlay(
  file: string,
  crop: { data: Uint8Array; shape: [number, number, number] },
  heatmap: { data: Float32Array; shape: [number, number] },
): Promise<void> {
  await callNative(() => binding().writeHeatmapOverlay(file, crop.data, crop.shape, heatmap.data, heatmap.shape));
}
