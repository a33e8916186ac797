import escapeHtml from 'escape-html';

/** Markup that is already safe: built by `html`, never from raw input. */
export interface Html {
  readonly __html: string;
}

const isHtml = (value: unknown): value is Html =>
  typeof value === 'object' && value !== null && '__html' in value;

const render = (value: unknown): string => {
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  if (isHtml(value)) return value.__html;
  return escapeHtml(String(value));
};

/** A tagged template that escapes every interpolated value unless it is `Html` itself. */
export const html = (strings: TemplateStringsArray, ...values: unknown[]): Html => ({
  __html: strings.reduce((out, part, index) => out + part + render(values[index]), ''),
});

export interface PageOptions {
  title: string;
  body: Html;
  /** Shown above the content: a one-shot notice. */
  notice?: { kind: 'info' | 'error'; text: string } | null;
  banner?: Html | null;
}

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto;
         padding: 0 1rem; color: #1a1a1a; }
  h1 { font-size: 1.5rem; }
  form.inline { display: inline; }
  button, .button { font: inherit; padding: .4rem .9rem; margin: .2rem 0; cursor: pointer;
         border: 1px solid #555; border-radius: .3rem; background: #f4f4f4; color: inherit;
         text-decoration: none; display: inline-block; }
  button:focus, .button:focus, input:focus { outline: 3px solid #1d5fbf; outline-offset: 2px; }
  .notice { padding: .6rem .9rem; border-radius: .3rem; background: #eef4ff; }
  .notice.error { background: #fdecec; }
  .dev { padding: .6rem .9rem; background: #fff4cc; border: 1px solid #c9a400; }
  label { display: block; margin: .4rem 0 .1rem; }
  input[type=text], input[type=password], input[type=email] { font: inherit; padding: .3rem;
         width: 100%; max-width: 24rem; }
  ul.connections { padding-left: 1.2rem; }
  .muted { color: #555; }
`;

/** The one page layout: small, accessible, no scripts. */
export const page = ({ title, body, notice, banner }: PageOptions): string =>
  html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        <style>
          ${{ __html: STYLE }}
        </style>
      </head>
      <body>
        ${banner ?? ''}
        <main>
          <h1>${title}</h1>
          ${notice ? html`<p class="notice ${notice.kind}" role="${notice.kind === 'error' ? 'alert' : 'status'}">${notice.text}</p>` : ''}
          ${body}
        </main>
      </body>
    </html>`.__html;
