import { rawReplay, serviceReplay } from './replay.js';

/**
 * One replay measurement in a process of its own (so that one run's heap does not weigh on
 * the next): `probe.ts raw|service <dataDir>` prints its figures as JSON.
 */
const [kind, dataDir] = process.argv.slice(2);
if (!dataDir || (kind !== 'raw' && kind !== 'service')) {
  console.error('usage: probe.ts raw|service <dataDir>');
  process.exit(2);
}
const result = kind === 'raw' ? rawReplay(dataDir) : await serviceReplay(dataDir);
console.log(JSON.stringify(result));
