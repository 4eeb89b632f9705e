import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { EngineInputError } from '../../renderer/src/engine/engine.js';
import {
  decodeImageToTensor,
  encodeFinalPng,
  encodeTimelapse,
  rgbToTensor,
  tensorToRgb,
} from '../../renderer/src/engine/image-io.js';
import { readPngText } from '../../renderer/src/engine/png-text.js';
import { hugePngHeader } from '../quality/fixtures.js';

async function identifierOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EngineInputError);
  return (err as EngineInputError).identifier;
}

describe('tensor ↔ RGB', () => {
  it('round-trips, clamps and rounds', () => {
    const t = Float32Array.of(0, 1, -0.5, 2, 0.5, 0.25, NaN, 0.002, 1);
    // planes R = [0, 1, -0.5], G = [2, 0.5, 0.25], B = [NaN, 0.002, 1]
    expect(Array.from(tensorToRgb(t, 3, 1))).toEqual([0, 255, 0, 255, 128, 1, 0, 64, 255]);
    const rgb = Uint8Array.from({ length: 12 }, (_, i) => i * 20);
    expect(Array.from(tensorToRgb(rgbToTensor(rgb, 2, 2), 2, 2))).toEqual(Array.from(rgb));
  });

  it('lays the tensor out as planes [3, H, W]', () => {
    const t = rgbToTensor(Uint8Array.of(255, 0, 0, 0, 255, 0), 2, 1);
    expect(Array.from(t)).toEqual([1, 0, 0, 1, 0, 0]);
  });
});

describe('decodeImageToTensor', () => {
  it('decodes and resizes an image to the model size', async () => {
    const png = await sharp({
      create: { width: 40, height: 20, channels: 3, background: { r: 255, g: 0, b: 0 } },
    })
      .png()
      .toBuffer();
    const t = await decodeImageToTensor(png, 8, 8);
    expect(t.length).toBe(3 * 64);
    expect(t[0]).toBeCloseTo(1, 2);
    expect(t[64]).toBeCloseTo(0, 2);
  });

  it('rejects bytes that are no image', async () => {
    expect(await identifierOf(decodeImageToTensor(Buffer.from('#!/bin/sh\necho hello\n'), 8, 8))).toBe(
      'bad-image',
    );
  });

  it('rejects a 30000×30000 PNG header quickly, from the header alone', async () => {
    const started = performance.now();
    expect(await identifierOf(decodeImageToTensor(hugePngHeader(30000, 30000), 64, 64))).toBe(
      'image-too-large',
    );
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('rejects a truncated small PNG as undecodable', async () => {
    expect(await identifierOf(decodeImageToTensor(hugePngHeader(64, 64), 64, 64))).toBe('bad-image');
  });
});

describe('encoders', () => {
  it('writes the same PNG bytes for the same pixels, with metadata', async () => {
    const rgb = Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 7) % 256);
    const a = await encodeFinalPng(rgb, 8, 8, { prompt: 'a red circle' });
    const b = await encodeFinalPng(rgb, 8, 8, { prompt: 'a red circle' });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(readPngText(a).prompt).toBe('a red circle');
  });

  it('makes an animated WebP with one page per frame', async () => {
    const frames = [0, 80, 160, 240].map((v) => new Uint8Array(8 * 8 * 3).fill(v));
    const webp = await encodeTimelapse(frames, 8, 8);
    const meta = await sharp(webp, { animated: true }).metadata();
    expect(meta.format).toBe('webp');
    expect(meta.pages).toBe(4);
    expect(meta.pageHeight).toBe(8);
  });
});
