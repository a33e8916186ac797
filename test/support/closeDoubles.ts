import { afterAll } from 'vitest';
import { closeDoubles } from './service.js';

// The EventStoreDB doubles a test file started close with it.
afterAll(closeDoubles);
