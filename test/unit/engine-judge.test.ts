import { describe, expect, it } from 'vitest';
import { COLOURS, drawScene, judgeImage, SHAPES, shapeFromFill } from '../support/judge.js';

describe('quality judge', () => {
  it('maps fill to shape with the BUNDLE.md thresholds', () => {
    expect([
      shapeFromFill(1),
      shapeFromFill(0.88),
      shapeFromFill(0.87),
      shapeFromFill(0.62),
      shapeFromFill(0.61),
    ]).toEqual(['square', 'square', 'circle', 'circle', 'triangle']);
  });

  it.each(SHAPES.flatMap((shape) => [16, 36].map((side) => [shape, side] as const)))(
    'recognises a clean %s of side %i',
    (shape, side) => {
      const rgb = drawScene({
        colour: 'red',
        shape,
        background: 'blue',
        width: 64,
        height: 64,
        cx: 30,
        cy: 34,
        side,
      });
      expect(judgeImage(rgb, 64, 64)).toMatchObject({ background: 'blue', colour: 'red', shape });
    },
  );

  it('gets every colour pair right', () => {
    for (const colour of COLOURS) {
      for (const background of COLOURS) {
        if (colour === background) continue;
        const rgb = drawScene({
          colour,
          shape: 'square',
          background,
          width: 64,
          height: 64,
          cx: 32,
          cy: 32,
          side: 20,
        });
        expect(judgeImage(rgb, 64, 64)).toMatchObject({ background, colour });
      }
    }
  });

  it('judges by the largest blob and tolerates noise pixels', () => {
    const rgb = drawScene({
      colour: 'yellow',
      shape: 'circle',
      background: 'black',
      width: 64,
      height: 64,
      cx: 20,
      cy: 20,
      side: 24,
    });
    rgb.set([240, 220, 40], (60 * 64 + 60) * 3); // a stray yellow pixel far away
    rgb.set([40, 170, 70], (5 * 64 + 50) * 3); // and a green one
    expect(judgeImage(rgb, 64, 64)).toMatchObject({ background: 'black', colour: 'yellow', shape: 'circle' });
  });

  it('has no object on a plain image', () => {
    const rgb = drawScene({
      colour: 'white',
      shape: 'square',
      background: 'white',
      width: 16,
      height: 16,
      cx: 8,
      cy: 8,
      side: 4,
    });
    expect(judgeImage(rgb, 16, 16)).toEqual({ background: 'white', colour: null, shape: null, fill: 0 });
  });
});
