import { describe, expect, it } from 'vitest';
import type { RegisteredCommand } from '../../deploy/playground/emulator/index.js';
import { OptionType } from '../../deploy/playground/emulator/index.js';
import { parseCommandLine, splitOptions, type NameLookups } from '../../deploy/playground/command-line.js';

const cmd = (name: string, options: RegisteredCommand['options']): RegisteredCommand => ({
  id: name,
  applicationId: '1',
  guildId: null,
  name,
  description: name,
  options,
  defaultMemberPermissions: null,
  type: 1,
  version: '1',
});

const commands = [
  cmd('imagine', [
    { type: OptionType.String, name: 'prompt', required: true },
    { type: OptionType.Integer, name: 'seed', min_value: 0, max_value: 0xffffffff },
    { type: OptionType.Integer, name: 'steps', min_value: 1, max_value: 500 },
    {
      type: OptionType.String,
      name: 'quality',
      choices: [
        { name: 'draft', value: 'draft' },
        { name: 'fine', value: 'fine' },
      ],
    },
    { type: OptionType.Attachment, name: 'init_image' },
    { type: OptionType.String, name: 'avoid' },
  ]),
  cmd('quota', [
    {
      type: OptionType.Subcommand,
      name: 'set',
      options: [
        { type: OptionType.Mentionable, name: 'target', required: true },
        { type: OptionType.Integer, name: 'renders', required: true },
        {
          type: OptionType.String,
          name: 'per',
          required: true,
          choices: [
            { name: 'day', value: 'day' },
            { name: 'hour', value: 'hour' },
          ],
        },
      ],
    },
    { type: OptionType.Subcommand, name: 'show', options: [{ type: OptionType.User, name: 'user' }] },
  ]),
  cmd('settings', [
    {
      type: OptionType.Subcommand,
      name: 'channels',
      options: [
        { type: OptionType.String, name: 'action', required: true },
        { type: OptionType.Channel, name: 'channel' },
      ],
    },
  ]),
  cmd('farm', []),
];

const lookups: NameLookups = {
  user: (n) =>
    ({ alice: '100000000000000001', '@alice': '100000000000000001', bob: '100000000000000002' })[
      n.toLowerCase()
    ],
  role: (n) => ({ '@artist': '200000000000000001', artist: '200000000000000001' })[n.toLowerCase()],
  channel: (n) => ({ '#art': '300000000000000001' })[n.toLowerCase()],
};

describe('playground command line', () => {
  it('splits options at known names only, keeping colons and spaces inside values', () => {
    expect(splitOptions('prompt:a cat: sitting seed:4 avoid:dogs', ['prompt', 'seed', 'avoid'])).toEqual({
      leading: '',
      pairs: [
        ['prompt', 'a cat: sitting'],
        ['seed', '4'],
        ['avoid', 'dogs'],
      ],
    });
  });

  it('types /imagine options from the registered command', () => {
    const r = parseCommandLine(
      '/imagine prompt:a red circle on blue seed:42 steps:100 quality:fine',
      commands,
      lookups,
    );
    expect(r).toEqual({
      ok: true,
      value: {
        command: 'imagine',
        options: { prompt: 'a red circle on blue', seed: 42, steps: 100, quality: 'fine' },
      },
    });
  });

  it('gives leading free text to the first required option', () => {
    const r = parseCommandLine('/imagine a green square seed:7', commands, lookups);
    expect(r.ok && r.value.options).toEqual({ prompt: 'a green square', seed: 7 });
  });

  it('walks subcommands and resolves members, roles and channels', () => {
    expect(parseCommandLine('/quota set target:@artist renders:3 per:day', commands, lookups)).toEqual({
      ok: true,
      value: {
        command: 'quota',
        subcommand: 'set',
        options: { target: { roleId: '200000000000000001' }, renders: 3, per: 'day' },
      },
    });
    const show = parseCommandLine('/quota show user:bob', commands, lookups);
    expect(show.ok && show.value.options).toEqual({ user: { userId: '100000000000000002' } });
    const ch = parseCommandLine('/settings channels action:allow channel:#art', commands, lookups);
    expect(ch.ok && ch.value.options).toEqual({
      action: 'allow',
      channel: { channelId: '300000000000000001' },
    });
  });

  it('explains mistakes with a stable code', () => {
    const code = (text: string) => {
      const r = parseCommandLine(text, commands, lookups);
      return r.ok ? 'ok' : r.error.code;
    };
    expect(code('imagine a cat')).toBe('not-a-command');
    expect(code('/paint a cat')).toBe('unknown-command');
    expect(code('/quota delete')).toBe('unknown-subcommand');
    expect(code('/imagine seed:4')).toBe('missing-option');
    expect(code('/imagine prompt:x seed:four')).toBe('bad-value');
    expect(code('/imagine prompt:x steps:501')).toBe('bad-value');
    expect(code('/imagine prompt:x quality:ultra')).toBe('bad-value');
    expect(code('/quota show user:nobody')).toBe('bad-value');
    expect(code('/imagine prompt:x init_image:cat.png')).toBe('unsupported-option');
    expect(code('/farm')).toBe('ok');
  });

  it('takes attachment options picked outside the text', () => {
    const file = { filename: 'a.png', data: new Uint8Array([1, 2]) };
    const r = parseCommandLine('/imagine prompt:x', commands, lookups, { init_image: file });
    expect(r.ok && r.value.options.init_image).toBe(file);
    expect(parseCommandLine('/farm', commands, lookups, { init_image: file }).ok).toBe(false);
  });
});
