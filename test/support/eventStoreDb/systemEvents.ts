/**
 * What a real server's log holds before the service writes anything: system events (stream
 * names and event types starting with `$`) and, on a shared server, other applications'
 * events. Seeding them makes `$all` readers prove they filter instead of trusting luck.
 */
import { randomUUID } from 'node:crypto';
import type { EventLog } from './eventLog.js';

const NODE = '127.0.0.1:2113';

const seed = (): { stream: string; type: string; data: unknown }[] => [
  // Written by the server at each election; `$all` readers never see it.
  {
    stream: '$epoch-information',
    type: '$epoch-information',
    data: { epochNumber: 0, epochPosition: 0, epochId: randomUUID() },
  },
  {
    stream: '$user-admin',
    type: '$UserCreated',
    data: {
      loginName: 'admin',
      fullName: 'Event Store Administrator',
      groups: ['$admins'],
    },
  },
  { stream: '$users', type: '$User', data: 'admin' },
  { stream: `$$$stats-${NODE}`, type: '$metadata', data: { $maxAge: 86_400 } },
  {
    stream: `$stats-${NODE}`,
    type: '$statsCollected',
    data: { 'proc-startTime': new Date().toISOString(), 'proc-threadsCount': 42 },
  },
  // Another application sharing the server.
  {
    stream: 'billing-invoice-17',
    type: 'InvoiceIssued',
    data: { invoiceId: '17', amount: '42.00' },
  },
];

export const writeSystemEvents = (log: EventLog): void => {
  for (const { stream, type, data } of seed()) {
    const isJson = typeof data !== 'string';
    const bytes = Buffer.from(isJson ? JSON.stringify(data) : String(data), 'utf8');
    log.write(stream, BigInt(log.streamEvents(stream).length), [
      { id: randomUUID(), type, isJson, data: bytes, metadata: new Uint8Array() },
    ]);
  }
};
