/**
 * The slash commands, built with discord.js builders. Moderator commands carry
 * `setDefaultMemberPermissions(ManageGuild)`; the handlers check the permission again because
 * server admins can override command permissions.
 */
import {
  InteractionContextType,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  type SlashCommandIntegerOption,
  type SlashCommandStringOption,
  type SlashCommandSubcommandBuilder,
} from 'discord.js';
import { MAX_JOB_OPTIONS_TEXT } from '../../../shared/src/job-options-text.js';
import { sizeChoices, type ModelFacts } from '../core/imagine-request.js';
import { QUALITY_PRESETS } from '../core/presets.js';

type CommandJson = RESTPostAPIChatInputApplicationCommandsJSONBody;

/** Every command, as the JSON Discord takes. */
export function buildCommands(model: ModelFacts): CommandJson[] {
  return [
    imagineCommand(model),
    quotaCommand(),
    settingsCommand(),
    farmCommand(),
    blendCommand(model),
    historyCommand(),
    showCommand(),
    preferencesCommand(),
  ];
}

const IMAGE_WEIGHTS_HELP = 'Weights of the images in order, e.g. 1,0.5 (default 1 each)';

/** `/imagine`: the ranges here are the model's; the handler checks the server's limits again. */
function imagineCommand(model: ModelFacts): CommandJson {
  const builder = new SlashCommandBuilder()
    .setName('imagine')
    .setDescription('Paint a picture from text on the render farm')
    .setContexts(InteractionContextType.Guild)
    .addStringOption((o) =>
      // Optional so that an image prompt alone can steer; the handler refuses when both are missing.
      o.setName('prompt').setDescription('What to paint; "text:weight" parts joined by |'),
    )
    .addIntegerOption((o) =>
      o
        .setName('seed')
        .setDescription('Same seed + same options = same picture')
        .setMinValue(0)
        .setMaxValue(0xffffffff),
    )
    .addIntegerOption((o) =>
      o
        .setName('steps')
        .setDescription('Iterations (more = more detail, slower)')
        .setMinValue(1)
        .setMaxValue(model.maxSteps),
    )
    .addStringOption((o) =>
      o
        .setName('size')
        .setDescription('Image size')
        .addChoices(...sizeChoices(model).map((s) => ({ name: s, value: s }))),
    )
    .addStringOption((o) =>
      o
        .setName('quality')
        .setDescription('Preset for steps and cutouts')
        .addChoices(...QUALITY_PRESETS.map((q) => ({ name: q, value: q }))),
    )
    .addAttachmentOption((o) =>
      o.setName('init_image').setDescription('Start from this picture instead of noise'),
    )
    .addStringOption((o) => o.setName('avoid').setDescription('What the picture should not look like'))
    .addStringOption((o) =>
      o
        .setName('options')
        .setDescription("generate.py's options, e.g. loop=reference cutn=32 augments=Af,Pe optimiser=AdamW")
        .setMaxLength(MAX_JOB_OPTIONS_TEXT),
    );
  for (let n = 1; n <= 4; n++)
    builder.addAttachmentOption((o) =>
      o.setName(`image_prompt_${n}`).setDescription(`A picture to paint towards (${n} of up to 4)`),
    );
  return builder
    .addStringOption((o) => o.setName('image_weights').setDescription(IMAGE_WEIGHTS_HELP).setMaxLength(200))
    .toJSON();
}

/** `/blend`: 2–4 pictures as the only prompts (the handler maps them onto `/imagine`'s checks). */
function blendCommand(model: ModelFacts): CommandJson {
  const builder = new SlashCommandBuilder()
    .setName('blend')
    .setDescription('Paint a picture between 2 to 4 pictures')
    .setContexts(InteractionContextType.Guild);
  for (let n = 1; n <= 4; n++)
    builder.addAttachmentOption((o) =>
      o
        .setName(`image${n}`)
        .setDescription(n <= 2 ? `Picture ${n}` : `Picture ${n} (optional)`)
        .setRequired(n <= 2),
    );
  return builder
    .addStringOption((o) => o.setName('weights').setDescription(IMAGE_WEIGHTS_HELP).setMaxLength(200))
    .addIntegerOption((o) =>
      o
        .setName('seed')
        .setDescription('Same seed + same options = same picture')
        .setMinValue(0)
        .setMaxValue(0xffffffff),
    )
    .addIntegerOption((o) =>
      o.setName('steps').setDescription('Iterations').setMinValue(1).setMaxValue(model.maxSteps),
    )
    .addStringOption((o) =>
      o
        .setName('size')
        .setDescription('Image size')
        .addChoices(...sizeChoices(model).map((s) => ({ name: s, value: s }))),
    )
    .toJSON();
}

function historyCommand(): CommandJson {
  return new SlashCommandBuilder()
    .setName('history')
    .setDescription('Your last renders (or a member’s), newest first')
    .setContexts(InteractionContextType.Guild)
    .addUserOption((o) => o.setName('member').setDescription('Whose renders (default: yours)'))
    .toJSON();
}

function showCommand(): CommandJson {
  return new SlashCommandBuilder()
    .setName('show')
    .setDescription('Post a render of this server here again')
    .setContexts(InteractionContextType.Guild)
    .addStringOption((o) =>
      o
        .setName('job_id')
        .setDescription('The render’s job id (see /history)')
        .setRequired(true)
        .setMaxLength(64),
    )
    .toJSON();
}

