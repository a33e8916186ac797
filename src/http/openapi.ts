import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { STATUS_OF } from './problems.js';
import {
  AuditEvent,
  CommandAnswer,
  Email,
  IdentityView,
  MinPosition,
  ProblemSchema,
  ProviderName,
  UserId,
  UserView,
  commandSchemas,
  COMMAND_NAMES,
} from './schemas.js';
import type { ErrorCode } from '../domain/errors.js';

const problemResponses = (codes: ErrorCode[]) => {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = STATUS_OF[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      status,
      {
        description: list.join(', '),
        content: { 'application/problem+json': { schema: ProblemSchema } },
      },
    ]),
  );
};

const COMMON: ErrorCode[] = [
  'unauthorized',
  'forbidden',
  'validation-failed',
  'rate-limited',
];
const COMMAND_REFUSALS: ErrorCode[] = [
  ...COMMON,
  'malformed-json',
  'unsupported-media-type',
  'payload-too-large',
  'user-not-found',
  'user-merged',
  'user-erased',
  'revision-mismatch',
  'identity-already-linked',
  'provider-already-linked',
  'identity-not-linked',
  'last-sign-in-method',
  'email-belongs-to-existing-user',
  'username-taken',
  'idempotency-key-reused',
  'unavailable',
];

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
export const openApiDocument = (): object => {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'serviceToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'A secret from SERVICE_TOKENS',
  });
  const minPosition = z.object({ minPosition: MinPosition });

  for (const name of COMMAND_NAMES) {
    registry.registerPath({
      method: 'post',
      path: `/api/commands/${name}`,
      tags: ['commands'],
      security: [{ serviceToken: [] }],
      request: {
        headers: z.object({
          'Idempotency-Key': z.string().max(255).optional(),
          ...(name.startsWith('register') ? {} : { 'If-Match': z.string().optional() }),
        }),
        body: { content: { 'application/json': { schema: commandSchemas[name] } } },
      },
      responses: {
        200: {
          description: 'Done (or nothing to do)',
          content: { 'application/json': { schema: CommandAnswer } },
        },
        ...(name.startsWith('register')
          ? {
              201: {
                description: 'A user was created',
                content: { 'application/json': { schema: CommandAnswer } },
              },
            }
          : {}),
        ...problemResponses(COMMAND_REFUSALS),
      },
    });
  }

  const get = (
    path: string,
    tag: string,
    request: Parameters<OpenAPIRegistry['registerPath']>[0]['request'],
    schema: z.ZodType,
    codes: ErrorCode[],
    description: string,
  ) =>
    registry.registerPath({
      method: 'get',
      path,
      tags: [tag],
      description,
      security: [{ serviceToken: [] }],
      request,
      responses: {
        200: { description: 'Found', content: { 'application/json': { schema } } },
        ...problemResponses([...COMMON, ...codes]),
      },
    });

  get(
    '/api/users/{userId}',
    'queries',
    { params: z.object({ userId: UserId }), query: minPosition },
    UserView,
    ['user-not-found', 'projection-lagging'],
    "A user and its connections; the user's revision is also sent as a weak ETag.",
  );
  get(
    '/api/users',
    'queries',
    { query: z.object({ email: Email, minPosition: MinPosition }) },
    z.object({ users: z.array(UserView) }),
    ['projection-lagging'],
    'Active users with this email (compared after case folding).',
  );
  get(
    '/api/identities/{provider}/{subject}',
    'queries',
    {
      params: z.object({ provider: ProviderName, subject: z.string() }),
      query: minPosition,
    },
    IdentityView,
    ['identity-not-found', 'projection-lagging'],
    'Who holds an identity.',
  );
  get(
    '/api/identities',
    'queries',
    {
      query: z.object({
        provider: ProviderName,
        subject: z.string(),
        minPosition: MinPosition,
      }),
    },
    IdentityView,
    ['identity-not-found', 'projection-lagging'],
    'Who holds an identity, for subjects a path cannot carry (such as "..").',
  );
  get(
    '/api/audit/users/{userId}/events',
    'audit',
    { params: z.object({ userId: UserId }) },
    z.object({ events: z.array(AuditEvent) }),
    ['user-not-found'],
    "The user's events and the related identity events, in log order, from the log.",
  );
  get(
    '/api/audit/users/{userId}/state',
    'audit',
    { params: z.object({ userId: UserId }), query: z.object({ at: z.iso.datetime() }) },
    UserView,
    ['user-not-found'],
    'The user as it was at that instant (inclusive), replayed from the log.',
  );

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'account-links',
      version: '0.1.0',
      description:
        'Event-sourced account linking. Errors are RFC 9457 problem documents with a ' +
        'stable code. Commands accept Idempotency-Key; If-Match takes "<revision>".',
    },
  });
};
