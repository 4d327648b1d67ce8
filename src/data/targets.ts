/**
 * LAA-Net training targets and losses (official `datasets/common.py::_new_encode_target` and
 * `losses/losses.py::CombinedFocalLoss`; see docs/IMPLEMENTATION.md, Training targets and Losses).
 *
 * `encodeTargets` turns a 96×96 uint8 blending-boundary map B into the
 * heatmap target (vulnerable points with adaptive Gaussians) and
 * the self-consistency target C. `losses` are the three unweighted
 * terms of `CombinedFocalLoss`; multiply by hm_lmda / cls_lmda /
 * cstency_lmda yourself. They run synchronously (small CPU computations), in
 * float64 when the predictions are a Float64Array.
 */
import { binding } from '../binding/native';
import { fromNative, invalidArgument, LaaError } from '../binding/errors';
import type { Tensor } from '../model/laanet';

export interface BoundaryMap {
  /** B as uint8 = trunc(255·4M(1−M)), row-major, 96×96 values. */
  data: Uint8Array;
  shape: [96, 96] | [1, 96, 96];
}

export interface TrainingTargets {
  /** Heatmap target, 96×96 (row-major); the focal loss's positives are its exact 1.0 values. */
  heatmap: Float32Array;
  /** Self-consistency target C in [0, 1], 96×96 (row-major); all zero for a real image. */
  consistency: Float32Array;
}

const SIZE = 96;

function sameShape(shape: unknown, expected: number[]): boolean {
  return Array.isArray(shape) && shape.length === expected.length && shape.every((d, i) => d === expected[i]);
}

/** Builds the heatmap and self-consistency targets from a blending-boundary map (official `_new_encode_target`). */
export function encodeTargets(boundary: BoundaryMap): TrainingTargets {
  if (!boundary || typeof boundary !== 'object') throw invalidArgument('boundary', 'an object { data, shape }', boundary);
  if (!(boundary.data instanceof Uint8Array)) throw invalidArgument('boundary.data', 'a Uint8Array', boundary.data);
  if (!sameShape(boundary.shape, [SIZE, SIZE]) && !sameShape(boundary.shape, [1, SIZE, SIZE]))
    throw new LaaError('ESHAPE', `Expected boundary.shape to be [96, 96] or [1, 96, 96] but received ${JSON.stringify(boundary.shape)}`);
  if (boundary.data.length !== SIZE * SIZE)
    throw new LaaError('ESHAPE', `Expected boundary.data to hold ${SIZE * SIZE} values but it holds ${boundary.data.length}`);
  const callSite = new Error();
  try {
    const out = binding().encodeTargets(boundary.data, boundary.shape);
    return { heatmap: out.heatmap.data as Float32Array, consistency: out.consistency.data as Float32Array };
  } catch (err) {
    throw fromNative(err, callSite);
  }
}

function checkTensor(name: string, t: Tensor): void {
  if (!t || typeof t !== 'object') throw invalidArgument(name, 'a tensor { data, shape }', t);
  if (!(t.data instanceof Float32Array) && !(t.data instanceof Float64Array))
    throw invalidArgument(`${name}.data`, 'a Float32Array or Float64Array', t.data);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0))
    throw new LaaError('ESHAPE', `Expected ${name}.shape to be an array of non-negative integers but received ${JSON.stringify(t.shape)}`);
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n !== t.data.length)
    throw new LaaError('ESHAPE', `${name}.shape ${JSON.stringify(t.shape)} needs ${n} values but ${name}.data has ${t.data.length}`);
}

type LossKind = 'heatmapFocal' | 'classification' | 'consistency';

function loss(kind: LossKind, aName: string, a: Tensor, bName: string, b: Tensor): number {
  checkTensor(aName, a);
  checkTensor(bName, b);
  const callSite = new Error();
  try {
    return binding().loss(kind, a.data, a.shape, b.data, b.shape);
  } catch (err) {
    throw fromNative(err, callSite);
  }
}

/** The three LAA-Net loss terms, unweighted (official `CombinedFocalLoss`). */
export const losses = {
  /**
   * Heatmap focal loss (`_neg_loss`): ĥ = clamp(sigmoid(hmLogits), 1e-4, 1 − 1e-4), positives where
   * target == 1 (weighted 0.72), negatives weighted (1 − target)⁴, divided by the batch's N_pos.
   * Both [N, 1, 96, 96] (any equal shapes).
   */
  heatmapFocal(hmLogits: Tensor, target: Tensor): number {
    return loss('heatmapFocal', 'hmLogits', hmLogits, 'target', target);
  },
  /** BCE of sigmoid(clsLogits) against labels (1 = fake), mean, log clamped at −100. [N] or [N, 1]. */
  classification(clsLogits: Tensor, labels: Tensor): number {
    return loss('classification', 'clsLogits', clsLogits, 'labels', labels);
  },
  /**
   * Self-consistency BCE (`f_cstency`): per sample, anchor = first argmax of target; prediction
   * sigmoid(⟨e_anchor, e_uv⟩ / 16); mean over N·96·96. embeddings [N, 256, 96, 96], target [N, 1, 96, 96].
   */
  consistency(embeddings: Tensor, target: Tensor): number {
    return loss('consistency', 'embeddings', embeddings, 'target', target);
  },
};
