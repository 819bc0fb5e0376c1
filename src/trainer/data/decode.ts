import sharp from 'sharp';
import { decode as decodeBmp } from 'bmp-ts';
import { assertRegularFile, MAX_IMAGE_BYTES, readFileBounded } from '../io/bounded-read';

/**
 * Every decode is bounded: at most this many pixels (10000×10000; a 108 MP phone photo is 12000×9000
 * — resize those first), enforced by sharp's limitInputPixels and, for BMP, from the header before
 * any pixel buffer is allocated. A header claiming 100000×100000 fails at once instead of costing GBs.
 */
export const MAX_IMAGE_PIXELS = 100_000_000;
/** A compressed BMP (RLE) cannot honestly hold more pixels per byte than this. */
const BMP_MAX_PIXELS_PER_BYTE = 256;

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
  return (await openImage(input, 'truncated')).rotate().flatten({ background: ALPHA_BACKGROUND }).toColourspace('srgb');
}

/**
 * The one way into a decoder: a path must be a regular file of sane size (a FIFO, /dev/zero or a
 * symlink to one fails here without being opened), BMP goes through bmp-ts with header bounds,
 * everything else through sharp with the pixel limit.
 */
export async function openImage(input: string | Buffer, failOn: 'truncated' | 'error' = 'truncated'): Promise<sharp.Sharp> {
  if (typeof input === 'string') await assertRegularFile(input, { maxBytes: MAX_IMAGE_BYTES, what: 'image' });
  if (isBmp(input)) return bmpToRaw(input);
  return sharp(input, { failOn, limitInputPixels: MAX_IMAGE_PIXELS });
}

/** sharp's pixel-limit message, reworded with the limit and the fix. */
export function explainDecodeError(err: unknown): Error {
  const message = (err as Error)?.message ?? String(err);
  if (/pixel limit/i.test(message)) {
    return new Error(`image is larger than the ${MAX_IMAGE_PIXELS / 1e6} megapixel limit (or its header claims so); resize it below 10000×10000 px`);
  }
  return err instanceof Error ? err : new Error(message);
}

/** Width and height a BMP header claims, checked against the pixel and byte bounds before decoding. */
export function checkBmpHeader(bytes: Buffer): { width: number; height: number } {
  if (bytes.length < 26 || bytes[0] !== 0x42 || bytes[1] !== 0x4d) throw new Error('not a readable BMP: header too short');
  const dibSize = bytes.readUInt32LE(14);
  const core = dibSize === 12;
  const width = core ? bytes.readUInt16LE(18) : Math.abs(bytes.readInt32LE(18));
  const height = core ? bytes.readUInt16LE(20) : Math.abs(bytes.readInt32LE(22));
  if (!width || !height) throw new Error('not a readable BMP: zero width or height');
  const pixels = width * height;
  if (pixels > MAX_IMAGE_PIXELS) {
    throw new Error(`BMP header claims ${width}×${height} px, more than the ${MAX_IMAGE_PIXELS / 1e6} megapixel limit; resize it below 10000×10000 px`);
  }
  const bpp = !core && bytes.length >= 30 ? bytes.readUInt16LE(28) : 24;
  const compression = !core && bytes.length >= 34 ? bytes.readUInt32LE(30) : 0;
  const dataOffset = bytes.readUInt32LE(10);
  if (compression === 0) {
    const stride = Math.floor((width * bpp + 31) / 32) * 4;
    if (dataOffset + stride * height > bytes.length) {
      throw new Error(`BMP header claims ${width}×${height} px at ${bpp} bits but the file has only ${bytes.length} bytes (truncated or not a BMP)`);
    }
  } else if (pixels > bytes.length * BMP_MAX_PIXELS_PER_BYTE) {
    throw new Error(`BMP header claims ${width}×${height} px but the compressed file has only ${bytes.length} bytes (corrupt or hostile)`);
  }
  return { width, height };
}

function isBmp(input: string | Buffer): boolean {
  return typeof input === 'string' ? /\.bmp$/i.test(input) : input.length > 2 && input[0] === 0x42 && input[1] === 0x4d;
}

/**
 * libvips has no BMP loader, so BMP is decoded by bmp-ts (pure TypeScript, jimp's BMP codec)
 * and handed to sharp as raw pixels. BMP alpha is ignored: most 32-bit BMPs leave it 0.
 */
async function bmpToRaw(input: string | Buffer): Promise<sharp.Sharp> {
  const bytes = typeof input === 'string' ? await readFileBounded(input, { maxBytes: MAX_IMAGE_BYTES, what: 'image' }) : input;
  checkBmpHeader(bytes);
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
  await assertRegularFile(file, { maxBytes: MAX_IMAGE_BYTES, what: 'image' });
  if (isBmp(file)) {
    const { info } = await (await bmpToRaw(file)).raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height };
  }
  let meta: sharp.Metadata;
  try {
    meta = await sharp(file, { limitInputPixels: MAX_IMAGE_PIXELS }).metadata();
  } catch (err) {
    throw explainDecodeError(err);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width * height > MAX_IMAGE_PIXELS) throw explainDecodeError(new Error('pixel limit'));
  return { width, height };
}

async function toRgb(pipeline: sharp.Sharp): Promise<RgbImage> {
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw explainDecodeError(err);
  }
  const { data, info } = out;
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

/** Resize(size, 'squish'): the whole image stretched to size×size. */
export async function decodeSquish(input: string | Buffer, size: number): Promise<RgbImage> {
  return toRgb((await openRgb(input)).resize(size, size, { fit: 'fill', kernel: KERNEL }));
}

/** Long side resized to `size` (aspect kept): Resize(size, 'pad') pads this to a square. */
export async function decodeLongSide(input: string | Buffer, size: number): Promise<RgbImage> {
  return toRgb((await openRgb(input)).resize(size, size, { fit: 'inside', kernel: KERNEL }));
}

/**
 * The short side at most `maxShort` (never enlarged): RandomResizedCrop takes its box from this,
 * so a 12 MP photo is not decoded at full size for a 224 px crop.
 */
export async function decodeAtMost(input: string | Buffer, maxShort: number): Promise<RgbImage> {
  return toRgb((await openRgb(input)).resize(maxShort, maxShort, { fit: 'outside', withoutEnlargement: true, kernel: KERNEL }));
}

/** A box of a decoded image resized to size×size (RandomResizedCrop's crop-then-resize, antialiased). */
export async function cropResize(img: RgbImage, box: { left: number; top: number; width: number; height: number }, size: number): Promise<RgbImage> {
  const raw = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: 3 } });
  return toRgb(raw.extract(box).resize(size, size, { fit: 'fill', kernel: KERNEL }));
}
