// Fixture writer: real image files of every kind the data pipeline must handle, written with
// sharp into a folder the test owns. Other suites import these to build tiny datasets.
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';

export async function makeTempDir(prefix = 'image-trainer-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

type Rgb = [number, number, number];

/** A width×height RGB image: a colour gradient with a solid block, so crops and flips differ. */
export function rgbPixels(width: number, height: number, seed = 0): Buffer {
  const buf = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      buf[i] = (x * 255) / Math.max(1, width - 1);
      buf[i + 1] = (y * 255) / Math.max(1, height - 1);
      buf[i + 2] = (seed * 53 + (x < width / 3 && y < height / 3 ? 200 : 40)) % 256;
    }
  }
  return buf;
}

async function ensureParent(file: string): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  return file;
}

export async function writeJpeg(file: string, width = 64, height = 48, seed = 0): Promise<string> {
  await sharp(rgbPixels(width, height, seed), { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toFile(await ensureParent(file));
  return file;
}

export async function writePng(file: string, width = 64, height = 48, seed = 0): Promise<string> {
  await sharp(rgbPixels(width, height, seed), { raw: { width, height, channels: 3 } }).png().toFile(await ensureParent(file));
  return file;
}

/** A solid-colour image in the format its extension names (.jpg .png .webp .gif .tif .avif). */
export async function writeSolid(file: string, colour: Rgb, width = 20, height = 10): Promise<string> {
  await sharp({ create: { width, height, channels: 3, background: { r: colour[0], g: colour[1], b: colour[2] } } }).toFile(await ensureParent(file));
  return file;
}

/** Fully transparent on the left half, opaque colour on the right; transparent pixels store black. */
export async function writePngWithAlpha(file: string, width = 32, height = 32, colour: Rgb = [255, 0, 0]): Promise<string> {
  const buf = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      if (x >= width / 2) [buf[i], buf[i + 1], buf[i + 2], buf[i + 3]] = [...colour, 255];
    }
  }
  await sharp(buf, { raw: { width, height, channels: 4 } }).png().toFile(await ensureParent(file));
  return file;
}

/** One-channel PNG of a horizontal ramp. */
export async function writeGrayscalePng(file: string, width = 32, height = 32): Promise<string> {
  const buf = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) buf[y * width + x] = (x * 255) / (width - 1);
  await sharp(buf, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toFile(await ensureParent(file));
  return file;
}

export async function writeCmykJpeg(file: string, width = 32, height = 32, colour: Rgb = [0, 0, 255]): Promise<string> {
  await sharp({ create: { width, height, channels: 3, background: { r: colour[0], g: colour[1], b: colour[2] } } })
    .toColourspace('cmyk')
    .jpeg({ quality: 95 })
    .toFile(await ensureParent(file));
  return file;
}

/** 16 bits per channel RGB PNG of one colour (0..255 scale, stored ×257). */
export async function write16BitPng(file: string, width = 32, height = 32, colour: Rgb = [0, 255, 0]): Promise<string> {
  await sharp({ create: { width, height, channels: 3, background: { r: colour[0], g: colour[1], b: colour[2] } } })
    .toColourspace('rgb16')
    .png()
    .toFile(await ensureParent(file));
  return file;
}

/**
 * A landscape JPEG (width > height), left half red and right half blue, stored with EXIF
 * orientation 6 (display rotated 90° clockwise): decoded correctly it is portrait, red on top.
 */
export async function writeExifRotatedJpeg(file: string, width = 48, height = 24): Promise<string> {
  const buf = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      if (x < width / 2) buf[i] = 255;
      else buf[i + 2] = 255;
    }
  }
  await sharp(buf, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(await ensureParent(file));
  return file;
}

/** A real JPEG cut at half its length: the header reads, the pixel data ends early. */
export async function writeTruncatedJpeg(file: string, width = 160, height = 120): Promise<string> {
  const full = await sharp(rgbPixels(width, height), { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
  await fs.writeFile(await ensureParent(file), full.subarray(0, Math.floor(full.length / 2)));
  return file;
}

/** Bytes that are no image at all, under an image extension. */
export async function writeGarbageImage(file: string): Promise<string> {
  await fs.writeFile(await ensureParent(file), Buffer.from('this is not a jpeg, just text with a .jpg name\n'));
  return file;
}

/**
 * A BMP file of `size` bytes with a BITMAPINFOHEADER claiming width×height (pixels start at 54 and
 * are left zero). compression 0 is 24-bit uncompressed, 1 is 8-bit RLE.
 */
export function bmpBuffer(size: number, width: number, height: number, { compression = 0, imageSize = 0 } = {}): Buffer {
  const buf = Buffer.alloc(size);
  buf.write('BM', 0, 'ascii');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(54, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(compression ? 8 : 24, 28);
  buf.writeUInt32LE(compression, 30);
  buf.writeUInt32LE(imageSize, 34);
  return buf;
}

/** A 24-bit bottom-up BMP (as Windows Paint writes): top half red, bottom half blue. */
export async function writeBmp(file: string, width = 6, height = 4): Promise<string> {
  const rowSize = Math.ceil((width * 3) / 4) * 4;
  const buf = bmpBuffer(54 + rowSize * height, width, height, { imageSize: rowSize * height });
  for (let row = 0; row < height; row++) {
    const topHalf = height - 1 - row < height / 2; // rows are stored bottom-up
    for (let x = 0; x < width; x++) {
      const o = 54 + row * rowSize + x * 3; // B, G, R
      if (topHalf) buf[o + 2] = 255;
      else buf[o] = 255;
    }
  }
  await fs.writeFile(await ensureParent(file), buf);
  return file;
}

export interface PetsLikeOptions {
  classes?: string[];
  perClass?: number;
  width?: number;
  height?: number;
  ext?: 'jpg' | 'png';
}

/**
 * A folder laid out like the Oxford-IIIT Pets images/ folder: `{class}_{n}.jpg` side by side
 * (label by /([^/]+)_\d+.jpg$/). Each class has its own hue so a model can learn it.
 */
export async function writePetsLikeDataset(dir: string, opts: PetsLikeOptions = {}): Promise<{ files: string[]; classes: string[] }> {
  const classes = opts.classes ?? ['abyssinian', 'german_shorthaired', 'pug'];
  const perClass = opts.perClass ?? 5;
  const width = opts.width ?? 40;
  const height = opts.height ?? 30;
  const ext = opts.ext ?? 'jpg';
  const files: string[] = [];
  for (let c = 0; c < classes.length; c++) {
    for (let n = 1; n <= perClass; n++) {
      const file = path.join(dir, `${classes[c]}_${n}.${ext}`);
      if (ext === 'jpg') await writeJpeg(file, width, height, c * 3 + n);
      else await writePng(file, width, height, c * 3 + n);
      files.push(file);
    }
  }
  return { files, classes: [...classes].sort() };
}
