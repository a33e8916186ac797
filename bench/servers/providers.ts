import express from 'express';
import { createDevProvider } from '../../src/devProvider/devProvider.js';
import { announce, BENCH_CLIENTS } from './common.js';

/**
 * The development provider stand-in (GitHub and Google shaped) on a port and in a process
 * of its own, as a real provider is elsewhere: the sign-in benchmark measures the service's
 * side of the callback, while the stand-in still shares this machine's cores.
 */
const provider = createDevProvider({
  clients: BENCH_CLIENTS,
  basePath: '',
  allowRedirect: (uri, name) => uri.pathname === `/auth/${name}/callback`,
});
const app = express();
app.disable('x-powered-by');
app.use(provider.router);
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () =>
  announce('providers', server),
);
