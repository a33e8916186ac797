import { z } from 'zod';
import {
  MAX_DISPLAY_NAME_LENGTH,
  MAX_EMAIL_LENGTH,
  MAX_SUBJECT_LENGTH,
  PROVIDERS,
  characters,
  hasDisplayControls,
  isValidSubject,
  isWellFormed,
  trimEmail,
} from '../domain/values.js';
import { ERROR_CODES } from '../domain/errors.js';

/**
 * The zod schemas of the HTTP contract. Requests are validated with them and
 * `/openapi.json` is generated from them, so the two cannot drift apart.
 */

export const UserId = z.uuid().meta({ description: 'A user id (UUID)' });

export const ProviderName = z.enum(PROVIDERS).meta({ description: 'An OAuth provider' });

// Providers send ids as strings or numbers (GitHub's numeric ids); both mean the same
// identity, so numbers are turned into their decimal string.
export const Subject = z
  .union([
    z.string(),
    z.number().int().nonnegative().refine(Number.isSafeInteger, 'must be a safe integer'),
  ])
  .transform((value) => String(value))
  .refine(isValidSubject, {
    message: `must be 1 to ${MAX_SUBJECT_LENGTH} characters of well-formed text without control characters`,
  })
  .meta({
    description:
      "The provider's id of the person, compared exactly: a string of 1 to " +
      `${MAX_SUBJECT_LENGTH} characters without control characters, or a non-negative ` +
      'safe integer (turned into its decimal string)',
  });

export const Email = z
  .email({ pattern: z.regexes.unicodeEmail })
  .max(MAX_EMAIL_LENGTH)
  // The pattern lets all but spaces, "@" and quotes through; control characters, lone
  // surrogates and direction overrides are no part of an address (and would be stored).
  .refine(
    (value) => !hasDisplayControls(value),
    'no control, lone surrogate or direction-override characters',
  )
  .meta({ description: 'An email address; internationalised addresses are valid' });

export const TrimmedEmail = z.preprocess(
  (value) => (typeof value === 'string' ? trimEmail(value) : value),
  Email,
);
const trimmedEmail = TrimmedEmail;

/** Text of at most `max` characters (code points), well-formed Unicode. */
export const Text = (max: number) =>
  z
    .string()
    .refine(isWellFormed, 'must be well-formed Unicode (no lone surrogates)')
    .refine((value) => characters(value) <= max, `at most ${max} characters`);

export const Profile = z
  .strictObject({
    displayName: Text(MAX_DISPLAY_NAME_LENGTH)
      .refine(
        (value) => !hasDisplayControls(value),
        'no control or direction-override characters',
      )
      .nullable()
      .optional(),
    email: trimmedEmail.nullable().optional(),
    emailVerified: z.boolean().optional(),
  })
  .refine((profile) => !profile.emailVerified || Boolean(profile.email), {
    message: 'emailVerified needs an email',
    path: ['emailVerified'],
  })
  .meta({ id: 'Profile', description: 'What the provider says about the person' });

const USERNAME = /^[\p{L}\p{N}._-]{3,64}$/u;

export const Username = z
  .string()
  .trim()
  .refine((value) => USERNAME.test(value), '3 to 64 letters, digits, ".", "_" or "-"')
  .transform((value) => value.normalize('NFKC'))
  .meta({
    description: '3 to 64 letters, digits, ".", "_" or "-"; unique in any letter case',
  });

export const Password = Text(1024)
  .refine((value) => characters(value) >= 8, 'at least 8 characters')
  .refine((value) => value.trim().length > 0, 'must not be blank')
  .meta({ description: '8 to 1024 characters' });

