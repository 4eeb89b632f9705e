/**
 * The tiny-shapes quality judge of models/BUNDLE.md, identical to models/tessera_models/judge.py:
 * nearest palette colour per pixel; background = most common class on the 1-pixel border;
 * object colour = most common non-background class among the other pixels; shape from the fill
 * of the largest 4-connected blob of the object colour's bounding box. Ties go to the lower
 * palette index (and, between equal blobs, the first one in raster order).
 */

/** The world's palette, in the judge's order (exact RGB values of the tiny-shapes world). */
export const PALETTE = {
  red: [220, 40, 40],
  orange: [245, 140, 30],
  yellow: [240, 220, 40],
  green: [40, 170, 70],
  blue: [40, 80, 220],
  purple: [140, 60, 190],
  white: [240, 240, 240],
  black: [20, 20, 20],
} as const satisfies Record<string, readonly [number, number, number]>;
export type PaletteColour = keyof typeof PALETTE;
export const COLOURS = Object.keys(PALETTE) as PaletteColour[];
export const SHAPES = ['circle', 'square', 'triangle'] as const;
export type Shape = (typeof SHAPES)[number];

export interface Judgement {
  background: PaletteColour;
  colour: PaletteColour | null;
  shape: Shape | null;
  /** Largest blob's pixels / its bounding box area. */
  fill: number;
}

/** Palette index per pixel of interleaved RGB. */
export function classifyPixels(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const cls = new Uint8Array(width * height);
  const pal = COLOURS.map((c) => PALETTE[c]);
  for (let i = 0; i < cls.length; i++) {
    const r = rgb[i * 3]!,
      g = rgb[i * 3 + 1]!,
      b = rgb[i * 3 + 2]!;
    let best = 0;
    let bestD = Infinity;
    pal.forEach(([pr, pg, pb], k) => {
      const d = (r - pr) ** 2 + (g - pg) ** 2 + (b - pb) ** 2;
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    });
    cls[i] = best;
  }
  return cls;
}

function argmax(counts: readonly number[]): number {
  let best = 0;
  counts.forEach((n, k) => {
    if (n > counts[best]!) best = k;
  });
  return best;
}

/** Largest 4-connected component of `mask` (first in raster order on ties): size and bounding box area. */
function largestBlob(mask: Uint8Array, width: number, height: number): { size: number; boxArea: number } {
  const seen = new Uint8Array(mask.length);
  const stack: number[] = [];
  let best = { size: 0, boxArea: 1 };
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    let size = 0,
      minX = width,
      maxX = -1,
      minY = height,
      maxY = -1;
    seen[start] = 1;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % width,
        y = (p - x) / width;
      size++;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      const next = [
        x > 0 ? p - 1 : -1,
        x < width - 1 ? p + 1 : -1,
        y > 0 ? p - width : -1,
        y < height - 1 ? p + width : -1,
      ];
      for (const q of next) {
        if (q >= 0 && mask[q] && !seen[q]) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    if (size > best.size) best = { size, boxArea: (maxX - minX + 1) * (maxY - minY + 1) };
  }
  return best;
}

export function shapeFromFill(fill: number): Shape {
  return fill >= 0.88 ? 'square' : fill >= 0.62 ? 'circle' : 'triangle';
}

/** Judges one render (interleaved RGB). */
export function judgeImage(rgb: Uint8Array, width: number, height: number): Judgement {
  const cls = classifyPixels(rgb, width, height);
  const border = new Array<number>(COLOURS.length).fill(0);
  const inside = new Array<number>(COLOURS.length).fill(0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const onBorder = x === 0 || y === 0 || x === width - 1 || y === height - 1;
      (onBorder ? border : inside)[cls[y * width + x]!]! += 1;
    }
  }
  const bg = argmax(border);
  inside[bg] = 0;
  const background = COLOURS[bg]!;
  if (inside.every((n) => n === 0)) return { background, colour: null, shape: null, fill: 0 };
  const obj = argmax(inside);
  const mask = cls.map((k) => (k === obj ? 1 : 0));
  const blob = largestBlob(mask, width, height);
  const fill = blob.size / blob.boxArea;
  return { background, colour: COLOURS[obj]!, shape: shapeFromFill(fill), fill };
}

/** Draws a scene of the tiny-shapes world (for judge tests and calibration): RGB bytes. */
export function drawScene(o: {
  colour: PaletteColour;
  shape: Shape;
  background: PaletteColour;
  width: number;
  height: number;
  cx: number;
  cy: number;
  side: number;
}): Uint8Array {
  const rgb = new Uint8Array(o.width * o.height * 3);
  const half = o.side / 2;
  for (let y = 0; y < o.height; y++) {
    for (let x = 0; x < o.width; x++) {
      const px = x + 0.5 - o.cx,
        py = y + 0.5 - o.cy;
      let inShape: boolean;
      if (o.shape === 'circle') inShape = px * px + py * py <= half * half;
      else if (o.shape === 'square') inShape = Math.abs(px) <= half && Math.abs(py) <= half;
      else inShape = py <= half && py >= -half && Math.abs(px) <= ((py + half) / (2 * half)) * half; // apex up
      rgb.set(PALETTE[inShape ? o.colour : o.background], (y * o.width + x) * 3);
    }
  }
  return rgb;
}
