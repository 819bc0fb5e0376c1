export * from './types';
export { createModel, ARCH_NAMES, isArchName, ModelConfigError, type CreateModelOptions } from './create';
export { readSafetensors, readSafetensorsSync, parseSafetensors, writeSafetensors, SafetensorsError, type HostTensor, type SafetensorsFile } from '../io/safetensors';
export { loadTorchWeights, loadTorchState, modelNameFor, guessArch, type LoadWeightsOptions, type LoadWeightsReport } from './weights';
export { loadPretrained, ensurePretrainedFile, pretrainedPath, weightsCacheDir, PRETRAINED, PretrainedError, type PretrainedOptions, type PretrainedSource } from './pretrained';
