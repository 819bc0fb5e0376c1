import { promises as fs } from 'fs';
import sharp from 'sharp';
import { decode as decodeBmp } from 'bmp-ts';

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
export async function openRgb(input: string | Buffer): Promise<sharp.Sharp> {
  const source = isBmp(input) ? await bmpToRaw(input) : sharp(input, { failOn: 'truncated' });
  return source.rotate().flatten({ background: ALPHA_BACKGROUND }).toColourspace('srgb');
}

function isBmp(input: string | Buffer): boolean {
  return typeof input === 'string' ? /\.bmp$/i.test(input) : input.length > 2 && input[0] === 0x42 && input[1] === 0x4d;
}

/**
 * libvips has no BMP loader, so BMP is decoded by bmp-ts (pure TypeScript, jimp's BMP codec)
 * and handed to sharp as raw pixels. BMP alpha is ignored: most 32-bit BMPs leave it 0.
 */
async function bmpToRaw(input: string | Buffer): Promise<sharp.Sharp> {
  const bytes = typeof input === 'string' ? await fs.readFile(input) : input;
  let bmp;
  try {
    bmp = decodeBmp(bytes, { toRGBA: true });
  } catch (e) {
    throw new Error(`not a readable BMP: ${(e as Error).message}`);
  }
  const { width, height, data } = bmp;
  if (!width || !height || data.length < width * height * 4) throw new Error('not a readable BMP: bad size');
  const rgb = Buffer.alloc(width * height * 3);
  for (let i = 0, o = 0; o < rgb.length; i += 4, o += 3) {
    rgb[o] = data[i];
    rgb[o + 1] = data[i + 1];
    rgb[o + 2] = data[i + 2];
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } });
}

/** Width and height from the header only (BMP: a full decode), for the pre-scan. */
export async function readImageSize(file: string): Promise<{ width: number; height: number }> {
  if (isBmp(file)) {
    const { info } = await (await bmpToRaw(file)).raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height };
  }
  const meta = await sharp(file).metadata();
  return { width: meta.width ?? 0, height: meta.height ?? 0 };
}

async function toRgb(pipeline: sharp.Sharp): Promise<RgbImage> {
  const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoder returned ${info.channels} channels`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/**
 * Resizing uses a (bi)linear kernel, as fastai's bilinear interpolation does; libvips widens it
 * when shrinking, so large photos are still antialiased. (Also ~10% cheaper than lanczos3.)
 */
const KERNEL = 'linear';

/** Short side resized to `size` (aspect kept): the training crop is taken from this. */
export async function decodeShortSide(input: string | Buffer, size: number): Promise<RgbImage> {
  return toRgb((await openRgb(input)).resize(size, size, { fit: 'outside', kernel: KERNEL }));
}

/** fastai's validation transform: short side to `size`, then the centre size×size crop. */
export async function decodeCenterCrop(input: string | Buffer, size: number): Promise<RgbImage> {
  return toRgb((await openRgb(input)).resize(size, size, { fit: 'cover', position: 'centre', kernel: KERNEL }));
}
