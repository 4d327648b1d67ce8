export { LaaNet, REFERENCE_SEED } from './laanet';
export type { DType, Device, HeadName, Tensor, LoadOptions, ForwardOptions, ForwardResult, ForwardFeatures, ModelInfo } from './laanet';
export { LaaError, DisposedError, AbortError } from './errors';
export type { LaaErrorCode } from './errors';
export { versions } from './versions';
export type { Versions } from './versions';
export { readWeights } from './weights';
export type { WeightsFile } from './weights';
