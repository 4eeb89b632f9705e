import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run as tokenizeCli } from '../../renderer/src/cli/tokenize.js';
import {
  ClipBpeTokenizer,
  ClipVocabularyError,
  EOT_ID,
  SOT_ID,
} from '../../renderer/src/tokenizer/clip-bpe.js';
import { cleanText } from '../../renderer/src/tokenizer/clip-clean.js';
import { htmlUnescape } from '../../renderer/src/tokenizer/html-unescape.js';

// Golden data made by OpenAI's own simple_tokenizer.py (see test/fixtures/clip-bpe/generate.py).
type EncodeCase = { name: string; text: string; clean: string; tokens: number[]; ids: number[] };
type Golden = {
  generatedWith: Record<string, string>;
  encode: EncodeCase[];
  clean: { text: string; expected: string }[];
  htmlUnescape: { text: string; expected: string }[];
};

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const golden = JSON.parse(
  readFileSync(path.join(repoRoot, 'test/fixtures/clip-bpe/cases.json'), 'utf8'),
) as Golden;
const vocabPath = path.resolve(repoRoot, '..', 'shared', 'data', 'clip', 'bpe_simple_vocab_16e6.txt.gz');
const haveVocab = existsSync(vocabPath);

describe('Python html.unescape port', () => {
  it.each(golden.htmlUnescape)('decodes %j as Python does', ({ text, expected }) => {
    expect(htmlUnescape(text)).toBe(expected);
  });
});

describe('CLIP text cleaning (ftfy subset, html.unescape twice, whitespace, lower case)', () => {
  const cases = [...golden.encode.map((c) => ({ text: c.text, expected: c.clean })), ...golden.clean];
  it.each(cases)('cleans %j as simple_tokenizer does', ({ text, expected }) => {
    expect(cleanText(text)).toBe(expected);
  });
});

describe.skipIf(!haveVocab)(
  `ClipBpeTokenizer against OpenAI's tokenizer${haveVocab ? '' : ' (skipped: no vocabulary at ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz)'}`,
  () => {
    let tokenizer: ClipBpeTokenizer;
    beforeAll(async () => {
      tokenizer = await ClipBpeTokenizer.load(vocabPath);
    });

    it.each(golden.encode)('encodes $name as clip.tokenize(truncate=True) does', ({ text, ids }) => {
      const expected = [...ids, ...new Array<number>(77 - ids.length).fill(0)];
      expect(tokenizer.encode(text)).toEqual(expected);
    });

    it.each(golden.encode)(
      'gives the raw BPE ids of $name as SimpleTokenizer.encode does',
      ({ text, tokens }) => {
        expect(tokenizer.tokens(text)).toEqual(tokens);
      },
    );

    it('gives the same ids from a warm cache as from a cold one', async () => {
      const cold = await ClipBpeTokenizer.load(vocabPath);
      for (const { text } of golden.encode) expect(cold.encode(text)).toEqual(tokenizer.encode(text));
      for (const { text } of golden.encode) expect(cold.encode(text)).toEqual(tokenizer.encode(text));
    });

    it('keeps EOT as the last id when it truncates, and honours another context length', () => {
      const long = 'a '.repeat(200);
      const ids = tokenizer.encode(long);
      expect(ids).toHaveLength(77);
      expect(ids[0]).toBe(SOT_ID);
      expect(ids[76]).toBe(EOT_ID);
      const short = tokenizer.encode('a painting of an apple', 4);
      expect(short).toEqual([SOT_ID, 320, 3086, EOT_ID]);
    });

    it('prints the 77 ids as a JSON array on the last line of `tessera tokenize`', async () => {
      const out = captureStdout();
      const code = await tokenizeCli(['--vocab', vocabPath, 'A painting of an apple', 'in a fruit bowl']);
      const lines = out.text().trimEnd().split('\n');
      out.restore();
      expect(code).toBe(0);
      const design = golden.encode.find((c) => c.name === 'design: apple painting')!;
      expect(JSON.parse(lines.at(-1)!)).toEqual([
        ...design.ids,
        ...new Array<number>(77 - design.ids.length).fill(0),
      ]);
    });
  },
);

describe('ClipBpeTokenizer.load errors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'clip-bpe-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names the file when it does not exist', async () => {
    const missing = path.join(dir, 'nope.txt.gz');
    const err = await ClipBpeTokenizer.load(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClipVocabularyError);
    expect((err as ClipVocabularyError).file).toBe(missing);
  });

  it('makes `tessera tokenize` exit 1 with the file named when --vocab does not exist', async () => {
    const missing = path.join(dir, 'missing.txt.gz');
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const code = await tokenizeCli(['--vocab', missing, 'hello']);
    const message = err.mock.calls.map((c) => String(c[0])).join('');
    err.mockRestore();
    expect(code).toBe(1);
    expect(message).toContain(missing);
  });

  it('rejects a file that is not gzip', async () => {
    const file = path.join(dir, 'plain.txt.gz');
    await writeFile(file, 'i n\nt h\n');
    await expect(ClipBpeTokenizer.load(file)).rejects.toThrow(ClipVocabularyError);
  });

  it('rejects a truncated merges list', async () => {
    const file = path.join(dir, 'short.txt.gz');
    await writeFile(file, gzipSync('"bpe_simple_vocab_16e6.txt#version: 0.2\ni n\nt h\n'));
    await expect(ClipBpeTokenizer.load(file)).rejects.toThrow(/has 4 lines/);
  });
});

function captureStdout(): { text(): string; restore(): void } {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  return { text: () => chunks.join(''), restore: () => spy.mockRestore() };
}
