import { html, page } from './html.js';

export interface Message {
  title: string;
  text: string;
  /** Where to go from here. */
  next: { href: string; label: string };
}

/** The pages that say what went wrong, specifically, and how to go on. */
export const MESSAGES = {
  'identity-already-linked': (provider: string): Message => ({
    title: `This ${provider} account is already linked to another user`,
    text: `The ${provider} account you signed in with belongs to a different user here, so it cannot be connected to this one. Sign in with it to use that user, or unlink it there first.`,
    next: { href: '/account', label: 'Back to your account' },
  }),
  'provider-already-linked': (provider: string): Message => ({
    title: `You already have a ${provider} account connected`,
    text: `Unlink the ${provider} account you have before connecting another one.`,
    next: { href: '/account', label: 'Back to your account' },
  }),
  'email-owner-has-provider': (provider: string): Message => ({
    title: `An account with this email has another ${provider} account`,
    text: `The ${provider} account you signed in with has the email of an account here that already has a ${provider} account connected, so it was not connected. Sign in the way you did before; to use this ${provider} account there instead, unlink the other one first. Nothing changed.`,
    next: { href: '/', label: 'Back to sign-in' },
  }),
  'sign-in-first': (): Message => ({
    title: 'Sign in first',
    text: 'This site connects GitHub and Google to accounts that already exist. Sign in with your password, then connect the provider from your account page.',
    next: { href: '/', label: 'Go to sign-in' },
  }),
  'link-explicitly': (provider: string): Message => ({
    title: `${provider} is not connected to your account`,
    text: `To connect it, use "Connect ${provider}" on your account page.`,
    next: { href: '/account', label: 'Back to your account' },
  }),
  'access-denied': (provider: string): Message => ({
    title: `Access was denied at ${provider}`,
    text: `${provider} says access was not granted, so nothing changed here. You can try again.`,
    next: { href: '/', label: 'Back to sign-in' },
  }),
  expired: (): Message => ({
    title: 'The sign-in expired, start again',
    text: 'The sign-in could not be matched to this browser (it took too long, was started elsewhere, or the link was used twice). Nothing changed. Please start again.',
    next: { href: '/', label: 'Start again' },
  }),
  'provider-failed': (provider: string): Message => ({
    title: `${provider} did not answer as expected`,
    text: `The sign-in could not be completed because ${provider} returned an error. Nothing changed here; please try again in a moment.`,
    next: { href: '/', label: 'Back to sign-in' },
  }),
  'kept-unowned': (provider: string): Message => ({
    title: `${provider} connected`,
    text: `The ${provider} account is connected to this site without a user; nobody is signed in because of it.`,
    next: { href: '/', label: 'Back' },
  }),
  'user-gone': (): Message => ({
    title: 'This account is closed',
    text: 'The account you signed in with was erased or merged; nothing else was changed.',
    next: { href: '/', label: 'Back to sign-in' },
  }),
  'rate-limited': (): Message => ({
    title: 'Too many attempts',
    text: 'Please wait a minute and try again.',
    next: { href: '/', label: 'Back to sign-in' },
  }),
  forbidden: (): Message => ({
    title: 'This form expired',
    text: 'The form was not sent from this site, or it is too old. Reload the page and try again.',
    next: { href: '/', label: 'Back' },
  }),
  'not-found': (): Message => ({
    title: 'Page not found',
    text: 'There is nothing at this address.',
    next: { href: '/', label: 'Go to sign-in' },
  }),
  unavailable: (): Message => ({
    title: 'Something went wrong',
    text: 'The request could not be completed. Nothing was lost; please try again.',
    next: { href: '/', label: 'Back' },
  }),
} satisfies Record<string, (provider: string) => Message>;

export type MessageKey = keyof typeof MESSAGES;

export const messagePage = (message: Message): string =>
  page({
    title: message.title,
    body: html`<p>${message.text}</p>
      <p><a class="button" href="${message.next.href}">${message.next.label}</a></p>`,
  });
