export * from './types';
export { createModel, ARCH_NAMES, isArchName, type CreateModelOptions } from './create';
export { bodyChannels } from './resnet';
