import sharp from 'sharp';

/**
 * Transparent pixels are composited onto white: the image then looks as it does on a page or
 * in an image viewer. (fastai's PIL convert('RGB') just drops alpha, exposing whatever colour
 * the transparent pixels happen to store — often black.)
 */
export const ALPHA_BACKGROUND = { r: 255, g: 255, b: 255 };

export interface RgbImage {
  /** 8-bit sRGB, 3 channels, row-major. */
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Opens an image as sharp sees it upright and in 8-bit sRGB: EXIF orientation applied,
 * alpha flattened, grayscale/CMYK/16-bit converted. `failOn: 'truncated'` rejects cut-off files
 * (which would otherwise decode with a grey band) but tolerates harmless encoder warnings.
 */
export function openRgb(input: string | Buffer): sharp.Sharp {
  return sharp(input, { failOn: 'truncated' }).rotate().flatten({ background: ALPHA_BACKGROUND }).toColourspace('srgb');
}

async function toRgb(pipeline: sharp.Sharp): Promise<RgbImage> {
  const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoder returned ${info.channels} channels`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** Short side resized to `size` (aspect kept): the training crop is taken from this. */
export function decodeShortSide(input: string | Buffer, size: number): Promise<RgbImage> {
  return toRgb(openRgb(input).resize(size, size, { fit: 'outside' }));
}

/** fastai's validation transform: short side to `size`, then the centre size×size crop. */
export function decodeCenterCrop(input: string | Buffer, size: number): Promise<RgbImage> {
  return toRgb(openRgb(input).resize(size, size, { fit: 'cover', position: 'centre' }));
}
