// The data pipeline's public surface: labelling, splitting, loading, showing.
export * from './types';
export { DataError, isDataError } from './errors';
export { getImageFiles, IMAGE_EXTENSIONS, UNSUPPORTED_IMAGE_EXTENSIONS } from './discover';
export type { LabelOptions } from './dataset';
export { prescanImages } from './prescan';
export { fromNameRe, compileLabelPattern } from './from-name-re';
export { fromFolder, type FromFolderOptions } from './from-folder';
export { fromCsv, type FromCsvOptions } from './from-csv';
export { fromNameFunc } from './from-name-func';
export { splitDataset } from './split';
export { DEFAULT_TRANSFORMS, sampleAugment, type AugmentParams } from './augment';
export { IMAGENET_STATS, loadImageForInference, renderItem, type ImageNorm } from './item';
export { ALPHA_BACKGROUND, decodeCenterCrop, decodeShortSide, type RgbImage } from './decode';
export { createDataBunch, rebuildDataBunch, bunchSettings, type DataChanges } from './databunch';
export { resolvePipeline, describePipeline, type Pipeline } from './pipeline';
export { randomResizedCropBox, resizeBox, rrcValidSize, sampleAugmentV2, type AugmentV2, type Box } from './transforms';
export { ttaLoader } from './tta-loader';
export { showBatch, classCounts, type ShowBatchOptions, type ShownImage } from './show';
