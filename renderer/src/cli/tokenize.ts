/**
 * `tessera tokenize [--vocab FILE] "<text>"`: the 77 CLIP token ids of a text, as OpenAI's
 * `clip.tokenize(text, truncate=True)` gives them. The last line of output is the JSON array, so
 * scripts can take `tail -n 1`; the lines before it show how the text was split.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CLIP_CONTEXT_LENGTH, ClipBpeTokenizer, ClipVocabularyError } from '../tokenizer/clip-bpe.js';
import { repoRootFrom } from '../../../shared/src/repo-root.js';

const USAGE = `usage: tessera tokenize [--vocab FILE] "<text>"

Prints the ${CLIP_CONTEXT_LENGTH} CLIP token ids of <text> (SOT, tokens, EOT, zero padding) as a JSON array
on the last line. --vocab is OpenAI's bpe_simple_vocab_16e6.txt.gz (default: ../shared/data/clip/
next to the repository, when it is there).
`;

const repoRoot = repoRootFrom(import.meta.url);
/** Where the tests and this command find the vocabulary when none is given. */
export const DEFAULT_VOCAB = path.resolve(
  repoRoot,
  '..',
  'shared',
  'data',
  'clip',
  'bpe_simple_vocab_16e6.txt.gz',
);

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { vocab: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    process.stderr.write(`tessera tokenize: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length === 0) {
    process.stderr.write(`tessera tokenize: give the text to tokenize\n\n${USAGE}`);
    return 2;
  }
  // Unquoted words are joined back with single spaces, as a shell would have passed them quoted.
  const text = positionals.join(' ');
  const vocab = values.vocab ?? (existsSync(DEFAULT_VOCAB) ? DEFAULT_VOCAB : undefined);
  if (vocab === undefined) {
    process.stderr.write(
      `tessera tokenize: no CLIP vocabulary at ${DEFAULT_VOCAB}; pass --vocab FILE ` +
        `(bpe_simple_vocab_16e6.txt.gz from OpenAI's clip package)\n`,
    );
    return 2;
  }

  let tokenizer: ClipBpeTokenizer;
  try {
    tokenizer = await ClipBpeTokenizer.load(vocab);
  } catch (err) {
    if (!(err instanceof ClipVocabularyError)) throw err;
    process.stderr.write(`tessera tokenize: ${err.message}\n`);
    return 1;
  }
  const tokens = tokenizer.tokens(text);
  const fits = CLIP_CONTEXT_LENGTH - 2;
  const note = tokens.length > fits ? `, truncated to ${fits}` : '';
  process.stdout.write(`${tokens.length} tokens${note} (vocabulary ${vocab})\n`);
  process.stdout.write(`${JSON.stringify(tokenizer.encode(text))}\n`);
  return 0;
}
