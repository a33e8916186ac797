import type { IdentityDoc, UserDoc } from '../projections/documents.js';

/** A user as the API shows it; an erased user shows its id and status only. */
export const userView = (doc: UserDoc) => {
  if (doc.status === 'erased') return { userId: doc.userId, status: doc.status };
  return {
    userId: doc.userId,
    status: doc.status,
    displayName: doc.displayName,
    email: doc.email,
    emailVerified: doc.emailVerified,
    hasPassword: doc.hasPassword,
    username: doc.username,
    connections: doc.connections.map(({ provider, subject, linkedAt, email }) => ({
      provider,
      subject,
      linkedAt,
      email,
    })),
    ...(doc.mergedInto ? { mergedInto: doc.mergedInto } : {}),
    revision: doc.revision,
  };
};

export const identityView = (doc: IdentityDoc) => ({
  provider: doc.provider,
  subject: doc.subject,
  status: doc.status,
  userId: doc.userId,
  since: doc.since,
});
