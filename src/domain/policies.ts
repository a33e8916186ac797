/** The linking policies of DESIGN.md, in the seed's terms. */
export interface Policy {
  /** Unknown identity at sign-in: create a user, or require a local sign-in first. */
  linkMode: 'create' | 'associate';
  /** With `associate` and nobody signed in: refuse, or keep the connection without a user. */
  userRequired: boolean;
  /** A new identity whose verified email belongs to an existing user. */
  emailMatch: 'confirm' | 'link-verified' | 'separate';
  /** How many identities of one provider a user may hold. */
  identitiesPerProvider: number;
}

export const DEFAULT_POLICY: Policy = {
  linkMode: 'create',
  userRequired: true,
  emailMatch: 'confirm',
  identitiesPerProvider: 1,
};
