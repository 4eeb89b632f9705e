/** Builds the tokenizer a bundle's manifest asks for. */
import { readFile } from 'node:fs/promises';
import type { ModelBundle } from './bundle.js';
import { ModelBundleError } from './bundle.js';
import { WordsTokenizer, WordsVocab, type TextTokenizer } from './words-tokenizer.js';

/** The exact-CLIP tokenizer module (another issue's work); imported only for clip-bpe bundles. */
interface ClipBpeModule {
  ClipBpeTokenizer: {
    load(file: string): Promise<{ encode(text: string, contextLength?: number): number[] }>;
  };
}

async function loadClipBpe(): Promise<ClipBpeModule | undefined> {
  // A non-literal specifier: the module may not exist in every checkout, and bundles that do
  // not need it must keep working.
  const specifier = '../tokenizer/clip-bpe.js';
  try {
    const mod = (await import(specifier)) as Partial<ClipBpeModule>;
    return typeof mod.ClipBpeTokenizer?.load === 'function' ? (mod as ClipBpeModule) : undefined;
  } catch {
    return undefined;
  }
}

/** @throws ModelBundleError when the tokenizer file is broken or its kind unsupported. */
export async function createTokenizer(bundle: ModelBundle): Promise<TextTokenizer> {
  const { kind, contextLength } = bundle.manifest.tokenizer;
  if (kind === 'words') {
    let vocab;
    try {
      vocab = WordsVocab.parse(JSON.parse(await readFile(bundle.tokenizerPath, 'utf8')));
      return new WordsTokenizer(vocab.tokens, contextLength);
    } catch (cause) {
      throw new ModelBundleError(
        `word vocabulary of model '${bundle.name}' is unreadable: ${(cause as Error).message}`,
        bundle.name,
        bundle.tokenizerPath,
        { cause },
      );
    }
  }
  const mod = await loadClipBpe();
  if (!mod) {
    throw new ModelBundleError(
      `model '${bundle.name}' needs the clip-bpe tokenizer, which this build does not include`,
      bundle.name,
      bundle.tokenizerPath,
    );
  }
  const bpe = await mod.ClipBpeTokenizer.load(bundle.tokenizerPath);
  return {
    contextLength,
    encode: (text) => {
      const ids = bpe.encode(text, contextLength);
      if (ids.length !== contextLength)
        throw new ModelBundleError(
          `clip-bpe gave ${ids.length} ids, the model wants ${contextLength}`,
          bundle.name,
        );
      return ids;
    },
  };
}