function preferencesCommand(): CommandJson {
  return new SlashCommandBuilder()
    .setName('preferences')
    .setDescription('Your own settings for renders')
    .setContexts(InteractionContextType.Guild)
    .addBooleanOption((o) => o.setName('dm').setDescription('Also send your finished renders to your DMs'))
    .toJSON();
}

const per = (o: SlashCommandStringOption) =>
  o
    .setName('per')
    .setDescription('Time window')
    .setRequired(true)
    .addChoices({ name: 'day', value: 'day' }, { name: 'hour', value: 'hour' });

function quotaCommand(): CommandJson {
  return new SlashCommandBuilder()
    .setName('quota')
    .setDescription('Render quotas (moderators)')
    .setContexts(InteractionContextType.Guild)
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .addSubcommand((s) =>
      s
        .setName('set')
        .setDescription('Set how many renders a member or role may start')
        .addMentionableOption((o) => o.setName('target').setDescription('Member or role').setRequired(true))
        .addIntegerOption((o) =>
          o
            .setName('renders')
            .setDescription('Renders per window')
            .setRequired(true)
            .setMinValue(0)
            .setMaxValue(100_000),
        )
        .addStringOption(per),
    )
    .addSubcommand((s) =>
      s
        .setName('default')
        .setDescription('The server-wide quota for everyone without their own')
        .addIntegerOption((o) =>
          o
            .setName('renders')
            .setDescription('Renders per window')
            .setRequired(true)
            .setMinValue(0)
            .setMaxValue(100_000),
        )
        .addStringOption(per),
    )
    .addSubcommand((s) =>
      s
        .setName('show')
        .setDescription('Show quotas and what a member has left')
        .addUserOption((o) => o.setName('user').setDescription('Member')),
    )
    .addSubcommand((s) =>
      s
        .setName('reset')
        .setDescription("Forget a member's renders in the current windows")
        .addUserOption((o) => o.setName('user').setDescription('Member').setRequired(true)),
    )
    .toJSON();
}

function settingsCommand(): CommandJson {
  return new SlashCommandBuilder()
    .setName('settings')
    .setDescription('Server settings for renders (moderators)')
    .setContexts(InteractionContextType.Guild)
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .addSubcommand((s) => s.setName('show').setDescription('Show the current settings'))
    .addSubcommand((s) =>
      s
        .setName('channels')
        .setDescription('Where /imagine works')
        .addStringOption((o) =>
          o
            .setName('action')
            .setDescription('allow / disallow a channel, or allow everywhere')
            .setRequired(true)
            .addChoices(
              { name: 'allow', value: 'allow' },
              { name: 'disallow', value: 'disallow' },
              { name: 'everywhere', value: 'everywhere' },
            ),
        )
        .addChannelOption((o) => o.setName('channel').setDescription('Channel')),
    )
    .addSubcommand((s) =>
      s
        .setName('limits')
        .setDescription('Maximum steps and size, and concurrent renders per member')
        .addIntegerOption((o) =>
          o.setName('max_steps').setDescription('0 = the model maximum').setMinValue(0).setMaxValue(10_000),
        )
        .addIntegerOption((o) =>
          o
            .setName('max_size')
            .setDescription('Largest side in pixels; 0 = any')
            .setMinValue(0)
            .setMaxValue(4096),
        )
        .addIntegerOption((o) =>
          o
            .setName('concurrent')
            .setDescription('Renders one member may have running')
            .setMinValue(1)
            .setMaxValue(50),
        )
        .addIntegerOption(queuedLimitOption),
    )
    .addSubcommand(roleWeightSubcommand)
    .addSubcommand((s) =>
      s
        .setName('banned')
        .setDescription('Words refused in prompts')
        .addStringOption((o) =>
          o
            .setName('action')
            .setDescription('add / remove / clear')
            .setRequired(true)
            .addChoices(
              { name: 'add', value: 'add' },
              { name: 'remove', value: 'remove' },
              { name: 'clear', value: 'clear' },
            ),
        )
        .addStringOption((o) => o.setName('words').setDescription('Comma-separated words or phrases')),
    )
    .toJSON();
}

/** `/settings limits queued:N`: renders one member may have waiting in the queue. */
function queuedLimitOption(o: SlashCommandIntegerOption): SlashCommandIntegerOption {
  return o
    .setName('queued')
    .setDescription('Renders one member may have waiting in the queue; 0 = no separate limit')
    .setMinValue(0)
    .setMaxValue(50);
}

/** `/settings role-weight role:@Supporter weight:2`: fair-share weight of a role's members. */
function roleWeightSubcommand(s: SlashCommandSubcommandBuilder): SlashCommandSubcommandBuilder {
  return s
    .setName('role-weight')
    .setDescription("Share of this server's render time for members with a role (default 1)")
    .addRoleOption((o) => o.setName('role').setDescription('Role').setRequired(true))
    .addNumberOption((o) =>
      o
        .setName('weight')
        .setDescription('2 = twice the share of a member without it; 1 removes the rule')
        .setRequired(true)
        .setMinValue(0.1)
        .setMaxValue(100),
    );
}

function farmCommand(): CommandJson {
  return new SlashCommandBuilder()
    .setName('farm')
    .setDescription('Renderers online, queue, speed, and your renders')
    .setContexts(InteractionContextType.Guild)
    .toJSON();
}