export const commandSchemas = {
  'register-local-user': z
    .strictObject({
      username: Username,
      password: Password,
      email: trimmedEmail.optional(),
    })
    .meta({ id: 'RegisterLocalUser' }),
  'register-via-provider': z
    .strictObject({
      provider: ProviderName,
      subject: Subject,
      profile: Profile.default({}),
    })
    .meta({ id: 'RegisterViaProvider' }),
  'link-provider': z
    .strictObject({
      userId: UserId,
      provider: ProviderName,
      subject: Subject,
      profile: Profile.default({}),
    })
    .meta({ id: 'LinkProvider' }),
  'unlink-provider': z
    .strictObject({ userId: UserId, provider: ProviderName, subject: Subject })
    .meta({ id: 'UnlinkProvider' }),
  'merge-users': z
    .strictObject({ survivorId: UserId, mergedId: UserId })
    .meta({ id: 'MergeUsers' }),
  'erase-user': z.strictObject({ userId: UserId }).meta({ id: 'EraseUser' }),
} as const;

export type CommandName = keyof typeof commandSchemas;
export const COMMAND_NAMES = Object.keys(commandSchemas) as CommandName[];

// Forms send empty fields as ''; an empty optional field means "not given".
const blankAsMissing = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/** The browser's forms, validated like the API's commands (plus their CSRF field). */
export const forms = {
  register: z.looseObject({
    username: Username,
    password: Password,
    email: z.preprocess(blankAsMissing, TrimmedEmail.optional()),
  }),
  password: z.looseObject({
    password: Password,
    currentPassword: z.preprocess(blankAsMissing, z.string().max(1024).optional()),
    username: z.preprocess(blankAsMissing, Username.optional()),
  }),
  unlink: z.looseObject({ provider: ProviderName, subject: Subject }),
  merge: z.looseObject({ mergedId: UserId }),
};

export const CommandAnswer = z
  .object({
    userId: UserId,
    revision: z
      .number()
      .int()
      .meta({ description: "Last revision of the user's stream" }),
    position: z
      .string()
      .regex(/^\d+$/)
      .meta({ description: 'Log position as a decimal string; use as minPosition' }),
    events: z.array(z.string()).meta({ description: 'Types of the appended events' }),
  })
  .meta({ id: 'CommandAnswer' });

export const Connection = z
  .object({
    provider: z.string(),
    subject: z.string(),
    linkedAt: z.iso.datetime(),
    email: z.string().nullable(),
  })
  .meta({ id: 'Connection' });

export const UserView = z
  .object({
    userId: UserId,
    status: z.enum(['active', 'merged', 'erased']),
    displayName: z.string().nullable().optional(),
    email: z.string().nullable().optional(),
    emailVerified: z.boolean().optional(),
    hasPassword: z.boolean().optional(),
    username: z.string().nullable().optional(),
    connections: z.array(Connection).optional(),
    mergedInto: UserId.optional(),
    revision: z.number().int().optional(),
  })
  .meta({ id: 'User' });

export const IdentityView = z
  .object({
    provider: z.string(),
    subject: z.string(),
    status: z.enum(['linked', 'unowned', 'released']),
    userId: UserId.nullable(),
    since: z.iso.datetime(),
  })
  .meta({ id: 'Identity' });

export const MinPosition = z
  .string()
  .regex(/^\d{1,40}$/, 'must be a decimal log position')
  .optional()
  .meta({ description: 'Answer once the read model has applied this log position' });

export const AuditEvent = z
  .object({
    stream: z.string(),
    revision: z.number().int(),
    position: z.string(),
    type: z.string(),
    data: z.record(z.string(), z.unknown()),
    metadata: z.object({
      actor: z.string(),
      flow: z.string(),
      correlationId: z.string(),
      causationId: z.string(),
      requestId: z.string().nullable(),
      time: z.iso.datetime(),
      schemaVersion: z.number().int(),
    }),
  })
  .meta({ id: 'AuditEvent' });

export const ProblemSchema = z
  .object({
    type: z.url(),
    code: z.enum(ERROR_CODES),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    userId: UserId.optional().meta({ description: 'The user concerned, where it helps' }),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details with a stable code' });
