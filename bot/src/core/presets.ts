/**
 * Quality presets: a friendlier knob than raw steps and cutouts. They scale the model's own
 * defaults (a 64×64 demo model and a 512×512 VQGAN want very different numbers).
 */

export const QUALITY_PRESETS = ['draft', 'standard', 'fine'] as const;
export type QualityPreset = (typeof QUALITY_PRESETS)[number];

export interface ModelDefaults {
  steps: number;
  cutn: number;
}

const SCALE: Record<QualityPreset, { steps: number; cutn: number }> = {
  draft: { steps: 0.5, cutn: 0.5 },
  standard: { steps: 1, cutn: 1 },
  fine: { steps: 2, cutn: 1.5 },
};

/** Steps and cutouts for a preset; an explicit `steps` wins over the preset's. */
export function resolveQuality(
  defaults: ModelDefaults,
  preset: QualityPreset = 'standard',
  explicitSteps?: number,
): { steps: number; cutn: number } {
  const scale = SCALE[preset];
  return {
    steps: explicitSteps ?? Math.max(1, Math.round(defaults.steps * scale.steps)),
    cutn: Math.max(1, Math.round(defaults.cutn * scale.cutn)),
  };
}
